"""IPv6 neighbour discovery (RFC 4861): NS/NA build and parse.

Bonding needs two messages:

* unsolicited NAs after failover (num_unsol_na), like the kernel's
  ndisc_send_unsol_na(): to ff02::1, Override set, target link-layer
  address option;
* NSes for the ns_ip6_target link monitor, like bond_ns_send() ->
  ndisc_ns_create(): to the target's solicited-node group with a source
  link-layer address option.

Parsers apply the receive-side validity checks of RFC 4861 7.1 that the
kernel applies (hop limit 255, code 0, ICMPv6 checksum, sane options), so
a monitor never counts a forged or corrupt packet as a sign of life.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from .ethernet import ETH_HLEN, ETH_P_IPV6, Frame, eth_header, l3_info, pad

IPPROTO_ICMPV6 = 58
ICMPV6_NS = 135
ICMPV6_NA = 136
ND_OPT_SOURCE_LL_ADDR = 1
ND_OPT_TARGET_LL_ADDR = 2

# Flag bits in the first byte of the NA's 32-bit flags word.
NA_ROUTER = 0x80
NA_SOLICITED = 0x40
NA_OVERRIDE = 0x20

IPV6_HLEN = 40
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
UNSPECIFIED = bytes(16)

_IP6_HDR = struct.Struct("!IHBB16s16s")  # vtc_flow, plen, nexthdr, hlim, src, dst
_ICMP_HDR = struct.Struct("!BBH")
_NA_FIXED = struct.Struct("!BBHB3x16s")  # type, code, csum, flags, target
_NS_FIXED = struct.Struct("!BBH4x16s")  # type, code, csum, target
_MACS = struct.Struct("6s6s")
ND_MSG_LEN = 24  # type/code/csum + 4 bytes + 16-byte target, for both NS and NA


class Na(NamedTuple):
    src_ip: bytes
    dst_ip: bytes
    target: bytes
    router: bool
    solicited: bool
    override: bool
    tlla: bytes | None  # target link-layer address option, if present
    eth_src: bytes
    eth_dst: bytes
    vlan: int | None


class Ns(NamedTuple):
    src_ip: bytes
    dst_ip: bytes
    target: bytes
    slla: bytes | None  # source link-layer address option, if present
    eth_src: bytes
    eth_dst: bytes
    vlan: int | None


# What ip6_bytes accepts: the forms configuration and callers hold addresses in.
IPv6Like = str | bytes | bytearray | memoryview | ipaddress.IPv6Address


def ip6_bytes(ip: IPv6Like) -> bytes:
    """IPv6 text (or 16 raw bytes, or IPv6Address) -> 16 bytes; ValueError otherwise."""
    if isinstance(ip, str):
        return ipaddress.IPv6Address(ip.strip()).packed
    if isinstance(ip, ipaddress.IPv6Address):
        return ip.packed
    if isinstance(ip, (bytes, bytearray, memoryview)):
        b = bytes(ip)
        if len(b) == 16:
            return b
    raise ValueError(f"not an IPv6 address: {ip!r}")


def solicited_node(ip6: IPv6Like) -> bytes:
    """ff02::1:ffXX:XXXX for the low 24 bits of ``ip6``."""
    a = ip6_bytes(ip6)
    return bytes.fromhex("ff0200000000000000000001ff") + a[13:]


def ip6_mcast_mac(ip6: IPv6Like) -> bytes:
    """RFC 2464 mapping: 33:33 followed by the low 32 bits of the group."""
    return b"\x33\x33" + ip6_bytes(ip6)[12:]


def _csum_fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def ones_complement_sum(data: Frame, start: int = 0, end: int | None = None) -> int:
    """16-bit one's complement sum (not inverted) of ``data[start:end]``."""
    if end is None:
        end = len(data)
    length = end - start
    words = length // 2
    total: int = sum(struct.unpack_from(f"!{words}H", data, start)) if words else 0
    if length & 1:
        total += data[end - 1] << 8
    return _csum_fold(total)


def icmpv6_checksum(src: bytes, dst: bytes, icmp: Frame, start: int = 0, end: int | None = None) -> int:
    """RFC 4443 checksum over the pseudo-header and ``icmp[start:end]``.

    Returns the value to store in the checksum field (computed with that
    field zero); over a packet whose field is already filled in,
    ``icmpv6_checksum`` returns 0 exactly when the checksum is valid.
    """
    if end is None:
        end = len(icmp)
    total = ones_complement_sum(src) + ones_complement_sum(dst)
    total += (end - start) + IPPROTO_ICMPV6  # upper-layer length, next header
    total += ones_complement_sum(icmp, start, end)
    return (~_csum_fold(total)) & 0xFFFF


def _build_nd(eth_dst: bytes, eth_src: bytes, src: bytes, dst: bytes, icmp: bytearray, vlan: int | None) -> bytes:
    struct.pack_into("!H", icmp, 2, icmpv6_checksum(src, dst, icmp))
    ip6 = _IP6_HDR.pack(0x60000000, len(icmp), IPPROTO_ICMPV6, 255, src, dst)
    return pad(eth_header(eth_dst, eth_src, ETH_P_IPV6, vlan) + ip6 + bytes(icmp))


def build_unsolicited_na(mac: bytes, ip6: IPv6Like, vlan: int | None = None, *, router: bool = False) -> bytes:
    """Unsolicited NA for ``ip6`` to all-nodes, as ndisc_send_unsol_na() sends.

    IPv6 source is the advertised address itself, hop limit 255, flags
    Override (plus Router when ``router``; the kernel sets it when the
    interface forwards), Solicited clear, and a target link-layer address
    option carrying ``mac``.
    """
    mac = bytes(mac)
    if len(mac) != 6:
        raise ValueError("mac must be 6 bytes")
    target = ip6_bytes(ip6)
    flags = NA_OVERRIDE | (NA_ROUTER if router else 0)
    icmp = bytearray(_NA_FIXED.pack(ICMPV6_NA, 0, 0, flags, target))
    icmp += bytes((ND_OPT_TARGET_LL_ADDR, 1)) + mac
    return _build_nd(ip6_mcast_mac(ALL_NODES), mac, target, ALL_NODES, icmp, vlan)


