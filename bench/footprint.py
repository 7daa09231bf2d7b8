"""Footprint of idle bonds (issue 19, section 3): RSS and PSS of the first
bond and of each further one, and their idle CPU, on both data paths.

    sudo python3 bench/footprint.py [--idle SECONDS] [--bonds N] [--one-up] [--json FILE]

One namespace set (bench/datapath.py's Setup) per data path: 1 bond of 2
members, then N bonds of 2 members each (default 8). Every process a bond
owns (the daemon and, on the Python path with workers, its workers; the
status's pid) is read from /proc/PID/smaps_rollup: Rss and Pss (a page
shared by k processes counts 1/k in each Pss, so the Pss sum is what the
bonds cost together). "Each further bond" is (Pss of N bonds - Pss of 1)
/ (N - 1). Idle CPU: all bond processes over --idle seconds (default 10).
--one-up: also N bonds started by one `softbond up --config` (one TOML
naming them all), which forks every bond from the same process.
Also prints the 15 imports that cost the daemon most (python -X importtime),
the candidates for lazy imports.
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

from benchutil import commit, loadavg, procs_cpu  # noqa: E402
from datapath import ADDR, Setup, log, status  # noqa: E402
from softbond.lab.netns import Topology  # noqa: E402


def smaps_rollup(pid: int) -> dict[str, float]:
    """Rss and Pss of one process, MiB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                out[key.lower()] = int(rest.split()[0]) / 1024
    return out


def measure(datapath: str, bonds: int, idle: float, tag: str) -> dict:
    setup = Setup(datapath, f"{bonds} bonds", 2 * bonds, bonds, tag)
    try:
        time.sleep(2.0)                      # startup work done: the bonds are idle
        cpu0, t0 = procs_cpu(setup.pids), time.monotonic()
        time.sleep(idle)
        cpu1, t1 = procs_cpu(setup.pids), time.monotonic()
        mem = [smaps_rollup(pid) for pid in setup.pids]
        return {"bonds": bonds, "rss_mb": sum(m["rss"] for m in mem), "pss_mb": sum(m["pss"] for m in mem),
                "first_rss_mb": mem[0]["rss"], "idle_cpu": (cpu1 - cpu0) / (t1 - t0)}
    finally:
        setup.close()


def measure_one_up(datapath: str, bonds: int, idle: float) -> dict:
    """N bonds from one `softbond up --config` of a TOML naming them all:
    every bond is forked from that one CLI process, so the pages it had
    when it forked stay shared between the bonds (copy-on-write)."""
    topo = Topology(prefix=f"sbs{os.getpid() % 10000}fu", members=2 * bonds)
    topo.__enter__()
    try:
        path = f"/tmp/softbond-footprint-{os.getpid()}.toml"
        with open(path, "w") as f:
            for k in range(bonds):
                address = ADDR if k == 0 else f"192.168.{100 + k}.199/24"
                f.write(f'[bond{k}]\nmode = "active-backup"\nmiimon = 100\ndatapath = "{datapath}"\n'
                        f'slaves = ["eth{2 * k}", "eth{2 * k + 1}"]\naddress = "{address}"\n\n')
        try:
            topo.softbond("up", "--config", path)
        finally:
            os.unlink(path)
        pids = [status(topo, f"bond{k}")["pid"] for k in range(bonds)]
        time.sleep(2.0)
        cpu0, t0 = procs_cpu(pids), time.monotonic()
        time.sleep(idle)
        cpu1, t1 = procs_cpu(pids), time.monotonic()
        mem = [smaps_rollup(pid) for pid in pids]
        return {"bonds": bonds, "rss_mb": sum(m["rss"] for m in mem), "pss_mb": sum(m["pss"] for m in mem),
                "first_rss_mb": mem[0]["rss"], "idle_cpu": (cpu1 - cpu0) / (t1 - t0)}
    finally:
        topo.close()


def heaviest_imports(count: int = 15) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the daemon's costliest imports."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import softbond.daemon, softbond.startup"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.path.join(HERE, "..",
                                                                                                         "src")})
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--bonds", type=int, default=8)
    parser.add_argument("--json")
    parser.add_argument("--one-up", action="store_true",
                        help="also N bonds from one `softbond up --config` (forked from one process)")
    args = parser.parse_args()
    log(f"commit {commit()}, load average {loadavg()}")
    results = {}
    for datapath in ("python", "ebpf"):
        one = measure(datapath, 1, args.idle, "f1")
        many = measure(datapath, args.bonds, args.idle, "f8")
        further = (many["pss_mb"] - one["pss_mb"]) / (args.bonds - 1)
        results[datapath] = {"one": one, "many": many, "further_pss_mb": further}
        log(f"{datapath}: 1 bond RSS {one['rss_mb']:.1f} MiB PSS {one['pss_mb']:.1f}, idle CPU "
            f"{one['idle_cpu']:.2%}; {args.bonds} bonds RSS {many['rss_mb']:.1f} PSS {many['pss_mb']:.1f}, "
            f"idle CPU {many['idle_cpu']:.2%}; each further bond PSS {further:.1f} MiB")
        if args.one_up:
            shared = measure_one_up(datapath, args.bonds, args.idle)
            results[datapath]["one_up"] = shared
            results[datapath]["one_up_further_pss_mb"] = (shared["pss_mb"] - one["pss_mb"]) / (args.bonds - 1)
            log(f"{datapath}: {args.bonds} bonds from one up --config: RSS {shared['rss_mb']:.1f} PSS "
                f"{shared['pss_mb']:.1f}, idle CPU {shared['idle_cpu']:.2%}; each further bond PSS "
                f"{results[datapath]['one_up_further_pss_mb']:.1f} MiB")
    results["imports"] = heaviest_imports()
    for micros, module in results["imports"]:
        log(f"  import {module.strip()}: {micros / 1000:.1f} ms cumulative")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
