"""Where flowlet balancing's stray reordering comes from: bench/flowlet.py's
cases with the elephants' segments captured as they leave each member (after
its tbf: tcpdump sees a frame at the driver) and as they reach the peer.

    sudo python3 bench/flowlettrace.py [--seconds 12] [--runs 5] [--only "xor flowlet"]

Per run, for each elephant: every member change in sequence order (a move),
with the pause the sender made before it (the TCP timestamps of the last
segment on the old member and the first on the new one, ms), each segment's
queueing delay (when it left its member minus its TCP timestamp, relative to
the flow's smallest such difference, ms) and whether the first segment on the
new member left before the last one on the old member (the move reordered);
then each segment the peer received after a higher one of its flow that was
not a retransmission (a reordering the receiver saw), with the moves that
explain it, and the sender's reord_seen as sampled each second. TCP
timestamps tick in ms: the pause and the delays are +-1 ms.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import flowlet  # noqa: E402

CAPTURE = ["tcpdump", "-n", "-s", "96", "-B", "16384", "--time-stamp-precision=nano", "-w"]
FILTER = ["tcp", "dst", "port", "5201", "and", "greater", "200"]


def read_pcap(path: str) -> list[tuple[float, int, int, int, int]]:
    """(time s, source port, seq, payload length, TSval) of each TCP segment
    in a nanosecond pcap of Ethernet frames."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    nano = data[:4] == b"\x4d\x3c\xb2\xa1"
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, pos)
        frame = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if len(frame) < 54 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 15) * 4
        total = struct.unpack_from(">H", frame, 16)[0]
        tcp = 14 + ihl
        sport, _, seq = struct.unpack_from(">HHI", frame, tcp)
        doff = (frame[tcp + 12] >> 4) * 4
        tsval = -1
        opt = tcp + 20
        while opt < tcp + doff and opt < len(frame):
            kind = frame[opt]
            if kind == 1:
                opt += 1
                continue
            if kind == 0 or opt + 1 >= len(frame):
                break
            if kind == 8 and opt + 6 <= len(frame):
                tsval = struct.unpack_from(">I", frame, opt + 2)[0]
            opt += max(2, frame[opt + 1])
        out.append((t, sport, seq, total - ihl - doff, tsval))
    return out


@contextlib.contextmanager
def capture(topo, peer: str, store: dict):
    """tcpdump on both members and the peer while the traffic runs, and
    each second the elephants' reord_seen."""
    tmp = tempfile.mkdtemp(prefix="flowlettrace-")
    files = {f"m{i}": os.path.join(tmp, f"m{i}.pcap") for i in range(2)} | {"peer": os.path.join(tmp, "peer.pcap")}
    dumps = [topo.popen(topo.host, [*CAPTURE, files[f"m{i}"], "-i", topo.member(i), *FILTER],
                        stderr=subprocess.DEVNULL) for i in range(2)]
    dumps.append(topo.popen(topo.peer(), [*CAPTURE, files["peer"], "-i", "peer0", *FILTER], stderr=subprocess.DEVNULL))
    stop = threading.Event()
    samples: list[tuple[float, str]] = []

    def poll() -> None:
        while not stop.wait(1.0):
            ss = topo.exec(topo.host, ["ss", "-tin", "dst", peer, "dport", "=", ":5201"], check=False).stdout
            status = topo.exec(topo.host, [*flowlet.SOFTBOND, "status", "bond0", "--json"], check=False).stdout
            try:
                f = json.loads(status).get("flowlet") or {}
            except ValueError:
                f = {}
            reord = sum(int(x) for x in re.findall(r"reord_seen:(\d+)", ss))
            samples.append((time.time(), f"reord {reord} "
                            f"gap {f.get('gap_now_us')} moves {f.get('moves')} waiting {f.get('waiting')}"))

    poller = threading.Thread(target=poll, daemon=True)
    time.sleep(0.5)
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join()
        time.sleep(0.3)
        for d in dumps:
            d.terminate()
            d.wait(timeout=10)
        store["segments"] = {name: read_pcap(path) for name, path in files.items()}
        store["reord"] = samples
        for path in files.values():
            os.unlink(path)
        os.rmdir(tmp)


