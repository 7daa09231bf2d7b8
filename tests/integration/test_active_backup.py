"""active-backup end to end: a bond in a namespace, a Linux bridge as the
switch, a peer behind it, and real traffic."""
import sys
import subprocess
import time

import pytest

from tests.support.netcheck import Iperf, ping_ok, ping_result, start_ping, status_json, wait_active

ADDR = "192.168.100.199/24"


def up(topo, *options, slaves="eth0,eth1"):
    proc = topo.softbond("up", "bond0", "--slaves", slaves, "--address", ADDR, *options, check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def test_ping_and_tcp_through_the_bond(topo):
    up(topo, "mode=active-backup", "miimon=100")
    st = status_json(topo)
    assert st["mode"] == "active-backup"
    assert st["active_slave"] == "eth0"
    assert [s["name"] for s in st["slaves"]] == ["eth0", "eth1"]
    assert all(s["mii_status"] == "up" for s in st["slaves"])
    iperf = Iperf(topo, 2)
    try:
        data = iperf.result()
    finally:
        iperf.close()
    assert data["end"]["sum_received"]["bytes"] > 10_000_000
    proc_text = topo.softbond("status", "bond0").stdout
    assert "Bonding Mode: fault-tolerance (active-backup)\n" in proc_text
    assert "Currently Active Slave: eth0\n" in proc_text
    assert "MII Polling Interval (ms): 100\n" in proc_text


def test_failover_under_1khz_ping(topo):
    up(topo, "mode=1", "miimon=100")
    ping = start_ping(topo, 3.0)
    time.sleep(1.0)
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    sent, received = ping_result(ping)
    lost = sent - received
    print(f"1 kHz ping across failover: {sent} sent, {lost} lost")
    assert sent >= 2000
    assert lost <= 50, f"{lost} pings lost in the failover"
    st = status_json(topo)
    eth0 = st["slaves"][0]
    assert eth0["mii_status"] == "down" and eth0["link_failure_count"] == 1
    assert st["failovers"] == 1


def test_tcp_stream_survives_failover(topo):
    up(topo, "mode=1", "miimon=100")
    iperf = Iperf(topo, 4)
    try:
        time.sleep(1.5)
        topo.cut(0)
        wait_active(topo, "eth1", timeout=2)
        data = iperf.result()
    finally:
        iperf.close()
    intervals = [i["sum"]["bits_per_second"] for i in data["intervals"]]
    assert len(intervals) >= 4
    assert intervals[-1] > 0, "the TCP stream stalled after the failover"
    assert data["end"]["sum_received"]["bytes"] > 10_000_000


def test_failback_to_primary_after_updelay(topo):
    up(topo, "mode=1", "miimon=50", "primary=eth0", "updelay=1000", "primary_reselect=always")
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    topo.plug(0)
    plugged = time.monotonic()
    # The primary sits in "going back" for updelay before it takes over.
    st = status_json(topo)
    assert st["slaves"][0]["mii_status"] == "going back"
    assert st["active_slave"] == "eth1"
    wait_active(topo, "eth0", timeout=3)
    assert time.monotonic() - plugged >= 0.9
    assert ping_ok(topo)


def test_primary_reselect_failure_keeps_the_backup(topo):
    up(topo, "mode=1", "miimon=50", "primary=eth0", "primary_reselect=failure")
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    topo.plug(0)
    topo.wait_for(lambda: status_json(topo)["slaves"][0]["mii_status"] == "up", timeout=2)
    time.sleep(0.3)
    assert status_json(topo)["active_slave"] == "eth1"
    # ...until the current active fails.
    topo.cut(1)
    wait_active(topo, "eth0", timeout=2)


def test_arp_monitor_catches_a_dead_path_with_carrier_up(topo):
    up(topo, "mode=1", "arp_interval=100", f"arp_ip_target={topo.peer_ip()}", "arp_validate=all")
    wait_active(topo, "eth0")
    # Take the switch port out of the bridge: eth0 keeps its carrier but
    # nothing gets through any more.
    topo.exec(topo.switch_ns, ["ip", "link", "set", "sw0", "nomaster"])
    wait_active(topo, "eth1", timeout=3)
    st = status_json(topo)
    assert st["slaves"][0]["carrier"] is True
    assert st["slaves"][0]["mii_status"] == "down"
    assert ping_ok(topo)
    text = topo.softbond("status", "bond0").stdout
    assert "ARP Polling Interval (ms): 100\n" in text
    assert f"ARP IP target/s (n.n.n.n form): {topo.peer_ip()}\n" in text
    # The path heals: eth0 comes back up (as a backup).
    topo.exec(topo.switch_ns, ["ip", "link", "set", "sw0", "master", "br0"])
    assert topo.wait_for(lambda: status_json(topo)["slaves"][0]["mii_status"] == "up", timeout=3)


def test_live_enslave_set_active_release_keep_tcp(topo):
    up(topo, "mode=1", "miimon=100", slaves="eth0")
    iperf = Iperf(topo, 5)
    try:
        time.sleep(1.0)
        topo.softbond("enslave", "bond0", "eth1")
        assert [s["name"] for s in status_json(topo)["slaves"]] == ["eth0", "eth1"]
        time.sleep(0.5)
        topo.softbond("set-active", "bond0", "eth1")
        wait_active(topo, "eth1", timeout=1)
        time.sleep(0.5)
        topo.softbond("release", "bond0", "eth0")
        assert [s["name"] for s in status_json(topo)["slaves"]] == ["eth1"]
        data = iperf.result()
    finally:
        iperf.close()
    intervals = [i["sum"]["bits_per_second"] for i in data["intervals"]]
    assert intervals[-1] > 0
    assert ping_ok(topo)


@pytest.mark.topology(members=3)
def test_link_messages_alone_follow_members_as_they_come_and_go(topo):
    """miimon=0 and no ARP monitor: only rtnetlink link messages tell the
    bond about carrier, and its socket filter passes only its members'.
    A member enslaved live is heard (the filter grows before its carrier is
    first read); a released one and a stranger are not members, and their
    carrier changes change nothing."""
    up(topo, "mode=1", "miimon=0", slaves="eth0")
    topo.softbond("enslave", "bond0", "eth1")
    topo.cut(0)
    wait_active(topo, "eth1", timeout=1)
    assert topo.wait_for(lambda: status_json(topo)["slaves"][0]["mii_status"] == "down", timeout=1)
    topo.plug(0)
    assert topo.wait_for(lambda: status_json(topo)["slaves"][0]["mii_status"] == "up", timeout=2), \
        "the carrier coming back was not heard"
    topo.softbond("release", "bond0", "eth0")
    topo.cut(0)
    topo.cut(2)
    time.sleep(0.3)
    st = status_json(topo)
    assert [s["name"] for s in st["slaves"]] == ["eth1"] and st["active_slave"] == "eth1"
    assert st["slaves"][0]["mii_status"] == "up" and st["slaves"][0]["link_failure_count"] == 0
    topo.cut(1)
    assert topo.wait_for(lambda: status_json(topo)["active_slave"] is None, timeout=1)
    topo.plug(1)
    wait_active(topo, "eth1", timeout=2)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)


