"""Where one TCP stream's time goes on the in-process Python data path:
iperf3 (one stream, --cc, default bbr) through plain veth and through the
Python path (active-backup, bench/datapath.py's bridge topology), Gbit/s
and the ratio, then `perf record` of the bond's daemon during a second
Python run, reported by shared object and by symbol.

    sudo python3 bench/pyprofile.py [--seconds S] [--cc bbr] [--reverse]

Python 3.11 has no perf trampoline: the interpreter's time shows as
libpython / python3 symbols (_PyEval_EvalFrameDefault and the like), the
kernel's by function, which is what tells the syscalls' share from the
interpreter's.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datapath as bench                                    # noqa: E402  (after the path)
from benchutil import commit, loadavg                      # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--cc", default="bbr")
    parser.add_argument("--reverse", action="store_true", help="peer -> bond (in) instead of out")
    args = parser.parse_args()
    print(f"# commit {commit()}, load average {loadavg()}", flush=True)
    topo = bench.bridge_topology("pp")
    data = "/tmp/softbond-pyprofile.data"
    try:
        rates = {}
        for path in ("veth", "python"):
            with bench.bridge_case(topo, path) as case:
                rates[path] = bench.iperf_tcp(case, args.seconds, args.reverse, 1, args.cc)
            print(f"{path}: {rates[path]['gbit']:.2f} Gbit/s, forwarder CPU "
                  f"{rates[path].get('cpu_util', 0):.0%}", flush=True)
        print(f"ratio python / veth: {rates['python']['gbit'] / rates['veth']['gbit']:.2f}; "
              f"load average {loadavg()}", flush=True)
        with bench.bridge_case(topo, "python") as case:
            pid = case.pids[0]
            rec = threading.Timer(1.0, lambda: subprocess.run(
                ["perf", "record", "-q", "-g", "-o", data, "-p", str(pid), "--", "sleep", str(args.seconds - 2)],
                capture_output=True, check=False))
            rec.start()
            r = bench.iperf_tcp(case, args.seconds, args.reverse, 1, args.cc)
            rec.join()
            print(f"profiled run: {r['gbit']:.2f} Gbit/s", flush=True)
    finally:
        topo.close()
    for sort in ("dso", "dso,symbol"):
        out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio",
                              "--percent-limit", "1.5", "-g", "none"], capture_output=True, text=True, check=False)
        print("\n".join(line for line in out.stdout.splitlines() if line.strip() and not line.startswith("#")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
