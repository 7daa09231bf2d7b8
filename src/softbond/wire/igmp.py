"""IGMP membership reports for resend_igmp after a failover.

After the active member changes, the kernel bonding driver raises
NETDEV_RESEND_IGMP and ip_mc_rejoin_groups() sends one report per joined
group so that snooping switches move the group to the new port.  The
report's version follows the querier seen on the link (v3 unless a v1/v2
querier was seen); v3 reports carry one MODE_IS_EXCLUDE record with no
sources for an ordinary any-source join.

The IP header matches igmp_send_report()/igmpv3_newpack(): TOS 0xc0,
DF, TTL 1 and a Router Alert option (RFC 2113), hence IHL 6.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .arp import IPv4Like, ip4_bytes
from .ethernet import ETH_P_IP, eth_header, pad

IGMPV2_HOST_MEMBERSHIP_REPORT = 0x16
IGMPV3_HOST_MEMBERSHIP_REPORT = 0x22
IGMPV3_MODE_IS_INCLUDE = 1
IGMPV3_MODE_IS_EXCLUDE = 2
IGMPV3_CHANGE_TO_INCLUDE = 3
IGMPV3_CHANGE_TO_EXCLUDE = 4
IGMPV3_ALL_MCR = bytes((224, 0, 0, 22))

_ROUTER_ALERT = bytes((0x94, 0x04, 0x00, 0x00))
_IP_HDR = struct.Struct("!BBHHHBBH4s4s")


def inet_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum (value to store in the field)."""
    if len(data) & 1:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_mcast_mac(group: IPv4Like) -> bytes:
    """RFC 1112 mapping: 01:00:5e + low 23 bits of the group."""
    g = ip4_bytes(group)
    return bytes((0x01, 0x00, 0x5E, g[1] & 0x7F, g[2], g[3]))


def _ip_packet(src: bytes, dst: bytes, payload: bytes, ident: int) -> bytes:
    hdr = bytearray(_IP_HDR.pack(0x46, 0xC0, 24 + len(payload), ident & 0xFFFF, 0x4000, 1, 2, 0, src, dst))
    hdr += _ROUTER_ALERT
    struct.pack_into("!H", hdr, 10, inet_checksum(bytes(hdr)))
    return bytes(hdr) + payload


def build_igmpv2_report(
    mac: bytes, src_ip: IPv4Like, group: IPv4Like, vlan: int | None = None, *, ident: int = 0
) -> bytes:
    """IGMPv2 membership report for ``group``, sent to the group itself."""
    g = ip4_bytes(group)
    igmp = bytearray(struct.pack("!BBH4s", IGMPV2_HOST_MEMBERSHIP_REPORT, 0, 0, g))
    struct.pack_into("!H", igmp, 2, inet_checksum(bytes(igmp)))
    ip = _ip_packet(ip4_bytes(src_ip), g, bytes(igmp), ident)
    return pad(eth_header(ip_mcast_mac(g), bytes(mac), ETH_P_IP, vlan) + ip)


def build_igmpv3_report(
    mac: bytes,
    src_ip: IPv4Like,
    groups: str | bytes | bytearray | memoryview | Iterable[IPv4Like],
    vlan: int | None = None,
    *,
    record_type: int = IGMPV3_MODE_IS_EXCLUDE,
    ident: int = 0,
) -> bytes:
    """IGMPv3 report to 224.0.0.22 with one source-less record per group.

    ``groups`` is one address or an iterable of them."""
    if isinstance(groups, (str, bytes, bytearray, memoryview)):
        groups = [groups]
    records = b"".join(struct.pack("!BBH4s", record_type, 0, 0, ip4_bytes(g)) for g in groups)
    count = len(records) // 8
    igmp = bytearray(struct.pack("!BBHHH", IGMPV3_HOST_MEMBERSHIP_REPORT, 0, 0, 0, count))
    igmp += records
    struct.pack_into("!H", igmp, 2, inet_checksum(bytes(igmp)))
    ip = _ip_packet(ip4_bytes(src_ip), IGMPV3_ALL_MCR, bytes(igmp), ident)
    return pad(eth_header(ip_mcast_mac(IGMPV3_ALL_MCR), bytes(mac), ETH_P_IP, vlan) + ip)
