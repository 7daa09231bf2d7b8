"""A paced UDP stream with sequence numbers, for measuring failover gaps.

  udpstream.py send HOST PORT RATE SECONDS [FLOWS [SPORT]]
  udpstream.py recv PORT SECONDS      -> prints JSON {received, lost, max_gap_ms, ...}

With FLOWS (default 1) the sender spreads the stream over FLOWS UDP sockets
bound to source ports SPORT .. SPORT+FLOWS-1 (SPORT default 20000), used
round-robin, one sequence number space over all of them, so `recv` counts
the losses of the whole set. Without FLOWS one socket sends from an
ephemeral source port.
"""
import json
import socket
import struct
import sys
import time

DEFAULT_SPORT = 20000


def send(host, port, rate, seconds, flows=1, sport=None):
    """Send int(rate * seconds) datagrams at `rate` per second. flows > 1 (or
    an explicit sport) binds `flows` sockets to sport, sport + 1, ... and
    sends from them in turn."""
    if flows < 1:
        raise ValueError(f"flows must be >= 1, not {flows}")
    bind = flows > 1 or sport is not None
    if bind and sport is None:
        sport = DEFAULT_SPORT
    socks = []
    for i in range(flows):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if bind:
            sock.bind(("0.0.0.0", sport + i))
        socks.append(sock)
    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.monotonic()
    for seq in range(total):
        target = start + seq * interval
        while True:
            now = time.monotonic()
            if now >= target:
                break
            if target - now > 0.0005:
                time.sleep(target - now - 0.0003)
        try:
            socks[seq % flows].sendto(struct.pack("!Qd", seq, time.time()), (host, port))
        except OSError:
            pass
    print(json.dumps({"sent": total, "flows": flows} if bind else {"sent": total}))


def recv(port, seconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    seen = set()
    last_arrival = None
    max_gap = 0.0
    gap_at = None
    highest = -1
    while time.monotonic() < deadline:
        try:
            data = sock.recv(64)
        except socket.timeout:
            continue
        now = time.monotonic()
        seq = struct.unpack_from("!Q", data)[0]
        seen.add(seq)
        highest = max(highest, seq)
        if last_arrival is not None and now - last_arrival > max_gap:
            max_gap, gap_at = now - last_arrival, seq
        last_arrival = now
    lost = (highest + 1 - len(seen)) if highest >= 0 else 0
    print(json.dumps({"received": len(seen), "highest": highest, "lost": lost,
                      "max_gap_ms": round(max_gap * 1000, 3), "gap_before_seq": gap_at}))


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    if argv[1] == "send":
        if not 6 <= len(argv) <= 8:
            sys.exit(__doc__)
        send(argv[2], int(argv[3]), float(argv[4]), float(argv[5]),
             int(argv[6]) if len(argv) > 6 else 1, int(argv[7]) if len(argv) > 7 else None)
    else:
        recv(int(argv[2]), float(argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
