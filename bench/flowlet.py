"""Flowlet balancing (xmit_balance=flowlet) against the kernel's placements,
in one invocation:

    sudo python3 bench/flowlet.py [--seconds 15] [--runs 1] [--datapath ebpf|python] [--gap US,auto]
                                  [--queue-ms MS,...]

Two members shaped to R = 100 Mbit/s (tbf, Topology.shape; its latency,
the queue a member holds before it drops, is --queue-ms: 20 by default,
22.6 ms with the tbf's burst; each case runs once per depth given, a depth
other than 20 named in the case). Traffic from
the bond to one peer: 2 elephant TCP flows (iperf3 -P 2) whose client ports
the layer3+4 hash puts on the same member, plus 20 mice (iperf3 -P 20 at
1 Mbit/s each, ephemeral ports). Cases, each on a fresh topology:

    xor static      balance-xor, layer3+4 (the kernel's behaviour), bridge
    xor flowlet     the same with xmit_balance=flowlet
    tlb 10 s        balance-tlb, layer3+4, the kernel's 10 s rebalance, bridge
    tlb flowlet     balance-tlb with xmit_balance=flowlet
    802.3ad static  802.3ad, layer3+4, lacp_rate=fast, Open vSwitch LACP partner
    802.3ad flowlet the same with xmit_balance=flowlet
    xor static ovs  balance-xor against an Open vSwitch static trunk (no LACP):
    xor flowlet ovs what the userspace switch does to order, LACP aside

Per case: aggregate goodput (what the peer received, all 22 flows, from
second 2 on) and its lowest second, the elephants' goodput and Jain's fairness index over the
two, their TCP retransmits (iperf3) and the reordering the sender saw
(`ss -ti` reord_seen, sampled 2 s before the end), flowlet moves. Traffic
stays inside the namespaces the topology makes.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from benchutil import commit, loadavg  # noqa: E402
from softbond.lab.netns import SOFTBOND, Topology  # noqa: E402
from tests.support.framegen import ports_sharing_a_member  # noqa: E402

RATE = 100
#: tbf latency of Topology.shape, ms: the switch queue of the issue's bench
QUEUE_MS = 20
ADDR = "192.168.100.199/24"
BRIDGE: dict = {}
LACP = dict(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")
TRUNK = dict(switch="ovs", ovs_bond_mode="balance-slb", ovs_lacp="off",
             ovs_other=("other_config:all-members-active=true",))
CASES = [
    ("xor static", BRIDGE, ("mode=balance-xor",)),
    ("xor flowlet", BRIDGE, ("mode=balance-xor", "xmit_balance=flowlet")),
    ("tlb 10 s", BRIDGE, ("mode=balance-tlb",)),
    ("tlb flowlet", BRIDGE, ("mode=balance-tlb", "xmit_balance=flowlet")),
    ("802.3ad static", LACP, ("mode=802.3ad", "lacp_rate=fast")),
    ("802.3ad flowlet", LACP, ("mode=802.3ad", "lacp_rate=fast", "xmit_balance=flowlet")),
    ("xor static ovs", TRUNK, ("mode=balance-xor",)),
    ("xor flowlet ovs", TRUNK, ("mode=balance-xor", "xmit_balance=flowlet")),
]


def softbond(topo: Topology, *args: str) -> str:
    return subprocess.run(["ip", "netns", "exec", topo.host, *SOFTBOND, *args], check=True, capture_output=True,
                          text=True).stdout


def jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if any(values) else 0.0


def one_case(name: str, switch: dict, options: tuple[str, ...], seconds: int, datapath: str,
             during=None, queue_ms: int = QUEUE_MS) -> dict:
    """One run of a case; `during(topo, peer)`: a context manager around the
    traffic (flowlettrace.py's captures); `queue_ms`: each member's tbf latency."""
    with Topology(prefix=f"sbf{os.getpid() % 10000}", **switch) as topo, contextlib.ExitStack() as stack:
        softbond(topo, "up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "miimon=100",
                 "xmit_hash_policy=layer3+4", f"datapath={datapath}", *options)
        peer = topo.peer_ip()
        if not topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", peer], check=False).returncode == 0,
                             timeout=20):
            raise RuntimeError(f"{name}: no ping to the peer")
        topo.SHAPE_LATENCY = f"{queue_ms}ms"
        for i in range(2):
            topo.shape(i, RATE)
        servers = [topo.popen(topo.peer(), ["iperf3", "-s", "-1", "-J", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for port in (5201, 5202)]
        if during is not None:
            stack.enter_context(during(topo, peer))
        time.sleep(0.4)
        cport = ports_sharing_a_member(ADDR.split("/")[0], peer, 5201, first=22000)
        common = ["-t", str(seconds), "-J", "-i", "1", "--get-server-output"]
        elephants = topo.popen(topo.host, ["iperf3", "-c", peer, "-p", "5201", "-P", "2", "--cport", str(cport),
                                           *common], stdout=subprocess.PIPE, text=True)
        mice = topo.popen(topo.host, ["iperf3", "-c", peer, "-p", "5202", "-P", "20", "-b", "1M", *common],
                          stdout=subprocess.PIPE, text=True)
        time.sleep(seconds - 2)
        ss = topo.exec(topo.host, ["ss", "-tin", "dst", peer, "dport", "=", ":5201"], check=False).stdout
        reord = sum(int(x) for x in re.findall(r"reord_seen:(\d+)", ss))
        results = [json.loads(p.communicate(timeout=seconds + 30)[0]) for p in (elephants, mice)]
        for s in servers:
            s.wait(timeout=10)
        status = json.loads(softbond(topo, "status", "bond0", "--json"))
    for which, r in zip(("elephants", "mice"), results):
        if "error" in r:
            raise RuntimeError(f"{name}: iperf3 ({which}): {r['error']}")
    # what the peer received (the server's own intervals), else the sender's
    received = [r.get("server_output_json") or r for r in results]
    per_second = [sum(r["intervals"][i]["sum"]["bits_per_second"] for r in received) / 1e6
                  for i in range(2, min(len(r["intervals"]) for r in received))]
    eleph = results[0]["end"]["streams"]
    goodput = [s["receiver"]["bits_per_second"] / 1e6 for s in eleph]
    return {"aggregate": statistics.mean(per_second), "elephants": goodput, "jain": jain(goodput),
            "retransmits": sum(s["sender"].get("retransmits", 0) for s in eleph),
            "mice_retransmits": results[1]["end"]["sum_sent"].get("retransmits", 0),
            "reord_seen": reord, "moves": (status.get("flowlet") or {}).get("moves"), "per_second": per_second,
            "elephant_seconds": [[st["bits_per_second"] / 1e6 for st in iv["streams"]]
                                 for iv in received[0]["intervals"]]}


def gap_name(gap: str) -> str:
    if gap.startswith("auto:"):
        return f"gap auto, floor {gap[5:]} us"
    return "gap auto (follows the queues)" if gap == "auto" else f"gap {gap} us fixed"


def gap_options(gap: str) -> tuple[str, ...]:
    if gap.startswith("auto:"):
        return ("flowlet_gap_auto=on", f"flowlet_gap={gap[5:]}")
    return ("flowlet_gap_auto=on",) if gap == "auto" else ("flowlet_gap_auto=off", f"flowlet_gap={gap}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--datapath", default="ebpf", choices=("ebpf", "python"))
    ap.add_argument("--only", help="comma-separated case names")
    ap.add_argument("--gap", help="comma-separated gaps: a number of us is a fixed flowlet_gap "
                    "(flowlet_gap_auto=off), auto the default gap that follows the queues, auto:US that gap over a "
                    "flowlet_gap floor of US; each flowlet case "
                    "once per gap (default: the options' defaults)")
    ap.add_argument("--queue-ms", default=str(QUEUE_MS),
                    help=f"comma-separated tbf latencies in ms (the members' queue depth), each case once per depth "
                    f"(default {QUEUE_MS})")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.only or c[0] in args.only.split(",")]
    if args.gap:
        gaps = args.gap.split(",")
        cases = [(f"{name} {gap_name(gap)}" if "flowlet" in name else name, switch,
                  options + (gap_options(gap) if "flowlet" in name else ()))
                 for name, switch, options in cases for gap in gaps if "flowlet" in name or gap == gaps[0]]
    depths = [int(ms) for ms in args.queue_ms.split(",")]
    cases = [(name if ms == QUEUE_MS else f"{name} queue {ms} ms", switch, options, ms)
             for ms in depths for name, switch, options in cases]
    print(f"commit {commit()}, load average before: {loadavg()}; R = {RATE} Mbit/s per member, "
          f"{args.seconds} s per run, {args.runs} run(s), datapath={args.datapath}", flush=True)
    print("| case | aggregate Mbit/s (x R) | lowest second (x R) | elephants Mbit/s | Jain | elephant retransmits "
          "| mice retransmits | reord_seen | moves | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, switch, options, queue_ms in cases:
        for _ in range(args.runs):
            r = one_case(name, switch, options, args.seconds, args.datapath, queue_ms=queue_ms)
            print(f"| {name} | {r['aggregate']:.0f} ({r['aggregate'] / RATE:.2f}) | {min(r['per_second']) / RATE:.2f} | "
                  f"{' + '.join(f'{g:.0f}' for g in r['elephants'])} | {r['jain']:.2f} | {r['retransmits']} | "
                  f"{r['mice_retransmits']} | {r['reord_seen']} | {r['moves'] if r['moves'] is not None else '-'} | "
                  f"{loadavg()} |", flush=True)


if __name__ == "__main__":
    main()
