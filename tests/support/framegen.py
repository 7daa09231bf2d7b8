"""Crafted Ethernet frames for the tests that compare per-frame decisions
(the BPF hash and programs, the data path workers) with the Python
runners: every L3/L4 shape the xmit hashes distinguish."""
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


def _draws(rnd):
    """Random IPv4 and IPv6 addresses (as text) and unicast, locally
    administered MACs, all drawn from `rnd`."""
    def a4():
        return str(ipaddress.IPv4Address(rnd.getrandbits(32)))

    def a6():
        return str(ipaddress.IPv6Address(rnd.getrandbits(128)))

    def mac():
        return bytes([rnd.getrandbits(8) & 0xFE | 2]) + rnd.randbytes(5)
    return a4, a6, mac


def frames(seed=1):
    """Many frames: every L3/L4 shape the hash distinguishes, untagged and
    with one 802.1Q/802.1AD tag, plus random ones."""
    rnd = random.Random(seed)
    out = []
    a4, a6, mac = _draws(rnd)

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


# ------------------------------------------------------------------------
# Tunnels and other headers the kernel's flow dissector (encap2+3/encap3+4)
# looks through or accepts: builders, and encap_frames() /
# encap_fuzz_frames(), corpora covering every branch of _dissect() and
# _gre() in softbond/wire/xmit_hash.py.

ETH_P = {
    "ip": 0x0800, "arp": 0x0806, "ipv6": 0x86DD, "8021q": 0x8100, "8021ad": 0x88A8, "rarp": 0x8035,
    "teb": 0x6558, "batman": 0x4305, "mpls_uc": 0x8847, "mpls_mc": 0x8848, "ppp_ses": 0x8864,
    "tipc": 0x88CA, "1588": 0x88F7, "prp": 0x88FB, "fcoe": 0x8906, "hsr": 0x892F, "pptp": 0x880B,
}
PPP_IP, PPP_IPV6, PPP_MPLS_UC, PPP_MPLS_MC = 0x0021, 0x0057, 0x0281, 0x0283


def gre(proto, payload, *, csum=False, key=None, seq=None, routing=False, ver=0, ack=None, flags=0):
    """A GRE header (RFC 2784/2890; version 1 is PPTP's, RFC 2637) and
    `payload`. Optional fields in wire order: checksum+reserved, key,
    sequence number, acknowledgement (version 1)."""
    opt = b""
    flags |= ver & 7
    if csum or routing:
        flags |= 0x8000 if csum else 0
        opt += struct.pack("!HH", 0xBEEF, 0)
    if routing:
        flags |= 0x4000
    if key is not None:
        flags |= 0x2000
        opt += struct.pack("!I", key)
    if seq is not None:
        flags |= 0x1000
        opt += struct.pack("!I", seq)
    if ack is not None:
        flags |= 0x0080
        opt += struct.pack("!I", ack)
    return struct.pack("!HH", flags, proto) + opt + payload


def ppp(proto, payload):
    """A PPP frame with address/control bytes (PPP_HDRLEN, 4 bytes)."""
    return struct.pack("!BBH", 0xFF, 0x03, proto) + payload


def pptp(ppp_proto, payload, *, call_id=7, seq=None, ack=None, key=True):
    """Enhanced GRE (version 1, protocol 0x880B) carrying PPP."""
    body = ppp(ppp_proto, payload)
    k = ((len(body) & 0xFFFF) << 16 | call_id) if key else None
    return gre(ETH_P["pptp"], body, ver=1, key=k, seq=seq, ack=ack)


def pppoe(ppp_proto, payload, *, ver_type=0x11, code=0, session=0x1234):
    """A PPPoE session header and the PPP protocol field (8 bytes)."""
    return struct.pack("!BBHHH", ver_type, code, session, len(payload) + 2, ppp_proto) + payload


def mpls(labels, payload):
    """An MPLS label stack: labels as (label, tc, ttl); bottom of stack last."""
    out = b""
    for i, (label, tc, ttl) in enumerate(labels):
        out += struct.pack("!I", (label & 0xFFFFF) << 12 | (tc & 7) << 9 | (i == len(labels) - 1) << 8 | ttl & 0xFF)
    return out + payload


