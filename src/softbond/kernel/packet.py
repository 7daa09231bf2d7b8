"""AF_PACKET sockets bound to member NICs.

The data socket carries every frame of a member with a virtio-net header
(PACKET_VNET_HDR) so GSO/GRO super-frames and partial checksums pass
through intact. PACKET_IGNORE_OUTGOING keeps our own transmissions out of
the receive queue. Control-plane listeners (ARP monitor, LACP) open their
own sockets bound to one ethertype, so the data path never has to branch
on frame contents.
"""
from __future__ import annotations

import ctypes
import socket
import struct

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
PACKET_MR_ALLMULTI = 2
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_ATTACH_FILTER = 26

BUFFER_BYTES = 4 * 1024 * 1024


def _force_buffers(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, BUFFER_BYTES)
        sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, BUFFER_BYTES)
    except OSError:
        # Without CAP_NET_ADMIN the defaults still work, just with more drops.
        pass


def open_data_socket(ifname: str, ifindex: int) -> socket.socket:
    # Protocol 0 at creation so no frame of another interface is queued
    # before bind() narrows the socket to this member.
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
    try:
        sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        # LACPDUs and Markers are the control plane's (its own listener):
        # read here they would be dropped by the loop on a member not
        # collecting, or handed up to a bond device that drops them - one
        # receive drop per LACPDU either way. The kernel's bonding consumes
        # them in its rx_handler; this filter keeps them off the data path.
        _attach_filter(sock, not_ethertype_filter(ETH_P_SLOW))
        _force_buffers(sock)
        sock.bind((ifname, ETH_P_ALL))
        # Multicast (IPv6 neighbour discovery, IGMP groups) must reach the
        # bond whichever member is active, as the kernel's bonding syncs
        # multicast lists to its slaves.
        mreq = ifindex.to_bytes(4, "little") + PACKET_MR_ALLMULTI.to_bytes(2, "little") + bytes(10)
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    except OSError:
        sock.close()
        raise
    return sock


ETH_P_SLOW = 0x8809
ACCEPT_WHOLE = 0xFFFFFFFF     # a filter's return is the snap length: GSO frames exceed 64 KB


def _attach_filter(sock: socket.socket, program: bytes) -> None:
    buf = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def not_ethertype_filter(ethertype: int) -> bytes:
    """Classic BPF: every frame except those of `ethertype` (untagged)."""
    insns = (
        (0x28, 0, 0, 12),             # ldh [12]
        (0x15, 1, 0, ethertype),      # jeq #ethertype, drop, accept
        (0x06, 0, 0, ACCEPT_WHOLE),   # ret #whole frame
        (0x06, 0, 0, 0),              # ret #0
    )
    return b"".join(struct.pack("HBBI", *i) for i in insns)


def ethertype_filter(ethertype: int) -> bytes:
    """Classic BPF: accept frames whose (untagged) ethertype matches."""
    insns = (
        (0x28, 0, 0, 12),          # ldh [12]
        (0x15, 0, 1, ethertype),   # jeq #ethertype, accept, drop
        (0x06, 0, 0, 0xFFFF),      # ret #65535
        (0x06, 0, 0, 0),           # ret #0
    )
    return b"".join(struct.pack("HBBI", *i) for i in insns)


def open_listener(ifname: str, ethertype: int) -> socket.socket:
    """A non-blocking socket that sees only `ethertype` frames on `ifname`.

    It listens on all protocols with a socket filter rather than binding to
    the ethertype: protocol-bound sockets are fed after tc ingress, where
    members drop everything (ports/isolate.py); all-protocol taps come first.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK, 0)
    try:
        _attach_filter(sock, ethertype_filter(ethertype))
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        sock.bind((ifname, ETH_P_ALL))
    except OSError:
        sock.close()
        raise
    return sock
