"""MLDv2 listener reports (RFC 3810) for resend_igmp's IPv6 half.

After a failover the kernel's NETDEV_RESEND_IGMP also makes IPv6 report
the device's groups again (ipv6_mc_rejoin_groups -> mld_send_report):
one report to ff02::16 with a MODE_IS_EXCLUDE record and no sources per
group, hop limit 1, a hop-by-hop header carrying Router Alert (MLD), from
the device's link-local address (:: while it has none, as mld_newpack).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .ethernet import ETH_P_IPV6, eth_header, pad
from .ndisc import IPv6Like, icmpv6_checksum, ip6_bytes, ip6_mcast_mac

ICMPV6_MLD2_REPORT = 143
MLD2_MODE_IS_EXCLUDE = 2
MLD2_ALL_MCR = bytes.fromhex("ff020000000000000000000000000016")
IPPROTO_HOPOPTS = 0
IPPROTO_ICMPV6 = 58

# next header ICMPv6, length 0 (8 bytes): Router Alert (5, 2, value 0 = MLD), PadN(0)
_HOP_BY_HOP_RA = bytes((IPPROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0))
_IP6_HDR = struct.Struct("!IHBB16s16s")


def build_mldv2_report(mac: bytes, src_ip6: IPv6Like, groups: Iterable[IPv6Like], vlan: int | None = None) -> bytes:
    """One MLDv2 report for `groups` (addresses; one record each)."""
    src = ip6_bytes(src_ip6)
    records = b"".join(struct.pack("!BBH", MLD2_MODE_IS_EXCLUDE, 0, 0) + ip6_bytes(g) for g in groups)
    icmp = bytearray(struct.pack("!BBHHH", ICMPV6_MLD2_REPORT, 0, 0, 0, len(records) // 20) + records)
    struct.pack_into("!H", icmp, 2, icmpv6_checksum(src, MLD2_ALL_MCR, icmp))
    payload = _HOP_BY_HOP_RA + bytes(icmp)
    ip6 = _IP6_HDR.pack(0x60000000, len(payload), IPPROTO_HOPOPTS, 1, src, MLD2_ALL_MCR)
    return pad(eth_header(ip6_mcast_mac(MLD2_ALL_MCR), bytes(mac), ETH_P_IPV6, vlan) + ip6 + payload)


ICMPV6_MGM_REPORT = 131


def build_mldv1_report(mac: bytes, src_ip6: IPv6Like, group: IPv6Like, vlan: int | None = None) -> bytes:
    """MLDv1 report (RFC 2710) for one group, sent to the group itself."""
    src, dst = ip6_bytes(src_ip6), ip6_bytes(group)
    icmp = bytearray(struct.pack("!BBHHH16s", ICMPV6_MGM_REPORT, 0, 0, 0, 0, dst))
    struct.pack_into("!H", icmp, 2, icmpv6_checksum(src, dst, icmp))
    payload = _HOP_BY_HOP_RA + bytes(icmp)
    ip6 = _IP6_HDR.pack(0x60000000, len(payload), IPPROTO_HOPOPTS, 1, src, dst)
    return pad(eth_header(ip6_mcast_mac(dst), bytes(mac), ETH_P_IPV6, vlan) + ip6 + payload)
