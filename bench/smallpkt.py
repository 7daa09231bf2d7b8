"""Small packets and many flows (issue 22): 64-byte-payload UDP as fast as
one sender core goes (bench/udpflood.c: a raw socket, sendmmsg), over 1,
1000 and 100000 flows (source/destination ports), through plain veth (the
baseline, measured in the same invocation) and the softbond data paths
(active-backup on bench/datapath.py's bridge topology), both directions.

    sudo python3 bench/smallpkt.py [--runs N] [--seconds S] [--paths veth,ebpf,python,python-w2,ebpf-norescue]
                                   [--flows 1,1000,100000]

Per cell: packets/s delivered (counted by the receiver's UDP MIB, closed
ports included: no socket queue to overflow), the ratio to plain veth with
the same flows and direction (median of the per-run ratios), and packets/s
per core: delivered over the CPU the sender process and the forwarding
process(es) used, and its ratio to plain veth's (on a shared machine the
sender gets what CPU it can: the per-core figure is the steadier one) (the eBPF path forwards inside the sender's own sends, so
its cost shows in the sender's CPU). The receiving namespace's softirq
work is charged to no one. Prints the raw figures as it goes, then a
markdown table.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datapath as bench                                    # noqa: E402  (after the path)
from benchutil import commit, loadavg, med, procs_cpu       # noqa: E402

FLOOD_SOURCE = os.path.join(HERE, "udpflood.c")
# The eBPF path without datapath/ebpf/rescue.bpf.c on its members' egress:
# what the carrier rescue costs per packet, against "ebpf" in the same run.
NO_RESCUE = "ebpf-norescue"
LABELS = {**bench.LABELS, NO_RESCUE: "softbond eBPF (active-backup), SOFTBOND_CARRIER_RESCUE=0"}


@contextlib.contextmanager
def path_case(topo, path: str):
    """bench.bridge_case, with NO_RESCUE as "ebpf" whose bond starts with the rescue off."""
    if path != NO_RESCUE:
        with bench.bridge_case(topo, path) as case:
            yield case
        return
    os.environ["SOFTBOND_CARRIER_RESCUE"] = "0"
    try:
        with bench.bridge_case(topo, "ebpf") as case:
            yield case
    finally:
        del os.environ["SOFTBOND_CARRIER_RESCUE"]


def build_flood() -> str:
    """udpflood.c compiled beside a digest of its source (like bond.bpf.o)."""
    out = f"/tmp/softbond-udpflood-{os.stat(FLOOD_SOURCE).st_mtime_ns}"
    if not os.path.exists(out):
        subprocess.run(["clang", "-O2", "-Wall", "-o", out + ".tmp", FLOOD_SOURCE], check=True)
        os.replace(out + ".tmp", out)
    return out


def received(ns: str) -> int:
    s = bench.udp_snmp(ns)
    return s["InDatagrams"] + s["NoPorts"] + s["InErrors"]


def flood(flood_bin: str, case: bench.Case, reverse: bool, seconds: float, flows: int) -> dict:
    sender, receiver = (case.peer_ns, case.host_ns) if reverse else (case.host_ns, case.peer_ns)
    src, dst = (case.target, case.host_ip) if reverse else (case.host_ip, case.target)
    r0, cpu0 = received(receiver), procs_cpu(case.pids)
    proc = subprocess.Popen(["ip", "netns", "exec", sender, flood_bin, src, dst, str(seconds), str(flows)],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu1 = procs_cpu(case.pids)
    time.sleep(0.2)                                         # the last frames in flight
    r1 = received(receiver)
    if proc.returncode:
        raise RuntimeError(f"udpflood exited with {proc.returncode}")
    # Rates over the sender's own sending time (its process start-up is not
    # traffic); the forwarder's CPU over the whole call, which holds it.
    sender_util = (usage.ru_utime + usage.ru_stime) / seconds
    fwd_util = (cpu1 - cpu0) / seconds if case.pids else 0.0
    pps = (r1 - r0) / seconds
    return {"pps": pps, "sent_pps": int(out) / seconds, "sender_cpu": sender_util, "fwd_cpu": fwd_util,
            "pps_per_core": pps / (sender_util + fwd_util) if sender_util + fwd_util > 0 else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--paths", default="veth,ebpf,python,python-w2")
    parser.add_argument("--flows", default="1,1000,100000")
    args = parser.parse_args()
    paths = args.paths.split(",")
    flow_counts = [int(f) for f in args.flows.split(",")]
    if "veth" not in paths:
        parser.error("the baseline, veth, must be among --paths")
    flood_bin = build_flood()
    print(f"# commit {commit()}, {args.runs} runs x {args.seconds} s a cell, load average before {loadavg()}",
          flush=True)
    raw: dict[tuple, list[dict]] = {}
    loads = []
    topo = bench.bridge_topology("sp")
    try:
        for run in range(args.runs):
            for path in (paths if run % 2 == 0 else list(reversed(paths))):
                with path_case(topo, path) as case:
                    for reverse in (False, True):           # neighbours resolved, caches warm: not measured
                        flood(flood_bin, case, reverse, 0.3, 1)
                    for flows in flow_counts:
                        for direction, reverse in (("out", False), ("in", True)):
                            r = flood(flood_bin, case, reverse, args.seconds, flows)
                            raw.setdefault((path, flows, direction), []).append(r)
                            print(f"run {run} {path} {flows} flows {direction}: {r['pps'] / 1e3:.0f} kpps "
                                  f"(sent {r['sent_pps'] / 1e3:.0f}k), sender CPU {r['sender_cpu']:.0%}, "
                                  f"forwarder CPU {r['fwd_cpu']:.0%}", flush=True)
                loads.append(loadavg())
    finally:
        topo.close()
    print(f"# load average after each path: {'; '.join(loads)}")
    print("| path | flows | kpps out | ratio | kpps in | ratio | kpps per core (sender + forwarder CPU), out / in "
          "| ratio, out / in | forwarder CPU, out / in |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        for flows in flow_counts:
            cells = []
            for direction in ("out", "in"):
                runs, base = raw[(path, flows, direction)], raw[("veth", flows, direction)]
                kpps = [r["pps"] / 1e3 for r in runs]
                ratios = [a["pps"] / b["pps"] for a, b in zip(runs, base) if b["pps"]]
                cells += [f"{med(kpps):.0f} ({min(kpps):.0f}-{max(kpps):.0f})",
                          "1" if path == "veth" else f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"]
            per_core = " / ".join(f"{med([r['pps_per_core'] for r in raw[(path, flows, d)]]) / 1e3:.0f}"
                                  for d in ("out", "in"))
            core_ratio = " / ".join(
                f"{med([a['pps_per_core'] / b['pps_per_core'] for a, b in zip(raw[(path, flows, d)], raw[('veth', flows, d)])]):.2f}"
                for d in ("out", "in"))
            fwd = " / ".join(f"{med([r['fwd_cpu'] for r in raw[(path, flows, d)]]):.0%}" if path.startswith("python")
                             else "-" for d in ("out", "in"))
            print(f"| {LABELS[path]} | {flows} | " + " | ".join(cells) + f" | {per_core} | {core_ratio} | {fwd} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
