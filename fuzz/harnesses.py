"""One fuzz harness per parser that takes outside input.

Every harness is a plain function ``harness(data: bytes) -> None``: it feeds
``data`` (or values decoded from it) to one parser and raises when the
parser breaks its contract -- an exception the parser does not document, a
result of the wrong shape, an error message without file and line, a 500,
a LACPDU storm.  Nothing here depends on atheris, so the same functions run
under atheris (fuzz/run.py) and under hypothesis (tests/unit/test_fuzz_*.py).

``HARNESSES`` maps a name to a ``Harness``: the function, seed inputs, a
libFuzzer dictionary (tokens the parser looks for) and the maximum input
length worth generating.

The contract each harness enforces is written in its docstring.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

# Everything a harness reaches is imported here, at import time: run.py
# instruments (for coverage feedback) only what is imported inside its
# atheris.instrument_imports() block.
from softbond.core.bond import BondError  # noqa: E402
from softbond.faces.cli import CliError  # noqa: E402
from softbond.daemon import ControlServer  # noqa: E402
from softbond.config.errors import ConfigError  # noqa: E402
from softbond.config.ifcfg import load_ifcfg  # noqa: E402
from softbond.config.loader import load_config, merge_configs  # noqa: E402
from softbond.lacp import LacpSystem  # noqa: E402
from softbond.datapath.plan import is_igmp as _is_igmp  # noqa: E402
from softbond.kernel import netlink  # noqa: E402
from softbond.kernel.links import LinkError  # noqa: E402
from softbond.faces.web.limits import Limits  # noqa: E402
from softbond.faces.web.server import STATE, HostRule, create_app, loopback_hosts  # noqa: E402
from softbond.wire import arp, ethernet, igmp, ndisc, vnet  # noqa: E402
from tests.support.configfiles import load_modprobe, load_toml  # noqa: E402
from tests.support.procparse import parse_proc  # noqa: E402
from softbond.wire import xmit_hash as xh  # noqa: E402
from softbond.wire.lacpdu import (  # noqa: E402
    AGGREGATION, COLLECTING, DISTRIBUTING, LACP_ACTIVITY, LACP_TIMEOUT, MARKER_INFORMATION,
    MARKER_RESPONSE, SYNCHRONIZATION, LacpInfo, Lacpdu, MarkerPdu,
    PduError, build_lacpdu, build_marker, parse_slow,
)

DATA = ROOT / "tests" / "data"
MAC = bytes.fromhex("020000000001")
PEER = bytes.fromhex("020000000002")


class Violation(AssertionError):
    """A parser broke its contract; the message says how."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Violation(message)


# --------------------------------------------------------------------------
# reading structured values out of fuzz bytes


