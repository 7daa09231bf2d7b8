"""Status tells the truth about members: their MAC and MTU as they are now
(someone may have changed them under the bond), a member MTU below the
bond's flagged, and a member MAC changed behind the bond's back warned of."""
from tests.support.netcheck import ping_ok, status_json

ADDR = "192.168.100.199/24"
OTHER_MAC = "02:00:00:00:00:99"


def slave(topo, name):
    return next(s for s in status_json(topo)["slaves"] if s["name"] == name)


def test_status_shows_member_mac_and_mtu_as_they_are_now(topo):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=active-backup",
                         "miimon=100", "primary=eth0", check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    bond_mac = status_json(topo)["hwaddr"]
    assert (slave(topo, "eth1")["hwaddr"], slave(topo, "eth1")["mtu"], slave(topo, "eth1")["mtu_below_bond"]) \
        == (bond_mac, 1500, False)

    topo.exec(topo.host, ["ip", "link", "set", "eth1", "mtu", "1400"])
    for argv in (["down"], ["address", OTHER_MAC], ["up"]):
        topo.exec(topo.host, ["ip", "link", "set", "eth1", *argv])
    assert topo.wait_for(lambda: (slave(topo, "eth1")["hwaddr"], slave(topo, "eth1")["mtu"],
                                  slave(topo, "eth1")["mtu_below_bond"]) == (OTHER_MAC, 1400, True), timeout=5), \
        slave(topo, "eth1")
    verbose = topo.softbond("status", "bond0", "--verbose").stdout
    eth1 = verbose[verbose.index("Slave Interface: eth1", verbose.index("softbond info")):]
    assert f"HW addr: {OTHER_MAC}" in eth1 and "MTU: 1400 (below bond0's 1500)" in eth1, eth1
    events = [e["message"] for e in status_json(topo)["events"]]
    assert f"bond0: (slave eth1): MAC address changed to {OTHER_MAC}, not bond0's {bond_mac}" in events, events
    assert "bond0: (slave eth1): MTU 1400 differs from bond0's 1500" in events, events
    assert ping_ok(topo)
