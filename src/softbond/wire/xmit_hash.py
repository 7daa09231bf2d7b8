"""The kernel bonding driver's transmit hash, bond_xmit_hash(), in Python.

balance-xor and 802.3ad pick the member for a frame as
``usable_slaves[bond_xmit_hash(frame) % count]``
(bond_xmit_3ad_xor_slave_get()).  This module reproduces the 32-bit hash
bit for bit for all six xmit_hash_policy values, following
drivers/net/bonding/bond_main.c (bond_eth_hash, bond_flow_ip,
bond_vlan_srcmac_hash, bond_flow_dissect, bond_ip_hash, __bond_xmit_hash)
and, for the encap policies, net/core/flow_dissector.c
(__skb_flow_dissect with the bonding key set), as of Linux 6.x.

How the kernel computes it, per policy (``^`` is XOR, all u32):

* layer2 (0):   ``dst_mac[5] ^ src_mac[5] ^ ethertype``.  No fold.
* layer2+3 (2): ``h = layer2; h ^= saddr ^ daddr; h ^= h >> 16; h ^= h >> 8``.
* layer3+4 (1): ``h = ports; h ^= saddr ^ daddr; fold as above; h >>= 1``
  (the final shift discards the low bit because port numbers are so often
  even -- kernel commit "bonding: fix layer3+4 hash for even ports").
* encap2+3 (3) / encap3+4 (4): same formulas, but the addresses/ports come
  from the generic flow dissector, which looks through tunnels (IPIP,
  SIT, IPv6-in-IPv6, GRE incl. TEB, PPTP, MPLS label stacks are *not*
  looked into), VLAN tags, IPv6 extension headers and PPPoE.
* vlan+srcmac (5): ``vlan_tci ^ (src_mac[0:3] as u24) ^ (src_mac[3:6] as u24)``.

Details that matter for matching the kernel:

* ``saddr``, ``daddr`` and ``ports`` are the raw network-order bytes read
  as a *native* u32 (the kernel memcpy()s __be32 into a u32).  The hash is
  therefore endian-dependent; every function takes ``little`` (default:
  this host's byte order, which is the kernel's on the same machine).
* IPv6 addresses are folded by ipv6_addr_hash(): XOR of the four 32-bit
  words.
* "ports" are the first 4 bytes of the L4 header only for TCP, UDP, DCCP,
  ESP (the SPI), SCTP and UDP-Lite; for AH the SPI at offset 4; 0 for
  everything else (proto_ports_offset()).  IPv4 fragments (MF set or a
  non-zero offset, so the *first* fragment too) contribute no ports.
  For layer2+3/layer3+4 IPv6 extension headers are not walked: a TCP
  segment behind a hop-by-hop header hashes with ports 0.
* ICMP/ICMPv6 echo and timestamp messages hash on (type, code, id) instead
  of ports (layer3+4/encap3+4).  For ICMP errors layer2+3 and layer3+4
  hash on the *embedded* packet's addresses and ports, so errors follow
  the flow that caused them (bond_flow_dissect()).
* Frames that are not IPv4/IPv6 (ARP, LACP, truncated IP headers, ...)
  fall back to the layer2 hash -- except under encap policies, where the
  flow dissector accepts ARP, MPLS, FCoE, PTP and a few more as "good but
  address-less", so they hash as ``fold(layer2)`` (encap2+3) or 0
  (encap3+4).
* VLAN: the bond advertises CTAG/STAG tx offload, so the tag of a frame
  sent through a VLAN device on the bond is *not* in the packet data but
  in skb->vlan_tci, and skb->protocol is the inner ethertype.  The TAP
  puts that tag back in-band when we read the frame.  With
  ``vlan_accel=True`` (default) the outermost tag is therefore treated as
  the offloaded one: layer2 uses the inner ethertype, layer2+3/3+4 hash
  the inner IP header, vlan+srcmac uses the full 16-bit TCI (PCP bits
  included, as skb_vlan_tag_get() returns them).  ``vlan_accel=False``
  models a tag that really is in the data (and is exactly the XDP path,
  bond_xmit_hash_xdp()): then layer2/2+3/3+4 see ethertype 0x8100, do not
  parse IP and fall back to ``mac ^ mac ^ 0x8100``, vlan+srcmac uses vlan 0,
  and the encap policies dissect through the tag.

Every hash function takes the frame and, optionally, ``offset``: where in
``frame`` the Ethernet header starts (default 0).  The data path passes its
frames whole, virtio-net header first, with offset=VNET, so no frame is
sliced per packet.  Bytes before ``offset`` are never read; ``offset`` must
be >= 0, and a frame shorter than offset + 14 hashes to 0.

What userspace cannot reproduce (documented, not emulated):

* encap3+4 returns ``skb->hash`` unchanged when the skb carries an L4 hash
  (skb->l4_hash): locally generated TCP (sk_txhash, random per socket) and
  forwarded traffic whose NIC supplied an RSS hash.  A TAP read gives us
  no such hash, so we always compute the dissector-based value -- right
  for traffic without an L4 hash (e.g. forwarded from NICs without RSS
  hashing, UDP from unconnected sockets), different otherwise.
* A BPF flow dissector attached to the namespace replaces the built-in
  one for the encap policies.
* TIPC keepalive frames hash on a random number (tipc_hdr_rps_key()).
* With a second VLAN tag in-band behind the offloaded one (QinQ), the
  kernel's encap result depends on skb_network_offset(), which a frame
  does not tell us; we dissect the inner tag as the XDP path would.
* skb->protocol for frames injected by AF_PACKET on the bond can differ
  from the ethertype in the data; we always use the data.

Kernel version differences (we follow current kernels):

* Before the XDP rework of the hash code (v5.15), bond_eth_hash() XORed
  the raw ``__be16`` h_proto, i.e. 0x0008 rather than 0x0800 for IPv4 on
  little-endian hosts.
* Until "bonding: discard lowest hash bit for non layer3+4 hashing"
  (2022) the final ``>> 1`` applied to layer2+3 and encap2+3 as well.
* vlan+srcmac exists since v5.12; the ICMP id/error handling is newer
  than the basic layer3+4 policy.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable

from ..config.registry import XmitHashPolicy
from .ethernet import (
    ETH_P_1588,
    ETH_P_8021AD,
    ETH_P_8021Q,
    ETH_P_ARP,
    ETH_P_BATMAN,
    ETH_P_FCOE,
    ETH_P_HSR,
    ETH_P_IP,
    ETH_P_IPV6,
    ETH_P_MPLS_MC,
    ETH_P_MPLS_UC,
    ETH_P_PPP_SES,
    ETH_P_PRP,
    ETH_P_RARP,
    ETH_P_TEB,
    ETH_P_TIPC,
    Frame,
)

# xmit_hash_policy values (BOND_XMIT_POLICY_* in <net/bonding.h>), as plain
# ints: the hash functions compare them per frame.
LAYER2, LAYER34, LAYER23, ENCAP23, ENCAP34, VLAN_SRCMAC = (int(p) for p in XmitHashPolicy)

POLICY_BY_NAME = {p.label: int(p) for p in XmitHashPolicy}
POLICY_NAMES = {v: k for k, v in POLICY_BY_NAME.items()}

NATIVE_LITTLE = sys.byteorder == "little"

IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_DCCP = 33
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_GRE = 47
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPPROTO_DSTOPTS = 60
IPPROTO_SCTP = 132
IPPROTO_UDPLITE = 136
IPPROTO_MPLS = 137

# proto_ports_offset() == 0: the 4 bytes at the L4 header start.
_PORTS_AT_0 = frozenset((IPPROTO_TCP, IPPROTO_UDP, IPPROTO_DCCP, IPPROTO_ESP, IPPROTO_SCTP, IPPROTO_UDPLITE))
# icmp_has_id(): echo/echo-reply/timestamp/timestamp-reply, v4 and v6 (the
# kernel checks the type against both sets regardless of the IP version).
_ICMP_HAS_ID = frozenset((8, 0, 13, 14, 128, 129))
_ICMP_ERR = frozenset((3, 4, 5, 11, 12))  # icmp_is_err()
_ICMPV6_ERR = frozenset((1, 2, 3, 4))  # icmpv6_is_err()

_MAX_FLOW_DISSECT_HDRS = 15

# unpack_from is typed as returning tuple[Any, ...]; the annotations say
# what each format gives (no runtime cost: they are never evaluated).
_Int1 = Callable[[Frame, int], tuple[int]]
_Int2 = Callable[[Frame, int], tuple[int, int]]
_Ints = Callable[[Frame, int], tuple[int, ...]]

# dst_mac[5], src_mac[5], ethertype: all bond_eth_hash() reads.
_ETH: Callable[[Frame, int], tuple[int, int, int]] = struct.Struct("!5xB5xBH").unpack_from
# src_mac as u8+u16 (OUI) and u8+u16 (NIC part), then the ethertype.
_SRCMAC: Callable[[Frame, int], tuple[int, int, int, int, int]] = struct.Struct("!BHBHH").unpack_from
_BE16: _Int1 = struct.Struct("!H").unpack_from
_BE16x2: _Int2 = struct.Struct("!HH").unpack_from
# Indexed by the ``little`` flag: [big-endian, little-endian].
_U32: tuple[_Int1, _Int1] = (struct.Struct(">I").unpack_from, struct.Struct("<I").unpack_from)
_U32x2: tuple[_Int2, _Int2] = (struct.Struct(">II").unpack_from, struct.Struct("<II").unpack_from)
_U32x8: tuple[_Ints, _Ints] = (struct.Struct(">8I").unpack_from, struct.Struct("<8I").unpack_from)

_NO_ICMP = (0, 0, 0)
# What a flow dissection gives the hash: (saddr, daddr, ports, icmp key).
_FlowKeys = tuple[int, int, int, tuple[int, int, int]]


# --------------------------------------------------------------------------
# small pieces shared by the policies


def _ports(buf: Frame, n: int, thoff: int, ip_proto: int, little: bool) -> int:
    """__skb_flow_get_ports(): native u32 of the port word, 0 if absent."""
    if ip_proto in _PORTS_AT_0:
        off = thoff
    elif ip_proto == IPPROTO_AH:
        off = thoff + 4
    else:
        return 0
    if off + 4 > n:
        return 0
    return _U32[little](buf, off)[0]


def _icmp_key(buf: Frame, n: int, thoff: int) -> tuple[int, int, int]:
    """skb_flow_get_icmp_tci(): (type, code, id); id 0 = "no id field".

    Reads a whole struct icmphdr (8 bytes); shorter -> key left zero."""
    if thoff + 8 > n:
        return _NO_ICMP
    icmp_type = buf[thoff]
    if icmp_type in _ICMP_HAS_ID:
        ident = _BE16(buf, thoff + 4)[0] or 1  # 0 is reserved for "absent"
    else:
        ident = 0
    return (icmp_type, buf[thoff + 1], ident)


def _icmp_word(icmp: tuple[int, int, int], little: bool) -> int:
    """memcpy(&hash, &flow.icmp, 4): struct {u8 type; u8 code; u16 id}."""
    t, c, ident = icmp
    if little:
        return t | (c << 8) | (ident << 16)
    return (t << 24) | (c << 16) | ident


def _fold(h: int, saddr: int, daddr: int) -> int:
    """bond_ip_hash() without the final policy-dependent shift."""
    h ^= daddr ^ saddr
    h ^= h >> 16
    h ^= h >> 8
    return h


# --------------------------------------------------------------------------
# layer2+3 / layer3+4: bond_flow_ip() + bond_flow_dissect()


def _flow_ip(
    buf: Frame, n: int, l2_proto: int, nhoff: int, ip_proto: int, l34: bool, little: bool
) -> tuple[int, int, int, int, int] | None:
    """bond_flow_ip(): None when it returns false, else
    (saddr, daddr, ports, nhoff, ip_proto)."""
    if l2_proto == ETH_P_IP:
        if nhoff + 20 > n:
            return None
        saddr, daddr = _U32x2[little](buf, nhoff + 12)
        if not (_BE16(buf, nhoff + 6)[0] & 0x3FFF):  # !ip_is_fragment()
            ip_proto = buf[nhoff + 9]
        # ihl is not validated here (unlike the flow dissector): ihl 0..4
        # just moves the "transport header" into the IP header.
        nhoff += (buf[nhoff] & 0x0F) << 2
    elif l2_proto == ETH_P_IPV6:
        if nhoff + 40 > n:
            return None
        w = _U32x8[little](buf, nhoff + 8)
        saddr = w[0] ^ w[1] ^ w[2] ^ w[3]
        daddr = w[4] ^ w[5] ^ w[6] ^ w[7]
        ip_proto = buf[nhoff + 6]  # no extension header walk
        nhoff += 40
    else:
        return None
    ports = _ports(buf, n, nhoff, ip_proto, little) if (l34 and ip_proto >= 0) else 0
    return saddr, daddr, ports, nhoff, ip_proto


def _bond_flow(buf: Frame, n: int, l2_proto: int, nhoff: int, l34: bool, little: bool) -> _FlowKeys | None:
    """bond_flow_dissect() for layer2+3/layer3+4: None (-> layer2
    fallback) or (saddr, daddr, ports, icmp_key)."""
    r = _flow_ip(buf, n, l2_proto, nhoff, -1, l34, little)
    if r is None:
        return None
    saddr, daddr, ports, nhoff, ip_proto = r
    if ip_proto != IPPROTO_ICMP and ip_proto != IPPROTO_ICMPV6:
        return saddr, daddr, ports, _NO_ICMP
    icmp = _icmp_key(buf, n, nhoff)
    errors = _ICMP_ERR if ip_proto == IPPROTO_ICMP else _ICMPV6_ERR
    if icmp[0] not in errors:
        return saddr, daddr, ports, icmp
    # An ICMP error quotes the offending packet's header after the 8-byte
    # ICMP header: hash on that instead (same family as the outer one).
    r = _flow_ip(buf, n, l2_proto, nhoff + 8, ip_proto, l34, little)
    if r is None:
        return None
    return r[0], r[1], r[2], icmp


# --------------------------------------------------------------------------
# the policies
#
# Every policy starts the same way, written out in each rather than in a
# helper because a Python call costs about as much as all of layer2: the
# Ethernet header is at ``offset``; skb->protocol is its ethertype, or with
# vlan_accel the ethertype behind an outer 802.1Q/802.1ad tag (the
# offloaded one, see the module docstring), and the network header follows
# at ``nhoff``.  All offsets past that point are absolute (indexes into
# ``frame``) and every bounds check is against len(frame), so a frame
# behind k bytes of anything hashes at offset=k exactly as it does alone.


def hash_layer2(frame: Frame, offset: int = 0, *, vlan_accel: bool = True, little: bool = NATIVE_LITTLE) -> int:
    """xmit_hash_policy=layer2 (``little`` is accepted for a uniform
    signature; this policy is byte-order independent)."""
    n = len(frame)
    if n < offset + 14:
        return 0
    dst5, src5, proto = _ETH(frame, offset)
    if vlan_accel and (proto == ETH_P_8021Q or proto == ETH_P_8021AD) and n >= offset + 18:
        proto = _BE16(frame, offset + 16)[0]
    return dst5 ^ src5 ^ proto


def hash_layer23(frame: Frame, offset: int = 0, *, vlan_accel: bool = True, little: bool = NATIVE_LITTLE) -> int:
    """xmit_hash_policy=layer2+3."""
    n = len(frame)
    if n < offset + 14:
        return 0
    dst5, src5, proto = _ETH(frame, offset)
    nhoff = offset + 14
    if vlan_accel and (proto == ETH_P_8021Q or proto == ETH_P_8021AD) and n >= nhoff + 4:
        proto = _BE16(frame, nhoff + 2)[0]
        nhoff += 4
    eth = dst5 ^ src5 ^ proto
    f = _bond_flow(frame, n, proto, nhoff, False, little)
    if f is None:
        return eth
    return _fold(eth, f[0], f[1])


def hash_layer34(frame: Frame, offset: int = 0, *, vlan_accel: bool = True, little: bool = NATIVE_LITTLE) -> int:
    """xmit_hash_policy=layer3+4."""
    n = len(frame)
    if n < offset + 14:
        return 0
    dst5, src5, proto = _ETH(frame, offset)
    nhoff = offset + 14
    if vlan_accel and (proto == ETH_P_8021Q or proto == ETH_P_8021AD) and n >= nhoff + 4:
        proto = _BE16(frame, nhoff + 2)[0]
        nhoff += 4
    f = _bond_flow(frame, n, proto, nhoff, True, little)
    if f is None:
        return dst5 ^ src5 ^ proto
    saddr, daddr, ports, icmp = f
    h = _icmp_word(icmp, little) if icmp[2] else ports
    return _fold(h, saddr, daddr) >> 1


def hash_vlan_srcmac(frame: Frame, offset: int = 0, *, vlan_accel: bool = True, little: bool = NATIVE_LITTLE) -> int:
    """xmit_hash_policy=vlan+srcmac: TCI ^ OUI ^ NIC-specific part."""
    n = len(frame)
    if n < offset + 14:
        return 0
    oui_hi, oui_lo, nic_hi, nic_lo, proto = _SRCMAC(frame, offset + 6)
    tci = 0
    if vlan_accel and (proto == ETH_P_8021Q or proto == ETH_P_8021AD) and n >= offset + 18:
        tci = _BE16(frame, offset + 14)[0]
    return tci ^ ((oui_hi << 16) | oui_lo) ^ ((nic_hi << 16) | nic_lo)


# --------------------------------------------------------------------------
# encap2+3 / encap3+4: __skb_flow_dissect() with flow_keys_bonding
#
# Keys the bonding dissector collects: control, basic, IPv4/IPv6 addrs,
# TIPC, ports, ICMP, VLAN, flow label, GRE key id.  Only addrs, ports and
# ICMP feed the hash.  flags == 0, so fragments stop the dissection and
# tunnels are followed.


def _gre(buf: Frame, n: int, nhoff: int) -> tuple[str, int, int]:
    """__skb_flow_dissect_gre(): ("bad"|"good"|"again", proto, nhoff)."""
    if nhoff + 4 > n:
        return "bad", 0, nhoff
    flags, proto = _BE16x2(buf, nhoff)
    if flags & 0x4000:  # GRE_ROUTING: not looked into
        return "good", proto, nhoff
    ver = flags & 0x0007
    if ver > 1:
        return "good", proto, nhoff
    if ver == 1 and not (proto == 0x880B and flags & 0x2000):  # PPTP needs PPP + key
        return "good", proto, nhoff
    off = 4
    if flags & 0x8000:  # GRE_CSUM: checksum + reserved1
        off += 4
    if flags & 0x2000:  # GRE_KEY
        if nhoff + off + 4 > n:
            return "bad", proto, nhoff
        off += 4
    if flags & 0x1000:  # GRE_SEQ
        off += 4
    if ver == 0:
        if proto == ETH_P_TEB:
            if nhoff + off + 14 > n:
                return "bad", proto, nhoff
            proto = _BE16(buf, nhoff + off + 12)[0]
            off += 14
    else:  # PPTP
        if flags & 0x0080:  # GRE_ACK
            off += 4
        if nhoff + off + 4 > n:
            return "bad", proto, nhoff
        ppp = _BE16(buf, nhoff + off + 2)[0]
        if ppp == 0x0021:
            proto = ETH_P_IP
        elif ppp == 0x0057:
            proto = ETH_P_IPV6
        off += 4  # PPP_HDRLEN
    return "again", proto, nhoff + off


def _dissect(buf: Frame, n: int, proto: int, nhoff: int, little: bool) -> _FlowKeys | None:
    """Flow dissection for the encap policies.

    Returns None when __skb_flow_dissect() returns false (-> layer2
    fallback), else (saddr, daddr, ports, icmp_key) with 0 addresses when
    no address key was found (addr_type 0: flow_get_u32_*() return 0)."""
    saddr = daddr = ports = 0
    icmp = _NO_ICMP
    ip_proto = 0
    num_hdrs = 0
    while True:  # proto_again
        # ---- network layer ------------------------------------------------
        if proto == ETH_P_IP:
            if nhoff + 20 > n:
                return None
            ihl = buf[nhoff] & 0x0F
            if ihl < 5:
                return None
            ip_proto = buf[nhoff + 9]
            saddr, daddr = _U32x2[little](buf, nhoff + 12)
            frag = _BE16(buf, nhoff + 6)[0] & 0x3FFF
            nhoff += ihl * 4
            if frag:  # any fragment: OUT_GOOD without looking at L4
                return saddr, daddr, ports, icmp
        elif proto == ETH_P_IPV6:
            if nhoff + 40 > n:
                return None
            ip_proto = buf[nhoff + 6]
            w = _U32x8[little](buf, nhoff + 8)
            saddr = w[0] ^ w[1] ^ w[2] ^ w[3]
            daddr = w[4] ^ w[5] ^ w[6] ^ w[7]
            nhoff += 40
        else:
            again = False
            if proto == ETH_P_8021Q or proto == ETH_P_8021AD:
                if nhoff + 4 > n:
                    return None
                proto = _BE16(buf, nhoff + 2)[0]
                nhoff += 4
                again = True
            elif proto == ETH_P_PPP_SES:
                if nhoff + 8 > n:
                    return None
                if buf[nhoff] != 0x11 or buf[nhoff + 1] != 0:  # ver 1, type 1, code 0
                    return None
                ppp = _BE16(buf, nhoff + 6)[0]
                nhoff += 8
                if ppp == 0x0021:
                    proto, again = ETH_P_IP, True
                elif ppp == 0x0057:
                    proto, again = ETH_P_IPV6, True
                elif ppp == 0x0281:
                    proto, again = ETH_P_MPLS_UC, True
                elif ppp == 0x0283:
                    proto, again = ETH_P_MPLS_MC, True
                elif (ppp & 0x0101) != 0x0001:  # !ppp_proto_is_valid()
                    return None
            elif proto == ETH_P_TIPC:
                if nhoff + 16 > n:
                    return None
                # tipc_hdr_rps_key(): word 3 (source node); the dst getter
                # has no TIPC case and returns 0.
                saddr, daddr = _U32[little](buf, nhoff + 12)[0], 0
            elif proto == ETH_P_FCOE:
                if n - nhoff < 38:  # FCOE_HEADER_LEN (scsi/fc/fc_fcoe.h)
                    return None
            elif proto == ETH_P_BATMAN:
                if nhoff + 24 > n:
                    return None
                if buf[nhoff + 1] != 15 or buf[nhoff] != 0x40:  # version, BATADV_UNICAST
                    return None
                proto = _BE16(buf, nhoff + 22)[0]
                nhoff += 24
                again = True
            elif proto == ETH_P_1588:
                if nhoff + 34 > n:
                    return None
            elif proto == ETH_P_HSR or proto == ETH_P_PRP:
                if nhoff + 6 > n:
                    return None
                proto = _BE16(buf, nhoff + 4)[0]
                nhoff += 6
                again = True
            elif proto in (ETH_P_ARP, ETH_P_RARP, ETH_P_MPLS_UC, ETH_P_MPLS_MC):
                # No ARP/MPLS keys in the bonding set: accepted unread.
                pass
            else:
                return None
            if again:
                num_hdrs += 1
                if num_hdrs <= _MAX_FLOW_DISSECT_HDRS:
                    continue
            return saddr, daddr, ports, icmp

        # ---- transport / next header (ip_proto_again) -------------------
        while True:
            step = None  # None = CONTINUE/OUT_GOOD, "proto" or "ipproto" = again
            is_frag = False
            if ip_proto == IPPROTO_GRE:
                res, new_proto, new_nhoff = _gre(buf, n, nhoff)
                if res == "bad":
                    return None
                if res == "again":
                    proto, nhoff, step = new_proto, new_nhoff, "proto"
            elif ip_proto in (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS):
                if proto == ETH_P_IPV6:
                    if nhoff + 2 > n:
                        return None
                    ip_proto, nhoff = buf[nhoff], nhoff + ((buf[nhoff + 1] + 1) << 3)
                    step = "ipproto"
            elif ip_proto == IPPROTO_FRAGMENT:
                if proto == ETH_P_IPV6:
                    if nhoff + 8 > n:
                        return None
                    ip_proto, nhoff = buf[nhoff], nhoff + 8
                    is_frag = True
            elif ip_proto == IPPROTO_IPIP:
                proto, step = ETH_P_IP, "proto"
            elif ip_proto == IPPROTO_IPV6:
                proto, step = ETH_P_IPV6, "proto"
            elif ip_proto == IPPROTO_MPLS:
                proto, step = ETH_P_MPLS_UC, "proto"
            elif ip_proto == IPPROTO_ICMP or ip_proto == IPPROTO_ICMPV6:
                k = _icmp_key(buf, n, nhoff)
                if k is not _NO_ICMP:
                    icmp = k
            if is_frag:
                return saddr, daddr, ports, icmp
            # Ports are (re)read after every step, including ones that go
            # on to a tunnel's inner header (where they read as 0).
            ports = _ports(buf, n, nhoff, ip_proto, little)
            if step is None:
                return saddr, daddr, ports, icmp
            num_hdrs += 1
            if num_hdrs > _MAX_FLOW_DISSECT_HDRS:
                return saddr, daddr, ports, icmp
            if step == "proto":
                break
        # continue with proto_again


def hash_encap23(frame: Frame, offset: int = 0, *, vlan_accel: bool = True, little: bool = NATIVE_LITTLE) -> int:
    """xmit_hash_policy=encap2+3."""
    n = len(frame)
    if n < offset + 14:
        return 0
    dst5, src5, proto = _ETH(frame, offset)
    nhoff = offset + 14
    if vlan_accel and (proto == ETH_P_8021Q or proto == ETH_P_8021AD) and n >= nhoff + 4:
        proto = _BE16(frame, nhoff + 2)[0]
        nhoff += 4
    eth = dst5 ^ src5 ^ proto
    f = _dissect(frame, n, proto, nhoff, little)
    if f is None:
        return eth
    return _fold(eth, f[0], f[1])


def hash_encap34(frame: Frame, offset: int = 0, *, vlan_accel: bool = True, little: bool = NATIVE_LITTLE) -> int:
    """xmit_hash_policy=encap3+4 (assuming the skb has no L4 hash)."""
    n = len(frame)
    if n < offset + 14:
        return 0
    dst5, src5, proto = _ETH(frame, offset)
    nhoff = offset + 14
    if vlan_accel and (proto == ETH_P_8021Q or proto == ETH_P_8021AD) and n >= nhoff + 4:
        proto = _BE16(frame, nhoff + 2)[0]
        nhoff += 4
    f = _dissect(frame, n, proto, nhoff, little)
    if f is None:
        return dst5 ^ src5 ^ proto
    saddr, daddr, ports, icmp = f
    h = _icmp_word(icmp, little) if icmp[2] else ports
    return _fold(h, saddr, daddr) >> 1


# --------------------------------------------------------------------------
# dispatch

_BY_POLICY: tuple[Callable[..., int], ...] = (
    hash_layer2,
    hash_layer34,
    hash_layer23,
    hash_encap23,
    hash_encap34,
    hash_vlan_srcmac,
)


def policy_value(policy: int | str) -> int:
    """Policy number from a number or a kernel name ('layer3+4', ...)."""
    if isinstance(policy, str):
        key = policy.strip().lower()
        if key in POLICY_BY_NAME:
            return POLICY_BY_NAME[key]
        if key.isdigit():
            policy = int(key)
        else:
            raise ValueError(f"unknown xmit_hash_policy {policy!r}")
    if isinstance(policy, int) and 0 <= policy < len(_BY_POLICY):
        return policy
    raise ValueError(f"unknown xmit_hash_policy {policy!r}")


def hash_function(policy: int | str) -> Callable[..., int]:
    """The per-policy function, so the data path resolves the policy once."""
    return _BY_POLICY[policy_value(policy)]


def xmit_hash(
    frame: Frame, policy: int | str, *, offset: int = 0, vlan_accel: bool = True, little: bool = NATIVE_LITTLE
) -> int:
    """bond_xmit_hash(): a u32 (0 <= h < 2**32).  Never raises on frame
    contents; raises ValueError for an unknown policy."""
    return _BY_POLICY[policy_value(policy)](frame, offset, vlan_accel=vlan_accel, little=little)


def xmit_slave_index(
    frame: Frame,
    policy: int | str,
    count: int,
    *,
    offset: int = 0,
    vlan_accel: bool = True,
    little: bool = NATIVE_LITTLE,
) -> int:
    """Index into the usable-member array: ``xmit_hash(...) % count``.

    ``count`` must be positive (the kernel drops the frame when no member
    is usable; deciding that is the caller's job) -- ValueError otherwise."""
    if count <= 0:
        raise ValueError("count must be positive")
    return xmit_hash(frame, policy, offset=offset, vlan_accel=vlan_accel, little=little) % count