class Reader:
    """Consume fuzz bytes as small structured values; past the end every
    read returns zero / empty, so any input decodes to something."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def u8(self) -> int:
        if self.pos < len(self.data):
            self.pos += 1
            return self.data[self.pos - 1]
        return 0

    def u16(self) -> int:
        return (self.u8() << 8) | self.u8()

    def u32(self) -> int:
        return (self.u16() << 16) | self.u16()

    def flag(self) -> bool:
        return bool(self.u8() & 1)

    def below(self, n: int) -> int:
        return (self.u8() if n <= 256 else self.u16()) % n

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def chunk(self, limit: int = 255) -> bytes:
        """A length-prefixed byte string (one length byte)."""
        return self.take(self.u8() % (limit + 1))

    def text(self, limit: int = 255) -> str:
        return self.chunk(limit).decode("utf-8", "replace")

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out


def as_text(data: bytes) -> str:
    """Any bytes as a str (lone surrogates included: parsers take any str)."""
    return data.decode("utf-8", "surrogateescape")


def views(data: bytes):
    """The buffer types a socket read can hand a parser."""
    return (data, bytearray(data), memoryview(data))


# --------------------------------------------------------------------------
# seed frames


def _ipv4(src, dst, proto, payload, frag=0):
    return (struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0)
            + ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + payload)


def _ipv6(src, dst, nh, payload):
    return (struct.pack("!IHBB", 0x60000000, len(payload), nh, 64)
            + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)


_ETH = PEER + MAC
_TCP = struct.pack("!HHIIBBHHH", 1234, 80, 1, 0, 0x50, 0x18, 1000, 0, 0) + b"data"
_IN4 = _ipv4("10.0.0.1", "10.0.0.2", 6, _TCP)


def frame_seeds() -> list[bytes]:
    frames = [
        arp.build_gratuitous_arp(MAC, "192.0.2.1"),
        arp.build_gratuitous_arp(MAC, "192.0.2.1", vlan=7),
        arp.build_arp_probe(MAC, "10.0.0.1", "10.0.0.254"),
        arp.build_arp(arp.ARPOP_REPLY, MAC, "10.0.0.1", PEER, "10.0.0.2"),
        ndisc.build_unsolicited_na(MAC, "2001:db8::1"),
        ndisc.build_unsolicited_na(MAC, "fe80::1", vlan=3, router=True),
        ndisc.build_ns(MAC, "2001:db8::1", "2001:db8::2"),
        ndisc.build_ns(MAC, "::", "2001:db8::2"),
        igmp.build_igmpv2_report(MAC, "10.0.0.1", "239.1.2.3"),
        igmp.build_igmpv3_report(MAC, "10.0.0.1", ["239.1.2.3", "239.4.5.6"], vlan=5),
        _ETH + b"\x08\x00" + _IN4,
        _ETH + b"\x81\x00\x00\x64\x08\x00" + _IN4,
        _ETH + b"\x88\xa8\x00\x01\x81\x00\x00\x02\x08\x00" + _IN4,
        _ETH + b"\x08\x00" + _ipv4("10.0.0.1", "10.0.0.2", 6, _TCP, frag=0x2000),
        _ETH + b"\x08\x00" + _ipv4("10.0.0.2", "10.0.0.1", 1,
                                   b"\x03\x03\x00\x00\x00\x00\x00\x00" + _IN4[:28]),
        _ETH + b"\x08\x00" + _ipv4("10.0.0.2", "10.0.0.1", 1, b"\x08\x00\x00\x00\x12\x34\x00\x01"),
        _ETH + b"\x08\x00" + _ipv4("192.0.2.1", "192.0.2.2", 4, _IN4),
        _ETH + b"\x08\x00" + _ipv4("192.0.2.1", "192.0.2.2", 47,
                                   b"\x20\x00\x65\x58\x00\x00\x00\x01" + _ETH + b"\x08\x00" + _IN4),
        _ETH + b"\x08\x00" + _ipv4("192.0.2.1", "192.0.2.2", 47,
                                   b"\x30\x01\x88\x0b\x00\x10\x00\x01\x00\x00\x00\x05\xff\x03\x00\x21"
                                   + _IN4),
        _ETH + b"\x86\xdd" + _ipv6("2001:db8::1", "2001:db8::2", 0,
                                   b"\x2c\x00" + bytes(6) + b"\x06\x00\x00\x00" + bytes(4) + _TCP),
        _ETH + b"\x86\xdd" + _ipv6("2001:db8::1", "2001:db8::2", 58,
                                   b"\x01\x00\x00\x00\x00\x00\x00\x00"
                                   + _ipv6("2001:db8::2", "2001:db8::1", 17, bytes(8))),
        _ETH + b"\x88\x64" + struct.pack("!BBHHH", 0x11, 0, 1, 42, 0x57)
        + _ipv6("::1", "::2", 17, bytes(8)),
        _ETH + b"\x88\x47" + b"\x00\x01\x01\x40" + _IN4,
        _ETH + b"\x43\x05" + bytes((0x40, 15)) + bytes(20) + b"\x08\x00" + _IN4,
        _ETH + b"\x88\xca" + bytes(16),
        _ETH + b"\x89\x2f" + bytes(4) + b"\x08\x00" + _IN4,
        vnet.VNET_NONE + _ETH + b"\x08\x00" + _IN4,
        vnet.build_vnet(1, 4, 54, 1448, 34, 16) + _ETH + b"\x86\xdd" + _ipv6("::1", "::2", 6, _TCP),
        _ETH + b"\x81\x00",
        _ETH[:12],
        b"",
    ]
    return frames + lacp_seeds()


def lacp_info(system=PEER, key=1000, port=1, state=0x3D, prio=32768, pprio=32768):
    return LacpInfo(prio, system, key, pprio, port, state)


def lacp_seeds() -> list[bytes]:
    full = (LACP_ACTIVITY | LACP_TIMEOUT | AGGREGATION | SYNCHRONIZATION | COLLECTING
            | DISTRIBUTING)
    pdu = Lacpdu(lacp_info(state=full), lacp_info(system=MAC, key=9, state=full), 0)
    v1 = build_lacpdu(PEER, pdu)
    v2 = bytearray(v1)
    v2[15] = 2  # version 2: the TLVs after the collector are walked
    v2[14 + 58:14 + 64] = bytes((0x04, 0x06, 1, 2, 3, 4))
    v2[14 + 64:14 + 66] = bytes((0x00, 0x00))
    return [
        v1,
        bytes(v2),
        build_lacpdu(PEER, Lacpdu(lacp_info(), lacp_info(system=bytes(6), key=0, port=0,
                                                           state=0), 0)),
        build_marker(PEER, MarkerPdu(MARKER_INFORMATION, 1, PEER, 42)),
        build_marker(PEER, MarkerPdu(MARKER_RESPONSE, 1, MAC, 42)),
        v1[:14] + b"\x03" + bytes(109),  # OAM: another slow protocol
        v1[:12] + b"\x81\x00\x00\x01\x88\x09" + v1[14:],
    ]


FRAME_DICT = [b"\x08\x00", b"\x86\xdd", b"\x08\x06", b"\x81\x00", b"\x88\xa8", b"\x88\x09",
              b"\x88\x64", b"\x88\x47", b"\x65\x58", b"\x43\x05", b"\x88\xca", b"\x89\x06",
              b"\x88\xf7", b"\x89\x2f", b"\x88\xfb", b"\x80\x35", b"\x00\x01\x08\x00\x06\x04",
              b"\x45", b"\x46", b"\x60\x00\x00\x00", b"\x3a\xff", b"\x87\x00", b"\x88\x00",
              b"\x01\x80\xc2\x00\x00\x02", b"\x01\x01\x01\x14", b"\x02\x14", b"\x03\x10",
              b"\x00\x00", b"\xff\xff\xff\xff\xff\xff", b"\x33\x33", b"\xff\x02"]


# --------------------------------------------------------------------------
# wire: ethernet, ARP, ND, IGMP, vnet, transmit hash, slow protocols


def fuzz_ethernet(data: bytes) -> None:
    """l3_info never raises and returns (ethertype, offset, vid) with the
    offset at 0/14/18/22 inside the frame; mac_to_bytes raises only
    ValueError and round-trips through mac_to_str."""
    n = len(data)
    results = {ethernet.l3_info(v) for v in views(data)}
    check(len(results) == 1, f"l3_info differs between buffer types: {results}")
    etype, off, vid = results.pop()
    check(all(isinstance(x, int) for x in (etype, off, vid)), "l3_info returned a non-int")
    if n < ethernet.ETH_HLEN:
        check((etype, off, vid) == (0, 0, 0), f"short frame gave {(etype, off, vid)}")
    else:
        check(0 <= etype <= 0xFFFF and 0 <= vid <= 0xFFF and off in (14, 18, 22) and off <= n,
              f"l3_info out of range: {(etype, off, vid)} for {n} bytes")
    ethernet.is_multicast(data[:6])
    ethernet.is_broadcast(data[:6])
    for text in (as_text(data), data.decode("latin-1")):
        try:
            mac = ethernet.mac_to_bytes(text)
        except ValueError:
            continue
        check(len(mac) == 6, f"mac_to_bytes({text!r}) gave {len(mac)} bytes")
        check(ethernet.mac_to_bytes(ethernet.mac_to_str(mac)) == mac, "MAC does not round-trip")
    try:
        ethernet.mac_to_bytes(data)
    except ValueError:
        pass


def fuzz_arp(data: bytes) -> None:
    """parse_arp never raises; a parsed ARP rebuilds into a frame that
    parses back to the same fields; ip4_bytes raises only ValueError."""
    results = [arp.parse_arp(v) for v in views(data)]
    check(results[0] == results[1] == results[2], "parse_arp differs between buffer types")
    a = results[0]
    if a is not None:
        check(isinstance(a, arp.Arp) and len(a.sender_mac) == 6 and len(a.sender_ip) == 4
              and len(a.target_ip) == 4 and len(a.eth_src) == 6, f"bad ARP fields {a}")
        check(a.vlan is None or 0 <= a.vlan <= 0xFFF, f"bad vlan {a.vlan}")
        again = arp.parse_arp(arp.build_arp(a.op, a.sender_mac, a.sender_ip, a.target_mac,
                                            a.target_ip, eth_src=a.eth_src, eth_dst=a.eth_dst,
                                            vlan=a.vlan))
        check(again == a, f"ARP does not round-trip: {a} -> {again}")
    try:
        arp.ip4_bytes(as_text(data))
    except ValueError:
        pass


def fuzz_ndisc(data: bytes) -> None:
    """parse_na / parse_ns never raise, with or without the checksum check;
    whatever passes with the check passes without it, unchanged."""
    for parse in (ndisc.parse_na, ndisc.parse_ns):
        checked = [parse(v) for v in views(data)]
        check(checked[0] == checked[1] == checked[2], f"{parse.__name__} differs by buffer type")
        loose = parse(data, verify_checksum=False)
        if checked[0] is not None:
            check(loose == checked[0], f"{parse.__name__}: checksum-off result differs")
        for r in (checked[0], loose):
            if r is None:
                continue
            check(len(r.src_ip) == 16 and len(r.dst_ip) == 16 and len(r.target) == 16,
                  f"bad address lengths in {r}")
            ll = r.tlla if parse is ndisc.parse_na else r.slla
            check(ll is None or len(ll) == 6, f"bad link-layer option in {r}")
            ndisc.solicited_node(r.target)
            ndisc.ip6_mcast_mac(r.dst_ip)
    try:
        ndisc.ip6_bytes(as_text(data))
    except ValueError:
        pass


def fuzz_igmp(data: bytes) -> None:
    """igmp.py builds reports and has no parser; what touches outside bytes
    is the IGMP classification of frames (balance-rr's is_igmp, on frames
    with the virtio header) and the checksum.  Both never raise.  The
    builders, given fuzzed addresses, raise only ValueError, and what they
    build is IPv4 with a valid header checksum."""
    _is_igmp(data)
    _is_igmp(memoryview(data))
    csum = igmp.inet_checksum(data)
    check(0 <= csum <= 0xFFFF, f"checksum {csum} out of range")
    if len(data) % 2 == 0:
        check(igmp.inet_checksum(data + struct.pack("!H", csum)) == 0,
              "checksum does not verify")
    r = Reader(data)
    mac = r.take(6).ljust(6, b"\0")
    src = r.text(40) if r.flag() else r.take(4)
    groups = [r.text(40) if r.flag() else r.take(4) for _ in range(r.below(4))]
    vlan = r.pick([None, 0, 7, 4095, r.u16(), -1, 0x10000])
    try:
        if r.flag() or not groups:
            frame = igmp.build_igmpv2_report(mac, src, groups[0] if groups else r.text(20),
                                             vlan, ident=r.u16())
        else:
            frame = igmp.build_igmpv3_report(mac, src, groups, vlan, ident=r.u32())
    except ValueError:
        return
    etype, off, _ = ethernet.l3_info(frame)
    check(etype == ethernet.ETH_P_IP, "report is not IPv4")
    check(igmp.inet_checksum(frame[off:off + 24]) == 0, "report's IP checksum is wrong")
    check(_is_igmp(vnet.VNET_NONE + frame) == (vlan is None), "_is_igmp misses a report")


def fuzz_vnet(data: bytes) -> None:
    """parse_vnet / split_vnet never raise for any buffer, offset or header
    length; a parsed header packs back to the bytes it came from."""
    r = Reader(data[:4])
    offset = r.below(24) - 4
    hdr = vnet.parse_vnet(data, offset)
    if hdr is None:
        check(offset < 0 or len(data) < offset + vnet.VNET_HDR_LEN, "parse_vnet gave None")
    else:
        check(hdr.pack() == data[offset:offset + vnet.VNET_HDR_LEN], "header does not round-trip")
        hdr.needs_csum, hdr.is_gso
    for hdr_len in (vnet.VNET_HDR_LEN, vnet.VNET_HDR_MRG_LEN, r.below(32) - 8):
        h, frame = vnet.split_vnet(data, hdr_len)
        if h is None:
            check(len(frame) == 0, "split_vnet returned a frame without a header")
        else:
            check(len(frame) == len(data) - hdr_len, "split_vnet frame has the wrong length")
            check(bytes(frame) == data[hdr_len:], "split_vnet frame is not the tail")


_POLICIES = tuple(range(6)) + tuple(xh.POLICY_BY_NAME) + ("LAYER3+4", " 2 ")


def fuzz_xmit_hash(data: bytes) -> None:
    """Every xmit_hash_policy, with and without the 10-byte virtio header,
    with vlan_accel and both byte orders, returns a u32 and never raises;
    bytes, bytearray and memoryview agree; xmit_slave_index is in range."""
    _, inner = vnet.split_vnet(data)
    for frame in (data, inner):
        for policy in range(6):
            fn = xh.hash_function(policy)
            for vlan_accel in (True, False):
                for little in (True, False):
                    h = fn(frame, vlan_accel=vlan_accel, little=little)
                    check(type(h) is int and 0 <= h < 2**32,
                          f"policy {policy} gave {h!r} (vlan_accel={vlan_accel}, little={little})")
                    if vlan_accel and little:
                        h2 = fn(bytes(frame), vlan_accel=True, little=True)
                        check(h == h2, f"policy {policy}: memoryview and bytes disagree")
    policy = _POLICIES[data[0] % len(_POLICIES)] if data else 0
    count = 1 + (data[-1] if data else 0) % 16
    i = xh.xmit_slave_index(data, policy, count)
    check(0 <= i < count, f"slave index {i} out of range {count}")
    check(xh.xmit_hash(bytearray(data), policy) == xh.xmit_hash(data, policy), "bytearray differs")


def fuzz_lacpdu(data: bytes) -> None:
    """parse_slow raises PduError and nothing else; a parsed PDU rebuilds
    into a frame that parses to the same PDU."""
    results = []
    for buf in views(data) + (memoryview(data)[::2], memoryview(data).cast("c"), data.decode("latin-1")):
        try:
            results.append(parse_slow(buf))
        except PduError as exc:
            results.append(type(exc))
    check(results[0] == results[1] == results[2], f"parse_slow differs by buffer type: {results[:3]}")
    pdu = results[0]
    if isinstance(pdu, Lacpdu):
        again = parse_slow(build_lacpdu(data[6:12], pdu))
        check(again == pdu, f"LACPDU does not round-trip: {pdu} -> {again}")
    elif isinstance(pdu, MarkerPdu):
        again = parse_slow(build_marker(data[6:12], pdu))
        check(again == pdu, f"marker does not round-trip: {pdu} -> {again}")


# --------------------------------------------------------------------------
# rtnetlink


def _link_message(msg_type, index, flags, name: bytes, extra: bytes = b"") -> bytes:
    name_attr = name + b"\0"
    rta = struct.pack("=HH", 4 + len(name_attr), netlink.IFLA_IFNAME) + name_attr
    rta += b"\0" * ((4 - len(rta) % 4) % 4)
    body = struct.pack("=BxHiII", 0, 1, index, flags, 0xFFFFFFFF) + extra + rta
    return struct.pack("=IHHII", 16 + len(body), msg_type, 0, 0, 0) + body


def netlink_seeds() -> list[bytes]:
    up = netlink.IFF_UP | netlink.IFF_LOWER_UP
    return [
        _link_message(netlink.RTM_NEWLINK, 7, up, b"eth0"),
        _link_message(netlink.RTM_NEWLINK, 7, up, b"eth0") + _link_message(netlink.RTM_DELLINK, 8,
                                                                           0, b"eth1"),
        _link_message(netlink.RTM_NEWLINK, 2, netlink.IFF_UP, b"bond0",
                      struct.pack("=HH", 8, 4) + struct.pack("=I", 1500)),
        _link_message(3, 1, 0, b"x") + _link_message(netlink.RTM_NEWLINK, 9, up, b"\xff\xfe"),
        struct.pack("=IHHII", 20, 2, 0, 0, 0) + struct.pack("=i", -22),
    ]


def fuzz_netlink(data: bytes) -> None:
    """parse_link_messages never raises ("malformed messages are skipped,
    never fatal") and yields well-typed LinkEvents.  It takes what
    socket.recv returns: bytes (bytearray too; not memoryview, which has no
    .split)."""
    for buf in (data, bytearray(data)):
        for ev in netlink.parse_link_messages(buf):
            check(isinstance(ev, netlink.LinkEvent) and isinstance(ev.ifindex, int)
                  and isinstance(ev.ifname, str) and isinstance(ev.deleted, bool)
                  and isinstance(ev.admin_up, bool) and isinstance(ev.carrier, bool),
                  f"bad event {ev!r}")


# --------------------------------------------------------------------------
# LACP protocol object

_SPEEDS = (0, 10, 100, 1000, 10000, 25000, 100000, -1)
_MAX_LACPDU_PER_SECOND = 3


class _Wire:
    """Two LacpSystems cabled port to port; counts every LACPDU sent."""

    def __init__(self):
        self.t_ms = 0
        self.sent: dict[tuple[str, str], list[int]] = {}

    @property
    def now(self) -> float:
        return self.t_ms / 1000

    def account(self, label: str, out) -> list[tuple[str, bytes]]:
        check(isinstance(out, list), f"tick returned {type(out)}")
        for port, frame in out:
            try:
                pdu = parse_slow(frame)
            except PduError as exc:
                raise Violation(f"{label}/{port} sent a malformed frame: {exc}") from None
            if isinstance(pdu, Lacpdu):
                times = self.sent.setdefault((label, port), [])
                times.append(self.t_ms)
                check(len(times) <= _MAX_LACPDU_PER_SECOND
                      or times[-1] - times[-1 - _MAX_LACPDU_PER_SECOND] >= 1000,
                      f"{label}/{port}: more than {_MAX_LACPDU_PER_SECOND} LACPDUs within "
                      f"one second: at ms {times[-4:]}")
        return out


def _mutate(r: Reader, frame: bytes) -> bytes:
    f = bytearray(frame)
    for _ in range(1 + r.below(4)):
        kind = r.below(5)
        if not f:
            break
        i = r.below(len(f))
        if kind == 0:
            f[i] ^= 1 << r.below(8)
        elif kind == 1:
            f[i] = r.u8()
        elif kind == 2:
            del f[i:]
        elif kind == 3:
            f[i:i] = r.chunk(8)
        else:
            del f[i:i + 1 + r.below(8)]
    return bytes(f)


def _fuzzed_lacpdu(r: Reader) -> bytes:
    def info():
        system = r.pick([PEER, MAC, bytes(6), b"\xff" * 6, r.take(6).ljust(6, b"\0")])
        return LacpInfo(r.u16(), system, r.u16(), r.u16(), r.u16(), r.u8())
    return build_lacpdu(PEER, Lacpdu(info(), info(), r.u16()))


def fuzz_lacp_system(data: bytes) -> None:
    """LacpSystem.receive never raises (and never needs its internal-error
    safety net) on arbitrary frames and mutated valid LACPDUs; tick never
    raises, sends only well-formed frames and at most 3 LACPDUs per port in
    any second of simulated time; the queries keep working."""
    r = Reader(data)
    nports = 1 + r.below(3)
    a = LacpSystem(system_mac=MAC, lacp_fast=r.flag(), lacp_active=r.flag(),
                   ad_select=r.below(3), min_links=r.below(3), user_port_key=r.below(1024))
    b = LacpSystem(system_mac=PEER, lacp_fast=r.flag(), lacp_active=True)
    names = [f"eth{i}" for i in range(nports)]
    for i, name in enumerate(names):
        speed = r.pick(_SPEEDS)
        a.add_port(name, port_number=1 + i, mac=bytes((2, 0, 0, 1, 0, i)), speed_mbps=speed,
                   full_duplex=True, link_up=True, now=0.0)
        b.add_port(name, port_number=1 + i, mac=bytes((2, 0, 0, 2, 0, i)), speed_mbps=speed,
                   full_duplex=True, link_up=True, now=0.0)
    wire = _Wire()
    last_from_b: dict[str, bytes] = {}

    def step(fate_from_input: bool) -> None:
        out_a = wire.account("a", a.tick(wire.now))
        out_b = wire.account("b", b.tick(wire.now))
        for port, frame in out_a:
            b.receive(port, frame, wire.now)
        for port, frame in out_b:
            last_from_b[port] = frame
            fate = r.below(6) if fate_from_input else 0
            if fate == 1:
                continue  # lost
            if fate == 2:
                frame = _mutate(r, frame)
            elif fate == 3:
                port = r.pick(names)  # miscabled
            a.receive(port, frame, wire.now)
        if out_a:
            wire.account("b", b.tick(wire.now))
        if out_b:
            wire.account("a", a.tick(wire.now))

    ops = 0
    while r.remaining() and ops < 200:
        ops += 1
        op = r.below(10)
        port = r.pick(names)
        if op <= 2:
            wire.t_ms += r.pick([0, 1, 10, 100, 100, 100, 333, 999, 1000, 3000, 30000])
            step(True)
            continue
        if op == 3:
            frame = r.chunk()
        elif op == 4:
            frame = _mutate(r, last_from_b.get(port) or lacp_seeds()[0])
        elif op == 5:
            frame = _fuzzed_lacpdu(r)
        elif op == 6:
            kind = r.pick([MARKER_INFORMATION, MARKER_RESPONSE])
            frame = build_marker(PEER, MarkerPdu(kind, r.u16(), r.take(6).ljust(6, b"\0"),
                                                 r.u32()))
        elif op == 7:
            a.set_link(port, up=r.flag(), speed_mbps=r.pick(_SPEEDS), full_duplex=r.flag(),
                       now=wire.now)
            wire.account("a", a.tick(wire.now))
            continue
        elif op == 8:
            a.configure(**{r.pick(["lacp_rate", "lacp_active", "system_priority",
                                   "ad_select", "min_links"]): r.below(3)})
            wire.account("a", a.tick(wire.now))
            continue
        else:
            a.receive("nosuchport", r.chunk(), wire.now)
            continue
        a.receive(port, frame, wire.now)
        wire.account("a", a.tick(wire.now))  # the bond ticks right after a receive
    for _ in range(12):  # settle: 1.2 s of normal operation
        wire.t_ms += 100
        step(False)
    for label, system in (("a", a), ("b", b)):
        for port, message in system.drain_events():
            check("internal error" not in message, f"{label}/{port}: {message}")
        system.distributing()
        system.carrier()
        system.ad_info()
        system.next_deadline()
        for name in names:
            json.dumps(system.port_info(name))
            system.collecting(name)


# --------------------------------------------------------------------------
# configuration files

_SEPARATOR = b"\n=====\n"
_TMP: Path | None = None


def _tmpdir() -> Path:
    """One scratch directory per process, emptied before every input."""
    global _TMP
    if _TMP is None or not _TMP.is_dir():
        _TMP = Path(tempfile.mkdtemp(prefix="softbond-fuzz-"))
    for entry in _TMP.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return _TMP


# Errors that concern a file as a whole rather than one of its lines.
WHOLE_FILE_ERRORS = (
    "not UTF-8 text (",  # names the byte offset; pinned by test_config_ifcfg.py
    "cannot read",
)


def check_config_error(exc: ConfigError, files: dict[str, bytes | None]) -> None:
    """The message starts with the path of one of ``files``; when followed
    by ":<n>:" the line exists and is not empty; otherwise it must be one of
    the WHOLE_FILE_ERRORS."""
    message = str(exc)
    for path in sorted(files, key=len, reverse=True):
        if not message.startswith(path + ":"):
            continue
        rest = message[len(path) + 1:]
        m = re.match(r"([0-9]+): ", rest)
        if m:
            content = files[path]
            check(content is not None, f"line number on a directory: {message!r}")
            lines = content.split(b"\n")
            n = int(m.group(1))
            check(1 <= n <= len(lines), f"line {n} of {len(lines)}: {message!r}")
            # tomllib's own positions may point at the empty line after the
            # culprit (an escaped newline in a basic string); softbond's may not.
            check(lines[n - 1].strip(b" \t") or rest[len(m.group(0)):].startswith("invalid TOML"),
                  f"line {n} is empty: {message!r}")
            return
        check(rest.startswith(" "), f"no space after the path: {message!r}")
        if rest[1:].startswith(WHOLE_FILE_ERRORS):
            return
        # An ifcfg file without DEVICE= is named by its file name: a clash is
        # about the file, not a line.
        if re.match(r" \S+ is already defined in ", rest) and not re.search(
                rb"(?m)^\s*(export\s+)?DEVICE=", files[path] or b""):
            return
        raise Violation(f"config error names no line: {message!r}")
    raise Violation(f"config error does not start with a file path: {message!r}")


def _configs_ok(configs) -> None:
    for c in configs:
        check(isinstance(c.name, str) and isinstance(c.slaves, tuple), f"bad config {c!r}")


def _write_files(directory: Path, names: list[str], data: bytes) -> dict[str, bytes]:
    files = {}
    for name, content in zip(names, data.split(_SEPARATOR)):
        path = directory / name
        path.write_bytes(content)
        files[str(path)] = content
    return files


_IFCFG_NAMES = ["ifcfg-bond0", "ifcfg-eth0", "ifcfg-eth1", "ifcfg-bond1", "ifcfg-eth2"]


def fuzz_ifcfg(data: bytes) -> None:
    """load_ifcfg + merge_configs on a network-scripts directory whose files
    hold the input (split on a "=====" line): only ConfigError, naming the
    file and (for anything about a line) the line."""
    directory = _tmpdir() / "network-scripts"
    directory.mkdir()
    files = _write_files(directory, _IFCFG_NAMES, data)
    files[str(directory)] = None
    try:
        _configs_ok(merge_configs(load_ifcfg(str(directory))))
    except ConfigError as exc:
        check_config_error(exc, files)


def fuzz_modprobe(data: bytes) -> None:
    """load_modprobe + merge_configs: only ConfigError with file:line."""
    path = _tmpdir() / "modprobe.conf"
    path.write_bytes(data)
    try:
        _configs_ok(merge_configs(load_modprobe(str(path))))
    except ConfigError as exc:
        check_config_error(exc, {str(path): data})


def fuzz_toml(data: bytes) -> None:
    """load_toml + merge_configs: only ConfigError with file:line."""
    path = _tmpdir() / "softbond.toml"
    path.write_bytes(data)
    try:
        _configs_ok(merge_configs(load_toml(str(path))))
    except ConfigError as exc:
        check_config_error(exc, {str(path): data})


def fuzz_loader(data: bytes) -> None:
    """load_config on what a user points softbond at -- a file sniffed as
    TOML or modprobe.conf, a .toml file, a directory -- and merge_configs
    over two sources, as `softbond up` does: only ConfigError, file:line."""
    r = Reader(data[:1])
    tmp = _tmpdir()
    parts = data[1:].split(_SEPARATOR, 1)
    first = tmp / r.pick(["bonding.conf", "softbond.toml", "conf"])
    first.write_bytes(parts[0])
    files: dict[str, bytes | None] = {str(first): parts[0]}
    sources = [str(first)]
    if len(parts) > 1:
        directory = tmp / "network-scripts"
        directory.mkdir()
        files.update(_write_files(directory, _IFCFG_NAMES, parts[1]))
        files[str(directory)] = None
        sources.insert(0, str(directory))
    try:
        configs = []
        for source in sources:
            configs += load_config(source)
        _configs_ok(merge_configs(configs))
    except ConfigError as exc:
        check_config_error(exc, files)


def _seed_text(*parts: str) -> str:
    return (DATA / "seed").joinpath(*parts).read_text()


def ifcfg_seeds() -> list[bytes]:
    out = []
    for d in ("network-scripts", "network-scripts-bonding-opts"):
        texts = [_seed_text(d, n) for n in ("ifcfg-bond0", "ifcfg-eth0", "ifcfg-eth1")]
        out.append(_SEPARATOR.join(t.encode() for t in texts))
    out.append(b'DEVICE=bond0\nBONDING_OPTS="mode=802.3ad miimon=100 lacp_rate=fast"\n'
               b"IPADDR=10.0.0.1\nPREFIX=24\nGATEWAY=10.0.0.254\nIPADDR1=10.0.1.1\n"
               b"NETMASK1=255.255.255.0\n" + _SEPARATOR + b"MASTER=bond0\nSLAVE=yes\n")
    return out


def modprobe_seeds() -> list[bytes]:
    seeds = [_seed_text(n).encode() for n in ("modprobe.conf", "modprobe-max_bonds.conf",
                                              "modprobe-max_bonds-fixed.conf")]
    seeds.append(b"alias bond0 bonding\nalias bond1 bonding\noptions bonding max_bonds=2 \\\n"
                 b"  miimon=100\noptions bond1 mode=4 lacp_rate=fast xmit_hash_policy=layer3+4\n"
                 b'options bond0 mode=active-backup primary=eth1 arp_ip_target="10.0.0.1,+10.0.0.2"\n')
    return seeds


def toml_seeds() -> list[bytes]:
    return [_seed_text("softbond.toml").encode(),
            b'max_bonds = 2\n[bonding]\nmiimon = 100\n[bond1]\nmode = "802.3ad"\n'
            b'slaves = "eth2, eth3"\naddresses = ["10.0.0.1/24", "fd00::1/64"]\n'
            b'gateway = "10.0.0.254"\nhwaddr = "02:00:00:00:00:01"\n',
            b'bond0 = { mode = 1, slaves = ["eth0"] }\n[bond1.x]\ny = 1\n',
            b"bond0.mode = 4\nbond0.lacp_rate = 'fast'\n"]


def loader_seeds() -> list[bytes]:
    return ([b"\0" + s for s in toml_seeds()] + [b"\1" + s for s in modprobe_seeds()]
            + [b"\0" + modprobe_seeds()[0] + _SEPARATOR + ifcfg_seeds()[0]])


CONFIG_DICT = [
    b"alias", b"options", b"bonding", b"bond0", b"bond1", b"max_bonds=", b"mode=", b"miimon=",
    b"\\\n", b'"', b"'", b"#", b"[bonding]", b"[bond0]", b'["bond0"]', b"[bond0.x]", b" = ",
    b"slaves", b"address", b"addresses", b"hwaddr", b"gateway", b"onboot", b"true",
    b"DEVICE=", b"BONDING_OPTS=", b"BONDING_MASTER=yes", b"TYPE=Bond", b"MASTER=", b"SLAVE=yes",
    b"IPADDR=", b"IPADDR1=", b"PREFIX=", b"NETMASK=", b"NETWORK=", b"BROADCAST=", b"GATEWAY=",
    b"BOOTPROTO=", b"ONBOOT=", b"HWADDR=", b"MACADDR=", b"USERCTL=", b"export ", b"10.0.0.1",
    b"255.255.255.0", b"fe80::1", b"02:00:00:00:00:01", b"active-backup", b"802.3ad",
    b"lacp_rate=", b"arp_ip_target=", b"ns_ip6_target=", b"arp_interval=", b"primary=",
    b"xmit_hash_policy=", b"updelay=", b"downdelay=", b"datapath=", b"use_carrier=",
    b"fail_over_mac=", b"ad_select=", b"min_links=", b"all_slaves_active=", b"+", b"-",
    b"{", b"}", b"[", b"]", b",", b"=", b"\n=====\n", b"\xff", b"\r\n", b"eth0", b"eth1",
    b"9999999999999999999999999", b'"""', b"'''", b"1979-05-27T07:32:00Z", b"inf", b"nan",
]


