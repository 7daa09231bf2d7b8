"""The data-path suite (issue 5, "Line rate"): softbond's two data paths
beside the kernel's plain paths and Open vSwitch's userspace datapath,
every figure measured in the same invocation as its baseline.

    sudo python3 bench/datapath.py [--runs N] [--quick] [--pps PPS] [--failovers K]
                                   [--cc cubic,bbr] [--only main|scaling] [--json FILE]

bench/run.py will dispatch to this file; it also runs on its own as above.
Default: 3 runs (about 15 minutes); --quick: 1 run, 3 s iperf3 runs, 10 s
idle window (about 4 minutes).

Main table: every case below lives in its own namespaces for the whole
suite (veth and veth-direct share one set), and each kind of measurement
runs over all cases back to back, so a baseline and the figures compared
with it are seconds apart; the order of the cases alternates between runs.
  veth         plain veth: the host's IP on eth0, behind the Linux bridge,
               no softbond. THE BASELINE of every ratio.
  veth-direct  a veth pair straight from the host to the peer (no switch).
  ovs-bridge   Open vSwitch in userspace (datapath_type=netdev, userspace
               TSO) as the switch, the host on a plain OVS port.
  ovs-ab-bond  the same OVS with its member ports in an active-backup bond
               (the host's IP on eth0; eth1 down so sw0 is the active
               member): OVS's own userspace bonding.
  ebpf         softbond mode=active-backup datapath=ebpf behind the bridge.
  python       softbond mode=active-backup datapath=python behind the bridge.
  python-w2    the same with datapath_workers=2: two worker processes over a
               two-queue TAP (CPU and RSS are the daemon's plus the workers').
  naive        bench/naivefwd.py: TAP read -> AF_PACKET send and back, one
               frame per system call, no vnet header (64-byte UDP only; the
               peer's tx checksum offload is off for it, see naivefwd.py).
Measures: iperf3 -t 5 TCP with 1 and with 8 streams (-P 8), each both
directions (out: host -> peer, in: peer -> host with -R), receiver-side
Gbit/s, once per TCP congestion control named by --cc (default cubic, the
kernel's default, and bbr; iperf3 -C sets it on both ends). The algorithm
is named because it decides the result: BBR paces at the delivery rate it
measures, and through a forwarder that rate is measured from evenly spread
ACKs, where over a plain veth ACK compression inflates it many times; the
host's own default (net.ipv4.tcp_congestion_control) differs between
machines, so it is never left to chance; 64-byte UDP (iperf3 -u -l 64 -b PPS*512), the sender paced at
--pps packets/s (default 400000: about what one iperf3 sender reaches
here; the plain veth delivers it all on a quiet machine) so that it sleeps
between bursts rather than starving the forwarder of CPU, both directions. The pps figure is counted at the
receiving namespace's UDP layer (Udp InDatagrams + InErrors from its
/proc/net/snmp: every datagram the path delivered, whether or not the
receiving iperf3 kept up), the offered rate at the sending namespace's Udp
OutDatagrams; for the bonds the member's tx counter (the data path's
output) is kept in the JSON too. The eBPF path's frames into the bond
device are not counted on that device (a redirect to ingress bypasses the
veth's counters), hence the UDP-layer count for every case. CPU of the
forwarding process (softbond's, or ovs-vswitchd) from utime+stime in
/proc/PID/stat during each run, per Gbit moved; for eBPF the process is
idle and the kernel does the work (in the senders' and receivers' softirq
context, charged to them), so its figure is near zero by construction.
RSS (VmRSS) of the same process.

Scaling table (one set of topologies, kept up through the phase):
  2, 4 and 8 members (one bond), 8 bonds (8 softbond processes in one host
  namespace, bond0..bond7 with 2 members each out of Topology(members=16),
  bond0 on 192.168.100.0/24 with the peer, bond1..7 on 192.168.101-107.0/24
  with no peer: they idle beside bond0), and 1 vs 1000 flows (the 2-member
  bond with bench/udpflows.py sending from 1000 UDP source ports; active-
  backup never looks at flows, so this checks that nothing per flow grows).
  Idle CPU of each configuration's bond process(es) over 30 s (10 s with
  --quick), all configurations idling at once; RSS; CPU at a 10 kpps load;
  failover: a 10 kHz UDP stream (bench/udpstream.py's sender, run.py's
  failover approach; bench/udpgap.py receives, udpflows.py sends the 1000
  flows), the active member's switch port set down 1.2 s in (over
  rtnetlink by bench/linkcut.py, which timestamps the request): frames
  lost (x 0.1 ms = the traffic lost to the switch-over, the figure that
  resolves it), both directions on the 2-member bond (--failovers per
  direction and run), bond -> peer on the others; two timed upper bounds
  measured from the start of the port-down request (the carrier event
  lies somewhere inside that request, which takes about 1-7 ms here): the
  send time of the first datagram after the hole in the sequence that got
  through, and the bond's "making interface the new active one" event.
  And the figure the failover target is judged by: that first datagram's
  send time after the carrier event itself, as the kernel stamps it (the
  workqueue_queue_work tracepoint of linkwatch_event, which veth_close
  queues as it takes the carrier off; bench/ktrace.py) - the bond's own
  switch-over, with the kernel's linkwatch, RTNL and RCU waits before the
  daemon hears of it included.
  The failed member is plugged back after each measurement (no primary:
  the next measurement cuts the other member).

Targets (issue 5): eBPF >= 0.95 of plain veth for one TCP stream; pure
Python >= 0.7; idle CPU < 1% of a core; failover data-plane switch < 1 ms
after the carrier event. The summary says for each whether it was met.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from benchutil import commit, fmt, loadavg, machine_busy, med, procs_cpu, rss_mb
from ktrace import CarrierEvents

from softbond.lab.netns import Topology, ip

ADDR = "192.168.100.199/24"
BOND_IP = ADDR.split("/")[0]
DIRECT = ("10.99.0.1", "10.99.0.2")       # host end vd0, peer end vd1
PY = sys.executable
UDPSTREAM = [PY, os.path.join(HERE, "udpstream.py")]
UDPFLOWS = [PY, os.path.join(HERE, "udpflows.py")]
LINKCUT = [PY, os.path.join(HERE, "linkcut.py")]
UDPGAP = [PY, os.path.join(HERE, "udpgap.py")]
NAIVEFWD = [PY, os.path.join(HERE, "naivefwd.py")]
FAILOVER_RATE = 10000                       # frames/s: 0.1 ms per lost frame
TCP_CASES = ("veth", "veth-direct", "ovs-bridge", "ovs-ab-bond", "ebpf", "python", "python-w2")
ALL_CASES = TCP_CASES + ("naive",)
LABELS = {
    "veth": "plain veth (host IP on eth0, Linux bridge) = baseline",
    "veth-direct": "veth pair host <-> peer, no switch",
    "ovs-bridge": "OVS userspace bridge (netdev, userspace TSO)",
    "ovs-ab-bond": "OVS userspace active-backup bond",
    "ebpf": "softbond eBPF (active-backup)",
    "python": "softbond pure Python (active-backup)",
    "python-w2": "softbond pure Python, datapath_workers=2 (active-backup)",
    "naive": "naive Python forwarder (1 frame/syscall)",
}


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# -- measuring ----------------------------------------------------------------

def udp_snmp(ns: str) -> dict[str, int]:
    text = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], capture_output=True,
                          text=True, check=True).stdout
    head, values = [line.split()[1:] for line in text.splitlines() if line.startswith("Udp:")][:2]
    return dict(zip(head, map(int, values)))


def link_stats(ns: str) -> dict[str, dict]:
    out = subprocess.run(["ip", "-n", ns, "-j", "-s", "link"], capture_output=True, text=True, check=True).stdout
    return {li["ifname"]: li["stats64"] for li in json.loads(out)}


def ping_ok(ns: str, target: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c1", "-W1", target],
                          capture_output=True, check=False).returncode == 0


def wait_ping(topo: Topology, ns: str, target: str, timeout: float = 10) -> None:
    if not topo.wait_for(lambda: ping_ok(ns, target), timeout=timeout):
        raise RuntimeError(f"no ping from {ns} to {target}")


class Case:
    """Where a case's traffic runs: client (host side) and server (peer
    side) namespaces, the peer's and the host's address, the forwarding
    processes to charge CPU to, and the member whose tx counts the data
    path's output."""

    def __init__(self, host_ns: str, peer_ns: str, target: str, host_ip: str, pids=(), member=None):
        self.host_ns, self.peer_ns, self.target, self.host_ip = host_ns, peer_ns, target, host_ip
        self.pids, self.member = list(pids), member


