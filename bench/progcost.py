"""What sb_egress and sb_ingress cost a 64-byte UDP packet, per mode, on
real traffic (issue 22, small packets): the kernel's own run-time
statistics of each program (run_time_ns / run_cnt, switched on with
BPF_ENABLE_STATS for the invocation only: kernel.bpf_stats_enabled is
neither read nor changed) while bench/udpflood.c floods through a bond in
namespaces, out through the bond (sb_egress) and in through its members
(sb_ingress), over FLOWS flows so that the hashing modes spread them.

    sudo python3 bench/progcost.py [--tree NAME=SRC ...] [--rounds N] [--seconds S]
                                   [--modes ab,xor-l2,...] [--flows N]

Each tree is a softbond src/ directory (default: this tree's); the bond's
daemon runs the tree PYTHONPATH names, and so loads that tree's
bond.bpf.c. Trees alternate within a round, rounds alternate their order.
The statistics add the kernel's two clock reads to every run: sb_peer,
which only drops (`floor`, timed with BPF_PROG_TEST_RUN under the same
statistics, this tree's object: sb_peer is the same in every tree), is
what a program that does nothing costs. Prints ns a packet
per round as it goes, then a table: median (min-max) over the rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

import datapath as bench                                    # noqa: E402  (after the path)
from benchutil import commit, loadavg, med                  # noqa: E402
from smallpkt import build_flood                            # noqa: E402

from softbond.datapath.ebpf import bpfsys                   # noqa: E402
from softbond.lab.netns import Topology                     # noqa: E402

# name: the bond's options; 802.3ad needs a partner (OVS with LACP) to put both members in use
MODES = {
    "ab": ("mode=active-backup",),
    "xor-l2": ("mode=balance-xor", "xmit_hash_policy=layer2"),
    "xor-l34": ("mode=balance-xor", "xmit_hash_policy=layer3+4"),
    "xor-e34": ("mode=balance-xor", "xmit_hash_policy=encap3+4"),
    "rr": ("mode=balance-rr",),
    "8023ad-l34": ("mode=802.3ad", "xmit_hash_policy=layer3+4", "lacp_rate=fast"),
    "tlb": ("mode=balance-tlb",),
    "alb": ("mode=balance-alb",),
}
LACP_PARTNER = dict(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")

# Times sb_peer under the statistics: prints ns a run.
FLOOR_PROBE = """
import os
from softbond.datapath.ebpf import bpfsys, build, libbpf, loader
obj, _ = loader.load(build.object_path())
fd = obj.progs["sb_peer"]
before = bpfsys.prog_info(fd)
libbpf.test_run(fd, bytes(60), bytes(192), repeat=200000)
after = bpfsys.prog_info(fd)
print((after["run_time_ns"] - before["run_time_ns"]) / (after["run_cnt"] - before["run_cnt"]))
obj.close()
"""


def prog_ids(topo: Topology, dev: str) -> dict[str, int]:
    """The ids of the BPF programs on `dev`'s clsact hooks, by program name."""
    out = {}
    for hook in ("ingress", "egress"):
        proc = topo.exec(topo.host, ["tc", "-j", "filter", "show", "dev", dev, hook])
        for f in json.loads(proc.stdout or "[]"):
            prog = f.get("options", {}).get("prog")
            if prog:
                out[prog["name"]] = prog["id"]
    return out


def stats(ident: int) -> tuple[int, int]:
    fd = bpfsys.prog_fd_by_id(ident)
    try:
        info = bpfsys.prog_info(fd)
    finally:
        os.close(fd)
    return info["run_time_ns"], info["run_cnt"]


def flood(topo: Topology, flood_bin: str, reverse: bool, seconds: float, flows: int, prog: int) -> dict:
    sender, src, dst = ((topo.peer(), topo.peer_ip(), bench.BOND_IP) if reverse
                        else (topo.host, bench.BOND_IP, topo.peer_ip()))
    t0, n0 = stats(prog)
    proc = topo.exec(sender, [flood_bin, src, dst, str(seconds), str(flows)])
    t1, n1 = stats(prog)
    runs = n1 - n0
    return {"ns": (t1 - t0) / runs if runs else None, "runs": runs, "sent": int(proc.stdout or 0)}


