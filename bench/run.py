"""softbond benchmarks, each beside a baseline measured in the same run.

    sudo python3 bench/run.py [--runs N] [--only failover|throughput|modes] [--datapath both|python|ebpf]

failover:   a 10 kHz UDP stream through an active-backup bond, the active
            member's carrier cut: frames lost and the longest gap, with
            event-driven detection (netlink) and with the miimon=100 poll
            alone. Medians of N runs.
throughput: one TCP stream (iperf3) through the bond, as a ratio to the
            same stream over the plain veth path (same namespaces, the same
            bridge, the member holding the IP itself, no softbond).
modes:      aggregate TCP throughput of each load-balancing mode with N = 2
            and N = 4 members, each shaped to R = 100 Mbit/s, as a ratio of
            N x R and of N x a plain single link (one veth shaped to R
            holding the host's IP, no softbond, the same flows, measured in
            the same invocation), plus the bond process's CPU seconds per
            Gbit moved. N peers, 4 TCP streams each, fixed client ports.
            Each mode on the Python and the eBPF data path (--datapath).
            Medians of N runs (default 3).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from softbond.lab.netns import SOFTBOND, Topology  # noqa: E402

ADDR = "192.168.100.199/24"
UDP = [sys.executable, os.path.join(HERE, "udpstream.py")]


def bond_up(topo: Topology, *options: str, env: dict | None = None) -> None:
    argv = ["ip", "netns", "exec", topo.host, *SOFTBOND, "up", "bond0", "--slaves", "eth0,eth1",
            "--address", ADDR, *options]
    subprocess.run(argv, check=True, env={**os.environ, **(env or {})}, capture_output=True)
    topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip()], check=False).returncode == 0)


def failover_once(events: bool, cut: bool = True) -> dict:
    with Topology(prefix=f"sbb{os.getpid() % 10000}") as topo:
        env = {} if events else {"SOFTBOND_LINK_EVENTS": "0"}
        bond_up(topo, "mode=1", "miimon=100", "num_grat_arp=1", env=env)
        recv = topo.popen(topo.peer(), [*UDP, "recv", "9000", "3.5"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        send = topo.popen(topo.host, [*UDP, "send", topo.peer_ip(), "9000", "10000", "3"],
                          stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        if cut:
            topo.cut(0)
        send.communicate(timeout=30)
        out, _ = recv.communicate(timeout=30)
        return json.loads(out)


def iperf(topo: Topology, seconds: int = 5, reverse: bool = False) -> float:
    server = topo.popen(topo.peer(), ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    argv = ["iperf3", "-c", topo.peer_ip(), "-t", str(seconds), "-J"] + (["-R"] if reverse else [])
    out = topo.exec(topo.host, argv, timeout=seconds + 30).stdout
    server.wait(timeout=10)
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def throughput_once() -> dict:
    with Topology(prefix=f"sbt{os.getpid() % 10000}") as topo:
        topo.exec(topo.host, ["ip", "addr", "add", ADDR, "dev", "eth0"])
        topo.exec(topo.host, ["ip", "link", "set", "eth0", "up"])
        topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip()], check=False).returncode == 0)
        veth_out, veth_in = iperf(topo), iperf(topo, reverse=True)
        topo.exec(topo.host, ["ip", "addr", "flush", "dev", "eth0"])
        bond_up(topo, "mode=1", "miimon=100")
        bond_out, bond_in = iperf(topo), iperf(topo, reverse=True)
        topo.softbond("down", "bond0")
    return {"veth_out": veth_out, "veth_in": veth_in, "bond_out": bond_out, "bond_in": bond_in}


# -- modes: aggregate throughput of the load-balancing modes ------------------

RATE = 100                 # Mbit/s per member (tbf, both directions)
STREAMS = 4                # parallel TCP streams per peer
CPORT = 40000              # client ports CPORT + 100 * peer + stream: layer3+4 spreads them evenly
# OVS as a static trunk (an EtherChannel without LACP), as the integration
# tests use it for balance-rr, balance-xor and broadcast.
OVS_TRUNK = dict(switch="ovs", ovs_bond_mode="balance-slb", ovs_lacp="off",
                 ovs_other=("other_config:all-members-active=true",))
L34 = ("xmit_hash_policy=layer3+4",)
WINDOW = (2, 8)            # seconds of the iperf3 run that are measured
# mode, switch, bond options, direction ("tx": bond -> peers, "rx": peers ->
# bond with iperf3 -R), measured window. balance-tlb places every new flow on
# the first member until its first rebalance at 10 s: measured after 12 s.
MODES = (
    ("balance-rr", "ovs", (), "tx", WINDOW),
    ("balance-xor", "ovs", L34, "tx", WINDOW),
    ("balance-tlb", "bridge", L34, "tx", (12, 18)),
    ("balance-alb", "bridge", (), "rx", WINDOW),
    ("broadcast", "ovs", (), "tx", WINDOW),
    ("active-backup", "bridge", (), "tx", WINDOW),
)
BASELINES = (("tx", "ovs"), ("tx", "bridge"), ("rx", "bridge"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Flows:
    """iperf3 from the host to every peer (peers -> host with reverse),
    STREAMS parallel TCP flows each, client ports CPORT + 100 * peer + k."""

    def __init__(self, topo: Topology, seconds: int, reverse: bool = False):
        self.servers = [topo.popen(topo.peer(n), ["iperf3", "-s", "-1", "-J", "-p", str(5201 + n)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for n in range(topo.peers)]
        time.sleep(0.4)
        self.clients = []
        for n in range(topo.peers):
            argv = ["iperf3", "-c", topo.peer_ip(n), "-p", str(5201 + n), "-t", str(seconds), "-P", str(STREAMS),
                    "-J", "-i", "1", "--get-server-output", "--cport", str(CPORT + 100 * n)]
            argv += ["-R"] if reverse else []
            self.clients.append(topo.popen(topo.host, argv, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True))
        self.started = time.monotonic()

    @staticmethod
    def received(data: dict) -> list[dict]:
        """The receiving side's intervals (goodput): the server's for bond ->
        peers, the client's with -R. The sender's count bytes written into
        its socket, which run ahead of the receiver while the buffers grow."""
        for side in (data, data.get("server_output_json", {})):
            if side.get("intervals") and not side["intervals"][0]["sum"]["sender"]:
                return side["intervals"]
        raise RuntimeError("iperf3 gave no receiver-side intervals")

    @staticmethod
    def sender_retransmits(data: dict) -> int:
        """TCP retransmits of the whole run, as the sending side counted them."""
        for side in (data, data.get("server_output_json", {})):
            sent = side.get("end", {}).get("sum_sent", {})
            if sent.get("sender") and "retransmits" in sent:
                return sent["retransmits"]
        return 0

    def per_second(self, timeout: float = 90) -> list[float]:
        """Aggregate received Mbit/s over all peers for each one-second interval."""
        try:
            results = []
            for client in self.clients:
                text, _ = client.communicate(timeout=timeout)
                data = json.loads(text)
                if "error" in data:
                    raise RuntimeError(f"iperf3: {data['error']}")
                results.append(data)
        finally:
            for p in self.clients + self.servers:
                if p.poll() is None:
                    p.kill()
                p.wait()
        self.retransmits = sum(self.sender_retransmits(r) for r in results)
        intervals = [self.received(r) for r in results]
        seconds = min(len(i) for i in intervals)
        return [sum(i[s]["sum"]["bits_per_second"] for i in intervals) / 1e6 for s in range(seconds)]


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def member_bytes(topo: Topology, direction: str) -> list[int]:
    """Bytes each member has sent (tx) or received (rx)."""
    links = {li["ifname"]: li for li in json.loads(topo.exec(topo.host, ["ip", "-j", "-s", "link"]).stdout)}
    key = "tx" if direction == "tx" else "rx"
    return [links[topo.member(i)]["stats64"][key]["bytes"] for i in range(topo.members)]


def measure(topo: Topology, direction: str, window: tuple[int, int], pid: int | None) -> dict:
    """Run the flows, sample CPU and member counters at the window's edges
    and return the window's aggregate goodput and CPU use."""
    # One second more than the window, so that the last samples are taken
    # while the flows still run.
    flows = Flows(topo, window[1] + 1, reverse=direction == "rx")
    samples = []
    for edge in window:
        # iperf3's intervals start once the streams are connected, a little
        # after the clients were started.
        time.sleep(max(0.0, flows.started + edge + 0.2 - time.monotonic()))
        before = time.monotonic()
        counters = member_bytes(topo, direction)   # an `ip netns exec`: tens of ms
        samples.append(((before + time.monotonic()) / 2, proc_cpu(pid) if pid else 0.0, machine_cpu(), counters))
    rates = flows.per_second()
    mbit = statistics.mean(rates[window[0]:window[1]])
    (t0, cpu0, (busy0, tot0), bytes0), (t1, cpu1, (busy1, tot1), bytes1) = samples
    gbit = mbit * (window[1] - window[0]) / 1000
    out = {"mbit": mbit, "per_second": [round(r, 1) for r in rates], "retransmits": flows.retransmits,
           "member_mbit": [round((b1 - b0) * 8 / (t1 - t0) / 1e6, 1) for b0, b1 in zip(bytes0, bytes1)],
           "machine_busy": (busy1 - busy0) / max(1, tot1 - tot0)}
    if pid:
        out["cpu_s"] = cpu1 - cpu0
        out["cpu_util"] = (cpu1 - cpu0) / (t1 - t0)
        out["cpu_s_per_gbit"] = (cpu1 - cpu0) / gbit if gbit > 0 else None
    return out