@contextlib.contextmanager
def iperf_server(ns: str, port: int):
    """A one-shot iperf3 server in `ns`, reaped (or killed) afterwards."""
    server = subprocess.Popen(["ip", "netns", "exec", ns, "iperf3", "-s", "-1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        yield
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=5)
        if server.poll() is None:
            server.kill()
            server.wait()


def iperf_tcp(case: Case, seconds: int, reverse: bool, streams: int, cc: str) -> dict:
    with iperf_server(case.peer_ns, 5201):
        argv = ["ip", "netns", "exec", case.host_ns, "iperf3", "-c", case.target, "-p", "5201", "-t", str(seconds),
                "-P", str(streams), "-C", cc, "-J"] + (["-R"] if reverse else [])
        cpu0, t0 = procs_cpu(case.pids), time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 40, check=False)
        cpu1, t1 = procs_cpu(case.pids), time.monotonic()
        data = json.loads(proc.stdout)
        if "error" in data:
            raise RuntimeError(f"iperf3: {data['error']}")
    received = data["end"]["sum_received"]
    gbit_moved = received["bytes"] * 8 / 1e9
    out = {"gbit": received["bits_per_second"] / 1e9, "gbit_moved": gbit_moved}
    if case.pids:
        out["cpu_s"] = cpu1 - cpu0
        out["cpu_util"] = (cpu1 - cpu0) / (t1 - t0)
        out["cpu_s_per_gbit"] = (cpu1 - cpu0) / gbit_moved if gbit_moved > 0 else None
    return out


