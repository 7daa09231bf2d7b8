"""What the eBPF programs cost a 64-byte frame, per program, in the kernel:
BPF_PROG_TEST_RUN of sb_egress (active-backup; balance-xor layer3+4 over
two members) and sb_ingress (an active member delivering), best of 7 x
REPEAT runs each. The machine's load barely reaches these figures (the
kernel times the loop itself, on one CPU), so trees can be compared on a
shared machine: each tree runs in its own process with its own bond.bpf.c,
maps and state.py, alternating, ROUNDS times.

    sudo python3 bench/ebpfcost.py [--tree NAME=SRC ...] [--rounds N] [--repeat N]

Without --tree: this tree's src/ only. Example, before/after a change:
`--tree before=/tmp/wt-before/src --tree after=src`.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from benchutil import commit, loadavg                      # noqa: E402  (after the path)

# Run with the tree's own PYTHONPATH. Prints "case ns" lines.
PROBE = """
import struct, sys
from softbond.datapath.ebpf import build, libbpf, loader
from softbond.datapath.plan import ForwardingPlan
from softbond.datapath.ebpf.state import BondMaps
repeat = int(sys.argv[1])
obj, _ = loader.load(build.object_path())
maps = BondMaps(obj.maps)
bond_mac, mac, mac2 = (bytes.fromhex(h) for h in ("02bb00000001", "02aa00000001", "02aa00000002"))
maps.initialize(999, bond_mac)
# BPF_PROG_TEST_RUN runs the frame on the loopback device: ifindex 1 is the receiving member.
maps.set_rx(1, 1, 0, mac)
frame = bytes.fromhex("02cc00000001") + bond_mac + b"\\x08\\x00" + bytes.fromhex(
    "4500002e0000400040110000c0a864c7c0a86401") + bytes.fromhex("d4311451001a0000") + bytes(18)
inbound = bond_mac + bytes.fromhex("02cc00000001") + frame[12:]

def best(prog, data):
    return min(libbpf.test_run(obj.progs[prog], data, bytes(192), repeat=repeat)[2] for _ in range(7))

def plan(mode, policy, members, active):
    maps.publish(ForwardingPlan(mode=mode, xmit_hash_policy=policy, packets_per_slave=1, tx_members=members,
                                active=active, rx_policy={1: 1}, buckets=None, bond_mac=bond_mac), bond_ifindex=999)

plan(1, 0, ((1, mac),), 1)
print("egress-ab", best("sb_egress", frame))
assert libbpf.test_run(obj.progs["sb_egress"], frame, bytes(192))[0] == 7
assert libbpf.test_run(obj.progs["sb_ingress"], inbound, bytes(192))[0] == 7
print("ingress-ab", best("sb_ingress", inbound))
plan(2, 1, ((1, mac), (2, mac2)), 0)
print("egress-xor-l34", best("sb_egress", frame))
obj.close()
"""


def probe(tree: str, repeat: int) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(repeat)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=tree), check=False)
    if proc.returncode:
        sys.exit(f"ebpfcost: the probe failed under {tree}: {proc.stderr.strip().splitlines()[-1:]}")
    return {case: int(ns) for case, ns in (line.split() for line in proc.stdout.splitlines())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=SRC",
                        help="a softbond src/ directory to time (repeatable; default: this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=200_000)
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": os.path.join(HERE, "..", "src")}
    trees = {name: os.path.abspath(src) for name, src in trees.items()}
    print(f"# commit {commit()}, BPF_PROG_TEST_RUN best of 7 x {args.repeat}, 64-byte UDP, ns a frame", flush=True)
    results: dict[str, dict[str, list[int]]] = {name: {} for name in trees}
    for rnd in range(args.rounds):
        names = list(trees) if rnd % 2 == 0 else list(reversed(trees))
        for name in names:
            for case, ns in probe(trees[name], args.repeat).items():
                results[name].setdefault(case, []).append(ns)
            print(f"round {rnd} {name}: " + ", ".join(f"{c} {v[-1]}" for c, v in results[name].items())
                  + f"; load average {loadavg()}", flush=True)
    cases = list(next(iter(results.values())))
    print("| tree | " + " | ".join(cases) + " |")
    print("|---|" + "---|" * len(cases))
    for name, by_case in results.items():
        print(f"| {name} | " + " | ".join(f"{min(v)}-{max(v)}" for v in by_case.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
