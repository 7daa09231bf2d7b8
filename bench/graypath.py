"""Gray failure (issue 21.1): one member's path loses a share of its frames
while its carrier stays up. softbond with the kernel's monitors only
(miimon and the ARP monitor) against softbond with path_monitor=on, in the
same run.

    sudo python3 bench/graypath.py [--seconds 60] [--loss 50] [--json FILE]

Each case: a fresh Topology (Linux bridge, one peer), an active-backup bond
over eth0 (active) and eth1 with miimon=100 arp_interval=100
arp_ip_target=PEER; the path-monitor cases add path_monitor=on and their
options. Random loss (lab/randomdrop.bpf.c, --loss per thousand frames, on
both directions of eth0's switch port) is attached 1 s after `up`; then,
for --seconds, one iperf3 TCP stream from the bond to the peer and a ping
every 10 ms run together. Reported: TCP goodput (iperf3's receiver side),
ping loss, when eth0 was first taken out (seconds after the loss began,
polled every 0.1 s), how often it was taken out and the failovers.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from softbond.faces.cli import request_at  # noqa: E402
from softbond.lab import randomdrop  # noqa: E402
from softbond.lab.netns import SOFTBOND, Topology  # noqa: E402

ADDR = "192.168.100.199/24"
CASES = (
    ("kernel monitors only (miimon=100, ARP monitor 100 ms)", ()),
    ("path_monitor=on, defaults (200 ms, window 50, 10%, recover 25)", ("path_monitor=on",)),
    ("path_monitor=on, path_monitor_loss=3 path_monitor_window=100 path_monitor_interval=100",
     ("path_monitor=on", "path_monitor_loss=3", "path_monitor_window=100", "path_monitor_interval=100")),
)


def status(topo: Topology) -> dict:
    out = topo.exec(topo.host, [*SOFTBOND, "status", "bond0", "--json"]).stdout
    return json.loads(out)


def run_case(options: tuple[str, ...], seconds: int, permille: int) -> dict:
    with Topology(prefix=f"sbg{os.getpid() % 10000}") as topo:
        topo.exec(topo.host, [*SOFTBOND, "up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=1",
                              "miimon=100", "arp_interval=100", f"arp_ip_target={topo.peer_ip()}", *options])
        topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip()],
                                        check=False).returncode == 0)
        time.sleep(1.0)
        loss_from = time.time()
        randomdrop.attach(topo.switch_ns, topo.switch_port(0), permille)
        server = topo.popen(topo.peer(), ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        client = topo.popen(topo.host, ["iperf3", "-c", topo.peer_ip(), "-t", str(seconds), "-J"],
                            stdout=subprocess.PIPE, text=True)
        ping = topo.popen(topo.host, ["ping", "-n", "-q", "-i", "0.01", "-w", str(seconds), topo.peer_ip()],
                          stdout=subprocess.PIPE, text=True)
        # When eth0 is first taken out, polled over the control socket (the
        # event log keeps only the last events, and a member near the
        # threshold comes and goes).
        out_at = None
        while client.poll() is None:
            if out_at is None:
                path = request_at(topo.control_socket("bond0"), {"cmd": "status"}, timeout=5)["status"]["slaves"][0]
                if path.get("path") and path["path"]["taken_out"]:
                    out_at = time.time() - loss_from
            time.sleep(0.1)
        data = json.loads(client.communicate(timeout=seconds + 60)[0])
        ping_out = ping.communicate(timeout=seconds + 60)[0]
        server.wait(timeout=10)
        st = status(topo)
        sent, received = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", ping_out).groups())
        return {"goodput_mbps": data["end"]["sum_received"]["bits_per_second"] / 1e6,
                "retransmits": data["end"]["sum_sent"].get("retransmits"),
                "ping_sent": sent, "ping_lost": sent - received, "taken_out_after": out_at,
                "failovers": st["failovers"], "active_at_end": st["active_slave"],
                "times_taken_out": (st["slaves"][0].get("path") or {}).get("taken_out", 0),
                "path": st["slaves"][0].get("path")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--loss", type=int, default=50, help="frames dropped per thousand, each direction")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = []
    for label, options in CASES:
        result = run_case(options, args.seconds, args.loss)
        result["case"] = label
        results.append(result)
        print(json.dumps(result), flush=True)
    print("\n| softbond | TCP goodput (Mbit/s) | TCP retransmits | ping lost | eth0 first out after | "
          "times out | failovers |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        out = f"{r['taken_out_after']:.1f} s" if r["taken_out_after"] is not None else "never"
        print(f"| {r['case']} | {r['goodput_mbps']:.0f} | {r['retransmits']} | "
              f"{r['ping_lost']} of {r['ping_sent']} ({100 * r['ping_lost'] / max(1, r['ping_sent']):.2f}%) | "
              f"{out} | {r['times_taken_out']} | {r['failovers']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