def iperf_udp(case: Case, seconds: int, reverse: bool, pps: int) -> dict:
    sender, receiver = (case.peer_ns, case.host_ns) if reverse else (case.host_ns, case.peer_ns)
    with iperf_server(case.peer_ns, 5202):
        argv = ["ip", "netns", "exec", case.host_ns, "iperf3", "-c", case.target, "-p", "5202", "-u", "-l", "64",
                "-b", str(pps * 512), "-t", str(seconds), "-J"] + (["-R"] if reverse else [])
        s0, r0 = udp_snmp(sender), udp_snmp(receiver)
        m0 = link_stats(case.host_ns).get(case.member) if case.member else None
        cpu0, t0 = procs_cpu(case.pids), time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 40, check=False)
        cpu1, t1 = procs_cpu(case.pids), time.monotonic()
        m1 = link_stats(case.host_ns).get(case.member) if case.member else None
        s1, r1 = udp_snmp(sender), udp_snmp(receiver)
        data = json.loads(proc.stdout)
        if "error" in data:
            raise RuntimeError(f"iperf3: {data['error']}")
    delivered = (r1["InDatagrams"] - r0["InDatagrams"]) + (r1["InErrors"] - r0["InErrors"])
    out = {"offered_pps": (s1["OutDatagrams"] - s0["OutDatagrams"]) / seconds, "pps": delivered / seconds,
           "rcvbuf_errors": r1["RcvbufErrors"] - r0["RcvbufErrors"]}
    if m0 is not None and m1 is not None:
        key = "rx" if reverse else "tx"
        out[f"member_{key}_pps"] = (m1[key]["packets"] - m0[key]["packets"]) / seconds
    if case.pids:
        out["cpu_util"] = (cpu1 - cpu0) / (t1 - t0)
    return out


# -- the cases ----------------------------------------------------------------

def bond_up(topo: Topology, datapath: str, *, bond: str = "bond0", slaves: str = "eth0,eth1",
            address: str = ADDR, options: tuple[str, ...] = ()) -> int:
    topo.softbond("up", bond, "--slaves", slaves, "--address", address, "mode=active-backup", "miimon=100",
                  f"datapath={datapath}", *options)
    st = status(topo, bond)
    if st.get("datapath") != datapath:
        raise RuntimeError(f"asked for datapath={datapath}, {bond} runs {st.get('datapath')}")
    return st["pid"]


def status(topo: Topology, bond: str = "bond0") -> dict:
    return json.loads(topo.softbond("status", bond, "--json").stdout)


@contextlib.contextmanager
def bridge_case(topo: Topology, name: str):
    host, peer = topo.host, topo.peer()
    topo.exec(peer, ["ip", "neigh", "flush", "all"], check=False)
    if name == "veth":
        topo.exec(host, ["ip", "addr", "add", ADDR, "dev", "eth0"])
        topo.exec(host, ["ip", "link", "set", "eth0", "up"])
        try:
            wait_ping(topo, host, topo.peer_ip())
            yield Case(host, peer, topo.peer_ip(), BOND_IP, member="eth0")
        finally:
            topo.exec(host, ["ip", "addr", "flush", "dev", "eth0"])
    elif name == "veth-direct":
        wait_ping(topo, host, DIRECT[1])
        yield Case(host, peer, DIRECT[1], DIRECT[0], member="vd0")
    elif name in ("ebpf", "python", "python-w2"):
        workers = name == "python-w2"
        pid = bond_up(topo, "python" if workers else name, options=("datapath_workers=2",) if workers else ())
        # The workers do the forwarding: their CPU and memory count with the daemon's.
        pids = [pid] + [w["pid"] for w in status(topo)["datapath_workers"] or []]
        try:
            wait_ping(topo, host, topo.peer_ip())
            yield Case(host, peer, topo.peer_ip(), BOND_IP, pids=pids, member="eth0")
        finally:
            topo.softbond("down", "bond0", check=False)
    elif name == "naive":
        # Full checksums from the peer: naivefwd.py has no vnet header to
        # carry a partial one.
        topo.exec(peer, ["ethtool", "-K", "peer0", "tx", "off"], check=False)
        fwd = topo.popen(host, [*NAIVEFWD, "nf0", "eth0", ADDR], stdout=subprocess.PIPE, text=True)
        try:
            if fwd.stdout.readline().strip() != "ready":
                raise RuntimeError("naivefwd.py did not start")
            wait_ping(topo, host, topo.peer_ip())
            yield Case(host, peer, topo.peer_ip(), BOND_IP, pids=[fwd.pid], member="eth0")
        finally:
            fwd.kill()
            fwd.wait()
            topo.exec(host, ["tc", "qdisc", "del", "dev", "eth0", "clsact"], check=False)
            topo.exec(peer, ["ethtool", "-K", "peer0", "tx", "on"], check=False)
    else:
        raise ValueError(name)


@contextlib.contextmanager
def ovs_case(topo: Topology, name: str):
    host, peer = topo.host, topo.peer()
    dev = "ob0" if name == "ovs-bridge" else "eth0"
    vswitchd = topo.ovs._children["ovs-vswitchd"].pid
    topo.exec(peer, ["ip", "neigh", "flush", "all"], check=False)
    topo.exec(host, ["ip", "addr", "add", ADDR, "dev", dev])
    topo.exec(host, ["ip", "link", "set", dev, "up"])
    try:
        wait_ping(topo, host, topo.peer_ip())
        yield Case(host, peer, topo.peer_ip(), BOND_IP, pids=[vswitchd], member=dev)
    finally:
        topo.exec(host, ["ip", "addr", "flush", "dev", dev])
        topo.exec(host, ["ip", "link", "set", dev, "down"])


