"""softbond doctor against broken setups built for real: a Linux bridge that
is no trunk with one member on another bridge, a dead bond process, a bond
that fell back to the Python path; Open vSwitch as a static trunk, then as
an LACP partner whose ports are in different LAGs, then in one."""
import json
import os
import signal
import time

from tests.support.netcheck import Iperf, ping_ok, status_direct
from tests.support.modes_util import ADDR, OVS_TRUNK

import pytest

from softbond.lab.netns import SOFTBOND, ip


def doctor(topo, *args):
    proc = topo.softbond("doctor", *args, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def findings(topo, *args):
    """{id: [finding, ...]} from doctor --json, and the exit status."""
    proc = doctor(topo, "--json", *args)
    out = {}
    for f in json.loads(proc.stdout):
        assert f["bond"] and f["what"] and f["evidence"] and f["fix"], f
        out.setdefault(f["id"], []).append(f)
    return out, proc.returncode


def up(topo, *args):
    proc = topo.softbond("up", "bond0", "--address", ADDR, *args, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.topology(members=3)
def test_bridge_healthy_then_no_trunk_member_elsewhere_mtu_dead_and_fallback(topo):
    peer = topo.peer_ip()
    # eth2's switch port is on a second bridge that reaches nothing.
    ip("-n", topo.switch_ns, "link", "add", "br1", "type", "bridge")
    ip("-n", topo.switch_ns, "link", "set", "br1", "up")
    ip("-n", topo.switch_ns, "link", "set", "sw2", "nomaster")
    ip("-n", topo.switch_ns, "link", "set", "sw2", "master", "br1")

    up(topo, "--slaves", "eth0,eth1", "mode=active-backup", "miimon=100", f"arp_ip_target={peer}")
    proc = doctor(topo)
    assert (proc.returncode, proc.stdout) == (0, "bond0: no problems found\n"), proc.stdout + proc.stderr
    topo.softbond("down", "bond0")

    up(topo, "--slaves", "eth0,eth1,eth2", "mode=balance-rr")
    ip("-n", topo.host, "link", "set", "eth1", "mtu", "1400")
    ip("-n", topo.host, "route", "add", "default", "via", peer, "dev", "bond0")   # probed as the gateway
    got, code = findings(topo)
    assert code == 1
    assert set(got) == {"monitor.none", "switch.not_a_trunk", "member.unreachable", "member.mtu_differs"}, got
    assert "came back on" in got["switch.not_a_trunk"][0]["evidence"]
    unreachable = got["member.unreachable"][0]
    assert unreachable["what"].startswith(f"eth2 cannot reach {peer}")
    assert "answered on eth0, eth1, no answer for eth2" in unreachable["evidence"]
    assert "eth1 1400" in got["member.mtu_differs"][0]["evidence"]
    assert got["member.mtu_differs"][0]["fix"] == "ip link set eth1 mtu 1500"
    text = doctor(topo).stdout
    assert text.count("\n  evidence: ") == text.count("\n  fix: ") == 4, text
    assert "ERROR bond0: eth2 cannot reach" in text

    os.kill(status_direct(topo)["pid"], signal.SIGKILL)
    assert topo.wait_for(lambda: doctor(topo, "bond0").returncode == 1, timeout=5)
    got, code = findings(topo)
    assert (set(got), code) == ({"bond.not_running"}, 1), got
    assert "softbond down bond0" in got["bond.not_running"][0]["fix"]
    topo.softbond("down", "bond0")

    # Started without CAP_BPF/CAP_SYS_ADMIN: datapath=auto falls back. No
    # gateway, no arp_ip_target: eth2 is probed towards --target only.
    topo.exec(topo.host, ["setpriv", "--inh-caps=-all", "--bounding-set=-bpf,-sys_admin", *SOFTBOND, "up", "bond0",
                          "--slaves", "eth0,eth2", "--address", ADDR, "mode=active-backup", "miimon=100"])
    got, code = findings(topo)
    assert (set(got), code) == ({"datapath.python_fallback"}, 1), got
    nobody = "192.168.100.77"   # on the test's own subnet, where no one has it
    got, code = findings(topo, "--target", peer, "--target", nobody)
    assert (set(got), code) == ({"datapath.python_fallback", "member.unreachable", "target.unreachable"}, 1), got
    assert got["target.unreachable"][0]["what"] == f"no member reaches {nobody}"
    assert got["member.unreachable"][0]["what"].startswith(f"eth2 cannot reach {peer}")
    assert "Operation not permitted" in got["datapath.python_fallback"][0]["evidence"]


def test_refused_doctor_is_one_line(topo):
    for args, message in ((("nosuch",), "softbond: nosuch: no such bond in this network namespace\n"),
                          (("--target", "10.1"), "softbond: doctor: --target 10.1: not an IPv4 address\n"),
                          ((), "softbond: doctor: no bonds in this network namespace\n")):
        proc = doctor(topo, *args)
        assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", message)


def lacp_current(topo, names):
    slaves = {s["name"]: s for s in status_direct(topo)["slaves"]}
    return all(slaves[n]["ad"] and slaves[n]["ad"]["current"] for n in names)


@pytest.mark.topology(members=3, **OVS_TRUNK)
def test_ovs_static_trunk_then_three_lacp_lags_then_one(topo):
    peer = topo.peer_ip()
    # A static trunk: no switch.not_a_trunk; a layer2 hash sends one flow's
    # bytes (every flow's, to one peer) on one member.
    up(topo, "--slaves", "eth0,eth1,eth2", "mode=balance-xor", "miimon=100")
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    iperf = Iperf(topo, 10)     # killed once doctor has measured
    try:
        time.sleep(1)
        got, code = findings(topo, "--target", peer)
    finally:
        iperf.close()
    assert (set(got), code) == ({"balance.one_member_busy"}, 1), got
    assert "xmit_hash_policy layer3+4" in got["balance.one_member_busy"][0]["fix"]
    topo.softbond("down", "bond0")

    # The switch's ports each an LACP port of their own (three LAGs, slow
    # LACPDUs), sw1 announcing another system id (another switch), sw2 silent.
    topo.ovs.vsctl("del-port", "br0", "bond0")
    other_switch = "02:00:00:00:00:99"
    for i in range(3):
        topo.ovs.vsctl("add-port", "br0", f"sw{i}", "--", "set", "port", f"sw{i}", "lacp=active",
                       f"other_config:lacp-system-id={other_switch if i == 1 else topo.ovs.system_id}")
    topo.silence(2)
    up(topo, "--slaves", "eth0,eth1,eth2", "mode=802.3ad", "miimon=100", "lacp_rate=fast")
    assert topo.wait_for(lambda: lacp_current(topo, ["eth0", "eth1"]), timeout=5)
    got, code = findings(topo)
    assert code == 1
    assert set(got) == {"lacp.aggregators_split", "lacp.partner_key_differs", "lacp.partner_system_differs",
                        "lacp.rate_mismatch", "lacp.partner_silent"}, got
    assert got["lacp.partner_system_differs"][0]["evidence"] == (
        f"eth0: partner system {topo.ovs.system_id}, eth1: partner system {other_switch}")
    assert got["lacp.partner_silent"][0]["what"].startswith("eth2: no LACPDU")
    assert "eth0: aggregator_id 1, eth1: aggregator_id 2" == got["lacp.aggregators_split"][0]["evidence"]
    assert got["lacp.rate_mismatch"][0]["what"].startswith("lacp_rate is fast here and slow on the switch")

    # eth0's partner falls silent after it was heard: defaulted, not silent.
    topo.silence(0)
    assert topo.wait_for(lambda: not lacp_current(topo, ["eth0"]), timeout=6)
    got, _ = findings(topo)
    assert [f["what"] for f in got["lacp.partner_defaulted"]] == [
        "eth0: the partner stopped sending LACPDUs (defaulted)"], got
    assert [f["what"][:5] for f in got["lacp.partner_silent"]] == ["eth2:"]

    # The switch fixed as doctor says: one LAG, fast LACPDUs. Nothing left.
    for i in range(3):
        topo.unsilence(i)
        topo.ovs.vsctl("del-port", "br0", f"sw{i}")
    topo.ovs.add_bond("br0", "bond0", ["sw0", "sw1", "sw2"], bond_mode="balance-tcp", lacp="active",
                      lacp_time="fast")
    assert topo.wait_for(lambda: all(s["ad"]["mux_state"] == "COLLECTING_DISTRIBUTING"
                                     for s in status_direct(topo)["slaves"]), timeout=8)
    proc = doctor(topo, "bond0", "--target", peer)
    assert (proc.returncode, proc.stdout) == (0, "bond0: no problems found\n"), proc.stdout
