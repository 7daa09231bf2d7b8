"""Fault injectors shared by the tests and bench/: a link that flaps, and a
hostile LACP partner. Each runs as a small process inside the switch
namespace (netlink and AF_PACKET straight from Python, no `ip` per event)."""
import os
import subprocess
import sys

FLAPPER = r"""
import sys, time
from pyroute2 import IPRoute
port, hz, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ipr = IPRoute()
index = ipr.link_lookup(ifname=port)[0]
half = 1.0 / hz / 2
end = time.monotonic() + seconds
flaps = 0
while time.monotonic() < end:
    ipr.link("set", index=index, state="down")
    time.sleep(half)
    ipr.link("set", index=index, state="up")
    time.sleep(half)
    flaps += 1
print(flaps)
"""

HOSTILE = r"""
import os, random, socket, struct, sys, time
port, rate, seconds, own_system = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), bytes.fromhex(sys.argv[4])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((port, 0))
DST = bytes.fromhex("0180c2000002")
rng = random.Random(7)

def lacpdu(actor_system, actor_key=1, port_no=1, state=0x3F):
    info = lambda system, key, port, st: struct.pack("!BBH6sHHHB3x", 1, 20, 32768, system, key, 255, port, st)
    partner = struct.pack("!BBH6sHHHB3x", 2, 20, 0, bytes(6), 0, 0, 0, 0)
    body = bytes([1, 1]) + info(actor_system, actor_key, port_no, state) + partner
    body += struct.pack("!BBH12x", 3, 16, 0) + bytes(2) + bytes(50)
    return DST + bytes.fromhex("020000ee0001") + b"\x88\x09" + body

kinds = {"garbage": 0, "truncated": 0, "bad_tlv": 0, "flipping": 0, "reflected": 0}
end = time.monotonic() + seconds
gap = 1.0 / rate
next_t = time.monotonic()
while time.monotonic() < end:
    k = rng.randrange(5)
    if k == 0:
        frame = DST + os.urandom(6) + b"\x88\x09" + os.urandom(rng.randrange(0, 120))
        kinds["garbage"] += 1
    elif k == 1:
        frame = lacpdu(os.urandom(6))[:rng.randrange(15, 100)]
        kinds["truncated"] += 1
    elif k == 2:
        f = bytearray(lacpdu(os.urandom(6)))
        f[16] = rng.randrange(4, 256)
        frame = bytes(f)
        kinds["bad_tlv"] += 1
    elif k == 3:
        frame = lacpdu(bytes([2, 0, 0, 0, rng.randrange(256), rng.randrange(256)]), rng.randrange(1, 5))
        kinds["flipping"] += 1
    else:
        frame = lacpdu(own_system)
        kinds["reflected"] += 1
    try:
        sock.send(frame.ljust(60, b"\0"))
    except OSError:
        pass
    next_t += gap
    delay = next_t - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(sum(kinds.values()), kinds)
"""


def _popen(topo, script, *args):
    return topo.popen(topo.switch_ns, [sys.executable, "-c", script, *map(str, args)],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def flap(topo, member: int, hz: float, seconds: float):
    """Member i's switch port goes down and up `hz` times a second."""
    return _popen(topo, FLAPPER, topo.switch_port(member), hz, seconds)


def hostile_lacp(topo, member: int, rate: float, seconds: float, our_system: str):
    """Random, malformed, identity-flipping and reflected LACPDUs towards
    member i at `rate` frames a second."""
    return _popen(topo, HOSTILE, topo.switch_port(member), rate, seconds, our_system.replace(":", ""))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