def bridge_topology(tag: str, direct: bool = False) -> Topology:
    topo = Topology(prefix=f"sbd{os.getpid() % 10000}{tag}")
    topo.__enter__()
    if not direct:
        return topo
    try:
        ip("link", "add", "vd0", "netns", topo.host, "type", "veth", "peer", "name", "vd1", "netns", topo.peer())
        topo.exec(topo.host, ["ip", "addr", "add", f"{DIRECT[0]}/24", "dev", "vd0"])
        topo.exec(topo.peer(), ["ip", "addr", "add", f"{DIRECT[1]}/24", "dev", "vd1"])
        topo.exec(topo.host, ["ip", "link", "set", "vd0", "up"])
        topo.exec(topo.peer(), ["ip", "link", "set", "vd1", "up"])
    except BaseException:
        topo.close()
        raise
    return topo


def ovs_topology(tag: str, plain_port: bool) -> Topology:
    topo = Topology(prefix=f"sbd{os.getpid() % 10000}{tag}", switch="ovs", ovs_bond_mode="active-backup",
                    ovs_lacp="off")
    topo.__enter__()
    if not plain_port:
        return topo
    try:
        ip("link", "add", "ob0", "netns", topo.host, "type", "veth", "peer", "name", "swb0", "netns", topo.switch_ns)
        topo.exec(topo.switch_ns, ["ip", "link", "set", "swb0", "up"])
        topo.ovs.add_port("br0", "swb0")
    except BaseException:
        topo.close()
        raise
    return topo


TCP_KINDS = (("tcp1_out", False, 1), ("tcp1_in", True, 1), ("tcp8_out", False, 8), ("tcp8_in", True, 8))
PPS_KINDS = (("pps_out", False), ("pps_in", True))


def tcp_key(kind: str, cc: str) -> str:
    return f"{kind}@{cc}"


def congestion_controls(raw: dict) -> list[str]:
    """The algorithms a result holds, in the order they ran (keys without
    one come from runs before --cc existed: the host's default, unrecorded)."""
    seen = []
    for runs in raw.values():
        for r in runs:
            for key in r:
                if key.startswith("tcp"):
                    cc = key.partition("@")[2] or ""
                    if cc not in seen:
                        seen.append(cc)
    return seen


def available_ccs(wanted: list[str]) -> list[str]:
    """The algorithms of `wanted` this kernel has (loading tcp_<name> where
    it is a module); the others are left out with a notice."""
    path = "/proc/sys/net/ipv4/tcp_available_congestion_control"
    out = []
    for cc in wanted:
        with open(path) as f:
            have = f.read().split()
        if cc not in have:
            subprocess.run(["modprobe", f"tcp_{cc}"], capture_output=True, check=False)
            with open(path) as f:
                have = f.read().split()
        if cc in have:
            out.append(cc)
        else:
            log(f"TCP congestion control {cc} is not available here: its runs are left out")
    return out


def main_suite(args) -> dict:
    """Every case lives in its own namespaces for the whole suite (the plain
    veth and the direct pair share one set), so that each kind of
    measurement runs over all cases back to back: a baseline and the figure
    compared with it are seconds apart, not minutes. The order of the cases
    alternates between runs."""
    raw: dict = {c: [] for c in ALL_CASES}
    with contextlib.ExitStack() as stack:
        cases: dict[str, Case] = {}
        topo = bridge_topology("v", direct=True)
        stack.callback(topo.close)
        cases["veth"] = stack.enter_context(bridge_case(topo, "veth"))
        cases["veth-direct"] = stack.enter_context(bridge_case(topo, "veth-direct"))
        for name, tag in (("ebpf", "e"), ("python", "p"), ("python-w2", "w"), ("naive", "n")):
            if name not in ALL_CASES:
                continue
            topo = bridge_topology(tag)
            stack.callback(topo.close)
            cases[name] = stack.enter_context(bridge_case(topo, name))
        for name, tag in (("ovs-bridge", "ob"), ("ovs-ab-bond", "oa")):
            topo = ovs_topology(tag, plain_port=name == "ovs-bridge")
            stack.callback(topo.close)
            cases[name] = stack.enter_context(ovs_case(topo, name))
        time.sleep(1)
        for run in range(args.runs):
            order = [c for c in ALL_CASES if c in cases]
            if run % 2:
                order.reverse()
            log(f"run {run + 1}/{args.runs}: load average {loadavg()}, machine busy {machine_busy(1):.0%} "
                f"before the run; order {', '.join(order)}")
            results: dict = {c: {} for c in order}
            for cc in args.cc:
                for kind, reverse, streams in TCP_KINDS:
                    key = tcp_key(kind, cc)
                    for c in order:
                        if c in TCP_CASES:
                            results[c][key] = iperf_tcp(cases[c], args.seconds, reverse, streams, cc)
                    log(f"  {key}: " + ", ".join(f"{c} {results[c][key]['gbit']:.2f}" for c in order
                                                 if key in results[c]))
            for key, reverse in PPS_KINDS:
                for c in order:
                    results[c][key] = iperf_udp(cases[c], args.pps_seconds, reverse, args.pps)
                log(f"  {key}: " + ", ".join(f"{c} {results[c][key]['pps'] / 1e3:.0f}k/"
                                             f"{results[c][key]['offered_pps'] / 1e3:.0f}k" for c in order))
            for c in order:
                if cases[c].pids:
                    results[c]["rss_mb"] = sum(rss_mb(p) for p in cases[c].pids)
                raw[c].append(results[c])
    return raw


# -- scaling ------------------------------------------------------------------

BASE = "2 members, 1 bond"
CONFIGS = (  # name, members per topology, bonds
    (BASE, 2, 1),
    ("4 members", 4, 1),
    ("8 members", 8, 1),
    ("8 bonds x 2 members (one namespace)", 16, 8),
)


