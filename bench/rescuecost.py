"""What the carrier rescue (datapath/ebpf/rescue.bpf.c) costs a 64-byte
frame on a member with carrier, which is every frame but the few after a
carrier loss: BPF_PROG_TEST_RUN of sb_rescue beside sb_egress
(active-backup, the program every frame the bond sends passes first) and
the isolate drop program (two instructions: what the test run itself
costs, to subtract), best of 7 x REPEAT runs each, ROUNDS times. The kernel times the loop
itself on one CPU, so the machine's load barely reaches these figures.

    sudo python3 bench/rescuecost.py [--rounds N] [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from benchutil import commit, loadavg                                  # noqa: E402  (after the path)
from softbond.datapath.ebpf import build, libbpf, loader               # noqa: E402
from softbond.datapath.ebpf.rescue import MAP_NAMES, PROG_NAMES         # noqa: E402
from softbond.datapath.ebpf.state import BondMaps                      # noqa: E402
from softbond.datapath.plan import ForwardingPlan                      # noqa: E402
from softbond.kernel.isolate import load_drop_program                  # noqa: E402

CTX = bytes(192)                # struct __sk_buff, zeroed: the frame runs on the loopback device
BOND_MAC, MAC = bytes.fromhex("02bb00000001"), bytes.fromhex("02aa00000001")
FRAME = (bytes.fromhex("02cc00000001") + BOND_MAC + b"\x08\x00"
         + bytes.fromhex("4500002e0000400040110000c0a864c7c0a86401") + bytes.fromhex("d4311451001a0000") + bytes(18))
TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT = 0, 2, 7
EMPTY = "drop program (the test run's own cost)"


def best(prog_fd: int, repeat: int) -> int:
    return min(libbpf.test_run(prog_fd, FRAME, CTX, repeat=repeat)[2] for _ in range(7))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200_000)
    args = parser.parse_args()
    bond, _ = loader.load(build.object_path())
    rescue = loader.BpfObject(build.object_path(source=build.RESCUE_SOURCE), MAP_NAMES, PROG_NAMES)
    rescue.load()
    drop = load_drop_program()
    try:
        maps = BondMaps(bond.maps)
        maps.initialize(999, BOND_MAC)
        maps.publish(ForwardingPlan(mode=1, xmit_hash_policy=0, packets_per_slave=1, tx_members=((1, MAC),),
                                    active=1, rx_policy={1: 1}, buckets=None, bond_mac=BOND_MAC), bond_ifindex=999)
        progs = {EMPTY: drop, "sb_egress (active-backup)": bond.progs["sb_egress"],
                 "sb_rescue (member with carrier)": rescue.progs["sb_rescue"]}
        assert libbpf.test_run(drop, FRAME, CTX)[0] == TC_ACT_SHOT
        assert libbpf.test_run(progs["sb_egress (active-backup)"], FRAME, CTX)[0] == TC_ACT_REDIRECT
        assert libbpf.test_run(progs["sb_rescue (member with carrier)"], FRAME, CTX)[0] == TC_ACT_OK
        print(f"# commit {commit()}, BPF_PROG_TEST_RUN best of 7 x {args.repeat}, 64-byte UDP, ns a frame",
              flush=True)
        results: dict[str, list[int]] = {name: [] for name in progs}
        for rnd in range(args.rounds):
            for name, fd in progs.items():
                results[name].append(best(fd, args.repeat))
            print(f"round {rnd}: " + ", ".join(f"{n} {v[-1]}" for n, v in results.items())
                  + f"; load average {loadavg()}", flush=True)
        print("| program | ns a frame (min-max of the rounds) | minus the test run's own |\n|---|---|---|")
        for name, values in results.items():
            print(f"| {name} | {min(values)}-{max(values)} | {min(values) - min(results[EMPTY])} |")
    finally:
        os.close(drop)
        bond.close()
        rescue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