# --------------------------------------------------------------------------
# the control socket protocol (daemon.ControlServer.handle)


class FakeBond:
    """Records what the control server asks of it; fails like a real bond
    for some names."""

    name = "bond0"

    def __init__(self):
        self.calls: list[tuple] = []

    def status(self) -> dict:
        self.calls.append(("status",))
        return {"bond": self.name, "mode": "active-backup", "slaves": []}

    def _member(self, what: str, name: str) -> None:
        self.calls.append((what, name))
        self._check(what, name)
        if name.startswith("link"):
            raise LinkError(f"{name}: netlink said no")

    def check_enslaveable(self, names: list[str]) -> None:
        # The real bond checks every name before it touches any (a refused
        # command changes nothing); the fake refuses the same names up front.
        for name in names:
            self._check("enslave", name)

    def check_releasable(self, names: list[str]) -> None:
        for name in names:
            self._check("release", name)

    def _check(self, what: str, name: str) -> None:
        if not name or len(name.encode("utf-8", "surrogatepass")) > 15:
            raise BondError(f"{self.name}: cannot {what} {name!r}: no such interface")

    def enslave(self, name: str) -> None:
        self._member("enslave", name)

    def release(self, name: str) -> None:
        self._member("release", name)

    def set_active(self, name: str) -> None:
        self._member("set_active", name)

    def set_option(self, name: str, value: str) -> list[str]:
        self.calls.append(("set", name, value))
        if name not in ("miimon", "primary", "lacp_rate"):
            raise BondError(f"{self.name}: option {name}: unknown option")
        return [f"{self.name}: Warning: {name} set to {value}"]