class Setup:
    def __init__(self, datapath: str, name: str, members: int, bonds: int, tag: str):
        self.datapath, self.name, self.bonds = datapath, name, bonds
        self.topo = Topology(prefix=f"sbs{os.getpid() % 10000}{tag}", members=members)
        self.topo.__enter__()
        try:
            self.pids = []
            if bonds == 1:
                slaves = ",".join(self.topo.member(i) for i in range(members))
                self.pids.append(bond_up(self.topo, datapath, slaves=slaves))
            else:
                for k in range(bonds):
                    address = ADDR if k == 0 else f"192.168.{100 + k}.199/24"
                    self.pids.append(bond_up(self.topo, datapath, bond=f"bond{k}", address=address,
                                             slaves=f"eth{2 * k},eth{2 * k + 1}"))
            self.slaves = [s["name"] for s in status(self.topo)["slaves"]]
            wait_ping(self.topo, self.topo.host, self.topo.peer_ip())
        except BaseException:
            self.topo.close()
            raise

    def close(self) -> None:
        self.topo.close()


def failover_once(setup: Setup, direction: str = "out", flows: int = 1, seconds: float = 2.5,
                  cut_at: float = 1.2, carriers: CarrierEvents | None = None) -> dict:
    topo = setup.topo
    st = status(topo)
    active = st["active_slave"]
    index = setup.slaves.index(active)
    # Both members up before we start (the last measurement plugged one back).
    if not topo.wait_for(lambda: all(s["mii_status"] == "up" for s in status(topo)["slaves"]), timeout=5):
        raise RuntimeError(f"{setup.name}: not every member is up again")
    cutter = topo.popen(topo.switch_ns, [*LINKCUT, topo.switch_port(index)], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True)
    if cutter.stdout.readline().strip() != "ready":
        raise RuntimeError("linkcut.py did not start")
    if direction == "out":
        rx_ns, tx_ns, target, port = topo.peer(), topo.host, topo.peer_ip(), "9000"
    else:
        rx_ns, tx_ns, target, port = topo.host, topo.peer(), BOND_IP, "9001"
    recv = topo.popen(rx_ns, [*UDPGAP, port, str(seconds + 1)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    sender = ([*UDPSTREAM, "send", target, port, str(FAILOVER_RATE), str(seconds)] if flows == 1 else
              [*UDPFLOWS, "send", target, port, str(FAILOVER_RATE), str(seconds), str(flows)])
    cpu0, t0 = procs_cpu(setup.pids), time.monotonic()
    send = topo.popen(tx_ns, sender, stdout=subprocess.PIPE, text=True)
    time.sleep(cut_at)
    if carriers:
        carriers.start()
    cut = json.loads(cutter.communicate("cut\n", timeout=10)[0])
    send.communicate(timeout=seconds + 30)
    cpu1, t1 = procs_cpu(setup.pids), time.monotonic()
    result = json.loads(recv.communicate(timeout=seconds + 30)[0])
    # The kernel's stamp of the carrier going off (CLOCK_MONOTONIC), moved
    # onto the wall clock the datagrams and the request were stamped with.
    wall = time.time() - time.monotonic()
    carrier = next((t + wall for t in (carriers.stop() if carriers else []) if t + wall >= cut["before"]), None)
    st = status(topo)
    new = st["active_slave"]
    times = [e["time"] for e in st["events"] if e["kind"] == "failover" and e["slave"] == new
             and e["time"] >= cut["before"] - 0.001]
    reaction = (min(times) - cut["before"]) * 1000 if times else None
    # The first datagram sent after the cut that arrived: the data plane had
    # switched by then. No hole at all: nothing sent was lost.
    hole = result["hole"]
    timed = after_carrier = None
    if hole is None or not result["lost"]:
        timed = 0.0
    elif hole["after"][1] >= cut["before"] - 0.01:
        timed = max(0.0, (hole["after"][1] - cut["before"]) * 1000)
        if carrier is not None:
            after_carrier = (hole["after"][1] - carrier) * 1000
    topo.plug(index)
    return {"lost": result["lost"], "received": result["received"], "max_gap_ms": result["max_gap_ms"],
            "outage_ms": outage({"lost": result["lost"], "hole": hole}),
            "switch_ms": result["lost"] * 1000 / FAILOVER_RATE, "switch_timed_ms": timed,
            "carrier_ms": None if carrier is None else (carrier - cut["before"]) * 1000,
            "through_after_carrier_ms": after_carrier,
            "reaction_ms": reaction, "hole": hole, "cut": cut,
            "cpu_util": (cpu1 - cpu0) / (t1 - t0), "from": active, "to": new}


def outage(x: dict) -> float | None:
    """The hole in the stream by its send times: from the last datagram that
    got through before it to the first after it, less one interval (0.1 ms)
    - how long everything sent was lost, to within one interval while the
    sender kept its pace (then it agrees with lost / rate)."""
    hole = x.get("hole")
    if not x["lost"] or hole is None:
        return 0.0
    if hole.get("before") is None:
        return None
    return max(0.0, (hole["after"][1] - hole["before"][1]) * 1000 - 1000 / FAILOVER_RATE)


def scaling_suite(args, paths: list[str]) -> dict:
    setups: list[Setup] = []
    raw: dict = {}
    carriers = CarrierEvents()
    if not carriers.available():
        log(f"no kernel timestamps of carrier events ({carriers.why}): those columns stay empty")
    try:
        for dp in paths:
            for k, (name, members, bonds) in enumerate(CONFIGS):
                setups.append(Setup(dp, name, members, bonds, f"{dp[0]}{k}"))
                log(f"  up: {dp} {name}")
        time.sleep(3)
        log(f"idle window {args.idle} s, load average {loadavg()}")
        cpu0 = {id(s): procs_cpu(s.pids) for s in setups}
        t0 = time.monotonic()
        time.sleep(args.idle)
        cpu1 = {id(s): procs_cpu(s.pids) for s in setups}
        t1 = time.monotonic()
        for s in setups:
            key = f"{s.datapath} {s.name}"
            raw[key] = {"datapath": s.datapath, "config": s.name, "bonds": s.bonds,
                        "idle_cpu": (cpu1[id(s)] - cpu0[id(s)]) / (t1 - t0),
                        "rss_mb": sum(rss_mb(p) for p in s.pids),
                        "rss_mb_each": [round(rss_mb(p), 1) for p in s.pids], "failover": {}}
        log("  idle: " + ", ".join(f"{k} {v['idle_cpu']:.2%}" for k, v in raw.items()))
        for run in range(args.runs):
            order = setups if run % 2 == 0 else list(reversed(setups))
            for s in order:
                key = f"{s.datapath} {s.name}"
                cases = [("out", 1)]
                if s.name == BASE:
                    cases = [("out", 1), ("in", 1)] * args.failovers + [("out", 1000)]
                for direction, flows in cases:
                    r = failover_once(s, direction, flows, carriers=carriers)
                    raw[key]["failover"].setdefault(f"{direction} flows={flows}", []).append(r)
                    log(f"  run {run + 1} {key} {direction} flows={flows}: lost {r['lost']} "
                        f"({r['switch_ms']:.1f} ms), reaction {r['reaction_ms']} ms, carrier "
                        f"{r['carrier_ms']} ms, through {r['through_after_carrier_ms']} ms after it, "
                        f"cpu {r['cpu_util']:.1%}, "
                        f"{r['from']} -> {r['to']}")
        for s in setups:
            key = f"{s.datapath} {s.name}"
            raw[key]["rss_mb_after"] = sum(rss_mb(p) for p in s.pids)
    finally:
        for s in setups:
            s.close()
        carriers.close()
    return raw


# -- reporting ----------------------------------------------------------------

def paired(values, base) -> list[float]:
    """Per-run ratios: run i of a case over run i of the baseline (measured
    seconds apart in the same run)."""
    return [v / b for v, b in zip(values, base) if v is not None and b]


def ratio(values, base) -> str:
    return fmt(paired(values, base))


def main_tables(raw: dict) -> str:
    base = raw["veth"]
    out = []
    for cc in congestion_controls(raw):
        out += [(f"### Throughput: iperf3 TCP ({cc or 'the host default congestion control'}), Gbit/s (median, "
                 "min-max), ratio to plain veth (median and min-max of the per-run ratios)\n"),
                "| path | 1 stream out | ratio | 1 stream in | ratio | 8 streams out | ratio | 8 streams in | ratio |",
                "|---|---|---|---|---|---|---|---|---|"]
        for name in TCP_CASES:
            runs = raw[name]
            cells = []
            for kind in ("tcp1_out", "tcp1_in", "tcp8_out", "tcp8_in"):
                key = tcp_key(kind, cc) if cc else kind
                vals = [r[key]["gbit"] for r in runs]
                cells += [fmt(vals), "1" if name == "veth" else ratio(vals, [r[key]["gbit"] for r in base])]
            out.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
        out.append("")
    first = congestion_controls(raw)[0]
    k1_out, k1_in = (tcp_key(k, first) if first else k for k in ("tcp1_out", "tcp1_in"))
    out += [ ("### 64-byte UDP, delivered packets/s (thousands; median, min-max), ratio to plain veth "
                 "(per-run ratios); cost of the forwarding process\n"),
            ("| path | kpps out (offered) | ratio | kpps in (offered) | ratio | forwarder CPU at the pps runs, "
             "out / in | kpps per forwarder CPU-second, out / in | forwarder CPU s per Gbit, 1 TCP stream out / in "
             "| forwarder CPU, 1 TCP stream out / in (the first --cc) | RSS MB |"),
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name in ALL_CASES:
        runs = raw[name]
        cells = []
        for key in ("pps_out", "pps_in"):
            vals = [r[key]["pps"] for r in runs]
            offered = med(r[key]["offered_pps"] for r in runs)
            cells += [f"{fmt(vals, '.0f', scale=1e-3)} ({offered / 1e3:.0f})",
                      "1" if name == "veth" else ratio(vals, [r[key]["pps"] for r in base])]
        if runs and "cpu_util" in runs[0]["pps_out"]:
            pps_util = " / ".join(fmt([r[k]["cpu_util"] for r in runs], ".0f", scale=100, span=False) + "%"
                                  for k in ("pps_out", "pps_in"))
            per_core = " / ".join(fmt([r[k]["pps"] / r[k]["cpu_util"] if r[k]["cpu_util"] > 0.02 else None
                                       for r in runs], ".0f", scale=1e-3, span=False)
                                  for k in ("pps_out", "pps_in"))
            if k1_out in runs[0]:
                per = " / ".join(fmt([r[k].get("cpu_s_per_gbit") for r in runs], ".3f", span=False)
                                 for k in (k1_out, k1_in))
                util = " / ".join(fmt([r[k]["cpu_util"] for r in runs], ".0f", scale=100, span=False) + "%"
                                  for k in (k1_out, k1_in))
            else:
                per = util = "-"
            rss = fmt([r["rss_mb"] for r in runs], ".1f", span=False)
        else:
            per = util = pps_util = per_core = rss = "-"
        out.append(f"| {LABELS[name]} | " + " | ".join(cells) + f" | {pps_util} | {per_core} | {per} | {util} "
                   f"| {rss} |")
    return "\n".join(out)


def scaling_table(raw: dict) -> str:
    out = [("| data path | configuration | idle CPU (% of a core, all bond processes) | RSS MB (total) "
            "| CPU at 10 kpps (% of a core) | failover: frames lost at 10 kHz (median, min-max) "
            "| = ms of traffic lost | outage by send times, ms (median, min-max) "
            "| first datagram through, ms after the port-down request (upper bound) "
            "| control-plane reaction, ms after the request (upper bound) "
            "| carrier event (kernel stamp), ms after the request "
            "| first datagram through, ms after the carrier event (runs with a hole) |"),
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for r in raw.values():
        rows.append((r["datapath"], r["config"], "out flows=1", r))
        if "in flows=1" in r["failover"]:
            rows.append((r["datapath"], r["config"] + ", peer -> bond", "in flows=1", r))
            rows.append((r["datapath"], r["config"] + ", 1000 flows", "out flows=1000", r))
    for dp, label, fkey, r in rows:
        runs = r["failover"].get(fkey, [])
        lost = [x["lost"] for x in runs]
        out.append(f"| {dp} | {label} | {r['idle_cpu'] * 100:.2f} | {r['rss_mb']:.1f} "
                   f"| {fmt([x['cpu_util'] for x in runs], '.1f', scale=100)} "
                   f"| {fmt(lost, '.0f')} | {fmt([x['switch_ms'] for x in runs], '.1f', span=False)} "
                   f"| {fmt([outage(x) for x in runs], '.2f')} "
                   f"| {fmt([x['switch_timed_ms'] for x in runs], '.2f')} "
                   f"| {fmt([x['reaction_ms'] for x in runs], '.2f')} "
                   f"| {fmt([x.get('carrier_ms') for x in runs], '.2f')} "
                   f"| {fmt([x.get('through_after_carrier_ms') for x in runs], '.2f')} |")
    cuts = [(x["cut"]["after"] - x["cut"]["before"]) * 1000 for r in raw.values() for v in r["failover"].values()
            for x in v]
    starts = [(x["hole"]["before"][1] - x["cut"]["before"]) * 1000 for r in raw.values()
              for v in r["failover"].values() for x in v if x["lost"] and x["hole"] and x["hole"].get("before")]
    out.append(f"\nThe port-down request itself (rtnetlink, bench/linkcut.py) took {fmt(cuts, '.2f')} ms: the "
               "carrier event lies somewhere inside it, so the two columns timed from the request are upper bounds; the kernel's "
               "stamp of the carrier event places it exactly. The last "
               "datagram through the old member was sent "
               f"{fmt(starts, '.2f')} ms after the request began (where the carrier went, to within the 0.1 ms "
               "interval, when the hole started after the request). The frames lost at 10 kHz (0.1 ms each) "
               "and the outage by send times measure the switch-over itself.")
    return "\n".join(out)


def bimodal_note(values: list[float], base: list[float]) -> str:
    """When the baseline's own runs differ by more than half again, a run's
    ratio may pair one mode of it with another mode of the case (one cubic
    stream over veth here runs at either about 17 or about 40 Gbit/s):
    say so, and compare the best runs, which reach the same mode."""
    if not base or min(base) <= 0 or max(base) / min(base) <= 1.5:
        return ""
    return (f"; the baseline's runs spread {min(base):.1f}-{max(base):.1f} Gbit/s: best run against best run "
            f"{max(values) / max(base):.2f}")


def targets(main: dict | None, scaling: dict | None) -> str:
    lines = ["| target | figure (median) | met? |", "|---|---|---|"]
    if main:
        for name, goal in (("ebpf", 0.95), ("python", 0.7), ("python-w2", 0.7)):
            if name not in main:
                continue
            for cc, (kind, label) in itertools.product(congestion_controls(main),
                                                       (("tcp1_out", "out"), ("tcp1_in", "in"))):
                key = tcp_key(kind, cc) if cc else kind
                values = [r[key]["gbit"] for r in main[name]]
                base = [r[key]["gbit"] for r in main["veth"]]
                ratios = paired(values, base)
                q = med(ratios)
                lines.append(f"| {name}: one TCP stream {label}{f' ({cc})' if cc else ''} >= {goal} x plain veth "
                             f"| {q:.3f} (per run: "
                             f"{', '.join(f'{x:.2f}' for x in ratios)}; {med(values):.2f} / {med(base):.2f} "
                             f"Gbit/s{bimodal_note(values, base)}) | "
                             f"{'yes' if q >= goal else f'no, {goal - q:.3f} short'} |")
    if scaling:
        for r in scaling.values():
            if r["config"] != BASE:
                continue
            idle = r["idle_cpu"] * 100
            lines.append(f"| {r['datapath']}: idle CPU < 1% of a core | {idle:.2f}% | "
                         f"{'yes' if idle < 1 else 'no'} |")
            for fkey, label in (("out flows=1", "bond -> peer"), ("in flows=1", "peer -> bond")):
                runs = r["failover"].get(fkey, [])
                if not runs:
                    continue
                lost = med(x["lost"] for x in runs)
                ms = lost * 1000 / FAILOVER_RATE
                worst = max(x["lost"] for x in runs) * 1000 / FAILOVER_RATE
                stamped = [x for x in runs if x.get("carrier_ms") is not None]
                after = [x["through_after_carrier_ms"] for x in stamped if x["through_after_carrier_ms"] is not None]
                clean = sum(1 for x in stamped if x["through_after_carrier_ms"] is None and not x["lost"])
                if stamped:
                    q = med(after) if after else None
                    figure = (f"first datagram through {'-' if q is None else f'{q:.2f}'} ms after the carrier event "
                              f"(median of {len(after)} runs with a hole, worst "
                              f"{'-' if not after else f'{max(after):.2f}'}; {clean} of {len(stamped)} runs lost "
                              f"nothing); {lost:.0f} frames lost at 10 kHz = {ms:.1f} ms from the port-down "
                              f"request (worst {worst:.1f})")
                    met = q is None or q < 1
                else:
                    figure = (f"{lost:.0f} frames lost at 10 kHz = {ms:.1f} ms from the port-down request (worst run "
                              f"{worst:.1f}); no kernel stamp of the carrier event")
                    met = ms < 1
                lines.append(f"| {r['datapath']}: failover data-plane switch < 1 ms after the carrier event, "
                             f"{label} | {figure} | {'yes' if met else 'no'} |")
    return "\n".join(lines)


def datapaths() -> list[str]:
    from softbond.datapath import ebpf
    ok, why = ebpf.available()
    if not ok:
        log(f"eBPF data path unavailable ({why}): its cases are skipped")
        return ["python"]
    return ["python", "ebpf"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="runs to take medians over (default 3, --quick 1)")
    parser.add_argument("--quick", action="store_true", help="1 run, 3 s iperf3 runs, 10 s idle window")
    parser.add_argument("--pps", type=int, default=400000,
                        help="offered rate of the 64-byte UDP runs, packets/s (default 400000: about what one "
                             "iperf3 sender reaches here; the plain veth delivers it all on a quiet machine)")
    parser.add_argument("--failovers", type=int, default=None,
                        help="failovers per direction and run on the 2-member bond (default 3, --quick 1); "
                             "the other configurations get one per run")
    parser.add_argument("--cc", default="cubic,bbr",
                        help="TCP congestion controls to run the TCP cases with, comma-separated (default "
                             "cubic,bbr); the first is the one the CPU columns use")
    parser.add_argument("--only", choices=("main", "scaling"), help="run one of the two tables")
    parser.add_argument("--json", help="also write every raw figure to this file")
    parser.add_argument("--report", metavar="JSON", help="measure nothing: print the tables of an earlier --json file")
    args = parser.parse_args()
    if args.report:
        with open(args.report) as f:
            print(render(json.load(f)))
        return 0
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.failovers is None:
        args.failovers = 1 if args.quick else 3
    args.cc = available_ccs([c for c in args.cc.split(",") if c])
    if not args.cc:
        parser.error("--cc: none of the congestion controls named is available")
    args.seconds = 3 if args.quick else 5
    args.pps_seconds = 2 if args.quick else 3
    args.idle = 10 if args.quick else 30
    paths = datapaths()
    if "ebpf" not in paths:
        global TCP_CASES, ALL_CASES
        TCP_CASES = tuple(c for c in TCP_CASES if c != "ebpf")
        ALL_CASES = tuple(c for c in ALL_CASES if c != "ebpf")
    rev = commit()
    started = time.monotonic()
    before = loadavg()
    log(f"datapath suite, commit {rev}, {args.runs} run(s), load average {before}")
    main_raw = scaling_raw = None
    if args.only in (None, "main"):
        main_raw = main_suite(args)
    if args.only in (None, "scaling"):
        scaling_raw = scaling_suite(args, paths)
    result = {"commit": rev, "date": time.strftime("%Y-%m-%d %H:%M"), "runs": args.runs, "quick": args.quick,
              "pps": args.pps, "cc": args.cc, "seconds": args.seconds, "pps_seconds": args.pps_seconds, "idle": args.idle,
              "failovers": args.failovers, "elapsed": round(time.monotonic() - started),
              "loadavg_before": before, "loadavg_after": loadavg(), "main": main_raw, "scaling": scaling_raw}
    print(render(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def render(result: dict) -> str:
    g = result.get
    out = [f"# softbond data-path suite, commit {g('commit')}, {g('runs')} run(s), medians ({g('date', '?')})\n",
           (f"iperf3 -t {g('seconds', 5)}; 64-byte UDP offered at {g('pps')} pps for {g('pps_seconds', 3)} s; "
            f"idle window {g('idle', 30)} s; {g('elapsed', '?')} s in all; load average before "
            f"{g('loadavg_before', '?')}, after {g('loadavg_after', '?')}\n")]
    if result.get("main"):
        out += [main_tables(result["main"]), ""]
    if result.get("scaling"):
        out += ["### Scaling: cost per configuration (active-backup, Linux bridge, one peer)\n",
                scaling_table(result["scaling"]), ""]
    out += ["### Targets (issue 5)\n", targets(result.get("main"), result.get("scaling"))]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
