"""virtio-net header (struct virtio_net_hdr) for TAP IFF_VNET_HDR and
AF_PACKET PACKET_VNET_HDR.

With these options every frame read or written is prefixed by this
header, which carries checksum-offload and GSO metadata.  That lets the
bond hand 64 KiB TSO super-frames and partial checksums straight from the
TAP to member sockets instead of segmenting/checksumming in Python.

Fields are in native byte order: that is what TUN uses by default
(legacy virtio, tun_is_little_endian() on little-endian hosts) and what
AF_PACKET always uses.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .ethernet import Frame

VNET_HDR_LEN = 10
VNET_HDR_MRG_LEN = 12  # virtio_net_hdr_mrg_rxbuf (TUNSETVNETHDRSZ 12): + num_buffers u16

# flags
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1  # csum_start/csum_offset describe a partial L4 checksum
VIRTIO_NET_HDR_F_DATA_VALID = 2  # receive side: checksum already verified
VIRTIO_NET_HDR_F_RSC_INFO = 4

# gso_type
VIRTIO_NET_HDR_GSO_NONE = 0
VIRTIO_NET_HDR_GSO_TCPV4 = 1
VIRTIO_NET_HDR_GSO_UDP = 3  # UFO
VIRTIO_NET_HDR_GSO_TCPV6 = 4
VIRTIO_NET_HDR_GSO_UDP_L4 = 5  # USO
VIRTIO_NET_HDR_GSO_ECN = 0x80  # flag bit, OR-ed into one of the above

# Prefix for frames we originate ourselves (ARPs, LACPDUs, ...): no
# offload requested.
VNET_NONE = bytes(VNET_HDR_LEN)

_VNET = struct.Struct("=BBHHHH")


class VnetHdr(NamedTuple):
    flags: int = 0
    gso_type: int = VIRTIO_NET_HDR_GSO_NONE
    hdr_len: int = 0
    gso_size: int = 0
    csum_start: int = 0
    csum_offset: int = 0

    def pack(self) -> bytes:
        return _VNET.pack(*self)

    @property
    def needs_csum(self) -> bool:
        return bool(self.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)

    @property
    def is_gso(self) -> bool:
        return (self.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE


def parse_vnet(buf: Frame, offset: int = 0) -> VnetHdr | None:
    """Decode the 10-byte header at ``offset``; None if ``buf`` is too short.

    Never raises on short input; values are returned as found (validation
    against the payload is up to the caller, as the kernel does it when
    the frame is injected)."""
    if offset < 0 or len(buf) < offset + VNET_HDR_LEN:
        return None
    return VnetHdr._make(_VNET.unpack_from(buf, offset))


def build_vnet(
    flags: int = 0,
    gso_type: int = VIRTIO_NET_HDR_GSO_NONE,
    hdr_len: int = 0,
    gso_size: int = 0,
    csum_start: int = 0,
    csum_offset: int = 0,
) -> bytes:
    return _VNET.pack(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def split_vnet(buf: Frame, hdr_len: int = VNET_HDR_LEN) -> tuple[VnetHdr | None, memoryview]:
    """``(VnetHdr | None, memoryview of the frame after the header)``.

    The frame view aliases ``buf`` (no copy).  With a short buffer the
    header is None and the view is empty."""
    mv = memoryview(buf)
    if len(mv) < hdr_len or hdr_len < VNET_HDR_LEN:
        return None, mv[len(mv) :]
    return parse_vnet(mv), mv[hdr_len:]


_LITTLE = struct.pack("=H", 1) == b"\x01\x00"
# Byte offsets of the native-endian u16 fields' low and high bytes.
_SIZE_LO, _SIZE_HI = (4, 5) if _LITTLE else (5, 4)
_START_LO, _START_HI = (6, 7) if _LITTLE else (7, 6)
_HDRLEN_LO, _HDRLEN_HI = (2, 3) if _LITTLE else (3, 2)


def gso_segments(frame: Frame, n: int) -> int:
    """How many frames the `n`-byte frame in `frame` (virtio-net header
    first) is on the wire: a GSO super-frame becomes ceil(payload /
    gso_size) segments, each carrying the headers again (what the kernel
    computes as gso_segs); anything else is one. Single-byte reads only: the
    data path calls this per frame and must not allocate."""
    gso_type = frame[1] & ~VIRTIO_NET_HDR_GSO_ECN
    gso_size = frame[_SIZE_LO] | frame[_SIZE_HI] << 8
    if gso_type == VIRTIO_NET_HDR_GSO_NONE or not gso_size:
        return 1
    payload = n - gso_headers_end(frame, n)
    return -(-payload // gso_size) if payload > gso_size else 1


def gso_headers_end(frame: Frame, n: int) -> int:
    """Where a GSO super-frame's payload starts (from the start of the
    virtio-net header): after the L4 header, csum_start (relative to the
    Ethernet header; GSO frames always carry a partial checksum) plus the
    TCP header's data offset, or the 8-byte UDP header. hdr_len is only a
    hint of the linear part (virtio_net_hdr_from_skb), used when there is
    no csum_start; `n` when the headers are cut short."""
    gso_type = frame[1] & ~VIRTIO_NET_HDR_GSO_ECN
    if frame[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM:
        l4 = VNET_HDR_LEN + (frame[_START_LO] | frame[_START_HI] << 8)
        if gso_type in (VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6):
            if l4 + 12 >= n:
                return n
            return l4 + (frame[l4 + 12] >> 4) * 4
        return l4 + 8
    return VNET_HDR_LEN + (frame[_HDRLEN_LO] | frame[_HDRLEN_HI] << 8)


def gso_wire_bytes(frame: Frame, n: int, segments: int) -> int:
    """The bytes the `n`-byte frame (virtio-net header first) is on the wire
    as `segments` frames (gso_segments): its Ethernet bytes plus the headers
    each segment beyond the first repeats."""
    if segments <= 1:
        return n - VNET_HDR_LEN
    return n - VNET_HDR_LEN + (segments - 1) * (min(gso_headers_end(frame, n), n) - VNET_HDR_LEN)
