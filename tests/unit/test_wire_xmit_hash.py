"""bond_xmit_hash() vectors derived by hand from the kernel's algorithm.

Byte order: the kernel reads addresses and ports as native u32, so the
vectors pass ``little=True`` (x86/arm64 behaviour) explicitly, which keeps
them host independent; one vector is repeated for big-endian hosts.

Notation in the comments: ``le32(b0 b1 b2 b3) = b3<<24 | b2<<16 | b1<<8 | b0``.
"""

import ipaddress
import struct
import sys

import pytest
from hypothesis import given, settings, strategies as st

from softbond.wire import xmit_hash as xh
from softbond.wire.xmit_hash import (
    ENCAP23,
    ENCAP34,
    LAYER2,
    LAYER23,
    LAYER34,
    VLAN_SRCMAC,
    hash_encap23,
    hash_encap34,
    hash_layer2,
    hash_layer23,
    hash_layer34,
    hash_vlan_srcmac,
    xmit_hash,
    xmit_slave_index,
)

DST = bytes.fromhex("020000000002")
SRC = bytes.fromhex("020000000001")
ALL = (LAYER2, LAYER34, LAYER23, ENCAP23, ENCAP34, VLAN_SRCMAC)


# ---------------------------------------------------------------- builders


def ether(etype: int, payload: bytes, *, dst=DST, src=SRC, tags=()) -> bytes:
    """``tags``: sequence of (tpid, tci), outermost first."""
    hdr = dst + src
    for tpid, tci in tags:
        hdr += struct.pack("!HH", tpid, tci)
    return hdr + struct.pack("!H", etype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, frag=0, ident=1, ttl=64, tos=0) -> bytes:
    return (
        struct.pack("!BBHHHBBH", 0x45, tos, 20 + len(payload), ident, frag, ttl, proto, 0)
        + ipaddress.IPv4Address(src).packed
        + ipaddress.IPv4Address(dst).packed
        + payload
    )


def ipv6(src: str, dst: str, nh: int, payload: bytes, *, hlim=64) -> bytes:
    return (
        struct.pack("!IHBB", 0x60000000, len(payload), nh, hlim)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


def tcp(sport: int, dport: int, *, seq=0, flags=0x10, window=65535, payload=b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, flags, window, 0, 0) + payload


def udp(sport: int, dport: int, payload=b"") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(icmp_type: int, code: int, rest: bytes) -> bytes:
    return struct.pack("!BBH", icmp_type, code, 0) + rest


TCP4 = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80)))


def L(f, frame, **kw):
    return f(frame, little=True, **kw)


# -------------------------------------------------- TCP/IPv4, all policies


def test_tcp4_layer2():
    # dst[5] ^ src[5] ^ ethertype = 0x02 ^ 0x01 ^ 0x0800
    assert L(hash_layer2, TCP4) == 0x0803


def test_tcp4_layer34_step_by_step():
    ports = 0x50003930  # le32(30 39 00 50): sport 12345, dport 80
    saddr = 0x0100000A  # le32(0a 00 00 01)
    daddr = 0x0200000A  # le32(0a 00 00 02)
    h = ports ^ daddr ^ saddr
    assert h == 0x53003930
    h ^= h >> 16  # ^ 0x00005300
    assert h == 0x53006A30
    h ^= h >> 8  # ^ 0x0053006A
    assert h == 0x53536A5A
    assert L(hash_layer34, TCP4) == h >> 1 == 0x29A9B52D


def test_tcp4_layer34_big_endian_host():
    # be32: ports 0x30390050, addresses 0x0a000001 ^ 0x0a000002 = 3
    h = 0x30390050 ^ 0x00000003
    assert h == 0x30390053
    h ^= h >> 16
    assert h == 0x3039306A
    h ^= h >> 8
    assert h == 0x3009095A
    assert hash_layer34(TCP4, little=False) == h >> 1 == 0x180484AD