_CONTROL = None


def _control():
    global _CONTROL
    if _CONTROL is None:
        loop = asyncio.new_event_loop()
        bond = FakeBond()
        server = ControlServer(bond, asyncio.Event())
        server.bond_stopped.set()  # `down` replies at once instead of waiting for a bond
        _CONTROL = (loop, bond, server)
    return _CONTROL


def _json_value(r: Reader, depth: int = 0):
    kind = r.below(10 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return r.flag()
    if kind == 2:
        return r.u32() - 2**31
    if kind == 3:
        return r.pick([0.5, float("inf"), float("nan"), 10**30, -1])
    if kind <= 5:
        return r.pick(["eth0", "eth1", "", "bond0", "link0", "miimon", "x" * 20]) if r.flag() \
            else r.text(40)
    if kind <= 7:
        return [_json_value(r, depth + 1) for _ in range(r.below(4))]
    return {r.pick(["cmd", "ifaces", "iface", "option", "value", r.text(8)]):
            _json_value(r, depth + 1) for _ in range(r.below(4))}


_COMMANDS = ["status", "enslave", "release", "set_active", "set", "down", "bogus", "", "STATUS"]


def control_request(data: bytes) -> bytes:
    """Mode byte 0/1: the rest of the input is the request line itself;
    otherwise a JSON object is built from the input so that most inputs
    reach the dispatch."""
    r = Reader(data)
    mode = r.u8() % 4
    if mode < 2:
        return r.rest()
    request = {"cmd": r.pick(_COMMANDS) if r.below(8) else _json_value(r)}
    for key in ("ifaces", "iface", "option", "value"):
        if r.flag():
            request[key] = _json_value(r)
    if r.flag():
        request[r.text(8)] = _json_value(r)
    return json.dumps(request).encode() + r.pick([b"\n", b"", b"\r\n", b" \n"])


def fuzz_control(data: bytes) -> None:
    """ControlServer.handle (one request line -> one reply) never raises:
    the reply is a JSON-serialisable dict with a boolean "ok" and, when not
    ok, an "error" string; members are only touched by enslave/release/
    set_active and options only by set."""
    loop, bond, server = _control()
    line = control_request(data)
    bond.calls.clear()
    server.stop.clear()
    reply = loop.run_until_complete(server.handle(line))
    check(isinstance(reply, dict), f"reply is {type(reply)}")
    text = json.dumps(reply)
    check(isinstance(json.loads(text), dict), "reply does not survive JSON")
    check(isinstance(reply.get("ok"), bool), f"reply without a boolean ok: {reply!r}")
    if not reply["ok"]:
        check(isinstance(reply.get("error"), str) and reply["error"], f"no error text: {reply!r}")
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):
        request = None
    cmd = request.get("cmd") if isinstance(request, dict) else None
    for call in bond.calls:
        check(cmd == call[0] or (cmd == "set" and call[0] == "set"),
              f"{cmd!r} request made the bond {call[0]}")
    if server.stop.is_set():
        check(cmd == "down", f"{cmd!r} stopped the bond")


