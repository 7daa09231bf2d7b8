"""The eBPF bond device's hidden peer: named from a hash of the whole bond
name, so two bonds never want the same peer, and a peer named the old way
(the first 11 characters and .sbp) is still adopted after a crash and
removed by `down`."""
import time

from tests.support.netcheck import ping_ok, status_json

from softbond.datapath.ebpf import is_peer_name, legacy_peer_name, peer_name

ADDR = "192.168.100.199/24"


def test_peer_names_are_distinct_and_fit():
    names = ["bond0", "a" * 15, "nubond0123456", "nubond0123457"]
    peers = [peer_name(n) for n in names]
    assert len(set(peers)) == len(names)
    assert all(len(p) == 15 and is_peer_name(p) for p in peers)
    assert legacy_peer_name("nubond0123456") == legacy_peer_name("nubond0123457") == "nubond01234.sbp"


def test_long_bond_names_sharing_a_prefix_run_side_by_side(topo):
    for bond, member in (("nubond0123456", "eth0"), ("nubond0123457", "eth1")):
        proc = topo.softbond("up", bond, "--slaves", member, "datapath=ebpf", check=False)
        assert proc.returncode == 0, proc.stderr
    for bond, member in (("nubond0123456", "eth0"), ("nubond0123457", "eth1")):
        st = status_json(topo, bond)
        assert (st["datapath"], [s["name"] for s in st["slaves"]]) == ("ebpf", [member])
    links = topo.exec(topo.host, ["ip", "-o", "link"]).stdout
    assert peer_name("nubond0123456") in links and peer_name("nubond0123457") in links, links


def test_a_crashed_bond_with_an_old_named_peer_is_adopted_and_removed(topo):
    host = topo.host
    assert topo.softbond("up", "bond0", "--slaves", "eth0", "--address", ADDR, "datapath=ebpf").returncode == 0
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    topo.exec(host, ["kill", "-9", str(status_json(topo)["pid"])])
    time.sleep(0.2)
    # What a crashed daemon of an older softbond leaves: the same device with
    # the peer under its old name (renaming needs the peer down).
    topo.exec(host, ["ip", "link", "set", peer_name("bond0"), "down"])
    topo.exec(host, ["ip", "link", "set", peer_name("bond0"), "name", legacy_peer_name("bond0")])
    topo.exec(host, ["ip", "link", "set", legacy_peer_name("bond0"), "up"])
    proc = topo.softbond("up", "bond0", "--slaves", "eth0", "--address", ADDR, "datapath=ebpf", check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the adopted bond"
    assert legacy_peer_name("bond0") in topo.exec(host, ["ip", "-o", "link"]).stdout
    # A second crash, and `down` repairs it: the old-named peer goes with the bond.
    topo.exec(host, ["kill", "-9", str(status_json(topo)["pid"])])
    time.sleep(0.2)
    assert topo.softbond("down", "bond0").returncode == 0
    links = topo.exec(host, ["ip", "-o", "link"]).stdout
    assert "bond0" not in links and "sbp" not in links, links
