"""An idle 802.3ad bond's wakeups and CPU: the runner tick scheduled from
LACP's timers (LacpSystem.next_deadline) against the fixed 100 ms tick of an
earlier tree, in the same invocation.

    sudo python3 bench/lacpidle.py --before TREE [--seconds 20] [--rounds 2]

TREE is a checkout of the code to compare with (e.g. `git worktree add
/tmp/before 7d9bdbd`); "after" is this tree. Each round, for each tree and
for miimon 100 and 0: a fresh Topology with Open vSwitch as the LACP
partner (balance-tcp, lacp active, fast), `softbond up bond0 mode=802.3ad
lacp_rate=fast datapath=ebpf`, both members distributing, then the bond
process's context switches (voluntary + involuntary, all threads: each is
a wakeup) and CPU time over SECONDS of idleness.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AFTER = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(AFTER, "src"))
sys.path.insert(0, HERE)

from benchutil import commit, loadavg  # noqa: E402

from softbond.lab.netns import Topology  # noqa: E402


def switches_and_cpu(pid: int) -> tuple[int, float]:
    total, ticks = 0, 0
    for task in glob.glob(f"/proc/{pid}/task/*"):
        with open(f"{task}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        with open(f"{task}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return total, ticks / os.sysconf("SC_CLK_TCK")


def status(topo) -> dict:
    return json.loads(topo.softbond("status", "bond0", "--json").stdout)


def one(tree: str, miimon: int, seconds: float) -> dict:
    os.environ["PYTHONPATH"] = os.path.join(tree, "src")
    with Topology(prefix=f"sbi{os.getpid() % 10000}", switch="ovs", ovs_bond_mode="balance-tcp",
                  ovs_lacp="active", ovs_lacp_time="fast") as topo:
        topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24",
                      "mode=802.3ad", "lacp_rate=fast", f"miimon={miimon}", "datapath=ebpf")
        ok = topo.wait_for(lambda: all(s.get("ad", {}).get("mux_state") == "COLLECTING_DISTRIBUTING"
                                       for s in status(topo)["slaves"]), timeout=15)
        pid = status(topo)["pid"]
        time.sleep(2)
        s0, c0 = switches_and_cpu(pid)
        time.sleep(seconds)
        s1, c1 = switches_and_cpu(pid)
        return {"formed": ok, "wakeups_per_s": (s1 - s0) / seconds, "cpu_percent": 100 * (c1 - c0) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="a checkout of the code to compare with")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows: dict[tuple[str, int], list[dict]] = {}
    before = subprocess.run(["git", "-C", args.before, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    print(f"commit {commit()}, before {before}, load {loadavg()}", flush=True)
    for _ in range(args.rounds):
        for miimon in (100, 0):
            for label, tree in (("before", args.before), ("after", AFTER)):
                r = one(tree, miimon, args.seconds)
                rows.setdefault((label, miimon), []).append(r)
                print(label, miimon, r, flush=True)
    print(f"load {loadavg()}")
    print("| tree | miimon | LACP formed | wakeups/s (each round) | CPU % (each round) |")
    print("|---|---|---|---|---|")
    for (label, miimon), rs in rows.items():
        wakeups = ", ".join(f"{r['wakeups_per_s']:.1f}" for r in rs)
        cpu = ", ".join(f"{r['cpu_percent']:.2f}" for r in rs)
        print(f"| {label} | {miimon} | {sum(r['formed'] for r in rs)}/{len(rs)} | {wakeups} | {cpu} |")


if __name__ == "__main__":
    main()