def mii(topo, i):
    return status_json(topo)["slaves"][i]["mii_status"]


@pytest.mark.topology(members=3)
@pytest.mark.parametrize("reselect,after_eth2_up,after_primary_up",
                         [("always", "eth2", "eth1"), ("better", "eth0", "eth0"), ("failure", "eth0", "eth0")])
def test_prio_follows_the_kernels_selftest(topo, reselect, after_eth2_up, after_primary_up):
    """The kernel's option_prio.sh, on softbond: prio eth0=0, eth1=10 (the
    primary), eth2=11, for each primary_reselect (the members' speeds are
    equal, so "better" keeps the current one)."""
    up(topo, "mode=1", "miimon=50", "primary=eth1", f"primary_reselect={reselect}", "prio=eth1:10,eth2:11",
       slaves="eth0,eth1,eth2")
    wait_active(topo, "eth1")
    assert [s["prio"] for s in status_json(topo)["slaves"]] == [0, 10, 11]
    topo.cut(1)
    wait_active(topo, "eth2", timeout=2)          # the highest prio, the primary being down
    topo.cut(2)
    wait_active(topo, "eth0", timeout=2)
    topo.plug(2)
    assert topo.wait_for(lambda: mii(topo, 2) == "up", timeout=3)
    time.sleep(0.3)
    wait_active(topo, after_eth2_up, timeout=2)
    topo.plug(1)
    assert topo.wait_for(lambda: mii(topo, 1) == "up", timeout=3)
    time.sleep(0.3)
    wait_active(topo, after_primary_up, timeout=2)
    if reselect == "always":
        for prio in ("eth0:1000000", "eth1:0", "eth2:-50"):
            topo.softbond("set", "bond0", "prio", prio)
        st = status_json(topo)
        assert [s["prio"] for s in st["slaves"]] == [1000000, 0, -50]
        assert st["options"]["prio"] == {"eth0": 1000000, "eth1": 0, "eth2": -50}
        assert st["active_slave"] == "eth1"        # the primary is up: the prios wait
        assert any("prio updated, but will not affect failover re-selection" in e["message"]
                   for e in st["events"])
        topo.cut(1)
        wait_active(topo, "eth0", timeout=2)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)


