"""Crafted Ethernet frames for the tests that compare per-frame decisions
(the BPF hash and programs, the data path workers) with the Python
runners: every L3/L4 shape the xmit hashes distinguish. Importable as
`framegen` from tests/unit and tests/integration (pytest puts tests/, the
directory of the top conftest.py, on sys.path)."""
import ipaddress
import random
import struct

DST = bytes.fromhex("020000000002")
SRC = bytes.fromhex("020000000001")


def ether(etype, payload, *, dst=DST, src=SRC, tags=()):
    hdr = dst + src
    for tpid, tci in tags:
        hdr += struct.pack("!HH", tpid, tci)
    return hdr + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, *, frag=0, ihl=5, ident=1):
    opts = bytes((ihl - 5) * 4) if ihl > 5 else b""
    return (struct.pack("!BBHHHBBH", 0x40 | ihl, 0, 20 + len(opts) + len(payload), ident, frag, 64, proto, 0)
            + ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + opts + payload)


def ipv6(src, dst, nh, payload):
    return (struct.pack("!IHBB", 0x60000000, len(payload), nh, 64)
            + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)


def tcp(sport, dport):
    return struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, 0x10, 65535, 0, 0)


def udp(sport, dport, payload=b"x" * 8):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(t, code, rest):
    return struct.pack("!BBH", t, code, 0) + rest


def frames(seed=1):
    """Many frames: every L3/L4 shape the hash distinguishes, untagged and
    with one 802.1Q/802.1AD tag, plus random ones."""
    rnd = random.Random(seed)
    out = []

    def a4():
        return str(ipaddress.IPv4Address(rnd.getrandbits(32)))

    def a6():
        return str(ipaddress.IPv6Address(rnd.getrandbits(128)))

    def mac():
        return bytes([rnd.getrandbits(8) & 0xFE | 2]) + rnd.randbytes(5)

    for _ in range(12):
        s4, d4, s6, d6 = a4(), a4(), a6(), a6()
        sp, dp = rnd.randrange(65536), rnd.randrange(65536)
        l3 = [
            (0x0800, ipv4(s4, d4, 6, tcp(sp, dp))),
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp))),
            (0x0800, ipv4(s4, d4, 6, tcp(sp, dp), frag=0x2000)),            # first fragment (MF)
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp)[:4], frag=0x00B9)),      # later fragment
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp), ihl=7)),                # options
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp), ihl=rnd.randrange(0, 5))),  # bogus ihl
            (0x0800, ipv4(s4, d4, 6, tcp(sp, dp)[:3])),                    # ports truncated
            (0x0800, ipv4(s4, d4, 1, icmp(8, 0, struct.pack("!HH", rnd.randrange(65536), 1)))),
            (0x0800, ipv4(s4, d4, 1, icmp(0, 0, struct.pack("!HH", 0, 7)))),   # id 0 -> 1
            (0x0800, ipv4(s4, d4, 1, icmp(13, 0, bytes(16)))),
            (0x0800, ipv4(s4, d4, 1, icmp(9, 0, bytes(4)))),               # no id
            (0x0800, ipv4(s4, d4, 1, icmp(3, 3, bytes(4) + ipv4(d4, s4, 17, udp(dp, sp))))),
            (0x0800, ipv4(s4, d4, 1, icmp(11, 0, bytes(4) + ipv4(d4, s4, 6, tcp(dp, sp), frag=0x2000)))),
            (0x0800, ipv4(s4, d4, 1, icmp(3, 1, bytes(4) + b"\x45\x00"))),  # quote truncated
            (0x0800, ipv4(s4, d4, 1, icmp(8, 0, b"\0"))),                  # ICMP header truncated
            (0x0800, ipv4(s4, d4, 2, bytes(8))),                           # IGMP
            (0x0800, ipv4(s4, d4, 47, bytes(8))),                          # GRE: no ports
            (0x0800, ipv4(s4, d4, 51, struct.pack("!BBHI", 6, 4, 0, rnd.getrandbits(32)) + bytes(8))),  # AH
            (0x0800, ipv4(s4, d4, 50, rnd.randbytes(8))),                  # ESP
            (0x0800, ipv4(s4, d4, 132, rnd.randbytes(12))),                # SCTP
            (0x0800, ipv4(s4, d4, 58, icmp(1, 0, bytes(4) + ipv4(d4, s4, 6, tcp(1, 2))))),  # v6 type in v4
            (0x0800, ipv4(s4, d4, 6, b"")[:12]),                           # truncated IPv4 header
            (0x86DD, ipv6(s6, d6, 6, tcp(sp, dp))),
            (0x86DD, ipv6(s6, d6, 17, udp(sp, dp))),
            (0x86DD, ipv6(s6, d6, 58, icmp(128, 0, struct.pack("!HH", sp, 1)))),
            (0x86DD, ipv6(s6, d6, 58, icmp(129, 0, struct.pack("!HH", 0, 1)))),
            (0x86DD, ipv6(s6, d6, 58, icmp(1, 4, bytes(4) + ipv6(d6, s6, 17, udp(dp, sp))))),
            (0x86DD, ipv6(s6, d6, 58, icmp(135, 0, bytes(20)))),           # neighbour solicitation
            (0x86DD, ipv6(s6, d6, 0, bytes([6, 0]) + bytes(6) + tcp(sp, dp))),  # hop-by-hop
            (0x86DD, ipv6(s6, d6, 44, bytes([17, 0, 0, 1]) + bytes(4) + udp(sp, dp))),  # fragment header
            (0x86DD, ipv6(s6, d6, 17, b"")[:30]),                          # truncated IPv6 header
            (0x0806, bytes.fromhex("0001080006040001") + mac() + bytes(4) + bytes(6) + bytes(4)),
            (0x8809, bytes([1, 1]) + bytes(108)),
            (0x88CC, rnd.randbytes(20)),
        ]
        for etype, payload in l3:
            for tags in ((), ((0x8100, rnd.randrange(65536)),), ((0x88A8, rnd.randrange(4096)),),
                         ((0x8100, 5), (0x8100, 6))):
                out.append(ether(etype, payload, dst=mac(), src=mac(), tags=tags))
    for _ in range(300):                       # random bytes behind real-looking headers
        etype = rnd.choice((0x0800, 0x86DD, 0x8100, 0x0806, rnd.randrange(65536)))
        out.append(ether(etype, rnd.randbytes(rnd.randrange(0, 90)), dst=mac(), src=mac()))
    for _ in range(200):
        proto = rnd.choice((1, 6, 17, 58, 51, 50, 132, 2, rnd.randrange(256)))
        frag = rnd.choice((0, 0, 0x2000, rnd.randrange(65536)))
        out.append(ether(0x0800, ipv4(a4(), a4(), proto, rnd.randbytes(rnd.randrange(0, 40)), frag=frag),
                         dst=mac(), src=mac()))
        out.append(ether(0x86DD, ipv6(a6(), a6(), proto, rnd.randbytes(rnd.randrange(0, 60))),
                         dst=mac(), src=mac()))
    return out
