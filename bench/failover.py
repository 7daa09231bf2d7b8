"""The failover tail (issue 22): many cuts of the active member's switch
port under a 10 kHz datagram stream, per data path and direction, with
and without background load; p50, p99 and max of the first datagram
through after the kernel's carrier stamp, and of the frames lost.

    sudo flock /tmp/softbond-bench.lock python3 bench/failover.py [--cuts 100]
        [--datapath both|python|ebpf] [--load none,busy] [--json FILE] [--report FILE]

eBPF runs three times per load, in the same invocation: "loop" is the
control plane's loop alone (SOFTBOND_FAST_FAILOVER=0, the baseline),
"thread" adds core/carrierthread.py's flip to the armed spare bank,
"rescue" adds datapath/ebpf/rescue.bpf.c on the members' egress (the
first two run with SOFTBOND_CARRIER_RESCUE=0). The Python path runs as
"loop" and "rescue".

Each cut is bench/datapath.py's failover_once: bench/linkcut.py sets the
switch port down over rtnetlink, bench/ktrace.py stamps the carrier event
in the kernel (linkwatch's work queued), bench/udpgap.py finds the first
datagram after the hole. The steps between are split by the bond's own
stamps, carried in its "failover" event (status --json): when the netlink
message was read (`heard`), when the carrier thread switched banks
(`flipped`) and when the loop wrote the new plan (`published`), on the
same clock as the datagrams' send times.

The variants' bonds are up side by side and cut in turn, so each sees the
same load from the rest of the machine.

Load "busy": one iperf3 TCP stream through each bond (bond -> peer, paced
to IPERF_MBIT shared by the bonds, so that it loads the machine without
filling the queues the 10 kHz stream shares: a hole from congestion would
be counted as the failover's) for the whole phase, and a Python busy loop
pinned (taskset) to the last CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from benchutil import commit, loadavg           # noqa: E402
from datapath import Setup, datapaths, failover_once, log, status  # noqa: E402
from ktrace import CarrierEvents                 # noqa: E402

IPERF_MBIT = 300            # shared by the bonds of a phase
EBPF_VARIANTS = ("loop", "thread", "rescue")
PYTHON_VARIANTS = ("loop", "rescue")       # no carrier thread there
HOG = [sys.executable, "-c", "while True: pass"]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values; None if empty."""
    values = sorted(values)
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))
    return values[int(rank) - 1]


