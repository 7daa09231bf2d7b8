"""Robustness: no parser or hash may raise on anything a socket can return."""

import ipaddress
import struct

from hypothesis import given, settings, strategies as st

from softbond.wire import arp, ndisc, vnet, xmit_hash as xh
from softbond.wire.ethernet import l3_info

MAC = bytes.fromhex("020000000001")
N = 3000  # examples per test


def _ipv4(src, dst, proto, payload, frag=0):
    return (
        struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0)
        + ipaddress.IPv4Address(src).packed
        + ipaddress.IPv4Address(dst).packed
        + payload
    )


def _ipv6(src, dst, nh, payload):
    return (
        struct.pack("!IHBB", 0x60000000, len(payload), nh, 64)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


_ETH = bytes.fromhex("020000000002") + MAC
_TCP = struct.pack("!HHIIBBHHH", 1234, 80, 1, 0, 0x50, 0x18, 1000, 0, 0) + b"data"
_IN4 = _ipv4("10.0.0.1", "10.0.0.2", 6, _TCP)

CORPUS = [
    arp.build_gratuitous_arp(MAC, "192.0.2.1"),
    arp.build_gratuitous_arp(MAC, "192.0.2.1", vlan=7),
    arp.build_arp_probe(MAC, "10.0.0.1", "10.0.0.254"),
    ndisc.build_unsolicited_na(MAC, "2001:db8::1"),
    ndisc.build_unsolicited_na(MAC, "fe80::1", vlan=3, router=True),
    ndisc.build_ns(MAC, "2001:db8::1", "2001:db8::2"),
    ndisc.build_ns(MAC, "::", "2001:db8::2"),
    _ETH + b"\x08\x00" + _IN4,
    _ETH + b"\x81\x00\x00\x64\x08\x00" + _IN4,
    _ETH + b"\x88\xa8\x00\x01\x81\x00\x00\x02\x08\x00" + _IN4,
    _ETH + b"\x08\x00" + _ipv4("10.0.0.1", "10.0.0.2", 6, _TCP, frag=0x2000),
    _ETH + b"\x08\x00" + _ipv4("10.0.0.2", "10.0.0.1", 1, b"\x03\x03\x00\x00\x00\x00\x00\x00" + _IN4[:28]),
    _ETH + b"\x08\x00" + _ipv4("192.0.2.1", "192.0.2.2", 4, _IN4),
    _ETH + b"\x08\x00" + _ipv4("192.0.2.1", "192.0.2.2", 47, b"\x20\x00\x65\x58\x00\x00\x00\x01" + _ETH + b"\x08\x00" + _IN4),
    _ETH + b"\x86\xdd" + _ipv6("2001:db8::1", "2001:db8::2", 0, b"\x2c\x00" + bytes(6) + b"\x06\x00\x00\x00" + bytes(4) + _TCP),
    _ETH + b"\x88\x64" + struct.pack("!BBHHH", 0x11, 0, 1, 42, 0x57) + _ipv6("::1", "::2", 17, bytes(8)),
    vnet.VNET_NONE + _ETH + b"\x08\x00" + _IN4,
]

frames = st.sampled_from(CORPUS)


@st.composite
def mutated(draw):
    """A valid frame, then truncated, bit-flipped, or with bytes spliced in/out."""
    f = bytearray(draw(frames))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "set", "insert", "delete"]))
        if not f:
            break
        i = draw(st.integers(0, len(f) - 1))
        if kind == "truncate":
            del f[i:]
        elif kind == "flip":
            f[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            f[i] = draw(st.integers(0, 255))
        elif kind == "insert":
            f[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            del f[i : i + draw(st.integers(1, 8))]
    return bytes(f)


anything = st.one_of(st.binary(max_size=160), mutated())
views = st.sampled_from([bytes, bytearray, memoryview])


def _check_parsers(data):
    et, off, vid = l3_info(data)
    assert 0 <= et <= 0xFFFF and 0 <= vid <= 0xFFF and 0 <= off
    a = arp.parse_arp(data)
    assert a is None or (len(a.sender_mac) == 6 and len(a.target_ip) == 4)
    for parse in (ndisc.parse_na, ndisc.parse_ns):
        r = parse(data)
        assert r is None or len(r.target) == 16
        parse(data, verify_checksum=False)
    h = vnet.parse_vnet(data)
    assert h is None or len(h.pack()) == vnet.VNET_HDR_LEN
    hdr, rest = vnet.split_vnet(data)
    if len(data) < vnet.VNET_HDR_LEN:
        assert hdr is None and len(rest) == 0
    else:
        assert hdr is not None and len(rest) == len(data) - vnet.VNET_HDR_LEN


@settings(max_examples=N, deadline=None)
@given(anything, views)
def test_parsers_never_raise(data, view):
    _check_parsers(view(bytearray(data)) if view is memoryview else view(data))


@settings(max_examples=N, deadline=None)
@given(anything, st.booleans(), st.booleans())
def test_hashes_never_raise(data, accel, little):
    for p in range(6):
        h = xh.xmit_hash(data, p, vlan_accel=accel, little=little)
        assert 0 <= h < 2**32
        assert 0 <= xh.xmit_slave_index(data, p, 5, vlan_accel=accel, little=little) < 5


@settings(max_examples=N, deadline=None)
@given(mutated())
def test_mutated_parse_results_are_consistent(data):
    # whatever parses must re-encode to the same fields
    a = arp.parse_arp(data)
    if a is not None:
        b = arp.parse_arp(
            arp.build_arp(a.op, a.sender_mac, a.sender_ip, a.target_mac, a.target_ip,
                          eth_src=a.eth_src, eth_dst=a.eth_dst, vlan=a.vlan)
        )
        assert b == a
    # anything the ND parsers accept satisfies the RFC 4861 receive checks
    na = ndisc.parse_na(data)
    if na is not None:
        assert na.target[0] != 0xFF
        assert not (na.solicited and na.dst_ip[0] == 0xFF)
        assert na.tlla is None or len(na.tlla) == 6
    ns = ndisc.parse_ns(data)
    if ns is not None:
        assert ns.target[0] != 0xFF
        assert ns.src_ip != bytes(16) or ns.slla is None


@settings(max_examples=N, deadline=None)
@given(st.integers(0, 200), frames)
def test_every_truncation(cut, frame):
    data = frame[: min(cut, len(frame))]
    _check_parsers(data)
    for p in range(6):
        assert 0 <= xh.xmit_hash(memoryview(data), p) < 2**32
