"""Open vSwitch (userspace, netdev datapath) as the switch of the test
topology, and shaped member links.

Measured on the 2-core test machine (one TCP stream, iperf3, 5 s):
- a host address on eth0 through the OVS active-backup bond, userspace TSO
  (the default): 11.5-12.1 Gbit/s either way; with tx offload off on every
  veth end instead 1.6-1.75 Gbit/s; with neither, TCP does not connect at
  all (ping does). Through softbond's active-backup bond and OVS: 6.8 out,
  7.9 in.
- Topology.shape() at 100 and 200 Mbit/s: 95-96% of the rate either way,
  through the Linux bridge and through OVS (the payload share of a
  1514-byte frame).
"""
import os
import subprocess
import time

import pytest

from tests.support.netcheck import Iperf, ping_ok, ping_result, start_ping, status_json, wait_active
from softbond.lab.netns import Topology, ip
from softbond.lab.ovs_switch import OvsError, OvsSwitch

ADDR = "192.168.100.199/24"


def _procs_naming(path):
    """Every process (zombies included, by pid) whose command line names `path`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if path.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _links(ns):
    out = subprocess.run(["ip", "-n", ns, "-br", "link"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split()[0].split("@")[0] for line in out.splitlines())


class _VswitchdFailsToStart(OvsSwitch):
    def _spawn(self, daemon, args):
        super()._spawn(daemon, ["--no-such-option"] if daemon == "ovs-vswitchd" else args)


def test_ovs_starts_and_stops_cleanly(tmp_path):
    ns = f"sbovs{os.getpid() % 10000}"
    rundir = str(tmp_path / "ovs")
    ip("netns", "add", ns)
    try:
        sw = OvsSwitch(ns, rundir)
        sw.start()
        pids = sw.pids()
        assert len(pids) == 2, pids
        assert "Open vSwitch" in sw.appctl("version")
        sw.add_bridge("br0")
        assert "datapath_type: netdev" in sw.vsctl("show")
        assert sw.vsctl("get", "Open_vSwitch", ".", "other_config:userspace-tso-enable").strip() == '"true"'
        assert {"ovs-netdev", "br0"} <= set(_links(ns))
        # The daemons live in the namespace, not in ours.
        inside = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        assert sorted(map(int, inside)) == sorted(pids)

        started = time.monotonic()
        sw.stop()
        print(f"OVS stopped in {time.monotonic() - started:.2f} s")
        assert not any(os.path.exists(f"/proc/{pid}") for pid in pids), "daemon (or zombie) left"
        assert _procs_naming(rundir) == []
        assert not os.path.exists(rundir)
        assert _links(ns) == ["lo"], "tap devices of the netdev datapath left behind"
        sw.stop()  # twice is fine

        # A start that fails half-way (ovs-vswitchd cannot read its
        # database) still leaves nothing behind.
        broken = _VswitchdFailsToStart(ns, rundir)
        with pytest.raises(OvsError, match="ovs-vswitchd exited"):
            broken.start(timeout=5)
        assert _procs_naming(rundir) == [] and not os.path.exists(rundir)
        broken.stop()
        # ... and so does one in a namespace that does not exist.
        with pytest.raises(OvsError):
            OvsSwitch(ns + "x", rundir).start()
        assert not os.path.exists(rundir)
    finally:
        ip("netns", "del", ns, check=False)


def test_topology_with_ovs_closes_cleanly():
    with Topology(prefix=f"sbovc{os.getpid() % 10000}", switch="ovs", ovs_bond_mode="active-backup") as topo:
        assert topo.switch_ns == f"{topo.prefix}-sw" and topo.switch == "ovs"
        rundir, pids = topo.ovs.rundir, topo.ovs.pids()
        assert len(pids) == 2
        show = topo.ovs.bond_show("bond0")
        assert "bond_mode: active-backup" in show and "member sw0" in show and "member sw1" in show
        ports = topo.ovs.vsctl("list-ports", "br0").split()
        assert sorted(ports) == ["bond0", "swp0"]
        assert topo.ovs.system_id in topo.ovs.vsctl("get", "Port", "bond0", "other_config")
    assert topo.ovs is None
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
    assert not os.path.exists(rundir)
    assert not os.path.exists(f"/run/netns/{topo.switch_ns}")


def _member_enabled(topo, port):
    show = topo.ovs.bond_show("bond0")
    return f"member {port}: enabled" in show


@pytest.mark.topology(switch="ovs", ovs_bond_mode="active-backup", ovs_lacp="off")
def test_active_backup_bond_behind_ovs(topo):
    assert topo.switch == "ovs"
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=active-backup", "miimon=100",
                         "--address", ADDR, check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond and OVS"
    assert status_json(topo)["active_slave"] == "eth0"
    assert topo.wait_for(lambda: _member_enabled(topo, "sw0") and _member_enabled(topo, "sw1"), timeout=5), \
        topo.ovs.bond_show("bond0")

    for reverse in (False, True):
        iperf = Iperf(topo, 2, reverse=reverse)
        try:
            data = iperf.result()
        finally:
            iperf.close()
        rate = data["end"]["sum_received"]["bits_per_second"]
        print(f"TCP through the bond and OVS ({'in' if reverse else 'out'}): {rate / 1e9:.2f} Gbit/s")
        assert data["end"]["sum_received"]["bytes"] > 10_000_000

    # Pulling the cable: OVS notices the veth carrier and moves its active
    # member, the bond fails over, and traffic flows again.
    ping = start_ping(topo, 3.0)
    time.sleep(0.5)
    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    assert topo.wait_for(lambda: not _member_enabled(topo, "sw0"), timeout=3), topo.ovs.bond_show("bond0")
    sent, received = ping_result(ping)
    print(f"1 kHz ping across failover behind OVS: {sent} sent, {sent - received} lost")
    assert received > 0 and sent - received <= 200
    assert ping_ok(topo)
    topo.plug(0)
    assert topo.wait_for(lambda: _member_enabled(topo, "sw0"), timeout=3), topo.ovs.bond_show("bond0")


def _measure(topo, reverse, seconds=3):
    iperf = Iperf(topo, seconds, reverse=reverse)
    try:
        data = iperf.result()
    finally:
        iperf.close()
    return data["end"]["sum_received"]["bits_per_second"] / 1e6


def test_shape_gives_a_member_its_line_rate(topo):
    # No bond needed: eth0 itself carries the address.
    topo.exec(topo.host, ["ip", "addr", "add", ADDR, "dev", "eth0"])
    topo.exec(topo.host, ["ip", "link", "set", "eth0", "up"])
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)
    topo.shape(0, 100)
    for ns, dev in ((topo.switch_ns, "sw0"), (topo.host, "eth0")):
        qdisc = topo.exec(ns, ["tc", "qdisc", "show", "dev", dev]).stdout
        assert "tbf" in qdisc and "rate 100Mbit" in qdisc, qdisc
    out_rate = _measure(topo, reverse=False)  # leaves through eth0's tbf
    in_rate = _measure(topo, reverse=True)    # arrives through sw0's tbf
    print(f"shaped to 100 Mbit/s: out {out_rate:.1f}, in {in_rate:.1f} Mbit/s")
    assert 85 <= out_rate <= 105
    assert 85 <= in_rate <= 105

    topo.shape(0, 100, both=False)
    assert "tbf" not in topo.exec(topo.host, ["tc", "qdisc", "show", "dev", "eth0"]).stdout
    assert "tbf" in topo.exec(topo.switch_ns, ["tc", "qdisc", "show", "dev", "sw0"]).stdout
    topo.unshape(0)
    topo.unshape(0)  # twice is fine
    for ns, dev in ((topo.switch_ns, "sw0"), (topo.host, "eth0")):
        assert "tbf" not in topo.exec(ns, ["tc", "qdisc", "show", "dev", dev]).stdout