def control_seeds() -> list[bytes]:
    lines = [b'{"cmd": "status"}\n', b'{"cmd": "enslave", "ifaces": ["eth0", "eth1"]}\n',
             b'{"cmd": "release", "ifaces": ["eth0"]}', b'{"cmd": "set_active", "iface": "eth1"}',
             b'{"cmd": "set", "option": "miimon", "value": "100"}', b'{"cmd": "down"}\n',
             b'{"cmd": "x"}', b"[]", b"\xff"]
    return [b"\0" + line for line in lines] + [bytes((2, i)) + bytes(range(40)) for i in range(9)]


CONTROL_DICT = [b'{"cmd": ', b'"status"', b'"enslave"', b'"release"', b'"set_active"', b'"set"',
                b'"down"', b'"ifaces": ', b'"iface": ', b'"option": ', b'"value": ', b"[", b"]",
                b"{", b"}", b'"eth0"', b"null", b"true", b"1e999", b"NaN", b"\\ud800", b", "]


# --------------------------------------------------------------------------
# the web API (aiohttp app with injected source and action)

WEB_TOKEN = "fuzz-token"
_WEB = None


def _web_status(name: str) -> dict:
    slave = {"name": "eth0", "mii_status": "up", "speed_mbps": 1000, "duplex": "full",
             "link_failure_count": 0, "perm_hwaddr": "02:00:00:00:00:01", "queue_id": 0,
             "state": "active", "carrier": True, "ad": None,
             "counters": {"rx_bytes": 1, "tx_bytes": 2, "rx_packets": 3, "tx_packets": 4,
                          "rx_dropped": 0, "tx_dropped": 0}}
    return {"bond": name, "softbond_version": "0.1.0", "driver_version": "6.1.0",
            "mode": "active-backup", "mode_id": 1, "options": {"mode": "active-backup"},
            "mii_status": "up", "active_slave": "eth0", "datapath": "python", "pid": 1,
            "hwaddr": "02:00:00:00:00:10", "addresses": [], "failovers": 0,
            "rx_dropped_inactive": 0, "slaves": [slave], "ad_info": None, "events": []}