def test_prio_without_primary_chooses_at_once_and_names_bad_members(topo):
    up(topo, "mode=1", "miimon=50")
    wait_active(topo, "eth0")
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    topo.plug(0)
    assert topo.wait_for(lambda: mii(topo, 0) == "up", timeout=3)
    time.sleep(0.3)
    assert status_json(topo)["active_slave"] == "eth1"     # equal prio coming back: no change
    topo.softbond("set", "bond0", "prio", "eth0:5")
    wait_active(topo, "eth0", timeout=1)                      # bond_option_prio_set chooses again
    bad = topo.softbond("set", "bond0", "prio", "eth7:1", check=False)
    assert bad.returncode != 0 and "bond0: option prio: eth7 is not a slave of bond0" in bad.stderr
    bad = topo.softbond("set", "bond0", "prio", "eth1:high", check=False)
    assert bad.returncode != 0 and "option prio: invalid value (eth1:high)" in bad.stderr
    assert status_json(topo)["options"]["prio"] == {"eth0": 5}
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)


def test_set_active_refuses_a_down_member(topo):
    up(topo, "mode=1", "miimon=100")
    topo.cut(1)
    topo.wait_for(lambda: status_json(topo)["slaves"][1]["mii_status"] == "down", timeout=2)
    proc = topo.softbond("set-active", "bond0", "eth1", check=False)
    assert proc.returncode != 0
    assert "eth1" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert status_json(topo)["active_slave"] == "eth0"


def test_live_option_change(topo):
    up(topo, "mode=1", "miimon=100")
    topo.softbond("set", "bond0", "miimon", "50")
    topo.softbond("set", "bond0", "primary", "eth1")
    wait_active(topo, "eth1", timeout=2)
    st = status_json(topo)
    assert st["options"]["miimon"] == 50 and st["options"]["primary"] == "eth1"
    bad = topo.softbond("set", "bond0", "miimon", "fast", check=False)
    assert bad.returncode != 0 and "miimon" in bad.stderr
    assert status_json(topo)["options"]["miimon"] == 50


def test_down_restores_members_exactly(topo):
    h = topo.host
    topo.exec(h, ["ip", "link", "set", "eth1", "mtu", "1400"])
    topo.exec(h, ["ip", "link", "set", "eth1", "up"])

    def snapshot():
        out = {}
        for name in ("eth0", "eth1"):
            link = topo.exec(h, ["ip", "-d", "-j", "link", "show", name]).stdout
            import json
            d = json.loads(link)[0]
            out[name] = (d["address"], d["mtu"], d.get("promiscuity"), "UP" in d["flags"], d.get("allmulti"))
        return out

    before = snapshot()
    up(topo, "mode=1", "miimon=100")
    during = snapshot()
    assert during["eth1"][0] == during["eth0"][0], "members carry the bond MAC (fail_over_mac=none)"
    topo.softbond("down", "bond0")
    assert snapshot() == before
    assert topo.exec(h, ["ip", "link", "show", "bond0"], check=False).returncode != 0