def topology(members: int, peers: int, switch: str, tag: str) -> Topology:
    kwargs = dict(OVS_TRUNK) if switch == "ovs" else {}
    return Topology(prefix=f"sbm{os.getpid() % 10000}{tag}", members=members, peers=peers, **kwargs)


def reach_peers(topo: Topology) -> None:
    for i in range(topo.peers):
        ok = topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip(i)],
                                             check=False).returncode == 0)
        if not ok:
            raise RuntimeError(f"no ping to peer {i}")


def baseline_once(n: int, direction: str, switch: str) -> dict:
    """One veth shaped to RATE holding the host's IP (no softbond), the same
    flows (n peers, STREAMS each) as the bond gets."""
    with topology(1, n, switch, "b") as topo:
        topo.exec(topo.host, ["ip", "addr", "add", ADDR, "dev", "eth0"])
        topo.exec(topo.host, ["ip", "link", "set", "eth0", "up"])
        topo.shape(0, RATE)
        reach_peers(topo)
        return measure(topo, direction, WINDOW, None)


def alb_peers_spread(topo: Topology) -> bool:
    """Every peer has learnt its own member's MAC for the bond's IP (balance-
    alb's client updates are out)."""
    macs = set()
    for i in range(topo.peers):
        text = topo.exec(topo.peer(i), ["ip", "neigh", "show", ADDR.split("/")[0]]).stdout
        parts = text.split()
        macs.add(parts[parts.index("lladdr") + 1] if "lladdr" in parts else None)
    return None not in macs and len(macs) == topo.peers