class Load:
    """A CPU hog on the last CPU and an iperf3 stream through each bond,
    until close()."""

    def __init__(self, setups: list[Setup], seconds: int) -> None:
        cpu = str(os.cpu_count() - 1)
        self.procs = [subprocess.Popen(["taskset", "-c", cpu, *HOG])]
        rate = f"{IPERF_MBIT // len(setups)}M"
        for setup in setups:
            topo = setup.topo
            self.procs.append(topo.popen(topo.peer(), ["iperf3", "-s", "-1", "-p", "5299"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(0.3)
            self.procs.append(topo.popen(topo.host, ["iperf3", "-c", topo.peer_ip(), "-p", "5299",
                                                     "-t", str(seconds), "-b", rate],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def stamps(setup: Setup, cut: dict, carrier_ms: float | None) -> dict:
    """The bond's own stamps of this failover, ms after the carrier stamp."""
    st = status(setup.topo)
    out: dict = {}
    for e in st["events"]:
        if e["kind"] == "failover" and e["time"] >= cut["before"] - 0.001 and e.get("stamps"):
            if carrier_ms is not None:
                carrier = cut["before"] + carrier_ms / 1000
                out = {k: (v - carrier) * 1000 for k, v in e["stamps"].items()}
            break
    return out


def phase(variants: list[tuple[str, str]], load: str, cuts: int, carriers: CarrierEvents,
          seconds: float, directions: list[str]) -> list[dict]:
    """Every (data path, failover by) variant's bond up at once, their cuts
    taken in turn: each sees the same load from the rest of the machine."""
    setups = []
    background = None
    try:
        for path, failover in variants:
            os.environ["SOFTBOND_FAST_FAILOVER"] = "0" if failover == "loop" else "1"
            os.environ["SOFTBOND_CARRIER_RESCUE"] = "1" if failover == "rescue" else "0"
            setups.append(Setup(path, "2 members, 1 bond", 2, 1, f"f{path[0]}{failover[0]}{load[0]}"))
        if load == "busy":
            # Long enough for every cut of the phase (about 3 s each).
            background = Load(setups, int(cuts * len(directions) * len(setups) * 4 + 30))
            time.sleep(1)
        samples = []
        for n in range(cuts):
            for direction in directions:
                for (path, failover), setup in zip(variants, setups):
                    try:
                        x = failover_once(setup, direction, seconds=seconds, cut_at=seconds / 2,
                                          carriers=carriers)
                    except (subprocess.TimeoutExpired, RuntimeError) as exc:
                        # One port-down request took over 10 s here (RTNL
                        # held by the rest of the machine): the cut is
                        # left out, said so, and the run goes on.
                        log(f"{path} {failover} {load} {direction} #{n + 1}: left out: {exc}")
                        for i in range(2):
                            setup.topo.plug(i)
                        continue
                    x.update(path=path, failover=failover, load=load, direction=direction, loadavg=loadavg(),
                             steps=stamps(setup, x["cut"], x["carrier_ms"]))
                    samples.append(x)
                    log(f"{path} {failover} {load} {direction} #{n + 1}: lost {x['lost']}, first through "
                        f"{x['through_after_carrier_ms']} ms after carrier, steps {x['steps']}")
        return samples
    finally:
        if background:
            background.close()
        for setup in setups:
            setup.close()


STALL_MS = 50


def stalled(s: dict) -> bool:
    """The stream's largest hole is not the cut's: it ended before the cut
    was asked for, or began more than STALL_MS before (a frame queued that
    long was not lost to the cut). The sender or the forwarder had stopped
    already - the machine's load - so the cut's own loss cannot be told
    from it, and the cut is counted apart."""
    hole, cut = s["hole"], s["cut"]["before"]
    if not s["lost"] or not hole or hole.get("before") is None:
        return False
    return hole["after"][1] < cut or hole["before"][1] < cut - STALL_MS / 1000


def summary(samples: list[dict]) -> str:
    def cell(values: list[float], spec: str = ".2f") -> str:
        values = [v for v in values if v is not None]
        if not values:
            return "-"
        return " / ".join(format(percentile(values, p), spec) for p in (50, 99, 100))

    def stall_cell(apart: list[dict]) -> str:
        if not apart:
            return "0"
        lost = ", ".join(str(s["lost"]) for s in apart)
        return f"{len(apart)} (lost {lost})"

    rows = ["| data path | failover by | load | direction | cuts | cuts left out: stream stalled away from the cut | first datagram after carrier, ms (p50 / p99 / max) | "
            "frames lost at 10 kHz (p50 / p99 / max) | bond heard netlink, ms (p50 / p99 / max) | "
            "carrier thread flipped, ms (p50 / p99 / max) | loop wrote the plan, ms (p50 / p99 / max) | "
            "the bond's own part: data path switched after the message was read, ms (p50 / p99 / max) | load average |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(s["path"], s["failover"], s["load"], s["direction"]) for s in samples})
    for key in keys:
        every = [s for s in samples if (s["path"], s["failover"], s["load"], s["direction"]) == key]
        group = [s for s in every if not stalled(s)] or every
        apart = [s for s in every if stalled(s)]
        # No hole (nothing lost): the switch-over was complete before a
        # datagram missed it, counted as 0.
        first = [0.0 if not s["lost"] else s["through_after_carrier_ms"] for s in group]
        steps = [[s["steps"].get(k) for s in group] for k in ("flipped", "published")]
        heard = [s["steps"].get("thread_heard", s["steps"].get("heard")) for s in group]
        # The data path switched: the thread's flip, else the loop's publish.
        switched = [f if f is not None else p for f, p in zip(*steps)]
        own = [w - h for h, w in zip(heard, switched) if h is not None and w is not None]
        cells = [*key, str(len(group)), stall_cell(apart), cell(first), cell([s["lost"] for s in group], ".0f"), cell(heard),
                 *map(cell, steps), cell(own), f"{group[0]['loadavg']} .. {group[-1]['loadavg']}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cuts", type=int, default=100, help="cuts per data path, direction and load (default 100)")
    parser.add_argument("--datapath", choices=("both", "python", "ebpf"), default="both")
    parser.add_argument("--load", default="none,busy", help="comma-separated: none, busy (default both)")
    parser.add_argument("--seconds", type=float, default=1.0, help="stream length per cut, cut halfway (default 1)")
    parser.add_argument("--failover", default=",".join(EBPF_VARIANTS),
                        help="comma-separated variants: loop, thread (eBPF only), rescue (default all)")
    parser.add_argument("--direction", default="out,in",
                        help="comma-separated: out (the bond sending), in (the far side sending); default both")
    parser.add_argument("--json", help="also write every sample to this file")
    parser.add_argument("--report", metavar="JSON", help="measure nothing: the table of an earlier --json file")
    args = parser.parse_args()
    if args.report:
        with open(args.report) as f:
            print(summary(json.load(f)["samples"]))
        return 0
    # The bonds run this tree's softbond, whatever is installed.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(HERE, "..", "src"),
                                                             os.environ.get("PYTHONPATH")]))
    paths = [p for p in datapaths() if args.datapath in ("both", p)]
    carriers = CarrierEvents()
    if not carriers.available():
        log(f"no kernel carrier stamps: {carriers.why}")
    rev, before, started = commit(), loadavg(), time.monotonic()
    samples: list[dict] = []
    try:
        for load in args.load.split(","):
            variants = [(path, failover) for path in paths
                        for failover in (EBPF_VARIANTS if path == "ebpf" else PYTHON_VARIANTS)
                        if failover in args.failover.split(",")]
            samples += phase(variants, load, args.cuts, carriers, args.seconds, args.direction.split(","))
    finally:
        carriers.close()
    print(f"commit {rev}, {time.strftime('%Y-%m-%d %H:%M')}, {args.cuts} cut(s) per row, "
          f"{round(time.monotonic() - started)} s, load average before {before}, after {loadavg()}\n")
    print(summary(samples))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"commit": rev, "samples": samples}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