def test_two_bonds_in_one_namespace(request):
    from softbond.lab.netns import Topology
    with Topology(prefix=f"sbtwo{time.time_ns() % 10000}", members=4) as topo:
        topo.exec(topo.peer(), ["ip", "addr", "add", "192.168.101.1/24", "dev", "peer0"])
        topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=1", "miimon=100")
        topo.softbond("up", "bond1", "--slaves", "eth2,eth3", "--address", "192.168.101.199/24",
                      "mode=active-backup", "miimon=100", "primary=eth3")
        assert topo.wait_for(lambda: ping_ok(topo, "192.168.100.1") and ping_ok(topo, "192.168.101.1"))
        assert status_json(topo, "bond1")["active_slave"] == "eth3"
        both = topo.softbond("status", "--json").stdout
        import json
        assert [b["bond"] for b in json.loads(both)] == ["bond0", "bond1"]
        pids = {status_json(topo, b)["pid"] for b in ("bond0", "bond1")}
        assert len(pids) == 2, "each bond runs in its own process"
        topo.softbond("down", "bond1")
        assert ping_ok(topo, "192.168.100.1")


def test_bond0_in_two_namespaces_at_once(topo):
    from softbond.lab.netns import Topology
    with Topology(prefix=f"sbns{time.time_ns() % 10000}") as other:
        up(topo, "mode=1", "miimon=100")
        other.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=1", "primary=eth1")
        assert other.wait_for(lambda: ping_ok(other))
        assert status_json(topo)["active_slave"] == "eth0"
        assert status_json(other)["active_slave"] == "eth1"
        assert status_json(topo)["pid"] != status_json(other)["pid"]


def test_seed_config_files(topo, tmp_path):
    from softbond.lab.demo import IFCFG_BOND0, IFCFG_ETH, MODPROBE_CONF
    d = tmp_path / "network-scripts"
    d.mkdir()
    (d / "ifcfg-bond0").write_text(IFCFG_BOND0 + 'BONDING_OPTS="mode=1 miimon=100 primary=eth1"\n')
    for name in ("eth0", "eth1"):
        (d / f"ifcfg-{name}").write_text(IFCFG_ETH.format(name=name))
    topo.softbond("up", "--config", str(d))
    assert topo.wait_for(lambda: ping_ok(topo))
    st = status_json(topo)
    assert st["active_slave"] == "eth1" and st["options"]["miimon"] == 100
    assert st["addresses"] == ["192.168.100.199/24"]
    topo.softbond("down", "bond0")
    modprobe = tmp_path / "modprobe.conf"
    modprobe.write_text(MODPROBE_CONF)
    (d / "ifcfg-bond0").write_text(IFCFG_BOND0)
    topo.softbond("up", "--config", str(modprobe), "--config", str(d))
    assert topo.wait_for(lambda: ping_ok(topo))
    st = status_json(topo)
    assert st["mode"] == "active-backup" and st["options"]["miimon"] == 100


def test_ifcfg_ipv6_addresses_and_default_route(topo, tmp_path):
    """IPV6INIT=yes with IPV6ADDR, IPV6ADDR_SECONDARIES and IPV6_DEFAULTGW,
    as ifup-ipv6 reads them: the addresses on the bond, the route via the
    gateway (and GATEWAY's IPv4 default route beside it), and IPv6 traffic
    to the peer through the members."""
    from softbond.lab.demo import IFCFG_BOND0, IFCFG_ETH
    topo.exec(topo.peer(), ["ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "peer0", "nodad"])
    d = tmp_path / "network-scripts"
    d.mkdir()
    (d / "ifcfg-bond0").write_text(IFCFG_BOND0 + 'BONDING_OPTS="mode=1 miimon=100"\nIPV6INIT=yes\n'
                                   "IPV6ADDR=2001:db8::199/64\nIPV6ADDR_SECONDARIES=fd00:1::199/64\n"
                                   "IPV6_DEFAULTGW=2001:db8::1\nGATEWAY=192.168.100.1\n")
    for name in ("eth0", "eth1"):
        (d / f"ifcfg-{name}").write_text(IFCFG_ETH.format(name=name))
    topo.softbond("up", "--config", str(d))
    st = status_json(topo)
    assert {"192.168.100.199/24", "2001:db8::199/64", "fd00:1::199/64"} <= set(st["addresses"])
    routes = topo.exec(topo.host, ["ip", "-6", "route", "show", "default"]).stdout
    assert "via 2001:db8::1 dev bond0" in routes, routes
    routes4 = topo.exec(topo.host, ["ip", "-4", "route", "show", "default"]).stdout
    assert "via 192.168.100.1 dev bond0" in routes4, routes4      # ifup-eth's GATEWAY beside it
    assert topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-6", "-c", "1", "-W", "1", "2001:db8::1"],
                                           check=False).returncode == 0, timeout=10)