def test_tcp4_layer23_step_by_step():
    h = 0x0803 ^ 0x0200000A ^ 0x0100000A  # layer2 hash ^ daddr ^ saddr
    assert h == 0x03000803
    h ^= h >> 16
    assert h == 0x03000B03
    h ^= h >> 8
    assert h == 0x03030B08
    assert L(hash_layer23, TCP4) == 0x03030B08  # no final >> 1 for layer2+3


def test_tcp4_encap_equals_plain_without_tunnel():
    assert L(hash_encap23, TCP4) == 0x03030B08
    assert L(hash_encap34, TCP4) == 0x29A9B52D


def test_tcp4_vlan_srcmac():
    # no VLAN: 0 ^ (02 00 00 as u24) ^ (00 00 01 as u24)
    assert L(hash_vlan_srcmac, TCP4) == 0x020000 ^ 0x000001 == 0x020001


# ------------------------------------------------------------ UDP/IPv6


UDP6 = ether(0x86DD, ipv6("2001:db8::1", "2001:db8:1::53", 17, udp(0x1234, 53)))


def test_udp6_layer34_step_by_step():
    # ipv6_addr_hash = XOR of the four le32 words
    # src 2001:0db8:0000:0000:0000:0000:0000:0001
    saddr = 0xB80D0120 ^ 0 ^ 0 ^ 0x01000000
    assert saddr == 0xB90D0120
    # dst 2001:0db8:0001:0000:0000:0000:0000:0053
    daddr = 0xB80D0120 ^ 0x00000100 ^ 0 ^ 0x53000000
    assert daddr == 0xEB0D0020
    ports = 0x35003412  # le32(12 34 00 35)
    h = ports ^ daddr ^ saddr
    assert h == 0x67003512
    h ^= h >> 16
    assert h == 0x67005212
    h ^= h >> 8
    assert h == 0x67675240
    assert L(hash_layer34, UDP6) == h >> 1 == 0x33B3A920
    assert L(hash_encap34, UDP6) == 0x33B3A920


def test_udp6_layer23_step_by_step():
    eth = 0x02 ^ 0x01 ^ 0x86DD
    assert eth == 0x86DE
    h = eth ^ 0xEB0D0020 ^ 0xB90D0120
    assert h == 0x520087DE
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_layer23, UDP6) == h == 0x5252D50B


def test_ipv6_hop_by_hop_hides_ports_from_layer34_not_encap34():
    hbh = bytes([6, 0]) + bytes(6)  # next header TCP, length 0 (8 bytes)
    f = ether(0x86DD, ipv6("2001:db8::1", "2001:db8::2", 0, hbh + tcp(1000, 2000)))
    # bond_flow_ip() takes nexthdr 0 (not a port protocol): ports = 0
    saddr = 0xB80D0120 ^ 0x01000000
    daddr = 0xB80D0120 ^ 0x02000000
    h = 0 ^ daddr ^ saddr
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_layer34, f) == h >> 1
    # the flow dissector walks the option header and finds the ports
    same_without = ether(0x86DD, ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1000, 2000)))
    assert L(hash_encap34, f) == L(hash_encap34, same_without) != L(hash_layer34, f)


def test_ipv6_fragment_header_no_ports_in_encap34():
    frag = bytes([6, 0, 0, 0]) + bytes(4)  # next header TCP, offset 0, M=0
    f = ether(0x86DD, ipv6("2001:db8::1", "2001:db8::2", 44, frag + tcp(1000, 2000)))
    h = (0xB80D0120 ^ 0x01000000) ^ (0xB80D0120 ^ 0x02000000)
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_encap34, f) == h >> 1


# ------------------------------------------------------------- fragments


@pytest.mark.parametrize("frag_off", [0x2000, 0x2000 | 185, 185])  # first (MF), middle, last
def test_ipv4_fragments_have_no_ports(frag_off):
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80), frag=frag_off))
    h = 0 ^ 0x0200000A ^ 0x0100000A  # ports not read for any fragment
    assert h == 0x03000000
    h ^= h >> 16
    assert h == 0x03000300
    h ^= h >> 8
    assert h == 0x03030303
    assert L(hash_layer34, f) == h >> 1 == 0x01818181
    assert L(hash_encap34, f) == 0x01818181
    assert L(hash_layer23, f) == L(hash_layer23, TCP4)  # layer2+3 unaffected