def mode_once(n: int, mode: str, switch: str, options: tuple[str, ...], direction: str,
              window: tuple[int, int], datapath: str) -> dict:
    with topology(n, n, switch, "m") as topo:
        slaves = ",".join(topo.member(i) for i in range(n))
        topo.softbond("up", "bond0", "--slaves", slaves, "--address", ADDR, f"mode={mode}", "miimon=100",
                      f"datapath={datapath}", *options)
        for i in range(n):
            topo.shape(i, RATE)
        reach_peers(topo)
        extra = {}
        if mode == "balance-alb":
            # Receive load balancing: each peer is told its own member's MAC
            # about 2-3 s after our ARP traffic.
            extra["alb_spread"] = bool(topo.wait_for(lambda: alb_peers_spread(topo), timeout=8))
            if not extra["alb_spread"]:
                print("  balance-alb: the peers still share a MAC for the bond", file=sys.stderr)
        status = json.loads(topo.softbond("status", "bond0", "--json").stdout)
        if status.get("datapath", datapath) != datapath:
            raise RuntimeError(f"asked for datapath={datapath}, the bond runs {status['datapath']}")
        result = measure(topo, direction, window, status["pid"])
        topo.softbond("down", "bond0", check=False)
    return {**result, **extra}


def datapaths(choice: str) -> list[str]:
    """The data paths to measure: both when the eBPF one can run here."""
    if choice != "both":
        return [choice]
    from softbond.datapath import ebpf
    ok, why = ebpf.available()
    if not ok:
        print(f"  eBPF data path unavailable ({why}): measuring the Python one only", file=sys.stderr)
    return ["python", "ebpf"] if ok else ["python"]