class _WebFake:
    def __init__(self):
        self.actions: list = []

    def source(self) -> list:
        return [_web_status("bond0"), _web_status("bond1")]

    def action(self, bond: str, payload: dict) -> dict:
        self.actions.append((bond, payload))
        if "nope0" in (payload.get("iface"), *payload.get("ifaces", ())):
            raise CliError("nope0: no such interface")
        return {"ok": True, "warnings": []}


def _web():
    global _WEB
    if _WEB is None:
        loop = asyncio.new_event_loop()
        fake = _WebFake()
        # no rate limit: every input comes from one peer, and a refusal waits a second
        app = create_app(fake.source, action=fake.action, token=WEB_TOKEN, interval=0.5,
                         limits=Limits(rate=1e9, burst=10**9, refusal_delay=0))

        async def start():
            client = TestClient(TestServer(app, host="127.0.0.1"))
            await client.start_server()
            return client
        client = loop.run_until_complete(start())
        state = app[STATE]
        state.closing = True  # /api/stream sends its first event and ends
        state.hosts = HostRule(client.port, exact=loopback_hosts("127.0.0.1", client.port))
        _WEB = (loop, fake, client)
    return _WEB


def close_web() -> None:
    global _WEB
    if _WEB is not None:
        loop, _, client = _WEB
        loop.run_until_complete(client.close())
        loop.close()
        _WEB = None


