"""bench/udpstream.py's paced sender, spread over many flows: FLOWS UDP
sockets bound to source ports SPORT .. SPORT+FLOWS-1, used round-robin, one
sequence number space over all of them, so `udpstream.py recv` counts the
losses of the whole set.

  udpflows.py send HOST PORT RATE SECONDS FLOWS [SPORT]   (SPORT default 20000)
"""
import json
import socket
import struct
import sys
import time


def send(host, port, rate, seconds, flows, sport=20000):
    socks = []
    for i in range(flows):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
    print(json.dumps({"sent": total, "flows": flows}))


if __name__ == "__main__":
    if sys.argv[1] != "send":
        sys.exit(__doc__)
    send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]),
         int(sys.argv[7]) if len(sys.argv) > 7 else 20000)