def modes_bench(runs: int, rev: str, datapath: str = "both") -> dict:
    paths = datapaths(datapath)
    start = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    raw: dict = {}
    for run in range(runs):
        for n in (2, 4):
            for direction, switch in BASELINES:
                r = baseline_once(n, direction, switch)
                raw.setdefault(f"baseline {direction} {switch} N={n}", []).append(r)
                print(f"  run {run + 1} N={n} baseline {direction} via {switch}: {r['mbit']:.1f} Mbit/s "
                      f"(machine busy {r['machine_busy']:.0%})", file=sys.stderr, flush=True)
            for mode, switch, options, direction, window in MODES:
                for path in paths:
                    r = mode_once(n, mode, switch, options, direction, window, path)
                    raw.setdefault(f"{mode} N={n} {path}", []).append(r)
                    print(f"  run {run + 1} N={n} {mode} ({path}): {r['mbit']:.1f} Mbit/s, "
                          f"members {r['member_mbit']}, bond cpu {r['cpu_util']:.0%}, "
                          f"machine busy {r['machine_busy']:.0%}", file=sys.stderr, flush=True)
    rows = []
    for n in (2, 4):
        for (mode, switch, options, direction, window), path in ((m, p) for m in MODES for p in paths):
            runs_ = raw[f"{mode} N={n} {path}"]
            base = statistics.median(r["mbit"] for r in raw[f"baseline {direction} {switch} N={n}"])
            mbit = statistics.median(r["mbit"] for r in runs_)
            per_gbit = [r["cpu_s_per_gbit"] for r in runs_ if r["cpu_s_per_gbit"] is not None]
            rows.append({
                "mode": mode, "members": n, "datapath": path, "switch": switch, "direction": direction,
                "options": list(options), "window_s": list(window), "mbit": mbit,
                "mbit_min": min(r["mbit"] for r in runs_), "mbit_max": max(r["mbit"] for r in runs_),
                "ratio_nr": mbit / (n * RATE), "baseline_mbit": base, "ratio_nbaseline": mbit / (n * base),
                "cpu_s_per_gbit": statistics.median(per_gbit) if per_gbit else None,
                "cpu_util": statistics.median(r["cpu_util"] for r in runs_),
                "member_mbit": [statistics.median(r["member_mbit"][i] for r in runs_) for i in range(n)],
                "retransmits": statistics.median(r["retransmits"] for r in runs_),
                "machine_busy": statistics.median(r["machine_busy"] for r in runs_),
            })
    return {"commit": rev, "runs": runs, "rate_mbit": RATE, "streams_per_peer": STREAMS, "cport": CPORT,
            "seconds": round(time.monotonic() - start), "loadavg_before": load_before,
            "loadavg_after": open("/proc/loadavg").read().split()[:3], "rows": rows, "raw": raw}


