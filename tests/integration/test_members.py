"""No softbond device - a bond, its TAP, its hidden peer - is ever taken
as a member, on every data path (each has its own kind of device)."""
from tests.support.netcheck import status_json

ALL_DATAPATHS = True


def peers(topo, bond="bond0"):
    """Veths whose other end is in the host namespace too, but the bond: the
    eBPF path's hidden peers."""
    names = [line.split(":")[1].strip().split("@")[0]
             for line in topo.exec(topo.host, ["ip", "-o", "link", "show", "type", "veth"]).stdout.splitlines()
             if "link-netns" not in line]
    return [n for n in names if n != bond]


def test_no_softbond_device_is_a_member(topo):
    assert topo.softbond("up", "bond0", "--slaves", "eth0", "mode=active-backup").returncode == 0
    owned = ["bond0"] + peers(topo)     # the eBPF path's hidden peer is the other end of bond0
    for dev in owned:
        proc = topo.softbond("enslave", "bond0", dev, check=False)
        assert proc.returncode == 1
        reason = "cannot enslave the bond to itself" if dev == "bond0" else \
            f"cannot enslave {dev}: it is a softbond device"
        assert proc.stderr.strip() == f"softbond: bond0: {reason}", proc.stderr
        proc = topo.softbond("up", "bond1", "--slaves", f"eth1,{dev}", check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip() == f"softbond: bond1: cannot enslave {dev}: it is a softbond device", proc.stderr
    assert [s["name"] for s in status_json(topo)["slaves"]] == ["eth0"]
    assert "bond1" not in topo.exec(topo.host, ["ip", "-o", "link"]).stdout
    assert peers(topo) == owned[1:]