def test_crash_leaves_nothing_the_next_up_cannot_repair(topo):
    up(topo, "mode=1", "miimon=100")
    pid = status_json(topo)["pid"]
    topo.exec(topo.host, ["kill", "-9", str(pid)])
    time.sleep(0.2)
    up(topo, "mode=1", "miimon=100")
    assert status_json(topo)["pid"] != pid
    topo.softbond("down", "bond0")
    mac0 = topo.exec(topo.host, ["cat", "/sys/class/net/eth0/address"]).stdout
    mac1 = topo.exec(topo.host, ["cat", "/sys/class/net/eth1/address"]).stdout
    assert mac0 != mac1, "members got their own MACs back"


def test_down_after_crash_repairs(topo):
    up(topo, "mode=1", "miimon=100")
    topo.exec(topo.host, ["kill", "-9", str(status_json(topo)["pid"])])
    time.sleep(0.2)
    topo.softbond("down", "bond0")
    assert topo.exec(topo.host, ["ip", "link", "show", "bond0"], check=False).returncode != 0
    assert topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=1").returncode == 0


@pytest.mark.parametrize("args,culprit", [
    (["bond0", "--slaves", "eth0,eth9", "mode=1"], "eth9"),
    (["bond0", "--slaves", "eth0,eth1", "mode=1", "miimon=often"], "miimon"),
    (["bond0", "--slaves", "eth0,eth1", "mode=9"], "mode"),
    # lacp_rate=fast in active-backup is not here: on the command line the
    # options are module parameters, which the kernel takes with a warning
    # (tests/oracle/test_module_parameters.py); this one it refuses.
    (["bond0", "--slaves", "eth0,eth1", "mode=1", "arp_validate=all"], "arp_validate"),
    (["averyveryverylongbondname", "--slaves", "eth0,eth1"], "averyveryverylongbondname"),
    (["bond0", "--slaves", "eth0,eth1", "--config", "/nonexistent/softbond.toml"], "/nonexistent/softbond.toml"),
])
def test_bad_input_is_refused_and_changes_nothing(topo, args, culprit):
    before = topo.exec(topo.host, ["ip", "-br", "link"]).stdout
    proc = topo.softbond("up", *args, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0], proc.stderr
    assert topo.exec(topo.host, ["ip", "-br", "link"]).stdout == before


def test_member_with_an_address_is_refused(topo):
    topo.exec(topo.host, ["ip", "addr", "add", "10.9.9.9/24", "dev", "eth1"])
    before = topo.exec(topo.host, ["ip", "-br", "link"]).stdout
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=1", check=False)
    assert proc.returncode != 0
    assert "eth1" in proc.stderr and "10.9.9.9/24" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert topo.exec(topo.host, ["ip", "-br", "link"]).stdout == before


def test_member_of_another_bond_is_refused(topo):
    up(topo, "mode=1", "miimon=100")
    proc = topo.softbond("up", "bond1", "--slaves", "eth1", "mode=1", check=False)
    assert proc.returncode != 0 and "eth1" in proc.stderr and "bond0" in proc.stderr
    proc = topo.softbond("enslave", "bond0", "eth0", check=False)
    assert proc.returncode != 0 and "eth0" in proc.stderr
    assert topo.exec(topo.host, ["ip", "link", "show", "bond1"], check=False).returncode != 0


