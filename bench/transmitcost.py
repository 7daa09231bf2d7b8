"""CPU per frame of the Python data paths' transmit decision, per mode:
the callable the forwarding loop calls for each frame read from the bond
(issue 18: one compiled ForwardingPlan instead of the runners' closures).

    python3 bench/transmitcost.py                      # the tree on PYTHONPATH
    python3 bench/transmitcost.py --compare OLD NEW    # two source trees, alternately

Members are `len` (a C call that sends nothing), so what is measured is the
decision alone: the frame's hash, bucket, rotation, source-MAC rewrite. A
tree from before datapath/plan.py existed is driven through its runners'
transmit(); a newer one through build_plan + compile_transmit. tlb and
alb are measured in their steady state: the frames went through once and
the first rebalance placed their buckets by load (on both sides, so that
both rewrite the source MAC of the frames off the active member). --compare
runs each tree in its own process, ROUNDS times alternately, so a loaded
machine weighs on both alike; it prints the median ns per frame and the
ratio NEW / OLD.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace

MODES = {"active-backup": 1, "balance-rr": 0, "balance-xor": 2, "broadcast": 3, "balance-tlb": 5,
         "balance-alb": 6}
# xmit_balance=flowlet (a tree without it measures nothing for these): the
# frames come back to back, so no bucket pauses and what is measured is the
# per-frame clock read and gap check
FLOWLET_MODES = {"balance-xor flowlet": 2, "balance-tlb flowlet": 5}
# flowlet's queue model (every member's line rate known, a tree with
# FlowletState.queue_committer): the per-frame queue arithmetic on top
QUEUE_MODES = {"balance-xor flowlet queues": 2, "balance-tlb flowlet queues": 5}
FRAMES = 200_000
VNET = bytes(10)


@dataclass(eq=False)
class Member:
    name: str
    ifindex: int
    mac_bytes: bytes
    speed: int = 1000
    up: bool = True
    send = staticmethod(len)


def tcp_frames(flows: int = 64) -> list[memoryview]:
    """1500-byte TCP frames of `flows` flows, virtio-net header first."""
    out = []
    for i in range(flows):
        ip = bytes([0x45, 0, 0x05, 0xDC, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 1, i + 1])
        tcp = (40000 + i).to_bytes(2, "big") + (80).to_bytes(2, "big") + bytes(16)
        eth = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"
        out.append(memoryview(bytearray((VNET + eth + ip + tcp).ljust(10 + 1514, b"x"))))
    return out


def transmit_for(mode: int, frames: list[memoryview], queues: bool = False, **options):
    from softbond.config.registry import BondOptions
    from softbond.modes import make_runner
    runner = make_runner(replace(BondOptions(), mode=mode, xmit_hash_policy=1, **options))
    members = [Member(f"eth{i}", 1001 + i, bytes([2, 0xAA, 0, 0, 0, i])) for i in range(2)]
    flowlet = None
    if queues:                                                  # 100 Mbit/s members behind a 20 ms tbf
        from softbond.datapath.plan import FlowletState
        runner.read_rates = lambda names: {i: (12_500_000, 282_500) for i in names}
        flowlet = FlowletState()
        flowlet.member_slots = {m.ifindex: i for i, m in enumerate(members)}
    active = members[0] if mode in (1, 5, 6) else None
    try:
        from softbond.datapath.plan import build_plan, compile_transmit
    except ImportError:
        transmit = runner.transmit(members, active, bytes(6))   # before the plan
        for frame in frames:
            transmit(frame)                                     # its table places at the first frame
        if getattr(runner, "table", None) is not None:
            # Its first rebalance (alb's first tick only starts the clock):
            # the buckets are placed again by measured load, not all on
            # the first member as before any history.
            for now in (1e6, 2e6)[:1 if mode == 5 else 2]:
                runner.tick(now, members)
            for frame in frames:
                transmit(frame)
        return transmit
    counts = [0] * 256

    def compiled():
        plan = build_plan(runner, members, members, active, bytes(6))
        assert not queues or plan.flowlet_rates, "the queue model is not on"
        return compile_transmit(plan, {m.ifindex: m.send for m in members}, counts, lambda frame: False,
                                flowlet=flowlet)
    transmit = compiled()
    for frame in frames:
        transmit(frame)
    if runner.rebalance(lambda: list(counts), time.monotonic() + 3600):    # the first measurement
        transmit = compiled()
    return transmit


def measure() -> dict[str, float]:
    frames = tcp_frames()
    out = {}
    from softbond.config.registry import BondOptions
    cases = [(name, mode, {}) for name, mode in MODES.items()]
    if hasattr(BondOptions(), "xmit_balance"):
        cases += [(name, mode, {"xmit_balance": 1}) for name, mode in FLOWLET_MODES.items()]
    from softbond.datapath.plan import FlowletState
    if hasattr(FlowletState, "queue_committer"):
        cases += [(name, mode, {"xmit_balance": 1, "queues": True}) for name, mode in QUEUE_MODES.items()]
    for name, mode, options in cases:
        transmit = transmit_for(mode, frames, **options)
        batches = FRAMES // len(frames)
        start = time.process_time_ns()
        for _ in range(batches):
            for frame in frames:
                transmit(frame)
        out[name] = (time.process_time_ns() - start) / (batches * len(frames))
    return out


def run_tree(tree: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src"))
    done = subprocess.run([sys.executable, __file__, "--json"], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="two source trees")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure()))
        return 0
    if not args.compare:
        for name, ns in measure().items():
            print(f"{name:26} {ns:7.0f} ns/frame")
        return 0
    old_tree, new_tree = args.compare
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(args.rounds):
        for key, tree in (("old", old_tree), ("new", new_tree)) if i % 2 == 0 else (("new", new_tree),
                                                                                    ("old", old_tree)):
            runs[key].append(run_tree(tree))
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {args.rounds} rounds, "
          f"{FRAMES} frames per mode and round")
    print("| mode | old ns/frame (median, min-max) | new ns/frame | new / old |")
    print("|---|---|---|---|")
    for name in [n for n in runs["new"][0] if n in runs["old"][0]]:
        old = [r[name] for r in runs["old"]]
        new = [r[name] for r in runs["new"]]
        print(f"| {name} | {statistics.median(old):.0f} ({min(old):.0f}-{max(old):.0f}) | "
              f"{statistics.median(new):.0f} ({min(new):.0f}-{max(new):.0f}) | "
              f"{statistics.median(new) / statistics.median(old):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