def ipv6_opt(nh, payload, *, units=0, fill=0x01):
    """A hop-by-hop, routing or destination options header: next header,
    length in 8-byte units beyond the first 8, contents."""
    return bytes([nh, units]) + bytes([fill]) * (6 + 8 * units) + payload


def ipv6_frag(nh, payload, *, offset=0, more=False, ident=0x12345678):
    return struct.pack("!BBHI", nh, 0, (offset & 0x1FFF) << 3 | int(more), ident) + payload


def tipc(words=(0x52000000, 0, 0, 0x01001001), extra=b""):
    """TIPC header words; word 3 is the previous (source) node."""
    return b"".join(struct.pack("!I", w) for w in words) + extra


def batman(etype, payload, *, packet_type=0x40, version=15, dst=DST, src=SRC):
    """batadv_unicast_packet (10 bytes) and the encapsulated Ethernet header."""
    return bytes([packet_type, version, 50, 3]) + dst + dst + src + struct.pack("!H", etype) + payload


def hsr(etype, payload, *, seq=1):
    """An HSR/PRP tag (path/size, sequence number, encapsulated ethertype)."""
    return struct.pack("!HHH", len(payload) + 6, seq, etype) + payload


def encap_frames(seed=1):
    """Frames for the encap policies: every tunnel, extension header and
    ethertype the flow dissector distinguishes, singly and nested, untagged
    and behind one or two VLAN tags, plus truncations of all of them."""
    rnd = random.Random(seed)
    a4, a6, mac = _draws(rnd)

    def port():
        return rnd.randrange(65536)

    # -- leaves: (ethertype, network packet), transports included
    def l4_v4():
        s, d = a4(), a4()
        return rnd.choice([
            lambda: ipv4(s, d, 6, tcp(port(), port())),
            lambda: ipv4(s, d, 17, udp(port(), port())),
            lambda: ipv4(s, d, 136, udp(port(), port())),                       # UDP-Lite
            lambda: ipv4(s, d, 33, rnd.randbytes(12)),                          # DCCP
            lambda: ipv4(s, d, 132, rnd.randbytes(12)),                         # SCTP
            lambda: ipv4(s, d, 50, rnd.randbytes(12)),                          # ESP
            lambda: ipv4(s, d, 51, struct.pack("!BBHI", 6, 4, 0, rnd.getrandbits(32)) + bytes(8)),  # AH
            lambda: ipv4(s, d, 1, icmp(8, 0, struct.pack("!HH", port(), 1))),   # echo
            lambda: ipv4(s, d, 1, icmp(0, 0, struct.pack("!HH", 0, 1))),        # echo reply, id 0
            lambda: ipv4(s, d, 1, icmp(14, 0, struct.pack("!HH", port(), 1) + bytes(12))),
            lambda: ipv4(s, d, 1, icmp(3, 3, bytes(4) + ipv4(d, s, 17, udp(1, 2)))),  # error: no id
            lambda: ipv4(s, d, 1, icmp(128, 0, struct.pack("!HH", port(), 1))),  # v6 echo type in v4
            lambda: ipv4(s, d, 1, b"\x08\x00\x00"),                             # ICMP truncated
            lambda: ipv4(s, d, 6, tcp(port(), port()), frag=0x2000),           # first fragment
            lambda: ipv4(s, d, 17, udp(port(), port()), frag=rnd.randrange(1, 0x2000)),  # later one
            lambda: ipv4(s, d, 17, udp(port(), port()), ihl=rnd.choice((6, 7, 15))),  # options
            lambda: ipv4(s, d, 17, udp(port(), port()), ihl=rnd.randrange(0, 5)),     # bogus ihl
            lambda: ipv4(s, d, 6, tcp(port(), port())[:3]),                     # ports truncated
            lambda: ipv4(s, d, 2, bytes(8)),                                    # IGMP
            lambda: ipv4(s, d, rnd.choice((0, 43, 44, 60)), tcp(port(), port())),  # v6 ext types in v4
            lambda: ipv4(s, d, 89, rnd.randbytes(16)),                          # OSPF
        ])()

    def l4_v6():
        s, d = a6(), a6()
        return rnd.choice([
            lambda: ipv6(s, d, 6, tcp(port(), port())),
            lambda: ipv6(s, d, 17, udp(port(), port())),
            lambda: ipv6(s, d, 132, rnd.randbytes(12)),
            lambda: ipv6(s, d, 51, struct.pack("!BBHI", 17, 4, 0, rnd.getrandbits(32)) + bytes(8)),
            lambda: ipv6(s, d, 58, icmp(128, 0, struct.pack("!HH", port(), 1))),
            lambda: ipv6(s, d, 58, icmp(129, 0, struct.pack("!HH", 0, 1))),
            lambda: ipv6(s, d, 58, icmp(13, 0, struct.pack("!HH", port(), 1) + bytes(12))),  # v4 type in v6
            lambda: ipv6(s, d, 58, icmp(1, 4, bytes(4) + ipv6(d, s, 17, udp(1, 2)))),
            lambda: ipv6(s, d, 58, icmp(135, 0, bytes(20))),
            lambda: ipv6(s, d, 0, ipv6_opt(6, tcp(port(), port()))),                    # hop-by-hop
            lambda: ipv6(s, d, 43, ipv6_opt(17, udp(port(), port()), units=rnd.randrange(3))),  # routing
            lambda: ipv6(s, d, 60, ipv6_opt(58, icmp(128, 0, struct.pack("!HH", port(), 1)), units=1)),
            lambda: ipv6(s, d, 0, ipv6_opt(60, ipv6_opt(43, ipv6_opt(6, tcp(port(), port())), units=2))),
            lambda: ipv6(s, d, 0, ipv6_opt(44, ipv6_frag(17, udp(port(), port()), more=True))),
            lambda: ipv6(s, d, 44, ipv6_frag(6, tcp(port(), port()), offset=rnd.randrange(8192))),
            lambda: ipv6(s, d, 44, ipv6_frag(0, ipv6_opt(6, tcp(1, 2)))),               # stops at the fragment
            lambda: ipv6(s, d, 0, ipv6_opt(59, b"")),                                    # no next header
            lambda: ipv6(s, d, 0, ipv6_opt(6, b"", units=40)[:20]),                      # ext header runs off the end
            lambda: ipv6(s, d, 6, tcp(port(), port())[:2]),
        ])()

    leaves = [
        lambda: (0x0800, l4_v4()),
        lambda: (0x86DD, l4_v6()),
        lambda: (0x0806, bytes.fromhex("0001080006040001") + mac() + bytes(4) + bytes(6) + bytes(4)),
        lambda: (0x8035, bytes.fromhex("0001080006040003") + mac() + bytes(4) + mac() + bytes(4)),
        lambda: (0x8847, mpls([(rnd.randrange(1 << 20), 0, 64)], ipv4(a4(), a4(), 17, udp(port(), port())))),
        lambda: (0x8848, mpls([(16, 0, 9), (17, 0, 9)], rnd.randbytes(20))),
        lambda: (0x88CA, tipc((0x52000000, rnd.getrandbits(32), rnd.getrandbits(32), rnd.getrandbits(32)))),
        lambda: (0x88CA, tipc()[:rnd.randrange(16)]),                                # TIPC short
        lambda: (0x8906, rnd.randbytes(rnd.choice((38, 60, 37, 20)))),                # FCoE long/short
        lambda: (0x88F7, rnd.randbytes(rnd.choice((34, 44, 33, 10)))),                # PTP
        lambda: (0x8809, bytes([1, 1]) + bytes(108)),                                 # LACP: not dissected
        lambda: (rnd.randrange(0x600, 0x10000), rnd.randbytes(30)),                   # unknown ethertype
        lambda: (0x0800, ipv4(a4(), a4(), 47, gre(0x0800, ipv4(a4(), a4(), 6, tcp(1, 2)), routing=True))),
        lambda: (0x0800, ipv4(a4(), a4(), 47, gre(0x0800, ipv4(a4(), a4(), 6, tcp(1, 2)), ver=rnd.randrange(2, 8)))),
        lambda: (0x0800, ipv4(a4(), a4(), 47, pptp(PPP_IP, ipv4(a4(), a4(), 6, tcp(1, 2)), key=False))),
        lambda: (0x0800, ipv4(a4(), a4(), 47,
                              gre(0x0800, ipv4(a4(), a4(), 6, tcp(1, 2)), ver=1, key=5))),    # v1, not PPP
        lambda: (0x0800, ipv4(a4(), a4(), 47, gre(0x0800, tcp(1, 2), key=1)[:rnd.randrange(0, 8)])),  # GRE truncated
    ]

    def leaf():
        return rnd.choice(leaves)()

    # -- wrappers: (ethertype, packet) -> (ethertype, packet)
    def in_ip(etype, pkt, v6):
        proto = {0x0800: 4, 0x86DD: 41, 0x8847: 137}.get(etype)
        if proto is None:                       # not IP-in-IP: carry it in GRE
            return in_gre(etype, pkt, v6)
        if v6:
            return 0x86DD, ipv6(a6(), a6(), proto, pkt)
        return 0x0800, ipv4(a4(), a4(), proto, pkt, frag=rnd.choice((0, 0, 0, 0x4000)))

    def gre_opts():
        return {"csum": rnd.random() < 0.5, "key": rnd.getrandbits(32) if rnd.random() < 0.5 else None,
                "seq": rnd.getrandbits(32) if rnd.random() < 0.5 else None}

    def carry(proto, body, v6):
        if v6:
            return 0x86DD, ipv6(a6(), a6(), 47, body)
        return 0x0800, ipv4(a4(), a4(), 47, body)

    def in_gre(etype, pkt, v6):
        return carry(etype, gre(etype, pkt, **gre_opts()), v6)

    def in_teb(etype, pkt, v6):
        return carry(0x6558, gre(0x6558, ether(etype, pkt, dst=mac(), src=mac()), **gre_opts()), v6)

    def in_pptp(etype, pkt, v6):
        proto = {0x0800: PPP_IP, 0x86DD: PPP_IPV6}.get(etype, rnd.choice((PPP_MPLS_UC, 0xC021, etype)))
        return carry(0x880B, pptp(proto, pkt, seq=rnd.choice((None, 1)), ack=rnd.choice((None, 2))), v6)

    def in_ext(etype, pkt, v6):
        """IPv6 with extension headers in front of the tunnelled packet."""
        proto = {0x0800: 4, 0x86DD: 41, 0x8847: 137}.get(etype, 47)
        if proto == 47:
            pkt = gre(etype, pkt)
        chain = pkt
        nh = proto
        for kind in rnd.sample((0, 43, 60), rnd.randrange(1, 4)):
            chain = ipv6_opt(nh, chain, units=rnd.randrange(2))
            nh = kind
        return 0x86DD, ipv6(a6(), a6(), nh, chain)

    def in_vlan(etype, pkt, v6):
        return rnd.choice((0x8100, 0x88A8)), struct.pack("!HH", rnd.randrange(65536), etype) + pkt

    def in_pppoe(etype, pkt, v6):
        proto = {0x0800: PPP_IP, 0x86DD: PPP_IPV6, 0x8847: PPP_MPLS_UC, 0x8848: PPP_MPLS_MC}.get(etype)
        if proto is None:
            proto = rnd.choice((0xC021, 0x8021, 0x0001, 0x0100, 0x0000, 0xFFFF, 0x0003))  # valid/invalid
        return 0x8864, pppoe(proto, pkt, ver_type=rnd.choice((0x11,) * 6 + (0x12, 0x21)),
                             code=rnd.choice((0,) * 6 + (1,)))

    def in_batman(etype, pkt, v6):
        return 0x4305, batman(etype, pkt, packet_type=rnd.choice((0x40,) * 5 + (0x41,)),
                              version=rnd.choice((15,) * 5 + (14,)))

    def in_hsr(etype, pkt, v6):
        return rnd.choice((0x892F, 0x88FB)), hsr(etype, pkt)

    wrappers = [in_ip, in_gre, in_teb, in_pptp, in_ext, in_vlan, in_pppoe, in_batman, in_hsr]

    out = []

    def emit(etype, pkt, tags_choice=None):
        tags = tags_choice if tags_choice is not None else rnd.choice(
            ((), (), ((0x8100, rnd.randrange(65536)),), ((0x88A8, rnd.randrange(4096)),),
             ((0x8100, 5), (0x8100, 6))))
        out.append(ether(etype, pkt, dst=mac(), src=mac(), tags=tags))

    # every leaf under every wrapper, over IPv4 and IPv6, each tag layout
    for _ in range(3):
        for lf in leaves:
            for w in wrappers:
                for v6 in (False, True):
                    etype, pkt = lf()
                    emit(*w(etype, pkt, v6))
    for lf in leaves:
        for tags in ((), ((0x8100, 7),), ((0x88A8, 8),), ((0x8100, 5), (0x88A8, 6))):
            emit(*lf(), tags)
    # random stacks up to 6 deep
    for _ in range(600):
        etype, pkt = leaf()
        for _ in range(rnd.randrange(1, 7)):
            etype, pkt = rnd.choice(wrappers)(etype, pkt, rnd.random() < 0.5)
        emit(etype, pkt)
    # nesting around the 15-header limit, counted the way the dissector does
    inner4 = ipv4(a4(), a4(), 17, udp(1111, 2222))
    for depth in (13, 14, 15, 16, 17, 20):
        pkt, etype = inner4, 0x0800                     # VLAN tags in the data
        for _ in range(depth):
            pkt, etype = struct.pack("!HH", 7, etype) + pkt, 0x8100
        emit(etype, pkt, ())
        pkt = ipv4(a4(), a4(), 17, udp(3, 4))           # IPIP chains
        for _ in range(depth):
            pkt = ipv4(a4(), a4(), 4, pkt)
        emit(0x0800, pkt, ())
        pkt = ipv6(a6(), a6(), 6, tcp(5, 6))            # IPv6-in-IPv6 chains
        for _ in range(depth):
            pkt = ipv6(a6(), a6(), 41, pkt)
        emit(0x86DD, pkt, ())
        chain, nh = tcp(7, 8), 6                       # extension header chains
        for _ in range(depth):
            chain, nh = ipv6_opt(nh, chain), rnd.choice((0, 43, 60))
        emit(0x86DD, ipv6(a6(), a6(), nh, chain), ())
        pkt = udp(9, 10)                               # GRE chains
        pkt = ipv4(a4(), a4(), 17, pkt)
        for _ in range(depth):
            pkt = ipv4(a4(), a4(), 47, gre(0x0800, pkt))
        emit(0x0800, pkt, ())
        pkt = inner4                                    # HSR / BATMAN / PPPoE mixes
        etype = 0x0800
        for i in range(depth):
            etype, pkt = (in_hsr, in_vlan, in_pppoe, in_batman)[i % 4](etype, pkt, False)
        emit(etype, pkt, ())
    # truncations of everything so far
    whole = list(out)
    for f in whole:
        for _ in range(2):
            out.append(f[:rnd.randrange(14, len(f) + 1)])
    return out