DROP_AND_ASK = """
import os, sys
from softbond.faces import cli
os.setgid(65534); os.setuid(65534)
try:
    cli.request("bond0", {"cmd": "status"})
except cli.CliError as exc:
    print(exc); sys.exit(3)
"""


def test_control_socket_is_root_only(topo):
    up(topo, "mode=1", "miimon=100")
    mode = topo.exec(topo.host, [sys.executable, "-c",
                                 "import os, stat; from softbond.kernel import rundir as runtime; "
                                 "print(oct(stat.S_IMODE(os.stat(runtime.socket_path('bond0')).st_mode)))"]).stdout
    assert mode.strip() == "0o600"
    proc = topo.exec(topo.host, [sys.executable, "-c", DROP_AND_ASK], check=False)
    assert proc.returncode == 3 and "permission denied" in proc.stdout.lower(), proc.stdout + proc.stderr


def _fdb_port(topo, mac):
    out = topo.exec(topo.switch_ns, ["bridge", "fdb", "show", "br", "br0"]).stdout
    for line in out.splitlines():
        if line.startswith(mac) and "permanent" not in line:
            return line.split()[2]
    return None


def test_gratuitous_arp_moves_the_switch_at_once(topo):
    up(topo, "mode=1", "miimon=100", "num_grat_arp=3", "peer_notif_delay=100")
    mac = status_json(topo)["hwaddr"]
    assert _fdb_port(topo, mac) == "sw0"
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    # No traffic of ours has flowed: only the gratuitous ARP can have
    # taught the bridge that our MAC now lives behind sw1.
    assert topo.wait_for(lambda: _fdb_port(topo, mac) == "sw1", timeout=1)


JOIN = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("239.1.2.3") + socket.inet_aton("192.168.100.199"))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
              socket.inet_pton(socket.AF_INET6, "ff05::1:3") + socket.if_nametoindex("bond0").to_bytes(4, "little"))
