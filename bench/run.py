"""softbond benchmarks, each beside a baseline measured in the same run.

    sudo python3 bench/run.py [--runs N] [--only failover|throughput]

failover:   a 10 kHz UDP stream through an active-backup bond, the active
            member's carrier cut: frames lost and the longest gap, with
            event-driven detection (netlink) and with the miimon=100 poll
            alone. Medians of N runs.
throughput: one TCP stream (iperf3) through the bond, as a ratio to the
            same stream over the plain veth path (same namespaces, the same
            bridge, the member holding the IP itself, no softbond).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from softbond.netns import SOFTBOND, Topology  # noqa: E402

ADDR = "192.168.100.199/24"
UDP = [sys.executable, os.path.join(HERE, "udpstream.py")]


def bond_up(topo: Topology, *options: str, env: dict | None = None) -> None:
    argv = ["ip", "netns", "exec", topo.host, *SOFTBOND, "up", "bond0", "--slaves", "eth0,eth1",
            "--address", ADDR, *options]
    subprocess.run(argv, check=True, env={**os.environ, **(env or {})}, capture_output=True)
    topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip()], check=False).returncode == 0)


def failover_once(events: bool, cut: bool = True) -> dict:
    with Topology(prefix=f"sbb{os.getpid() % 10000}") as topo:
        env = {} if events else {"SOFTBOND_LINK_EVENTS": "0"}
        bond_up(topo, "mode=1", "miimon=100", "num_grat_arp=1", env=env)
        recv = topo.popen(topo.peer(), [*UDP, "recv", "9000", "3.5"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        send = topo.popen(topo.host, [*UDP, "send", topo.peer_ip(), "9000", "10000", "3"],
                          stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        if cut:
            topo.cut(0)
        send.communicate(timeout=30)
        out, _ = recv.communicate(timeout=30)
        return json.loads(out)


def iperf(topo: Topology, seconds: int = 5, reverse: bool = False) -> float:
    server = topo.popen(topo.peer(), ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    argv = ["iperf3", "-c", topo.peer_ip(), "-t", str(seconds), "-J"] + (["-R"] if reverse else [])
    out = topo.exec(topo.host, argv, timeout=seconds + 30).stdout
    server.wait(timeout=10)
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def throughput_once() -> dict:
    with Topology(prefix=f"sbt{os.getpid() % 10000}") as topo:
        topo.exec(topo.host, ["ip", "addr", "add", ADDR, "dev", "eth0"])
        topo.exec(topo.host, ["ip", "link", "set", "eth0", "up"])
        topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip()], check=False).returncode == 0)
        veth_out, veth_in = iperf(topo), iperf(topo, reverse=True)
        topo.exec(topo.host, ["ip", "addr", "flush", "dev", "eth0"])
        bond_up(topo, "mode=1", "miimon=100")
        bond_out, bond_in = iperf(topo), iperf(topo, reverse=True)
        topo.softbond("down", "bond0")
    return {"veth_out": veth_out, "veth_in": veth_in, "bond_out": bond_out, "bond_in": bond_in}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("failover", "throughput"))
    args = parser.parse_args()
    rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"# softbond bench, commit {rev}, {args.runs} runs, medians\n")
    if args.only in (None, "failover"):
        print("## Failover gap: 10 kHz UDP, active member's carrier cut\n")
        print("| detection | frames lost (median, min-max) | longest gap ms (median, min-max) |")
        print("|---|---|---|")
        cases = (("no failure (the stream's own jitter floor)", True, False),
                 ("netlink link events (+ miimon=100)", True, True), ("miimon=100 poll alone", False, True))
        for label, events, cut in cases:
            runs = [failover_once(events, cut) for _ in range(args.runs)]
            lost = [r["lost"] for r in runs]
            gaps = [r["max_gap_ms"] for r in runs]
            print(f"| {label} | {statistics.median(lost):.0f} ({min(lost)}-{max(lost)}) "
                  f"| {statistics.median(gaps):.2f} ({min(gaps):.2f}-{max(gaps):.2f}) |", flush=True)
        print()
    if args.only in (None, "throughput"):
        print("## One TCP stream (iperf3, 5 s), Gbit/s\n")
        runs = [throughput_once() for _ in range(max(1, args.runs // 2))]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print("| direction | plain veth | softbond (python path) | ratio |")
        print("|---|---|---|---|")
        for d, label in (("out", "bond -> peer"), ("in", "peer -> bond")):
            print(f"| {label} | {med['veth_' + d]:.2f} | {med['bond_' + d]:.2f} | "
                  f"{med['bond_' + d] / med['veth_' + d]:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