def measure(tree: str, mode: str, flood_bin: str, seconds: float, flows: int, tag: str) -> dict:
    os.environ["PYTHONPATH"] = tree
    topo = Topology(prefix=f"sbd{os.getpid() % 10000}{tag}", **(LACP_PARTNER if "8023ad" in mode else {}))
    topo.__enter__()
    try:
        topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", bench.ADDR, "miimon=100",
                      "datapath=ebpf", *MODES[mode])
        bench.wait_ping(topo, topo.host, topo.peer_ip(), timeout=30)
        if "8023ad" in mode:
            time.sleep(3)          # both ports attach 2 s after they formed (802.1AX)
        bench.wait_ping(topo, topo.peer(), bench.BOND_IP, timeout=30)
        egress, ingress = prog_ids(topo, "bond0")["sb_egress"], prog_ids(topo, "eth0")["sb_ingress"]
        for reverse in (False, True):              # neighbours resolved, caches warm: not measured
            flood(topo, flood_bin, reverse, 0.3, flows, egress)
        return {"egress": flood(topo, flood_bin, False, seconds, flows, egress),
                "ingress": flood(topo, flood_bin, True, seconds, flows, ingress)}
    finally:
        topo.softbond("down", "bond0", check=False)
        topo.close()


def floor() -> float:
    proc = subprocess.run([sys.executable, "-c", FLOOR_PROBE], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "src")), check=True)
    return float(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=SRC",
                        help="a softbond src/ directory (repeatable; default: this tree)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    modes = args.modes.split(",")
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": os.path.join(HERE, "..", "src")}
    trees = {name: os.path.abspath(src) for name, src in trees.items()}
    flood_bin = build_flood()
    print(f"# commit {commit()}, {args.rounds} rounds x {args.seconds} s a direction, {args.flows} flows, "
          f"64-byte UDP, ns a packet (run_time_ns / run_cnt); load average before {loadavg()}", flush=True)
    raw: dict[tuple, list[float]] = {}
    stats_fd = bpfsys.enable_stats()
    try:
        for rnd in range(args.rounds):
            floor_ns = floor()
            for name in (list(trees) if rnd % 2 == 0 else list(reversed(trees))):
                raw.setdefault((name, "floor"), []).append(floor_ns)
                for mode in modes:
                    r = measure(trees[name], mode, flood_bin, args.seconds, args.flows, f"pc{rnd}")
                    for prog in ("egress", "ingress"):
                        if r[prog]["ns"] is not None:
                            raw.setdefault((name, f"{mode} {prog}"), []).append(r[prog]["ns"])
                    print(f"round {rnd} {name} {mode}: egress {r['egress']['ns'] or 0:.1f} ns "
                          f"({r['egress']['runs']} runs), ingress {r['ingress']['ns'] or 0:.1f} ns "
                          f"({r['ingress']['runs']} runs); load average {loadavg()}", flush=True)
    finally:
        os.close(stats_fd)
    names = list(trees)
    print(f"# load average after: {loadavg()}")
    print("| program, mode | " + " | ".join(f"{n} ns/packet" for n in names)
          + (f" | {names[-1]} / {names[0]} |" if len(names) > 1 else " |"))
    print("|---|" + "---|" * (len(names) + (len(names) > 1)))
    for case in ["floor"] + [f"{m} {p}" for p in ("egress", "ingress") for m in modes]:
        vals = [raw.get((n, case), []) for n in names]
        if not all(vals):
            continue
        cells = [f"{med(v):.1f} ({min(v):.1f}-{max(v):.1f})" for v in vals]
        if len(names) > 1:
            cells.append(f"{med(vals[-1]) / med(vals[0]):.2f}")
        label = "sb_peer (floor: the statistics' own cost)" if case == "floor" else f"sb_{case.split()[1]} {case.split()[0]}"
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
