"""Slow-protocols codecs: LACPDU and Marker PDU (IEEE 802.1AX, 802.3 Annex 43B).

Both PDUs are 110 octets after the 14-octet Ethernet header, sent to the
Slow Protocols multicast address 01:80:c2:00:00:02 with ethertype 0x8809.

LACPDU payload (offsets from the subtype octet, as in the standard's table):

    0  subtype 0x01          1  version 0x01
    2  TLV 0x01, len 20      4  actor: sys prio(2) system(6) key(2)
                                port prio(2) port(2) state(1) reserved(3)
   22  TLV 0x02, len 20     24  partner: same layout as the actor
   42  TLV 0x03, len 16     44  collector max delay(2) reserved(12)
   58  TLV 0x00, len 0      60  reserved(50)

Marker PDU payload:

    0  subtype 0x02          1  version 0x01
    2  TLV 0x01 info / 0x02 response, len 16
    4  requester port(2) system(6) transaction id(4) pad(2)
   18  TLV 0x00, len 0      20  reserved(90)

``parse_slow`` validates every TLV type and length and raises ``PduError``
(and only that) on anything malformed; reserved octets are ignored on
receipt, as the standard asks.  Offsets in error messages are relative to
the subtype octet.  Version 1 PDUs must have the terminator at offset 58;
a higher version (802.1AX-2014 v2) may carry further well-formed TLVs after
the collector TLV, which are skipped.  Frames may carry trailing octets
(padding, FCS) after the 110-octet PDU.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "SLOW_PROTOCOLS_MAC",
    "ETH_P_SLOW",
    "LACP_ACTIVITY",
    "LACP_TIMEOUT",
    "AGGREGATION",
    "SYNCHRONIZATION",
    "COLLECTING",
    "DISTRIBUTING",
    "DEFAULTED",
    "EXPIRED",
    "SUBTYPE_LACP",
    "SUBTYPE_MARKER",
    "MARKER_INFORMATION",
    "MARKER_RESPONSE",
    "LACPDU_LEN",
    "FRAME_LEN",
    "LacpInfo",
    "Lacpdu",
    "MarkerPdu",
    "PduError",
    "UnknownSubtype",
    "parse_slow",
    "build_lacpdu",
    "build_marker",
    "state_names",
]

SLOW_PROTOCOLS_MAC = bytes.fromhex("0180c2000002")
ETH_P_SLOW = 0x8809

# Actor_State / Partner_State bits (802.1AX 6.4.2.3, <uapi/linux/if_bonding.h>).
LACP_ACTIVITY = 0x01
LACP_TIMEOUT = 0x02
AGGREGATION = 0x04
SYNCHRONIZATION = 0x08
COLLECTING = 0x10
DISTRIBUTING = 0x20
DEFAULTED = 0x40
EXPIRED = 0x80

_STATE_NAMES = (
    "activity",
    "timeout",
    "aggregation",
    "synchronization",
    "collecting",
    "distributing",
    "defaulted",
    "expired",
)

SUBTYPE_LACP = 0x01
SUBTYPE_MARKER = 0x02
MARKER_INFORMATION = 0x01
MARKER_RESPONSE = 0x02

ETH_HLEN = 14
LACPDU_LEN = 110  # both LACPDU and Marker PDU
FRAME_LEN = ETH_HLEN + LACPDU_LEN

_TLV_ACTOR, _TLV_PARTNER, _TLV_COLLECTOR, _TLV_TERMINATOR = 0x01, 0x02, 0x03, 0x00
_INFO_LEN, _COLLECTOR_LEN, _MARKER_INFO_LEN = 20, 16, 16
_VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)

_ETH = struct.Struct("!6s6sH")
_BE16 = struct.Struct("!H")
# TLV type, length, system priority, system, key, port priority, port, state, 3 reserved.
_INFO = struct.Struct("!BBH6sHHHB3x")
_COLLECTOR = struct.Struct("!BBH12x")
_LACPDU = struct.Struct("!6s6sHBB" + "BBH6sHHHB3x" * 2 + "BBH12x" + "BB50x")
_MARKER = struct.Struct("!6s6sHBBBBH6sIxxBB90x")
assert _LACPDU.size == FRAME_LEN and _MARKER.size == FRAME_LEN


class PduError(ValueError):
    """A received slow-protocols frame is malformed; the message says why."""


class UnknownSubtype(PduError):
    """A well-formed slow-protocols frame of a subtype other than LACP or
    Marker (OAM, OSSP, ...): counted as "unknown", not "illegal"."""

    def __init__(self, subtype: int):
        super().__init__(f"unknown slow protocol subtype 0x{subtype:02x}")
        self.subtype = subtype


@dataclass(frozen=True)
class LacpInfo:
    """One Actor or Partner Information TLV."""

    system_priority: int
    system: bytes
    key: int
    port_priority: int
    port: int
    state: int


@dataclass(frozen=True)
class Lacpdu:
    actor: LacpInfo
    partner: LacpInfo
    collector_max_delay: int = 0


@dataclass(frozen=True)
class MarkerPdu:
    kind: int  # MARKER_INFORMATION (1) or MARKER_RESPONSE (2)
    port: int
    system: bytes
    transaction_id: int


def state_names(state: int) -> list[str]:
    """The names of the bits set in an Actor/Partner state octet."""
    return [name for bit, name in enumerate(_STATE_NAMES) if state & (1 << bit)]


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def _as_bytes_view(frame: object) -> memoryview:
    if isinstance(frame, memoryview):
        if frame.format == "B" and frame.ndim == 1 and frame.c_contiguous:
            return frame
        try:
            return frame.cast("B")
        except (TypeError, ValueError) as exc:
            raise PduError("not a contiguous byte buffer") from exc
    if isinstance(frame, (bytes, bytearray)):
        return memoryview(frame)
    raise PduError("not a byte buffer")


def _info(buf: memoryview, off: int, tlv: int, what: str) -> LacpInfo:
    kind, length, prio, system, key, pprio, port, state = _INFO.unpack_from(buf, off)
    if kind != tlv:
        raise PduError(f"bad TLV type 0x{kind:02x} at offset {off - ETH_HLEN}")
    if length != _INFO_LEN:
        raise PduError(f"bad {what} length {length}")
    return LacpInfo(prio, system, key, pprio, port, state)


def _skip_extra_tlvs(buf: memoryview, off: int, end: int) -> None:
    """Version 2+ LACPDUs: walk the TLVs after the collector TLV up to the
    terminator.  Every TLV must fit and be at least 2 octets long."""
    while off + 2 <= end:
        kind, length = buf[off], buf[off + 1]
        if kind == _TLV_TERMINATOR:
            if length != 0:
                raise PduError(f"bad terminator length {length}")
            return
        if length < 2 or off + length > end:
            raise PduError(f"bad TLV length {length} at offset {off - ETH_HLEN}")
        off += length
    raise PduError("terminator missing")


def _parse_lacp(buf: memoryview, version: int) -> Lacpdu:
    actor = _info(buf, ETH_HLEN + 2, _TLV_ACTOR, "actor")
    partner = _info(buf, ETH_HLEN + 22, _TLV_PARTNER, "partner")
    kind, length, max_delay = _COLLECTOR.unpack_from(buf, ETH_HLEN + 42)
    if kind != _TLV_COLLECTOR:
        raise PduError(f"bad TLV type 0x{kind:02x} at offset 42")
    if length != _COLLECTOR_LEN:
        raise PduError(f"bad collector length {length}")
    if version == 1:
        kind, length = buf[ETH_HLEN + 58], buf[ETH_HLEN + 59]
        if kind != _TLV_TERMINATOR:
            raise PduError(f"terminator missing (TLV type 0x{kind:02x} at offset 58)")
        if length != 0:
            raise PduError(f"bad terminator length {length}")
    else:
        _skip_extra_tlvs(buf, ETH_HLEN + 58, len(buf))
    return Lacpdu(actor, partner, max_delay)


def _parse_marker(buf: memoryview) -> MarkerPdu:
    (_dst, _src, _typ, _subtype, _version, kind, length, port, system, tid, term, term_len) = _MARKER.unpack_from(
        buf, 0
    )
    if kind not in (MARKER_INFORMATION, MARKER_RESPONSE):
        raise PduError(f"bad TLV type 0x{kind:02x} at offset 2")
    if length != _MARKER_INFO_LEN:
        raise PduError(f"bad marker length {length}")
    if term != _TLV_TERMINATOR:
        raise PduError(f"terminator missing (TLV type 0x{term:02x} at offset 18)")
    if term_len != 0:
        raise PduError(f"bad terminator length {term_len}")
    return MarkerPdu(kind, port, system, tid)


def parse_slow(frame: bytes | bytearray | memoryview) -> Lacpdu | MarkerPdu:
    """Parse a received slow-protocols frame, starting at the Ethernet
    header.  Raises ``PduError`` (``UnknownSubtype`` for a well-formed
    frame of another slow protocol) and nothing else."""
    buf = _as_bytes_view(frame)
    try:
        return _parse(buf)
    except (struct.error, IndexError, TypeError) as exc:  # defence in depth
        raise PduError(f"malformed ({exc})") from exc


def _parse(buf: memoryview) -> Lacpdu | MarkerPdu:
    n = len(buf)
    if n < ETH_HLEN + 1:
        raise PduError("truncated")
    (ethertype,) = _BE16.unpack_from(buf, 12)
    if ethertype in _VLAN_TPIDS:
        raise PduError("VLAN tagged (slow protocols frames are untagged)")
    if ethertype != ETH_P_SLOW:
        raise PduError(f"not a slow protocols frame (ethertype 0x{ethertype:04x})")
    if buf[:6] != SLOW_PROTOCOLS_MAC:
        raise PduError("bad destination (not 01:80:c2:00:00:02)")
    subtype = buf[ETH_HLEN]
    if subtype not in (SUBTYPE_LACP, SUBTYPE_MARKER):
        raise UnknownSubtype(subtype)
    if n < FRAME_LEN:
        raise PduError("truncated")
    version = buf[ETH_HLEN + 1]
    if subtype == SUBTYPE_LACP:
        if version < 1:
            raise PduError(f"bad version {version}")
        return _parse_lacp(buf, version)
    if version != 1:
        raise PduError(f"bad version {version}")
    return _parse_marker(buf)


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


def _check_mac(value: bytes | bytearray | memoryview, what: str) -> bytes:
    mac = bytes(value)
    if len(mac) != 6:
        raise ValueError(f"{what} must be 6 bytes, got {len(mac)}")
    return mac


def _info_fields(info: LacpInfo, tlv: int) -> tuple[int, int, int, bytes, int, int, int, int]:
    return (
        tlv,
        _INFO_LEN,
        info.system_priority,
        _check_mac(info.system, "system"),
        info.key,
        info.port_priority,
        info.port,
        info.state,
    )


def build_lacpdu(src_mac: bytes, pdu: Lacpdu) -> bytes:
    """The full 124-octet Ethernet frame carrying *pdu* (version 1),
    reserved fields zero."""
    try:
        return _LACPDU.pack(
            SLOW_PROTOCOLS_MAC,
            _check_mac(src_mac, "src_mac"),
            ETH_P_SLOW,
            SUBTYPE_LACP,
            1,
            *_info_fields(pdu.actor, _TLV_ACTOR),
            *_info_fields(pdu.partner, _TLV_PARTNER),
            _TLV_COLLECTOR,
            _COLLECTOR_LEN,
            pdu.collector_max_delay,
            _TLV_TERMINATOR,
            0,
        )
    except struct.error as exc:
        raise ValueError(f"LACPDU field out of range: {exc}") from exc


def build_marker(src_mac: bytes, marker: MarkerPdu) -> bytes:
    """The full 124-octet Ethernet frame carrying a Marker Information or
    Marker Response PDU, padded with the 90 reserved octets."""
    if marker.kind not in (MARKER_INFORMATION, MARKER_RESPONSE):
        raise ValueError(f"bad marker kind {marker.kind}")
    try:
        return _MARKER.pack(
            SLOW_PROTOCOLS_MAC,
            _check_mac(src_mac, "src_mac"),
            ETH_P_SLOW,
            SUBTYPE_MARKER,
            1,
            marker.kind,
            _MARKER_INFO_LEN,
            marker.port,
            _check_mac(marker.system, "system"),
            marker.transaction_id,
            _TLV_TERMINATOR,
            0,
        )
    except struct.error as exc:
        raise ValueError(f"marker field out of range: {exc}") from exc
