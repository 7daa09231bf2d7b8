"""A paced stream of numbered UDP datagrams, for timing a failover from the
data's side (what `softbond demo` prints) rather than from a status poll.

The sender numbers every datagram; the receiver notes each one's number
and its arrival on CLOCK_MONOTONIC, which network namespaces share, so
arrivals compare directly with the instant the demo pulled a cable. A lost
datagram is a missing number; the hole a failover leaves is the longest
run of them after the cut, and the data path had switched by the time the
datagram ending that hole arrived (bench/datapath.py measures the same with
kernel tracing; this is the simple equivalent).

  python3 -m softbond.lab.seqstream recv PORT SECONDS
      prints "ready" once bound, then one JSON line
      {"seq": [...], "t": [...]}
  python3 -m softbond.lab.seqstream send ADDR PORT RATE SECONDS [SPORT]
"""
from __future__ import annotations

import array
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass

SEQ = struct.Struct("!Q")
DATAGRAM = 64  # bytes of UDP payload: SEQ, then padding


def send(addr: str, port: int, rate: float, seconds: float, sport: int = 0) -> int:
    """Send rate*seconds numbered datagrams, paced; returns how many."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if sport:
        sock.bind(("0.0.0.0", sport))
    buf = bytearray(DATAGRAM)
    total = int(rate * seconds)
    interval = 1.0 / rate
    due = time.monotonic()
    for seq in range(total):
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        SEQ.pack_into(buf, 0, seq)
        try:
            sock.sendto(buf, (addr, port))
        except OSError:  # no route or no member for a moment: that datagram is lost
            pass
        due += interval  # late datagrams go out back to back, so the count holds
    return total


def receive(port: int, seconds: float) -> tuple[array.array, array.array]:
    """Numbers and arrival times of what arrives in `seconds`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(0.1)
    print("ready", flush=True)
    seqs, times = array.array("q"), array.array("d")
    buf = bytearray(DATAGRAM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            n = sock.recv_into(buf)
        except TimeoutError:
            continue
        if n >= SEQ.size:
            times.append(time.monotonic())
            seqs.append(SEQ.unpack_from(buf)[0])
    return seqs, times


@dataclass
class Gap:
    """What a cut did to the stream, seen at the receiver."""
    sent: int
    received: int                   # different numbers that arrived
    arrivals: int                   # datagrams that arrived (duplicates too)
    lost: int                       # numbers that never arrived
    hole: int = 0                   # of them, the ones in the hole the cut left
    gap_ms: float | None = None     # arrival before the hole -> arrival after it
    resumed_ms: float | None = None  # the cut -> the first arrival after the hole

    @classmethod
    def measure(cls, count: int, seqs: list[int], times: list[float], cut: float) -> "Gap":
        """`count` datagrams sent; what arrived (numbers, arrival times);
        `cut` the monotonic instant of the cut. The cut's hole is the
        longest run of missing numbers that ends after it (on a busy machine
        the sender's own scheduling leaves gaps in time too, but it loses no
        numbers, so the hole is found by numbers, not by time)."""
        received = len(set(seqs))
        best = None
        for i in range(1, len(seqs)):
            missing = seqs[i] - seqs[i - 1] - 1
            if times[i] >= cut and missing > 0 and (best is None or missing > best[0]):
                best = (missing, i)
        gap = cls(sent=count, received=received, arrivals=len(seqs), lost=max(0, count - received))
        if best is not None:
            missing, i = best
            gap.hole = missing
            gap.gap_ms = 1000 * (times[i] - times[i - 1])
            gap.resumed_ms = 1000 * (times[i] - cut)
        return gap


def main(argv: list[str]) -> int:
    if argv[:1] == ["recv"] and len(argv) == 3:
        seqs, times = receive(int(argv[1]), float(argv[2]))
        print(json.dumps({"seq": seqs.tolist(), "t": times.tolist()}), flush=True)
        return 0
    if argv[:1] == ["send"] and len(argv) in (5, 6):
        send(argv[1], int(argv[2]), float(argv[3]), float(argv[4]), int(argv[5]) if len(argv) == 6 else 0)
        return 0
    print(__doc__.split("\n\n")[-1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
