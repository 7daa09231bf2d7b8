"""Which protocol class a frame belongs to, for the per-member traffic
counters (status JSON `protocols`, /metrics softbond_protocol_*_total).

The classes are the issue's fixed names; their indices are what the data
paths count by (datapath/abi.py names them, bond.bpf.c has them as PC_*).
VLAN-tagged frames count by their inner type: up to two tags (802.1Q or
802.1ad) are looked through. An IPv6 frame whose first next header is an
extension header counts as ipv6_other (the kernel's counters do not walk
them either, and the eBPF program reads one byte as this does).

`classify` is called per frame on the Python data paths: byte reads and
comparisons only, nothing allocated.
"""

from __future__ import annotations

from .ethernet import Frame
from .vnet import VNET_HDR_LEN

PROTO_CLASSES = (
    "arp",
    "lacp",
    "ipv4_tcp",
    "ipv4_udp",
    "ipv4_icmp",
    "ipv4_other",
    "ipv6_tcp",
    "ipv6_udp",
    "ipv6_icmp",
    "ipv6_other",
    "other",
)
(
    PC_ARP,
    PC_LACP,
    PC_IPV4_TCP,
    PC_IPV4_UDP,
    PC_IPV4_ICMP,
    PC_IPV4_OTHER,
    PC_IPV6_TCP,
    PC_IPV6_UDP,
    PC_IPV6_ICMP,
    PC_IPV6_OTHER,
    PC_OTHER,
) = range(len(PROTO_CLASSES))

ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_SLOW = 0x0800, 0x86DD, 0x0806, 0x8809
ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88A8
MAX_TAGS = 2


# The class by IP protocol number (IPv4) and first next header (IPv6): one
# tuple index on the hot path instead of a chain of comparisons.
BY_IPV4_PROTO = tuple({6: PC_IPV4_TCP, 17: PC_IPV4_UDP, 1: PC_IPV4_ICMP}.get(p, PC_IPV4_OTHER) for p in range(256))
_BY_IPV6_NEXT = tuple({6: PC_IPV6_TCP, 17: PC_IPV6_UDP, 58: PC_IPV6_ICMP}.get(p, PC_IPV6_OTHER) for p in range(256))


def classify(frame: Frame, n: int, offset: int = VNET_HDR_LEN) -> int:
    """The class (PC_*) of the `n`-byte frame in `frame` whose Ethernet
    header starts at `offset` (after the virtio-net header by default)."""
    at = offset + 12  # the ethertype
    if n > at + 11:  # untagged IPv4 first: the common case, fewest reads
        high = frame[at]
        if high == 0x08 and frame[at + 1] == 0x00:
            return BY_IPV4_PROTO[frame[at + 11]]  # 9 into the IPv4 header
        if high == 0x86 and frame[at + 1] == 0xDD:
            return _BY_IPV6_NEXT[frame[at + 8]]  # 6 into the IPv6 header
    return _classify_rest(frame, n, at)


def _classify_rest(frame: Frame, n: int, at: int) -> int:
    """classify() for what the fast path leaves: short, tagged, not IP."""
    if n < at + 2:
        return PC_OTHER
    kind = frame[at] << 8 | frame[at + 1]
    tags = 0
    while (kind == ETH_P_8021Q or kind == ETH_P_8021AD) and tags < MAX_TAGS:
        at += 4
        if n < at + 2:
            return PC_OTHER
        kind = frame[at] << 8 | frame[at + 1]
        tags += 1
    if kind == ETH_P_IP:
        return BY_IPV4_PROTO[frame[at + 11]] if n > at + 11 else PC_IPV4_OTHER
    if kind == ETH_P_IPV6:
        return _BY_IPV6_NEXT[frame[at + 8]] if n > at + 8 else PC_IPV6_OTHER
    if kind == ETH_P_ARP:
        return PC_ARP
    if kind == ETH_P_SLOW:
        return PC_LACP
    return PC_OTHER