_WEB_PATHS = ["/", "/api/bonds", "/api/bonds/{b}", "/api/bonds/{b}/counters", "/api/stream",
              "/api/info", "/api/openapi.json", "/metrics", "/api/bonds/{b}/set-active",
              "/api/bonds/{b}/enslave", "/api/bonds/{b}/release", "/static/{b}", "/api/{b}"]
_BOND_NAMES = ["bond0", "bond1", "bond0", "bond1", "nope", "", "..", "%2e%2e", "bond0%00", "%ff",
               "b%2Fc"]
_METHODS = ["GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]


def _header_value(text: str) -> str:
    """What an HTTP client can put in a header: no CR, LF or NUL."""
    return "".join(c for c in text if c not in "\r\n\0")


def web_request(r: Reader, host: str):
    method = r.pick(_METHODS)
    if r.below(4):
        template = r.pick(_WEB_PATHS)
        bond = r.pick(_BOND_NAMES) if r.flag() else r.text(30)
        path = template.replace("{b}", bond)
    else:
        path = "/" + r.text(60)
    if r.below(4) == 0:
        path += "?" + r.text(40)
    headers = {}
    token = r.below(4)  # the right token half the time, so writes get through
    if token in (1, 3):
        headers["X-Softbond-Token"] = WEB_TOKEN
    elif token == 2:
        headers["X-Softbond-Token"] = _header_value(r.text(30))
    origin = r.below(4)
    if origin == 1:
        headers["Origin"] = f"http://{host}"
    elif origin == 2:
        headers["Origin"] = _header_value(r.text(30))
    host_kind = r.below(6)
    if host_kind == 1:
        headers["Host"] = _header_value(r.text(30))
    elif host_kind == 2:
        headers["Host"] = f"localhost:{host.rsplit(':', 1)[1]}"
    site = r.below(8)
    if 0 < site < 5:
        headers["Sec-Fetch-Site"] = ["same-origin", "none", "cross-site", _header_value(r.text(12))][site - 1]
    if r.flag():
        headers["Content-Type"] = r.pick(["application/json", "text/plain", _header_value(r.text(20))])
    kind = r.below(4)
    if kind == 0:
        body = json.dumps({r.pick(["iface", "ifaces", "x"]): _json_value(r)}).encode()
    elif kind == 1:
        names = [r.pick(["eth0", "eth1", "nope0", ""]) for _ in range(r.below(4))]
        body = json.dumps({"iface": names[0]} if names and r.flag() else {"ifaces": names}).encode()
    else:
        body = r.rest()
    return method, path, headers, body


def fuzz_web(data: bytes) -> None:
    """Any path, query, Host/Origin/Sec-Fetch-Site/token header and POST
    body: never a 5xx; /api/ errors are JSON with an "error"; the action is
    only ever called with the right token from this server's origin."""
    loop, fake, client = _web()
    host = f"{client.host}:{client.port}"
    method, path, headers, body = web_request(Reader(data), host)
    before = len(fake.actions)

    async def go():
        try:
            # Not client.request(path): it asserts the path is not "//host..."
            async with client.session.request(method, f"http://{host}{path}", headers=headers,
                                              data=body, allow_redirects=False) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), await resp.read()
        except ValueError:  # the client refused the URL or a header: nothing was sent
            return None

    result = loop.run_until_complete(asyncio.wait_for(go(), timeout=10))
    if result is None:
        return
    status, ctype, payload = result
    check(status < 500, f"{method} {path!r} {headers} -> {status}: {payload[:300]!r}")
    if ctype.startswith("application/json") and status >= 400 and method != "HEAD":
        check("error" in json.loads(payload), f"JSON error without error: {payload[:200]!r}")
    if len(fake.actions) > before:
        sent_host = headers.get("Host", host)
        check(headers.get("X-Softbond-Token") == WEB_TOKEN, f"action without the token: {headers}")
        origin = headers.get("Origin")
        check(origin is None or origin.lower() in (f"http://{sent_host}".lower(),
                                                   f"https://{sent_host}".lower()),
              f"cross-origin action: {headers}")
        check(headers.get("Sec-Fetch-Site") in (None, "same-origin", "none"),
              f"cross-site action: {headers}")
        check(method == "POST", f"{method} ran an action")


