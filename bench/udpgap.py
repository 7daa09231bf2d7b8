"""A receiver for bench/udpstream.py's (and udpflows.py's) paced stream
that also times the hole a failover leaves: like `udpstream.py recv`, plus
the sequence number and send time (the sender's time.time(), carried in
every datagram) of the last datagram received before the largest run of
missing sequence numbers and of the first one after it. bench/datapath.py
compares the latter with the instant the member's port went down: the
data plane had switched by the time that datagram was sent.

  udpgap.py PORT SECONDS   -> prints JSON {received, highest, lost, max_gap_ms,
                              hole: null | {before: [seq, sent], after: [seq, sent], missing}}
"""
import itertools
import json
import socket
import struct
import sys
import time


def main() -> int:
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    sent: dict[int, float] = {}
    last_arrival = None
    max_gap = 0.0
    while time.monotonic() < deadline:
        try:
            data = sock.recv(64)
        except TimeoutError:
            continue
        now = time.monotonic()
        seq, stamp = struct.unpack_from("!Qd", data)
        sent[seq] = stamp
        if last_arrival is not None:
            max_gap = max(max_gap, now - last_arrival)
        last_arrival = now
    seqs = sorted(sent)
    highest = seqs[-1] if seqs else -1
    hole = None
    for a, b in itertools.pairwise(seqs):
        if b - a > 1 and (hole is None or b - a - 1 > hole["missing"]):
            hole = {"before": [a, sent[a]], "after": [b, sent[b]], "missing": b - a - 1}
    if seqs and seqs[0] > 0 and (hole is None or seqs[0] > hole["missing"]):
        hole = {"before": None, "after": [seqs[0], sent[seqs[0]]], "missing": seqs[0]}
    print(json.dumps({"received": len(seqs), "highest": highest, "lost": highest + 1 - len(seqs),
                      "max_gap_ms": round(max_gap * 1000, 3), "hole": hole}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
