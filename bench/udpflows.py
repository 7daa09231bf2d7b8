"""bench/udpstream.py's paced sender, spread over many flows: FLOWS UDP
sockets bound to source ports SPORT .. SPORT+FLOWS-1, used round-robin, one
sequence number space over all of them, so `udpstream.py recv` counts the
losses of the whole set. The same as `udpstream.py send HOST PORT RATE
SECONDS FLOWS [SPORT]`; kept for the command line bench/datapath.py uses.

  udpflows.py send HOST PORT RATE SECONDS FLOWS [SPORT]   (SPORT default 20000)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from udpstream import DEFAULT_SPORT, send  # noqa: E402 - after the path set-up above


if __name__ == "__main__":
    if sys.argv[1:2] != ["send"] or len(sys.argv) not in (7, 8):
        sys.exit(__doc__)
    send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]),
         int(sys.argv[7]) if len(sys.argv) > 7 else DEFAULT_SPORT)
