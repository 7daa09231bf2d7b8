"""A paced UDP stream with sequence numbers, for measuring failover gaps.

  udpstream.py send HOST PORT RATE SECONDS
  udpstream.py recv PORT SECONDS      -> prints JSON {received, lost, max_gap_ms, ...}
"""
import json
import socket
import struct
import sys
import time


def send(host, port, rate, seconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
            sock.sendto(struct.pack("!Qd", seq, time.time()), (host, port))
        except OSError:
            pass
    print(json.dumps({"sent": total}))


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


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    else:
        recv(int(sys.argv[2]), float(sys.argv[3]))