def analyse(store: dict) -> list[str]:
    seg = store["segments"]
    lines = []
    elephants = sorted({s[1] for s in seg["m0"] + seg["m1"]})
    t0 = min((s[0] for s in seg["m0"] + seg["m1"]), default=0.0)
    for port in elephants:
        dep: dict[int, list[tuple[float, int, int]]] = {}  # seq -> [(time, member, tsval)]
        for m in (0, 1):
            for t, sport, seq, length, tsval in seg[f"m{m}"]:
                if sport == port and length:
                    dep.setdefault(seq, []).append((t, m, tsval))
        sent = sorted((seq, *sorted(v)[0]) for seq, v in dep.items())
        if not sent:
            continue
        # a retransmission (of a segment the tbf dropped: it left once) was
        # sent after a higher segment: its TCP timestamp is later than one above it
        retrans = {seq for seq, v in dep.items() if len(v) > 1}
        later = 2**32
        for seq, _, _, ts in reversed(sent):
            if ts > later:
                retrans.add(seq)
            later = min(later, ts)
        first = [s for s in sent if s[0] not in retrans]
        offset = min(t - ts / 1000 for _, t, _, ts in first)

        def delay(t: float, ts: int) -> float:
            return (t - ts / 1000 - offset) * 1000

        moves = []
        for (s0, t_0, m0, ts0), (s1, t_1, m1, ts1) in zip(first, first[1:]):
            if m0 != m1:
                moves.append((s1, t_1))
                order = "REORDERED: the new member's first left first" if t_1 < t_0 else "in order"
                lines.append(f"  port {port} move {m0}->{m1} at {t_1 - t0:7.3f}s seq {s1}: pause {ts1 - ts0} ms, "
                             f"delay old {delay(t_0, ts0):5.1f} ms new {delay(t_1, ts1):5.1f} ms, left "
                             f"{(t_1 - t_0) * 1000:+.2f} ms after the old's last: {order}")
        # what the peer saw: a first transmission arriving after a higher seq
        highest, late = None, 0
        for t, sport, seq, length, _ in seg["peer"]:
            if sport != port or not length:
                continue
            if highest is not None and (seq - highest) % 2**32 > 2**31 and seq not in retrans:
                late += 1
                if late > 5:
                    continue
                near = [f"{(tm - t) * 1000:+.0f} ms" for s, tm in moves if abs(tm - t) < 0.5]
                lines.append(f"  port {port} peer got seq {seq} late at {t - t0:7.3f}s "
                             f"({(highest - seq) % 2**32} bytes behind); moves near: {', '.join(near) or 'none'}")
            elif highest is None or (seq - highest) % 2**32 < 2**31:
                highest = seq
        lines.append(f"  port {port}: {len(first)} segments, {len(retrans)} retransmitted, {len(moves)} moves, "
                     f"{late} reached the peer after a higher one")
    lines.append("  each second: " + "; ".join(f"{t - t0:.1f}s {r}" for t, r in store["reord"]))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--only", default="xor flowlet")
    ap.add_argument("--keep", help="a directory to keep each run's segments in (pickle), for analyse() again")
    args = ap.parse_args()
    print(f"commit {flowlet.commit()}, load average before: {flowlet.loadavg()}", flush=True)
    for name, switch, options in (c for c in flowlet.CASES if c[0] in args.only.split(",")):
        for run in range(args.runs):
            store: dict = {}
            r = flowlet.one_case(name, switch, options, args.seconds, "ebpf",
                                 during=lambda topo, peer: capture(topo, peer, store))
            print(f"{name}: {r['aggregate'] / flowlet.RATE:.2f} R, reord_seen {r['reord_seen']}, "
                  f"retransmits {r['retransmits']}, moves {r['moves']}, load {flowlet.loadavg()}", flush=True)
            if args.keep:
                with open(os.path.join(args.keep, f"{name.replace(' ', '-')}-{run}.pickle"), "wb") as f:
                    pickle.dump((r, store), f)
            print("\n".join(analyse(store)), flush=True)


if __name__ == "__main__":
    main()
