"""A member is the interface that was enslaved, whatever its name becomes
and wherever it goes, on every data path: renamed, it stays a member under
its new name (status and the /proc text follow) and release, `down` and
crash recovery restore it - never an unrelated interface that took its old
name; moved to another namespace, it is released and restored there, as
the kernel releases a slave leaving the namespace."""
import time

from tests.support.netcheck import ping_ok, status_json

from softbond.lab.netns import ip

ALL_DATAPATHS = True
ADDR = "192.168.100.199/24"


def up(topo, *args):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=active-backup",
                         "miimon=100", "primary=eth0", *args, check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def read(topo, dev, attr, ns=None):
    return topo.exec(ns or topo.host, ["cat", f"/sys/class/net/{dev}/{attr}"]).stdout.strip()


def softbond_traces(topo, dev, ns=None):
    """What softbond leaves on a member: its tc ingress filters and qdisc."""
    ns = ns or topo.host
    return (topo.exec(ns, ["tc", "filter", "show", "dev", dev, "ingress"]).stdout.strip()
            + topo.exec(ns, ["tc", "qdisc", "show", "dev", dev, "clsact"]).stdout.strip())


def rename(topo, old, new):
    for argv in (["set", old, "down"], ["set", old, "name", new], ["set", new, "up"]):
        topo.exec(topo.host, ["ip", "link", *argv])


def impostor(topo):
    """An unrelated interface that takes the name eth1 once the member left it."""
    topo.exec(topo.host, ["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "other1"])
    return read(topo, "eth1", "address")


def test_a_renamed_member_stays_a_member_and_is_restored_under_its_new_name(topo):
    original = read(topo, "eth1", "address")
    up(topo)
    assert read(topo, "eth1", "address") != original       # it carries the bond's MAC
    rename(topo, "eth1", "lan1")
    own_mac = impostor(topo)
    assert topo.wait_for(lambda: [(s["name"], s["mii_status"]) for s in status_json(topo)["slaves"]]
                         == [("eth0", "up"), ("lan1", "up")], timeout=5), status_json(topo)["slaves"]
    assert "Slave Interface: lan1" in topo.softbond("status", "bond0").stdout
    topo.cut(0)                     # lan1 takes over: it forwards under its new name
    assert topo.wait_for(lambda: status_json(topo)["active_slave"] == "lan1", timeout=5)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5), "no ping through the renamed member"
    topo.plug(0)
    assert topo.softbond("up", "bond1", "--slaves", "lan1", check=False).stderr.strip() == \
        "softbond: bond1: cannot enslave lan1: it is already a slave of bond0"
    assert topo.softbond("down", "bond0").returncode == 0
    assert read(topo, "lan1", "address") == original
    assert softbond_traces(topo, "lan1") == ""
    assert read(topo, "eth1", "address") == own_mac


def test_crash_recovery_restores_the_renamed_member_and_nothing_else(topo):
    original = read(topo, "eth1", "address")
    up(topo)
    topo.exec(topo.host, ["kill", "-9", str(status_json(topo)["pid"])])
    time.sleep(0.2)
    rename(topo, "eth1", "lan1")
    own_mac = impostor(topo)
    # eth0 is deleted and an unrelated interface takes its name and ifindex.
    index = read(topo, "eth0", "ifindex")
    topo.exec(topo.host, ["ip", "link", "del", "eth0"])
    topo.exec(topo.host, ["ip", "link", "add", "eth0", "index", index, "type", "veth", "peer", "name", "other0"])
    new_eth0 = read(topo, "eth0", "address")
    assert topo.softbond("down", "bond0").returncode == 0
    assert read(topo, "lan1", "address") == original
    assert softbond_traces(topo, "lan1") == ""
    assert read(topo, "eth1", "address") == own_mac
    assert read(topo, "eth1", "mtu") == "1500"
    assert read(topo, "eth0", "address") == new_eth0


def test_a_member_moved_to_another_namespace_is_released_and_restored_there(topo):
    away = f"{topo.prefix}-away"
    ip("netns", "add", away)
    try:
        original = (read(topo, "eth1", "address"), read(topo, "eth1", "mtu"))
        up(topo, "--mtu", "1400")
        assert (read(topo, "eth1", "mtu"), read(topo, "eth1", "address")) != original
        topo.exec(topo.host, ["ip", "link", "set", "eth1", "netns", away])
        assert topo.wait_for(lambda: [s["name"] for s in status_json(topo)["slaves"]] == ["eth0"], timeout=5)
        assert topo.wait_for(lambda: (read(topo, "eth1", "address", away), read(topo, "eth1", "mtu", away))
                             == original, timeout=5), "the moved member kept the bond's MAC or MTU"
        assert read(topo, "eth1", "operstate", away) == "down"     # as the move left it
        assert softbond_traces(topo, "eth1", away) == ""
        assert ping_ok(topo)
        events = [e["message"] for e in status_json(topo)["events"]]
        assert "bond0: (slave eth1): moved to another network namespace, releasing it" in events, events
    finally:
        ip("netns", "del", away, check=False)