def encap_fuzz_frames(seed=1, count=4000):
    """Garbage behind plausible headers: random bytes after the ethertypes
    the encap dissector knows, and after IPv4/IPv6/GRE headers whose
    protocol fields point at tunnels, extension headers and transports."""
    rnd = random.Random(seed)
    etypes = [v for k, v in ETH_P.items() if k not in ("teb", "pptp")]
    protos = (0, 1, 4, 6, 17, 33, 41, 43, 44, 47, 50, 51, 58, 60, 132, 136, 137)
    out = []
    for _ in range(count):
        kind = rnd.randrange(4)
        tags = rnd.choice(((),) * 3 + (((0x8100, 1),),))
        if kind == 0:
            etype = rnd.choice(etypes + [rnd.randrange(65536)])
            body = bytearray(rnd.randbytes(rnd.randrange(0, 120)))
            if rnd.random() < 0.6:              # plant the magic numbers and next protocols
                nxt = struct.pack("!H", rnd.choice(etypes))
                ppp_nxt = struct.pack("!H", rnd.choice((PPP_IP, PPP_IPV6, PPP_MPLS_UC, PPP_MPLS_MC,
                                                        rnd.randrange(65536))))
                plant = {0x8100: {2: nxt}, 0x88A8: {2: nxt}, 0x892F: {4: nxt}, 0x88FB: {4: nxt},
                         0x8864: {0: b"\x11\x00", 6: ppp_nxt}, 0x4305: {0: b"\x40\x0f", 22: nxt},
                         0x0800: {0: bytes([rnd.choice((0x45, 0x46, 0x44))])}}.get(etype, {})
                for at, val in plant.items():
                    body[at:at + len(val)] = val
            out.append(ether(etype, bytes(body), tags=tags))
        elif kind == 1:
            body = rnd.randbytes(rnd.randrange(0, 100))
            if rnd.random() < 0.5:
                out.append(ether(0x0800, ipv4(str(ipaddress.IPv4Address(rnd.getrandbits(32))), "10.0.0.1",
                                              rnd.choice(protos), body, frag=rnd.choice((0, 0, 0x4000, 0x2000)),
                                              ihl=rnd.choice((5, 5, 5, 6, 4))), tags=tags))
            else:
                out.append(ether(0x86DD, ipv6("2001:db8::1", str(ipaddress.IPv6Address(rnd.getrandbits(128))),
                                              rnd.choice(protos), body), tags=tags))
        elif kind == 2:
            flags = rnd.getrandbits(16) & rnd.choice((0xFFFF, 0xB081, 0x3081, 0x2001))
            body = struct.pack("!HH", flags, rnd.choice((0x0800, 0x86DD, 0x6558, 0x880B, 0x8847, rnd.randrange(65536))))
            body += rnd.randbytes(rnd.randrange(0, 80))
            if rnd.random() < 0.25:             # an IPv4 header behind up to 12 option bytes
                body = body[:4] + bytes(12) + b"\x45" + body[17:]
            if rnd.random() < 0.5:              # PPTP's PPP protocol where the options end
                at = 6 + 4 * sum(bool(flags & f) for f in (0x8000, 0x2000, 0x1000, 0x0080))
                body = body[:at] + struct.pack("!H", rnd.choice((PPP_IP, PPP_IPV6))) + body[at + 2:]
            out.append(ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 47, body), tags=tags))
        else:
            body = rnd.randbytes(rnd.randrange(0, 90))
            if body:
                body = bytes([rnd.choice(protos)]) + body[1:]
            out.append(ether(0x86DD, ipv6("2001:db8::2", "2001:db8::3", rnd.choice((0, 43, 44, 60)), body),
                             tags=tags))
    return out


def ports_sharing_a_member(src, dst, dport, *, first=1024, members=2, member=None):
    """A TCP source port p such that the flows from p and p + 1 (iperf3
    -P 2 --cport p) to `dst`:`dport` take the same member of `members`
    (that one, when `member` is given) under the layer3+4 hash (hash %
    members), in different tlb/flowlet buckets (hash & 0xFF): two flows
    the kernel puts on one member."""
    from softbond.wire.xmit_hash import hash_layer34
    for p in range(first, first + 4096):
        h0, h1 = (hash_layer34(ether(0x0800, ipv4(src, dst, 6, tcp(q, dport)))) for q in (p, p + 1))
        want = h0 % members if member is None else member
        if h0 % members == h1 % members == want and h0 & 0xFF != h1 & 0xFF:
            return p
    raise AssertionError(f"no two ports from {first} share a member")
