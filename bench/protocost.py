"""The cost of counting traffic by protocol (issue 23): the data-path
bench's 64-byte UDP and one-TCP-stream measurements with and without the
counting, alternating in one invocation, on every data path.

    sudo python3 bench/protocost.py --without /path/to/a/tree/without [--runs N] [--seconds S]
    python3 bench/protocost.py --per-frame
    sudo python3 bench/protocost.py --without /path/to/a/tree/without --ebpf-per-frame

--ebpf-per-frame times sb_egress on a 64-byte UDP frame in the kernel
(BPF_PROG_TEST_RUN, each tree's own object and maps) with and without.
--per-frame measures, without traffic, what the Python paths add per frame:
count_frame (classify and count a 64-byte UDP frame and a 1448-byte TCP
one) against the one-byte test protocol_counters=off leaves, best of 7.

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


def per_frame() -> None:
    import time
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    from softbond.datapath import inprocess as dp
    udp = bytearray(bytes(22) + b"\x08\x00\x45" + bytes(8) + b"\x11" + bytes(40))
    tcp = bytearray(bytes(22) + b"\x08\x00\x45" + bytes(8) + b"\x06" + bytes(1490))
    counters = [0] * dp.COUNTER_SLOTS
    at = dp.rx_proto_slot(0)

    def best(fn, frame):
        n, out = len(frame), 1e9
        for _ in range(7):
            t = time.thread_time_ns()      # CPU time: the machine may be shared
            for _ in range(100_000):
                fn(counters, at, frame, n)
            out = min(out, (time.thread_time_ns() - t) / 100_000)
        return out
    off = lambda c, a, f, n: f[1]      # noqa: E731  (protocol_counters=off: the GSO byte test, in a call)
    for name, frame in (("64-byte UDP", udp), ("1448-byte TCP", tcp)):
        on_ns, off_ns = best(dp.count_frame, frame), best(off, frame)
        print(f"{name}: count_frame {on_ns:.0f} ns, off {off_ns:.0f} ns (both in a call): "
              f"{on_ns - off_ns:.0f} ns a frame more; load average {loadavg()}")


# Run with the tree's own PYTHONPATH: its bond.bpf.c, its map layouts.
EBPF_PROBE = """
import struct, sys
from softbond.datapath.ebpf import EbpfSnapshot, build, libbpf, loader
from softbond.datapath.ebpf.state import BondMaps
obj, _ = loader.load(build.object_path())
maps = BondMaps(obj.maps)
maps.initialize(999, bytes.fromhex("02bb00000001"))
mac = bytes.fromhex("02aa00000001")
maps.set_rx(1001, 1, 0, mac)
maps.publish(EbpfSnapshot(mode=1, xmit_hash_policy=0, packets_per_slave=1, tx_members=((1001, mac),),
                          active=1001, rx_policy={1001: 1}, buckets=None, bond_mac=bytes.fromhex("02bb00000001")),
             bond_ifindex=999)
frame = bytes.fromhex("02cc0000000102bb00000001") + b"\\x08\\x00" + bytes.fromhex(
    "4500002e0000400040110000c0a864c7c0a86401") + bytes.fromhex("d4311451001a0000") + bytes(18)
best = min(libbpf.test_run(obj.progs["sb_egress"], frame, bytes(192), repeat=int(sys.argv[1]))[2]
           for _ in range(7))
print(best)
obj.close()
"""


def ebpf_per_frame(trees: dict, repeat: int = 200_000) -> None:
    import subprocess
    for run in range(3):
        out = {}
        for variant, tree in trees.items():
            proc = subprocess.run([sys.executable, "-c", EBPF_PROBE, str(repeat)], capture_output=True, text=True,
                                  env=dict(os.environ, PYTHONPATH=tree), check=True)
            out[variant] = int(proc.stdout.split()[-1])
        print(f"sb_egress, 64-byte UDP, active-backup (BPF_PROG_TEST_RUN, best of 7 x {repeat}): "
              + ", ".join(f"{v} {ns} ns" for v, ns in out.items()) + f"; load average {loadavg()}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--without", help="src/ of a softbond tree without protocol counting")
    parser.add_argument("--per-frame", action="store_true", help="only the per-frame cost in Python")
    parser.add_argument("--ebpf-per-frame", action="store_true",
                        help="only sb_egress's time a frame with and without (BPF_PROG_TEST_RUN; needs --without)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--pps", type=int, default=400000)
    args = parser.parse_args()
    if args.per_frame:
        per_frame()
        return 0
    if not args.without:
        parser.error("--without is needed (or --per-frame)")
    trees = {"without": os.path.abspath(args.without), "with": os.path.abspath(os.path.join(HERE, "..", "src"))}
    if args.ebpf_per_frame:
        ebpf_per_frame(trees)
        return 0
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
