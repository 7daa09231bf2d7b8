"""balance-rr's reordering on the Python and eBPF data paths (issue 22.2).

    sudo python3 bench/rrorder.py [--rates 100,200] [--runs 1] [--seconds 8]

Two members shaped to R Mbit/s (tbf, lab Topology.shape) behind a Linux
bridge, 8 TCP streams (iperf3 -P 8) from the bond to one peer. For each R,
in one invocation: one member alone holding the host's IP (the baseline),
balance-rr on each data path and balance-xor (layer3+4) on each. Per case:
the receiver's goodput over the run after its first 2 s, its ratio to the
baseline, the senders' TCP retransmits (iperf3 JSON), and, in the rr
cases, what a short capture shows (tcpdump -tt -c, a few seconds in):

- run: how many consecutive packets of one flow (in sequence order) left
  by the same member, mean and max, from captures on both members after
  their tbf (a frame above the tbf's burst shows as its segments, a
  smaller one as one packet);
- frame: the mean TCP payload per frame the bond handed to a member (on
  the Python path a capture on the TAP, where the stack's GSO super-frames
  show whole; the eBPF path redirects at the bond's tc egress, before
  any tap sees it: '-');
- late: the share of data segments the peer received below the highest
  sequence number it had seen of that flow (reordered or retransmitted).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from benchutil import commit, fmt, loadavg  # noqa: E402
from softbond.lab.netns import Topology  # noqa: E402

ADDR = "192.168.100.199/24"
STREAMS = 8
PORT = 5201
CAPTURE_AT = 3.0            # seconds into the run
CAPTURE_FRAMES = 3000       # per tcpdump (-c)
SEGMENT = re.compile(r"^(\d+\.\d+) IP \S+?\.(\d+) > \S+: Flags \[[^\]]*\], seq (\d+):(\d+)")


def captured(text: str) -> list[tuple[float, int, int, int]]:
    """(time, source port, first seq, end seq) of each data segment in
    tcpdump -n -tt -S output."""
    out = []
    for line in text.splitlines():
        m = SEGMENT.match(line)
        if m:
            out.append((float(m[1]), int(m[2]), int(m[3]), int(m[4])))
    return out


def runs_by_member(per_member: list[list[tuple[float, int, int, int]]]) -> list[int]:
    """Lengths of the runs of one flow's consecutive segments (in sequence
    order) that left by one member, over the time both captures overlap."""
    if not all(per_member):
        return []
    start = max(segs[0][0] for segs in per_member)
    end = min(segs[-1][0] for segs in per_member)
    flows: dict[int, list[tuple[int, int]]] = {}
    for member, segs in enumerate(per_member):
        for t, port, seq, _ in segs:
            if start <= t <= end:
                flows.setdefault(port, []).append((seq, member))
    runs = []
    for segs in flows.values():
        segs.sort()
        length, last = 0, None
        for _, member in segs:
            if member == last:
                length += 1
            else:
                if length:
                    runs.append(length)
                length, last = 1, member
        if length:
            runs.append(length)
    return runs


def late_share(segs: list[tuple[float, int, int, int]]) -> float:
    """Share of segments arriving below the highest sequence of their flow."""
    highest: dict[int, int] = {}
    late = 0
    for _, port, seq, end in segs:
        top = highest.get(port)
        if top is not None and seq < top:
            late += 1
        highest[port] = max(end, top or 0)
    return late / len(segs) if segs else 0.0


def tcpdump(topo: Topology, ns: str, dev: str, direction: str) -> subprocess.Popen:
    return topo.popen(ns, ["tcpdump", "-i", dev, "-n", "-tt", "-S", "-s", "96", "-Q", direction,
                           "-c", str(CAPTURE_FRAMES), f"tcp dst port {PORT} and greater 100"],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def iperf(topo: Topology, seconds: int, capture: list[tuple[str, str, str]]) -> dict:
    """8 streams host -> peer0; returns goodput (receiver, after 2 s),
    sender retransmits and the captures' text by device."""
    server = topo.popen(topo.peer(), ["iperf3", "-s", "-1", "-J", "-p", str(PORT)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    client = topo.popen(topo.host, ["iperf3", "-c", topo.peer_ip(), "-p", str(PORT), "-t", str(seconds),
                                    "-P", str(STREAMS), "-J", "-i", "1", "--get-server-output"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(CAPTURE_AT)
    dumps = {dev: tcpdump(topo, ns, dev, direction) for ns, dev, direction in capture}
    texts = {}
    for dev, p in dumps.items():
        try:
            texts[dev], _ = p.communicate(timeout=seconds + 5)
        except subprocess.TimeoutExpired:
            p.kill()
            texts[dev], _ = p.communicate()
    text, _ = client.communicate(timeout=seconds + 30)
    server.wait(timeout=10)
    data = json.loads(text)
    if "error" in data:
        raise RuntimeError(f"iperf3: {data['error']}")
    intervals = data["server_output_json"]["intervals"]
    mbit = statistics.mean(i["sum"]["bits_per_second"] for i in intervals[2:seconds]) / 1e6
    return {"mbit": mbit, "retransmits": data["end"]["sum_sent"].get("retransmits", 0), "captures": texts}


def baseline(rate: int, seconds: int) -> dict:
    with Topology(prefix=f"sbr{os.getpid() % 10000}b", members=1) as topo:
        topo.exec(topo.host, ["ip", "addr", "add", ADDR, "dev", "eth0"])
        topo.exec(topo.host, ["ip", "link", "set", "eth0", "up"])
        topo.shape(0, rate)
        reach(topo)
        return iperf(topo, seconds, [])


def reach(topo: Topology) -> None:
    if not topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c1", "-W1", topo.peer_ip()],
                                           check=False).returncode == 0):
        raise RuntimeError("no ping to the peer")


def drops(topo: Topology) -> dict:
    """Where frames were dropped on the way out: each member's tbf, the
    bond device's transmit queue (the TAP's, or the eBPF path's veth) and
    the Python loop's failed member sends."""
    out = {}
    for dev in ("eth0", "eth1"):
        stats = json.loads(topo.exec(topo.host, ["tc", "-s", "-j", "qdisc", "show", "dev", dev]).stdout)
        # only the tbf's: the Python path's clsact on a member drops what the
        # member receives on its way up the member's own stack (the loop
        # reads it), which is not a loss
        out[f"tbf {dev}"] = sum(q.get("drops", 0) for q in stats if q.get("kind") == "tbf")
    links = {li["ifname"]: li for li in json.loads(topo.exec(topo.host, ["ip", "-j", "-s", "link"]).stdout)}
    out["bond0 tx"] = links["bond0"]["stats64"]["tx"]["dropped"]
    status = json.loads(topo.softbond("status", "bond0", "--json").stdout)
    out["send errors"] = (status.get("datapath_loop") or {}).get("tx_errors", "-")
    return out


def bond(rate: int, seconds: int, mode: str, datapath: str, options: tuple[str, ...]) -> dict:
    with Topology(prefix=f"sbr{os.getpid() % 10000}m", members=2) as topo:
        topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, f"mode={mode}", "miimon=100",
                      f"datapath={datapath}", *options)
        for i in range(2):
            topo.shape(i, rate)
        reach(topo)
        capture = []
        if mode == "balance-rr":
            capture = [(topo.host, "eth0", "out"), (topo.host, "eth1", "out"), (topo.peer(), "peer0", "in")]
            if datapath == "python":
                capture.append((topo.host, "bond0", "out"))
        r = iperf(topo, seconds, capture)
        r["drops"] = drops(topo)
        topo.softbond("down", "bond0", check=False)
    texts = r.pop("captures")
    if texts:
        runs = runs_by_member([captured(texts["eth0"]), captured(texts["eth1"])])
        r["run_mean"] = statistics.mean(runs) if runs else None
        r["run_max"] = max(runs) if runs else None
        r["late"] = late_share(captured(texts["peer0"]))
        frames = captured(texts.get("bond0", ""))
        r["frame_bytes"] = statistics.mean(end - seq for _, _, seq, end in frames) if frames else None
    return r


CASES = (("balance-rr", "python", ()), ("balance-rr", "ebpf", ()),
         ("balance-xor", "python", ("xmit_hash_policy=layer3+4",)),
         ("balance-xor", "ebpf", ("xmit_hash_policy=layer3+4",)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="100,200", help="Mbit/s per member, comma-separated")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--paths", default="python,ebpf")
    parser.add_argument("--modes", default="balance-rr,balance-xor")
    args = parser.parse_args()
    paths = args.paths.split(",")
    print(f"commit {commit()}, load average before {loadavg()}", file=sys.stderr, flush=True)
    rows: dict[tuple, list[dict]] = {}
    for run in range(args.runs):
        for rate in (int(r) for r in args.rates.split(",")):
            base = baseline(rate, args.seconds)
            rows.setdefault((rate, "one member", "-"), []).append({**base, "ratio": 1.0})
            print(f"  run {run + 1} {rate} Mbit/s one member: {base['mbit']:.1f} Mbit/s, "
                  f"{base['retransmits']} retransmits", file=sys.stderr, flush=True)
            for mode, path, options in CASES:
                if path not in paths or mode not in args.modes.split(","):
                    continue
                r = bond(rate, args.seconds, mode, path, options)
                r["ratio"] = r["mbit"] / base["mbit"]
                rows.setdefault((rate, mode, path), []).append(r)
                print(f"  run {run + 1} {rate} Mbit/s {mode} {path}: {r['mbit']:.1f} Mbit/s = {r['ratio']:.2f}x, "
                      f"{r['retransmits']} retransmits, " + ", ".join(f"{k} {v}" for k, v in r.items()
                                                                      if k in ("run_mean", "run_max", "late",
                                                                               "frame_bytes", "drops")),
                      file=sys.stderr, flush=True)
    print(f"Command: `sudo python3 bench/rrorder.py --rates {args.rates} --runs {args.runs} --seconds "
          f"{args.seconds}` (commit {commit()}, load average after {loadavg()})\n")
    print("| R Mbit/s | mode | data path | Mbit/s (median, min-max) | / one member (median, min-max) "
          "| TCP retransmits (median, min-max) | tbf drops eth0 / eth1 | same-member run (mean / max) "
          "| payload per frame to a member, bytes | late at the peer |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    for (rate, mode, path), rs in rows.items():
        runs = [r for r in rs if r.get("run_mean") is not None]
        run_text = (f"{statistics.median(r['run_mean'] for r in runs):.1f} / {max(r['run_max'] for r in runs)}"
                    if runs else "-")
        tbf_text = " / ".join(fmt([r["drops"][f"tbf {dev}"] for r in rs if "drops" in r], ".0f")
                              for dev in ("eth0", "eth1")) if any("drops" in r for r in rs) else "-"
        print(f"| {rate} | {mode} | {path} | {fmt([r['mbit'] for r in rs], '.0f')} "
              f"| {fmt([r['ratio'] for r in rs], '.2f')} | {fmt([r['retransmits'] for r in rs], '.0f')} "
              f"| {tbf_text} | {run_text} | {fmt([r.get('frame_bytes') for r in rs], '.0f')} "
              f"| {fmt([r.get('late') for r in rs], '.1%')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
