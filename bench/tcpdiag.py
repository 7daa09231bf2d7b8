"""Look inside one TCP stream through a data path: what held it back.

bench/datapath.py says how fast a path is; this says why, for one stream,
with the same topology and cases (`bridge_topology`, `bridge_case`):

    sudo python3 bench/tcpdiag.py ratio CASES [--runs N] [--cc bbr]
        one stream each way, CASES (comma-separated, e.g. veth,ebpf,python)
        alternated N times; each figure also as a ratio to the first case's
        run of the same round.
    sudo python3 bench/tcpdiag.py probe CASE [--cc cubic,bbr]
        per congestion control, while one stream runs out of the bond: the
        sender's `ss -tin` line (RTT, min RTT, cwnd, in flight, BBR's
        bandwidth estimate) sampled 3 times, the frames per second and
        their mean size on the member (its counters), and a 500 Hz ping
        through the same path (the queue the stream builds).

Cases: veth (the host IP on eth0, plain), ebpf, python, python-w2 - as in
bench/datapath.py. Traffic stays inside the namespaces the topology makes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datapath as dp  # noqa: E402  (bench/datapath.py: topology, cases, iperf3)


def ratio(cases: list[str], runs: int, cc: str) -> None:
    topo = dp.bridge_topology("t")
    results: dict[tuple[str, bool], list[float]] = {}
    try:
        for _ in range(runs):
            for name in cases:
                with dp.bridge_case(topo, name) as case:
                    for reverse in (False, True):
                        gbit = dp.iperf_tcp(case, 5, reverse, 1, cc)["gbit"]
                        results.setdefault((name, reverse), []).append(gbit)
                        dp.log(f"  {name} {'in' if reverse else 'out'} {gbit:.2f} Gbit/s")
    finally:
        topo.close()
    base = cases[0]
    print(f"one {cc} stream, 5 s, {runs} rounds; ratios to {base} round by round")
    for (name, reverse), values in results.items():
        ratios = [v / b for v, b in zip(values, results[(base, reverse)])]
        print(f"{name:10} {'in ' if reverse else 'out'} median {statistics.median(values):6.2f} Gbit/s  "
              f"ratios {' '.join(f'{r:.2f}' for r in ratios)}")


def _counters(ns: str, dev: str) -> list[int]:
    names = ("tx_packets", "tx_bytes", "rx_packets", "rx_bytes")
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", *(f"/sys/class/net/{dev}/statistics/{n}" for n in names)],
                         capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


def probe(name: str, ccs: list[str]) -> None:
    topo = dp.bridge_topology("g")
    try:
        with dp.bridge_case(topo, name) as case:
            for cc in ccs:
                seen: dict = {"ss": []}

                def watch() -> None:
                    time.sleep(1.5)
                    before, t0 = _counters(case.host_ns, case.member), time.monotonic()
                    ping = subprocess.Popen(["ip", "netns", "exec", case.host_ns, "ping", "-n", "-q", "-i", "0.002",
                                             "-c", "500", case.target], stdout=subprocess.PIPE, text=True)
                    for _ in range(3):
                        ss = subprocess.run(["ip", "netns", "exec", case.host_ns, "ss", "-tin", "dst", case.target],
                                            capture_output=True, text=True).stdout.strip().splitlines()
                        seen["ss"].append(ss[-1].strip() if ss else "")
                        time.sleep(0.5)
                    seen["ping"] = ping.communicate()[0].strip().splitlines()[-1]
                    after, t1 = _counters(case.host_ns, case.member), time.monotonic()
                    frames = max(1, after[0] - before[0])
                    seen["member"] = (f"{frames / (t1 - t0):.0f} frames/s out, mean {(after[1] - before[1]) / frames:.0f} B; "
                                      f"{(after[2] - before[2]) / (t1 - t0):.0f} frames/s in")

                thread = threading.Thread(target=watch)
                thread.start()
                gbit = dp.iperf_tcp(case, 6, False, 1, cc)["gbit"]
                thread.join()
                print(f"== {name}, one {cc} stream out: {gbit:.2f} Gbit/s")
                print(f"   member: {seen['member']}")
                print(f"   ping under load: {seen['ping']}")
                for line in seen["ss"]:
                    print(f"   ss: {line}")
    finally:
        topo.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("ratio")
    r.add_argument("cases")
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--cc", default="bbr")
    p = sub.add_parser("probe")
    p.add_argument("case")
    p.add_argument("--cc", default="cubic,bbr")
    args = parser.parse_args()
    if args.what == "ratio":
        ratio([c for c in args.cases.split(",") if c], args.runs, args.cc)
    else:
        probe(args.case, [c for c in args.cc.split(",") if c])
    return 0


if __name__ == "__main__":
    sys.exit(main())