def modes_table(result: dict) -> str:
    lines = ["| mode | N | data path | switch | direction | aggregate Mbit/s (median, min-max) | / (N x R) "
             "| 1-link baseline Mbit/s | / (N x baseline) | bond CPU s per Gbit | bond CPU "
             "| per member Mbit/s (byte counters) | TCP retransmits |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        direction = {"tx": "bond -> peers", "rx": "peers -> bond (-R)"}[r["direction"]]
        lines.append(f"| {r['mode']} | {r['members']} | {r['datapath']} | {r['switch']} | {direction} "
                     f"| {r['mbit']:.0f} ({r['mbit_min']:.0f}-{r['mbit_max']:.0f}) | {r['ratio_nr']:.2f} "
                     f"| {r['baseline_mbit']:.1f} | {r['ratio_nbaseline']:.2f} "
                     f"| {'-' if r['cpu_s_per_gbit'] is None else format(r['cpu_s_per_gbit'], '.2f')} "
                     f"| {r['cpu_util']:.0%} "
                     f"| {' / '.join(f'{m:.0f}' for m in r['member_mbit'])} | {r['retransmits']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="softbond benchmarks, each beside a baseline measured in the same run "
                    "(all of them unless --only picks one).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="failover:   UDP frames lost when the active member's carrier is cut\n"
               "throughput: one TCP stream through the bond vs. the plain veth\n"
               "modes:      aggregate TCP throughput of balance-rr, balance-xor, balance-tlb,\n"
               "            balance-alb, broadcast and active-backup with 2 and 4 members\n"
               "            shaped to 100 Mbit/s each, as a ratio of N x R and of N x a\n"
               "            single shaped link, and the bond process's CPU s per Gbit, on the\n"
               "            Python and the eBPF data path (about 6 min per run)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs to take medians over (default: 5; 3 for --only modes)")
    parser.add_argument("--only", choices=("failover", "throughput", "modes"),
                        help="run one benchmark: failover, throughput or modes")
    parser.add_argument("--datapath", choices=("both", "python", "ebpf"), default="both",
                        help="modes: the bond's data path(s) to measure (default: both, python and ebpf, "
                             "or python alone where eBPF cannot run)")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 3 if args.only == "modes" else 5
    rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"# softbond bench, commit {rev}, {args.runs} runs, medians\n")
    if args.only in (None, "failover"):
        print("## Failover gap: 10 kHz UDP, active member's carrier cut\n")
        print("| detection | frames lost (median, min-max) | longest gap ms (median, min-max) |")
        print("|---|---|---|")
        cases = (("no failure (the stream's own jitter floor)", True, False),
                 ("netlink link events (+ miimon=100)", True, True), ("miimon=100 poll alone", False, True))
        for label, events, cut in cases:
            runs = [failover_once(events, cut) for _ in range(args.runs)]
            lost = [r["lost"] for r in runs]
            gaps = [r["max_gap_ms"] for r in runs]
            print(f"| {label} | {statistics.median(lost):.0f} ({min(lost)}-{max(lost)}) "
                  f"| {statistics.median(gaps):.2f} ({min(gaps):.2f}-{max(gaps):.2f}) |", flush=True)
        print()
    if args.only in (None, "throughput"):
        print("## One TCP stream (iperf3, 5 s), Gbit/s\n")
        runs = [throughput_once() for _ in range(max(1, args.runs // 2))]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print("| direction | plain veth | softbond (python path) | ratio |")
        print("|---|---|---|---|")
        for d, label in (("out", "bond -> peer"), ("in", "peer -> bond")):
            print(f"| {label} | {med['veth_' + d]:.2f} | {med['bond_' + d]:.2f} | "
                  f"{med['bond_' + d] / med['veth_' + d]:.2f} |", flush=True)
        print()
    if args.only in (None, "modes"):
        print(f"## Load-balancing modes: aggregate throughput, R = {RATE} Mbit/s per member\n", flush=True)
        result = modes_bench(args.runs, rev, args.datapath)
        print(modes_table(result))
        print(f"\n{result['seconds']} s; load average before {' '.join(result['loadavg_before'])}, "
              f"after {' '.join(result['loadavg_after'])}\n")
        print("```json")
        print(json.dumps({k: v for k, v in result.items()}, indent=1))
        print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