def build_ns(mac: bytes, src_ip6: IPv6Like, target_ip6: IPv6Like, vlan: int | None = None) -> bytes:
    """NS for ``target_ip6`` as bond_ns_send()/ndisc_ns_create() build it.

    Sent to the target's solicited-node group (Ethernet 33:33:ff:xx:xx:xx)
    with hop limit 255.  Carries a source link-layer address option unless
    ``src_ip6`` is ``::`` (duplicate address detection), where RFC 4861
    forbids it and the kernel omits it.
    """
    mac = bytes(mac)
    if len(mac) != 6:
        raise ValueError("mac must be 6 bytes")
    src = ip6_bytes(src_ip6)
    target = ip6_bytes(target_ip6)
    dst = solicited_node(target)
    icmp = bytearray(_NS_FIXED.pack(ICMPV6_NS, 0, 0, target))
    if src != UNSPECIFIED:
        icmp += bytes((ND_OPT_SOURCE_LL_ADDR, 1)) + mac
    return _build_nd(ip6_mcast_mac(dst), mac, src, dst, icmp, vlan)


def _nd_common(frame: Frame, want_type: int, verify_checksum: bool) -> tuple[int, int, bytes, bytes, int | None] | None:
    """Shared IPv6/ICMPv6 checks; returns (off, end, src, dst, vlan) or None.

    ``off`` is the ICMPv6 message offset and ``end`` its end per the IPv6
    payload length (Ethernet padding beyond it is ignored).  Extension
    headers are not walked: ND messages never carry them in practice.
    """
    etype, l3, vid = l3_info(frame)
    if etype != ETH_P_IPV6 or len(frame) < l3 + IPV6_HLEN:
        return None
    vtc, plen, nexthdr, hlim, src, dst = _IP6_HDR.unpack_from(frame, l3)
    if vtc >> 28 != 6 or nexthdr != IPPROTO_ICMPV6 or hlim != 255:
        return None
    off = l3 + IPV6_HLEN
    end = off + plen
    if plen < ND_MSG_LEN or end > len(frame):
        return None
    icmp_type, code, _ = _ICMP_HDR.unpack_from(frame, off)
    if icmp_type != want_type or code != 0:
        return None
    if verify_checksum and icmpv6_checksum(src, dst, frame, off, end) != 0:
        return None
    return off, end, src, dst, (vid if l3 > ETH_HLEN else None)


def _lladdr_option(frame: Frame, start: int, end: int, want: int) -> tuple[bool, bytes | None]:
    """Walk ND options; return (ok, lladdr-or-None) for option type ``want``.

    ok is False for malformed options (zero length, overrunning the
    message) and for a ``want`` option whose size is not the 8 bytes an
    Ethernet address needs -- the kernel drops such packets too."""
    found = None
    pos = start
    while pos < end:
        if pos + 2 > end:
            return False, None
        opt_type, opt_len = frame[pos], frame[pos + 1]
        size = opt_len * 8
        if size == 0 or pos + size > end:
            return False, None
        if opt_type == want and found is None:
            if size != 8:
                return False, None
            found = bytes(frame[pos + 2 : pos + 8])
        pos += size
    return True, found


def _is_multicast6(addr: bytes) -> bool:
    return addr[0] == 0xFF


def parse_na(frame: Frame, *, verify_checksum: bool = True) -> Na | None:
    """Parse a Neighbour Advertisement; None if invalid per RFC 4861 7.1.2.

    Never raises."""
    common = _nd_common(frame, ICMPV6_NA, verify_checksum)
    if common is None:
        return None
    off, end, src, dst, vlan = common
    _, _, _, flags, target = _NA_FIXED.unpack_from(frame, off)
    solicited = bool(flags & NA_SOLICITED)
    if _is_multicast6(target) or (solicited and _is_multicast6(dst)):
        return None
    ok, tlla = _lladdr_option(frame, off + ND_MSG_LEN, end, ND_OPT_TARGET_LL_ADDR)
    if not ok:
        return None
    eth_dst, eth_src = _MACS.unpack_from(frame, 0)
    return Na(
        src,
        dst,
        target,
        bool(flags & NA_ROUTER),
        solicited,
        bool(flags & NA_OVERRIDE),
        tlla,
        eth_src,
        eth_dst,
        vlan,
    )


def parse_ns(frame: Frame, *, verify_checksum: bool = True) -> Ns | None:
    """Parse a Neighbour Solicitation; None if invalid per RFC 4861 7.1.1.

    Never raises."""
    common = _nd_common(frame, ICMPV6_NS, verify_checksum)
    if common is None:
        return None
    off, end, src, dst, vlan = common
    target = _NS_FIXED.unpack_from(frame, off)[3]
    if _is_multicast6(target):
        return None
    ok, slla = _lladdr_option(frame, off + ND_MSG_LEN, end, ND_OPT_SOURCE_LL_ADDR)
    if not ok:
        return None
    if src == UNSPECIFIED:
        # DAD: must go to a solicited-node group and carry no SLLAO.
        if slla is not None or dst[:13] != bytes.fromhex("ff0200000000000000000001ff"):
            return None
    eth_dst, eth_src = _MACS.unpack_from(frame, 0)
    return Ns(src, dst, target, slla, eth_src, eth_dst, vlan)