print("joined", flush=True)
time.sleep(30)
"""


def test_failover_resends_igmp_joins_on_the_new_member(topo):
    """resend_igmp=3: after a failover the groups the bond's stack joined
    are reported three times, 200 ms apart, through the new active member
    (seen at that member's switch port): IGMPv3 from the bond's address,
    MLDv2 from its link-local one."""
    up(topo, "mode=1", "miimon=100", "resend_igmp=3")
    member = topo.popen(topo.host, [sys.executable, "-c", JOIN], stdout=subprocess.PIPE, text=True)
    try:
        assert member.stdout.readline().strip() == "joined"
        time.sleep(3.0)    # the kernel's own unsolicited reports for the joins are over
        cap = topo.popen(topo.switch_ns, ["tcpdump", "-i", topo.switch_port(1), "-nn", "-l", "-tt", "-v",
                                          "--direction=in", "igmp or ip6[6] == 0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)
        topo.cut(0)
        wait_active(topo, "eth1", timeout=2)
        time.sleep(1.5)
        cap.terminate()
        out, _ = cap.communicate(timeout=5)
    finally:
        member.kill()
        member.wait()
    # tcpdump -v: a timestamped IP line, then the report on the next line
    lines = out.splitlines()
    reports = [(lines[i], lines[i + 1]) for i in range(len(lines) - 1)
               if "igmp" in lines[i].lower() and "239.1.2.3" in lines[i + 1]]
    assert len(reports) == 3, out
    assert all("192.168.100.199 > 224.0.0.22" in report for _, report in reports), out
    times = [float(ip_line.split()[0]) for ip_line, _ in reports]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.15 < g < 0.4 for g in gaps), gaps
    mld = [(lines[i], lines[i + 1]) for i in range(len(lines) - 1)
           if "fe80::" in lines[i + 1] and "ff02::16" in lines[i + 1]
           and "multicast listener report v2" in lines[i + 1] and "ff05::1:3" in lines[i + 1]
           and "sum ok" in lines[i + 1]]
    assert len(mld) == 3, out


def test_fail_over_mac_active_moves_the_bond_mac(topo):
    up(topo, "mode=1", "miimon=100", "fail_over_mac=active")
    st = status_json(topo)
    perm = {s["name"]: s["perm_hwaddr"] for s in st["slaves"]}
    assert st["hwaddr"] == perm["eth0"]
    text = topo.softbond("status", "bond0").stdout
    assert "Bonding Mode: fault-tolerance (active-backup) (fail_over_mac active)\n" in text
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    assert topo.wait_for(lambda: status_json(topo)["hwaddr"] == perm["eth1"], timeout=1)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=3)


def test_fail_over_mac_follow_gives_the_new_active_the_bond_mac(topo):
    up(topo, "mode=1", "miimon=100", "fail_over_mac=follow")
    bond_mac = status_json(topo)["hwaddr"]
    mac = lambda n: topo.exec(topo.host, ["cat", f"/sys/class/net/{n}/address"]).stdout.strip()  # noqa: E731
    assert mac("eth0") == bond_mac and mac("eth1") != bond_mac
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    assert topo.wait_for(lambda: mac("eth1") == bond_mac, timeout=1)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=3)


def test_backup_frames_are_dropped_unless_all_slaves_active(topo):
    up(topo, "mode=1", "miimon=100")
    # A broadcast from the peer reaches both members through the bridge;
    # only the active one may deliver it.
    topo.exec(topo.peer(), ["ping", "-b", "-c", "3", "-i", "0.2", "-W", "1", "192.168.100.255"], check=False)
    dropped = status_json(topo)["rx_dropped_inactive"]
    assert dropped >= 3
    topo.softbond("set", "bond0", "all_slaves_active", "1")
    assert status_json(topo)["options"]["all_slaves_active"] == 1


def test_ns_monitor_catches_a_dead_path(topo):
    topo.exec(topo.peer(), ["ip", "-6", "addr", "add", "fd00::1/64", "dev", "peer0", "nodad"])
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "--address", "fd00::199/64",
                         "mode=1", "arp_interval=100", "ns_ip6_target=fd00::1", "arp_validate=all", check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo, "fd00::1"), timeout=10)
    wait_active(topo, "eth0")
    time.sleep(0.5)
    assert status_json(topo)["slaves"][0]["mii_status"] == "up"
    topo.exec(topo.switch_ns, ["ip", "link", "set", "sw0", "nomaster"])
    wait_active(topo, "eth1", timeout=3)
    assert status_json(topo)["slaves"][0]["mii_status"] == "down"
    assert topo.wait_for(lambda: ping_ok(topo, "fd00::1"), timeout=3)
    text = topo.softbond("status", "bond0").stdout
    assert "NS IPv6 target/s (xx::xx form): fd00::1\n" in text


def test_max_bonds_from_modprobe_conf_then_ifenslave(topo, tmp_path):
    conf = tmp_path / "modprobe.conf"
    conf.write_text("alias bond0 bonding\noptions bonding mode=active-backup miimon=100 max_bonds=2\n")
    topo.softbond("up", "--config", str(conf))
    both = {b: status_json(topo, b) for b in ("bond0", "bond1")}
    assert all(s["slaves"] == [] and s["mii_status"] == "down" for s in both.values())
    assert both["bond0"]["pid"] != both["bond1"]["pid"]
    topo.softbond("enslave", "bond0", "eth0")
    topo.softbond("enslave", "bond1", "eth1")
    assert topo.wait_for(lambda: status_json(topo, "bond0")["mii_status"] == "up")
    assert status_json(topo, "bond1")["active_slave"] == "eth1"
    topo.softbond("down", "bond1")
    topo.softbond("down", "bond0")


def test_a_member_that_disappears_is_released(topo):
    up(topo, "mode=1", "miimon=100")
    topo.exec(topo.host, ["ip", "link", "del", "eth0"])
    assert topo.wait_for(lambda: [s["name"] for s in status_json(topo)["slaves"]] == ["eth1"], timeout=2)
    wait_active(topo, "eth1")
    assert topo.wait_for(lambda: ping_ok(topo), timeout=3)
    topo.softbond("down", "bond0")