def test_df_is_not_a_fragment():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80), frag=0x4000))
    assert L(hash_layer34, f) == 0x29A9B52D


# ----------------------------------------------------------------- VLANs


TCP4_V100 = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80)), tags=[(0x8100, 100)])


def test_vlan_tag_treated_as_offloaded_by_default():
    # skb->vlan_tci holds the tag; skb->protocol and h_proto are 0x0800
    assert L(hash_layer2, TCP4_V100) == 0x0803
    assert L(hash_layer23, TCP4_V100) == 0x03030B08
    assert L(hash_layer34, TCP4_V100) == 0x29A9B52D
    assert L(hash_encap34, TCP4_V100) == 0x29A9B52D
    # vlan+srcmac: TCI ^ 0x020000 ^ 0x000001
    assert L(hash_vlan_srcmac, TCP4_V100) == 100 ^ 0x020000 ^ 0x000001 == 0x020065


def test_vlan_srcmac_uses_full_tci():
    f = ether(0x0800, b"", tags=[(0x8100, 0xA064)])  # PCP 5, VID 100
    assert L(hash_vlan_srcmac, f) == 0xA064 ^ 0x020001 == 0x02A065
    s = ether(0x0800, b"", tags=[(0x88A8, 7)])  # S-tag is offloaded too
    assert L(hash_vlan_srcmac, s) == 7 ^ 0x020001


def test_vlan_tag_in_band():
    kw = {"vlan_accel": False}
    # skb->protocol == 0x8100: bond_flow_ip() fails -> layer2 with 0x8100
    assert L(hash_layer2, TCP4_V100, **kw) == 0x02 ^ 0x01 ^ 0x8100 == 0x8103
    assert L(hash_layer23, TCP4_V100, **kw) == 0x8103
    assert L(hash_layer34, TCP4_V100, **kw) == 0x8103
    assert L(hash_vlan_srcmac, TCP4_V100, **kw) == 0x020001
    # the flow dissector parses the tag
    assert L(hash_encap34, TCP4_V100, **kw) == 0x29A9B52D
    h = 0x8103 ^ 0x03000000
    h ^= h >> 16
    assert h == 0x03008203
    h ^= h >> 8
    assert L(hash_encap23, TCP4_V100, **kw) == h == 0x03038281


def test_truncated_tag_is_not_offloaded():
    f = DST + SRC + b"\x81\x00\x00"  # 15 bytes: tag cut off
    assert L(hash_layer2, f) == 0x8103
    assert L(hash_vlan_srcmac, f) == 0x020001


# ---------------------------------------------------- non-IP and short frames


ARP = ether(0x0806, bytes(28), dst=b"\xff" * 6)


def test_arp_falls_back_to_layer2():
    l2 = 0xFF ^ 0x01 ^ 0x0806
    assert l2 == 0x08F8
    for f in (hash_layer2, hash_layer23, hash_layer34):
        assert L(f, ARP) == l2
    assert L(hash_vlan_srcmac, ARP) == 0x020001


def test_arp_under_encap_policies():
    # the flow dissector accepts ARP with no address keys: addrs/ports 0
    h = 0x08F8 ^ 0 ^ 0
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_encap23, ARP) == h == 0x08F0
    assert L(hash_encap34, ARP) == 0
    # an ethertype the dissector does not know: plain layer2
    lacp = ether(0x8809, bytes(110), dst=bytes.fromhex("0180c2000002"))
    assert L(hash_encap34, lacp) == L(hash_layer2, lacp) == 0x02 ^ 0x01 ^ 0x8809