def web_seeds() -> list[bytes]:
    # POST, a template path, bond0, no query, the token, no Origin/Host/
    # Sec-Fetch-Site/Content-Type, then a generated or raw body.
    writes = [bytes((1, 1, path, 1, 0, 1, 1, 0, 0, 0, 0)) + body
              for path in (8, 9, 10)
              for body in (bytes((1, 1, 0, 1)), bytes((1, 3, 0, 1, 2)), b"\2" + b'{"iface": "eth1"}')]
    reads = [bytes((0, 1, path, 1, 0, 1, 0, 0, 0, 0, 0, 2)) for path in range(len(_WEB_PATHS))]
    return writes + reads + [bytes((0, 0)) + b"/api/bonds/bond0"]


WEB_DICT = [b"/api/", b"bonds/", b"bond0", b"/set-active", b"/enslave", b"/release", b"/counters",
            b"%2F", b"%00", b"..", b"/static/", b'{"iface": "eth0"}', b'{"ifaces": []}',
            b"[[[[[[[[", b"\xff\xfe", b"?x=1&", b"#"]


# --------------------------------------------------------------------------
# /proc/net/bonding text


def fuzz_proc(data: bytes) -> None:
    """parse_proc on any text: only ValueError may escape (its docstring
    promises that unknown lines are ignored), and the result is a
    JSON-serialisable dict with the documented keys."""
    try:
        result = parse_proc(as_text(data))
    except ValueError:
        return
    check(isinstance(result, dict) and isinstance(result.get("slaves"), list)
          and isinstance(result.get("options"), dict), f"bad result {result!r}"[:300])
    json.dumps(result, default=str)


def proc_seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted((DATA / "proc").glob("*.txt"))]


PROC_DICT = [b"Ethernet Channel Bonding Driver: v", b"Bonding Mode: ", b"Slave Interface: ",
             b"802.3ad info", b"Active Aggregator Info:", b"bond bond0 has no active aggregator",
             b"\tAggregator ID: ", b"Aggregator ID: ", b"details actor lacp pdu:",
             b"details partner lacp pdu:", b"    port state: ", b"Speed: ", b"Duplex: ",
             b"MII Status: ", b"ARP IP target/s (n.n.n.n form):", b"NS IPv6 target/s (xx::xx form):",
             b"Transmit Hash Policy: ", b"Primary Slave: ", b" (primary_reselect always)",
             b" (fail_over_mac active)", b"Currently Active Slave: ", b"LACP rate: ",
             b"Min links: ", b"System MAC address: ", b"Actor Churn State: ", b"Partner Churned Count: ",
             b"fault-tolerance (active-backup)", b"IEEE 802.3ad Dynamic link aggregation",
             b"N/A", b"\n", b"\t", b"99999999999999999999999999999999999999"]


# --------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class Harness:
    name: str
    func: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    dictionary: list[bytes] = field(default_factory=list)
    max_len: int = 4096
    what: str = ""


HARNESSES: dict[str, Harness] = {h.name: h for h in [
    Harness("ethernet", fuzz_ethernet, frame_seeds, FRAME_DICT, 256,
            "wire/ethernet.py l3_info, mac_to_bytes"),
    Harness("arp", fuzz_arp, frame_seeds, FRAME_DICT, 256, "wire/arp.py parse_arp, ip4_bytes"),
    Harness("ndisc", fuzz_ndisc, frame_seeds, FRAME_DICT, 512, "wire/ndisc.py parse_na, parse_ns"),
    Harness("igmp", fuzz_igmp, frame_seeds, FRAME_DICT, 256,
            "wire/igmp.py checksum and builders; balance_rr IGMP classifier"),
    Harness("vnet", fuzz_vnet, frame_seeds, FRAME_DICT, 128, "wire/vnet.py parse_vnet, split_vnet"),
    Harness("xmit_hash", fuzz_xmit_hash, frame_seeds, FRAME_DICT, 512,
            "wire/xmit_hash.py, all 6 policies, +/- virtio header"),
    Harness("lacpdu", fuzz_lacpdu, lacp_seeds, FRAME_DICT, 256, "wire/lacpdu.py parse_slow"),
    Harness("netlink", fuzz_netlink, netlink_seeds, [b"\x10\x00", b"\x11\x00", b"\x03\x00"], 1024,
            "ports/netlink.py parse_link_messages"),
    Harness("lacp_system", fuzz_lacp_system, lacp_seeds, FRAME_DICT, 2048,
            "lacp/system.py LacpSystem.receive + tick"),
    Harness("ifcfg", fuzz_ifcfg, ifcfg_seeds, CONFIG_DICT, 2048, "config/ifcfg.py load_ifcfg"),
    Harness("modprobe", fuzz_modprobe, modprobe_seeds, CONFIG_DICT, 2048,
            "config/modprobe.py parse_modprobe"),
    Harness("toml", fuzz_toml, toml_seeds, CONFIG_DICT, 2048, "config/toml_config.py parse_toml"),
    Harness("loader", fuzz_loader, loader_seeds, CONFIG_DICT, 4096,
            "config/loader.py load_config + merge_configs"),
    Harness("control", fuzz_control, control_seeds, CONTROL_DICT, 4096,
            "daemon.py ControlServer.handle"),
    Harness("web", fuzz_web, web_seeds, WEB_DICT, 2048, "faces/web/server.py via aiohttp's test client"),
    Harness("proc", fuzz_proc, proc_seeds, PROC_DICT, 4096, "tests/support/procparse.py parse_proc"),
]}


def cleanup() -> None:
    """Close what harnesses keep open between inputs (the web test server)."""
    global _CONTROL, _TMP
    close_web()
    if _CONTROL is not None:
        _CONTROL[0].close()
        _CONTROL = None
    if _TMP is not None:
        shutil.rmtree(_TMP, ignore_errors=True)
        _TMP = None


__all__ = ["HARNESSES", "Harness", "Reader", "Violation", "cleanup", "check_config_error"]
