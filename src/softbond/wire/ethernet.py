"""Ethernet II framing: ethertypes, MAC helpers, VLAN-aware L3 lookup.

Everything here is pure (no I/O).  Frame arguments may be ``bytes``,
``bytearray`` or a byte-format ``memoryview``; readers use
``struct.unpack_from`` on the caller's buffer so nothing is copied.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

# What the readers here and in the other wire modules take as a frame.
Frame = bytes | bytearray | memoryview

# Ethertypes (names as in <linux/if_ether.h>).
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_SLOW = 0x8809  # LACP / marker (IEEE 802.3 Annex 57A)
ETH_P_LOOPBACK = 0x9000  # Ethernet configuration testing protocol
# Further types the kernel's flow dissector knows; xmit_hash needs them.
ETH_P_RARP = 0x8035
ETH_P_TEB = 0x6558  # transparent Ethernet bridging (inside GRE)
ETH_P_BATMAN = 0x4305
ETH_P_MPLS_UC = 0x8847
ETH_P_MPLS_MC = 0x8848
ETH_P_PPP_SES = 0x8864
ETH_P_TIPC = 0x88CA
ETH_P_1588 = 0x88F7
ETH_P_PRP = 0x88FB
ETH_P_FCOE = 0x8906
ETH_P_HSR = 0x892F

VLAN_TPIDS = frozenset((ETH_P_8021Q, ETH_P_8021AD))

ETH_ALEN = 6
ETH_HLEN = 14
VLAN_HLEN = 4
ETH_ZLEN = 60  # minimum frame length without FCS; shorter frames get padded

BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = bytes(6)
SLOW_PROTOCOLS_MAC = bytes.fromhex("0180c2000002")

# unpack_from is typed as returning tuple[Any, ...]: these say what the format gives.
_BE16: Callable[[Frame, int], tuple[int]] = struct.Struct("!H").unpack_from
_BE16x2: Callable[[Frame, int], tuple[int, int]] = struct.Struct("!HH").unpack_from
_ETH_HDR = struct.Struct("!6s6sH")
_VLAN_TAG = struct.Struct("!HH")

_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_MAC_DOTTED_RE = re.compile(r"^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$")


def mac_to_bytes(mac: str | bytes | bytearray) -> bytes:
    """Parse ``aa:bb:cc:dd:ee:ff`` (also ``-`` separated, bare hex, or
    Cisco ``aabb.ccdd.eeff``) into 6 bytes.  6-byte input is passed
    through.  Raises ValueError on anything else: this is for
    configuration values, not received frames."""
    if isinstance(mac, (bytes, bytearray, memoryview)):
        b = bytes(mac)
        if len(b) != ETH_ALEN:
            raise ValueError(f"MAC address must be 6 bytes, got {len(b)}")
        return b
    if not isinstance(mac, str):
        raise ValueError(f"not a MAC address: {mac!r}")
    s = mac.strip()
    if _MAC_RE.match(s) or _MAC_DOTTED_RE.match(s):
        return bytes.fromhex(re.sub(r"[:.\-]", "", s))
    raise ValueError(f"not a MAC address: {mac!r}")


def mac_to_str(mac: bytes | bytearray | memoryview) -> str:
    """Lowercase colon form, e.g. ``'02:00:00:00:00:01'``."""
    return bytes(mac).hex(":")


def is_multicast(mac: bytes | bytearray | memoryview) -> bool:
    """True for group addresses (I/G bit set), which includes broadcast."""
    return len(mac) > 0 and bool(mac[0] & 1)


def is_broadcast(mac: bytes | bytearray | memoryview) -> bool:
    return bytes(mac) == BROADCAST_MAC


def l3_info(frame: Frame) -> tuple[int, int, int]:
    """Return ``(ethertype, l3_offset, vlan_id)`` for an Ethernet frame.

    Up to two VLAN tags (802.1Q or 802.1ad, in any order) are skipped;
    ``vlan_id`` is the 12-bit VID of the outermost tag, or 0 when the
    frame is untagged (so a priority-tagged frame also yields 0; compare
    ``l3_offset`` with ``ETH_HLEN`` to tell tagged from untagged).

    Never raises.  A frame shorter than 14 bytes gives ``(0, 0, 0)``.  A
    VLAN tag cut off by the end of the frame is not skipped: its TPID is
    reported as the ethertype with the offset of the missing tag body,
    so callers that only look for IP/ARP simply ignore the frame.  An
    offset may equal ``len(frame)`` (no payload); callers check lengths.
    """
    n = len(frame)
    if n < ETH_HLEN:
        return (0, 0, 0)
    etype = _BE16(frame, 12)[0]
    off = ETH_HLEN
    vid = 0
    if etype == ETH_P_8021Q or etype == ETH_P_8021AD:
        if n < off + VLAN_HLEN:
            return (etype, off, 0)
        tci, etype = _BE16x2(frame, off)
        vid = tci & 0x0FFF
        off += VLAN_HLEN
        if etype == ETH_P_8021Q or etype == ETH_P_8021AD:
            if n < off + VLAN_HLEN:
                return (etype, off, vid)
            etype = _BE16(frame, off + 2)[0]
            off += VLAN_HLEN
    return (etype, off, vid)


def eth_header(dst: bytes, src: bytes, ethertype: int, vlan: int | None = None) -> bytes:
    """Ethernet header, with one 802.1Q tag when ``vlan`` is given.

    ``vlan`` is written as the whole 16-bit TCI, so a caller that wants a
    priority may pass ``(pcp << 13) | vid``; plain VIDs (0..4095) are the
    common case.
    """
    if vlan is None:
        return _ETH_HDR.pack(dst, src, ethertype)
    if not 0 <= vlan <= 0xFFFF:
        raise ValueError(f"VLAN TCI out of range: {vlan}")
    return _ETH_HDR.pack(dst, src, ETH_P_8021Q) + _VLAN_TAG.pack(vlan, ethertype)


def pad(frame: bytes | bytearray) -> bytes:
    """Pad to the 60-byte Ethernet minimum (the NIC appends the FCS).

    Raw sockets do not pad for us and some drivers send runts as-is,
    which switches drop; so every builder pads."""
    n = len(frame)
    if n >= ETH_ZLEN:
        return bytes(frame)
    return bytes(frame) + bytes(ETH_ZLEN - n)