def test_ip_header_too_short():
    f = ether(0x0800, bytes(19))  # one byte short of an IPv4 header
    for fn in (hash_layer23, hash_layer34, hash_encap23, hash_encap34):
        assert L(fn, f) == 0x0803
    f6 = ether(0x86DD, bytes(39))
    assert L(hash_layer34, f6) == 0x02 ^ 0x01 ^ 0x86DD


def test_ports_beyond_frame_end_read_as_zero():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, b"\x30\x39\x00"))  # 3 of 4 port bytes
    assert L(hash_layer34, f) == 0x01818181  # as if ports were 0


def test_frames_shorter_than_ethernet_header():
    for n in range(14):
        for p in ALL:
            assert xmit_hash(bytes(range(n)), p) == 0


def test_ipv4_bad_ihl_rejected_by_dissector_only():
    raw = bytearray(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80)))
    raw[0] = 0x44  # ihl 4
    f = ether(0x0800, bytes(raw))
    assert L(hash_encap34, f) == 0x0803  # dissector: OUT_BAD -> layer2
    assert L(hash_layer34, f) != 0x0803  # bond_flow_ip() does not check ihl


# ------------------------------------------------------------------- ICMP


def test_icmp_echo_hashes_on_type_code_id():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, struct.pack("!HH", 0x1234, 1))))
    key = 8 | (0 << 8) | (0x1234 << 16)  # {u8 type, u8 code, u16 id} as le32
    h = key ^ 0x0200000A ^ 0x0100000A
    assert h == 0x11340008
    h ^= h >> 16
    assert h == 0x1134113C
    h ^= h >> 8
    assert h == 0x1125252D
    assert L(hash_layer34, f) == h >> 1 == 0x08929296
    assert L(hash_encap34, f) == 0x08929296
    # other sequence numbers: same hash
    g = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, struct.pack("!HH", 0x1234, 99))))
    assert L(hash_layer34, g) == L(hash_layer34, f)


def test_icmp_echo_id_zero_counts_as_one():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(0, 0, bytes(4))))
    h = (0 | (1 << 16)) ^ 0x03000000
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_layer34, f) == h >> 1


def test_icmp_without_id_uses_ports_zero():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(9, 0, bytes(4))))  # router advert
    assert L(hash_layer34, f) == 0x01818181


def test_icmp_error_follows_the_quoted_flow():
    original = ipv4("10.0.0.1", "10.0.0.2", 17, udp(40000, 53))
    flow = ether(0x0800, original)
    # port unreachable from the destination, quoting header + 8 bytes
    err = ether(0x0800, ipv4("10.0.0.2", "10.0.0.1", 1, icmp(3, 3, bytes(4)) + original[:28]))
    assert L(hash_layer34, err) == L(hash_layer34, flow)
    assert L(hash_layer23, err) == L(hash_layer23, flow)
    # from a router in between: the outer addresses differ, the hash does not
    err2 = ether(0x0800, ipv4("192.0.2.254", "10.0.0.1", 1, icmp(11, 0, bytes(4)) + original[:28]))
    assert L(hash_layer34, err2) == L(hash_layer34, flow)
    # the flow dissector (encap policies) does not do this
    assert L(hash_encap34, err2) != L(hash_encap34, flow)


def test_icmp_error_with_truncated_quote_falls_back_to_layer2():
    err = ether(0x0800, ipv4("10.0.0.2", "10.0.0.1", 1, icmp(3, 3, bytes(4)) + bytes(10)))
    assert L(hash_layer34, err) == 0x0803
    assert L(hash_layer23, err) == 0x0803


def test_icmpv6_echo():
    body = icmp(128, 0, struct.pack("!HH", 0x0102, 7))
    f = ether(0x86DD, ipv6("2001:db8::1", "2001:db8::2", 58, body))
    key = 128 | (0x0102 << 16)
    h = key ^ (0xB80D0120 ^ 0x02000000) ^ (0xB80D0120 ^ 0x01000000)
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_layer34, f) == h >> 1


# -------------------------------------------------------- IPsec "ports"


