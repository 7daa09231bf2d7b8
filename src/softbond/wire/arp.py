"""ARP (RFC 826) over Ethernet/IPv4: build and parse.

Used for gratuitous ARPs after failover (num_grat_arp), for the ARP link
monitor's probes (arp_interval / arp_ip_target) and for arp_validate.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from .ethernet import (
    BROADCAST_MAC,
    ETH_HLEN,
    ETH_P_ARP,
    ETH_P_IP,
    ZERO_MAC,
    Frame,
    eth_header,
    l3_info,
    pad,
)

ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ARPHRD_ETHER = 1
ARP_PLEN = 28  # Ethernet/IPv4 ARP payload length

# htype, ptype, hlen, plen, op, sha, spa, tha, tpa
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_MACS = struct.Struct("6s6s")


class Arp(NamedTuple):
    op: int
    sender_mac: bytes
    sender_ip: bytes  # 4 bytes, network order
    target_mac: bytes
    target_ip: bytes  # 4 bytes, network order
    eth_src: bytes
    eth_dst: bytes
    vlan: int | None  # VID of the outermost tag, None when untagged


# What ip4_bytes accepts: the forms configuration and callers hold addresses in.
IPv4Like = str | bytes | bytearray | memoryview | ipaddress.IPv4Address


def ip4_bytes(ip: IPv4Like) -> bytes:
    """Dotted quad (or 4 raw bytes, or IPv4Address) -> 4 bytes.

    Strict on purpose (``ipaddress`` rejects ``'10.1'`` which
    ``inet_aton`` would accept): a typo in an arp_ip_target must not turn
    into probes for some other address.  Raises ValueError."""
    if isinstance(ip, str):
        return ipaddress.IPv4Address(ip.strip()).packed
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.packed
    if isinstance(ip, (bytes, bytearray, memoryview)):
        b = bytes(ip)
        if len(b) == 4:
            return b
    raise ValueError(f"not an IPv4 address: {ip!r}")


def _mac6(mac: Frame, what: str) -> bytes:
    b = bytes(mac)
    if len(b) != 6:
        raise ValueError(f"{what} must be 6 bytes, got {len(b)}")
    return b


def build_arp(
    op: int,
    sender_mac: bytes,
    sender_ip: IPv4Like,
    target_mac: bytes,
    target_ip: IPv4Like,
    *,
    eth_src: bytes | None = None,
    eth_dst: bytes | None = None,
    vlan: int | None = None,
) -> bytes:
    """An Ethernet/IPv4 ARP frame, padded to 60 bytes.

    Ethernet source defaults to ``sender_mac``.  Ethernet destination
    defaults to broadcast for requests (what arp_create() does when no
    dest_hw is given) and to ``target_mac`` for any other op.
    """
    sha = _mac6(sender_mac, "sender_mac")
    tha = _mac6(target_mac, "target_mac")
    src = sha if eth_src is None else _mac6(eth_src, "eth_src")
    if eth_dst is None:
        dst = BROADCAST_MAC if op == ARPOP_REQUEST else tha
    else:
        dst = _mac6(eth_dst, "eth_dst")
    body = _ARP.pack(ARPHRD_ETHER, ETH_P_IP, 6, 4, op, sha, ip4_bytes(sender_ip), tha, ip4_bytes(target_ip))
    return pad(eth_header(dst, src, ETH_P_ARP, vlan) + body)


def build_gratuitous_arp(mac: bytes, ip: IPv4Like, vlan: int | None = None) -> bytes:
    """Broadcast ARP request with sender IP == target IP.

    This is what the kernel emits on failover: bonding raises
    NETDEV_NOTIFY_PEERS and arp_netdev_event() calls
    ``arp_send(ARPOP_REQUEST, ETH_P_ARP, ip, dev, ip, NULL, dev_addr, NULL)``,
    which leaves the target hardware address zero and broadcasts.
    """
    return build_arp(ARPOP_REQUEST, mac, ip, ZERO_MAC, ip, vlan=vlan)


def build_arp_probe(mac: bytes, src_ip: IPv4Like, target_ip: IPv4Like, vlan: int | None = None) -> bytes:
    """ARP monitor probe, as bond_arp_send() builds it.

    ``arp_create(ARPOP_REQUEST, ETH_P_ARP, target, dev, src, NULL,
    slave_mac, NULL)``: broadcast request, zero target MAC.  The kernel
    uses the *member's* MAC as sender and the bond's address on the route
    to the target as ``src_ip`` (0.0.0.0 when it has none, which is legal
    -- an ARP probe in RFC 5227 terms).
    """
    return build_arp(ARPOP_REQUEST, mac, src_ip, ZERO_MAC, target_ip, vlan=vlan)


def parse_arp(frame: Frame) -> Arp | None:
    """Parse an Ethernet/IPv4 ARP frame (optionally VLAN tagged).

    Returns None for anything else: other ethertypes, htype != 1,
    ptype != IPv4, hlen != 6, plen != 4, or a truncated body.  Trailing
    padding is ignored.  Never raises.
    """
    etype, off, vid = l3_info(frame)
    if etype != ETH_P_ARP or len(frame) < off + ARP_PLEN:
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(frame, off)
    if htype != ARPHRD_ETHER or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        return None
    dst, src = _MACS.unpack_from(frame, 0)
    return Arp(op, sha, spa, tha, tpa, src, dst, vid if off > ETH_HLEN else None)
