"""The cost of counting traffic by protocol (issue 23): the data-path
bench's 64-byte UDP and one-TCP-stream measurements with and without the
counting, alternating in one invocation, on every data path.

    sudo python3 bench/protocost.py --without /path/to/a/tree/without [--runs N] [--seconds S]

"Without" is a checkout of softbond before the counting (e.g. a git
worktree of the commit before it); "with" is this tree. The bond's daemon
runs whichever tree PYTHONPATH names when `softbond up` starts it, the
topology and the traffic are the same (bench/datapath.py's cases). Prints
one table: medians (min-max) and the ratio with/without per path.
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datapath as bench                                    # noqa: E402  (after the path)
from benchutil import commit, loadavg, med                  # noqa: E402

PATHS = ("python", "ebpf", "python-w2")


def measure(tree: str, path: str, seconds: int, pps: int) -> dict:
    os.environ["PYTHONPATH"] = tree
    topo = bench.bridge_topology(f"pc{path[:2]}")
    try:
        with bench.bridge_case(topo, path) as case:
            udp = bench.iperf_udp(case, seconds, False, pps)
            tcp = bench.iperf_tcp(case, seconds, False, 1, "cubic")
        return {"kpps": udp["pps"] / 1000, "gbit": tcp["gbit"]}
    finally:
        topo.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--without", required=True, help="src/ of a softbond tree without protocol counting")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--pps", type=int, default=400000)
    args = parser.parse_args()
    trees = {"without": os.path.abspath(args.without), "with": os.path.join(HERE, "..", "src")}
    results = {p: {v: [] for v in trees} for p in PATHS}
    print(f"# commit {commit()}, load average before {loadavg()}", flush=True)
    for run in range(args.runs):
        order = list(trees) if run % 2 == 0 else list(reversed(trees))
        for path in PATHS:
            for variant in order:
                r = measure(trees[variant], path, args.seconds, args.pps)
                results[path][variant].append(r)
                print(f"run {run} {path} {variant}: {r['kpps']:.0f} kpps, {r['gbit']:.2f} Gbit/s", flush=True)
    print(f"# load average after {loadavg()}")
    print("| path | 64 B UDP kpps without | with | ratio | 1 TCP stream Gbit/s without | with | ratio |")
    print("|---|---|---|---|---|---|---|")
    for path in PATHS:
        cells = []
        for key, fmt in (("kpps", "{:.0f}"), ("gbit", "{:.2f}")):
            a = [r[key] for r in results[path]["without"]]
            b = [r[key] for r in results[path]["with"]]
            span = lambda v: f"{fmt.format(med(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"  # noqa: E731
            cells += [span(a), span(b), f"{med(b) / med(a):.3f}" if med(a) else "-"]
        print(f"| {bench.LABELS[path]} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