def test_esp_spi_is_used_as_ports():
    spi = 0xDEADBEEF
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 50, struct.pack("!II", spi, 1)))
    h = 0xEFBEADDE ^ 0x03000000  # le32(de ad be ef)
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_layer34, f) == h >> 1


def test_ah_spi_at_offset_4():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 51, struct.pack("!BBHII", 6, 4, 0, 0x01020304, 1)))
    h = 0x04030201 ^ 0x03000000
    h ^= h >> 16
    h ^= h >> 8
    assert L(hash_layer34, f) == h >> 1


def test_unknown_l4_protocol_has_no_ports():
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 253, b"\xff" * 8))
    assert L(hash_layer34, f) == 0x01818181


# --------------------------------------------------------------- tunnels


def test_ipip_encap_hashes_inner_headers():
    inner = ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80))
    f = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 4, inner))
    assert L(hash_encap34, f) == 0x29A9B52D  # == TCP4's layer3+4 hash
    assert L(hash_encap23, f) == 0x03030B08
    # layer3+4 sees the outer header: proto 4 has no ports,
    # le32(c0 00 02 01) ^ le32(c0 00 02 02) = 0x03000000 -> 0x01818181
    assert L(hash_layer34, f) == 0x01818181


def test_6in4_and_4in6():
    inner6 = ipv6("2001:db8::1", "2001:db8:1::53", 17, udp(0x1234, 53))
    sit = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 41, inner6))
    assert L(hash_encap34, sit) == 0x33B3A920
    inner4 = ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80))
    f = ether(0x86DD, ipv6("2001:db8::a", "2001:db8::b", 4, inner4))
    assert L(hash_encap34, f) == 0x29A9B52D


def test_gre_teb_with_key():
    inner_eth = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80)), dst=b"\x0a" * 6)
    gre = struct.pack("!HHI", 0x2000, 0x6558, 77) + inner_eth
    f = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 47, gre))
    assert L(hash_encap34, f) == 0x29A9B52D
    # layer2 part of encap2+3 is the *outer* Ethernet header
    assert L(hash_encap23, f) == 0x03030B08


def test_gre_ip_with_csum_and_seq():
    inner = ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80))
    gre = struct.pack("!HHHHI", 0x9000, 0x0800, 0, 0, 5) + inner  # C and S bits
    f = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 47, gre))
    assert L(hash_encap34, f) == 0x29A9B52D


def test_gre_with_routing_is_not_entered():
    gre = struct.pack("!HH", 0x4000, 0x0800) + ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80))
    f = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 47, gre))
    assert L(hash_encap34, f) == 0x01818181  # outer addresses, no ports


def test_gre_truncated_is_bad():
    f = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 47, b"\x20\x00\x08\x00\x00"))  # key cut off
    assert L(hash_encap34, f) == 0x0803


def test_pppoe_session():
    ppp = struct.pack("!BBHHH", 0x11, 0, 0x1234, 42, 0x0021) + ipv4("10.0.0.1", "10.0.0.2", 6, tcp(12345, 80))
    f = ether(0x8864, ppp)
    assert L(hash_encap34, f) == 0x29A9B52D
    assert L(hash_layer34, f) == 0x02 ^ 0x01 ^ 0x8864  # not IP for bond_flow_ip()


def test_mpls_is_good_but_addressless():
    f = ether(0x8847, struct.pack("!I", (100 << 12) | 0x100 | 64) + ipv4("10.0.0.1", "10.0.0.2", 6, b""))
    assert L(hash_encap34, f) == 0


def test_fcoe_needs_a_whole_header():
    assert L(hash_encap34, ether(0x8906, bytes(38))) == 0  # good, no addresses
    assert L(hash_encap34, ether(0x8906, bytes(37))) == 0x02 ^ 0x01 ^ 0x8906


def test_too_many_headers_stops_dissection():
    # 16 stacked VLAN tags in-band: the dissector stops after 15 re-parses
    # and reports what it has (nothing) as good.
    f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 2)), tags=[(0x8100, 1)] * 16)
    assert L(hash_encap34, f, vlan_accel=False) == 0


# ------------------------------------------------------------ dispatch


def test_dispatch_and_names():
    assert xh.POLICY_BY_NAME["layer3+4"] == LAYER34 == 1
    assert xh.POLICY_BY_NAME["vlan+srcmac"] == 5
    assert xh.policy_value("Layer2+3") == LAYER23
    assert xh.policy_value("4") == ENCAP34
    assert xh.hash_function("encap2+3") is hash_encap23
    for bad in (-1, 6, "layer4", None, 1.0):
        with pytest.raises(ValueError):
            xh.policy_value(bad)
    for p, fn in zip(ALL, (hash_layer2, hash_layer34, hash_layer23, hash_encap23, hash_encap34, hash_vlan_srcmac)):
        assert xmit_hash(TCP4, p, little=True) == fn(TCP4, little=True)


def test_slave_index():
    assert xmit_slave_index(TCP4, "layer3+4", 3, little=True) == 0x29A9B52D % 3 == 1
    assert xmit_slave_index(TCP4, LAYER2, 2) == 0x0803 % 2 == 1
    with pytest.raises(ValueError):
        xmit_slave_index(TCP4, LAYER2, 0)


def test_default_byte_order_is_the_hosts():
    little = sys.byteorder == "little"
    for p in ALL:
        assert xmit_hash(TCP4, p) == xmit_hash(TCP4, p, little=little)


def test_works_on_memoryview_slices_without_copy():
    buf = bytearray(b"\xee" * 10 + UDP6)
    mv = memoryview(buf)[10:]
    for p in ALL:
        assert xmit_hash(mv, p) == xmit_hash(UDP6, p)


# ------------------------------------------------------------ properties


@settings(max_examples=3000)
@given(st.binary(max_size=200), st.sampled_from(ALL), st.booleans(), st.booleans())
def test_any_bytes_give_u32(data, policy, accel, little):
    h = xmit_hash(data, policy, vlan_accel=accel, little=little)
    assert isinstance(h, int) and 0 <= h < 2**32


ip4 = st.integers(0, 2**32 - 1).map(lambda v: str(ipaddress.IPv4Address(v)))
port = st.integers(0, 65535)


@settings(max_examples=1500)
@given(
    src=ip4,
    dst=ip4,
    sport=port,
    dport=port,
    vlan=st.one_of(st.none(), st.integers(0, 4095)),
    packets=st.lists(
        st.tuples(
            st.integers(0, 2**32 - 1),  # seq
            st.integers(0, 0xFF),  # flags
            st.integers(0, 65535),  # ip id
            st.integers(1, 255),  # ttl
            st.integers(0, 255),  # tos
            st.binary(max_size=64),  # payload
        ),
        min_size=2,
        max_size=6,
    ),
    count=st.integers(1, 8),
)
def test_one_tcp_flow_one_member(src, dst, sport, dport, vlan, packets, count):
    tags = [] if vlan is None else [(0x8100, vlan)]
    frames = [
        ether(
            0x0800,
            ipv4(src, dst, 6, tcp(sport, dport, seq=seq, flags=flags, payload=pl), ident=ident, ttl=ttl, tos=tos),
            tags=tags,
        )
        for seq, flags, ident, ttl, tos, pl in packets
    ]
    for p in ALL:
        idx = {xmit_slave_index(f, p, count) for f in frames}
        assert len(idx) == 1, p


@settings(max_examples=500)
@given(ip4, ip4, port, port)
def test_layer34_is_symmetric_for_swapped_direction_only_in_addresses(src, dst, sport, dport):
    # addresses enter by XOR, so swapping them alone never changes the hash
    a = ether(0x0800, ipv4(src, dst, 17, udp(sport, dport)))
    b = ether(0x0800, ipv4(dst, src, 17, udp(sport, dport)))
    assert hash_layer34(a) == hash_layer34(b)
    assert hash_layer23(a) == hash_layer23(b)
