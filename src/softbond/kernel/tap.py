"""The bond device: a TAP interface that holds the bond's IP and MAC.

Opened with IFF_VNET_HDR so that the kernel hands us 64 KB GSO super-frames
with their checksum-offload state instead of segmenting every write; member
sockets use the same virtio-net header layout (PACKET_VNET_HDR), so frames
cross the forwarder untouched.
"""
from __future__ import annotations

import fcntl
import os
import struct

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
TUNSETOFFLOAD = 0x400454D0
TUNSETVNETHDRSZ = 0x400454D8

IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000

TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
TUN_F_TSO_ECN = 0x08

VNET_HDR_LEN = 10


class TapError(OSError):
    pass


def open_tap(name: str, *, persist: bool = True, multi_queue: bool = False) -> int:
    """Create (or re-attach to a persistent) TAP named `name`; return its fd.

    Persistence keeps the device, its addresses and routes alive if the
    daemon dies, so a restart re-attaches instead of rebuilding (and TCP
    sessions through the bond survive). With `multi_queue` every call
    attaches one more queue (datapath_workers); a TAP is created one kind or
    the other and re-attaching needs the same kind (see `is_multi_queue`).
    """
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise TapError(exc.errno, f"cannot open /dev/net/tun: {exc.strerror}") from None
    flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (IFF_MULTI_QUEUE if multi_queue else 0)
    try:
        ifr = struct.pack("16sH22x", name.encode(), flags)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
        # TSO bits are only accepted together with CSUM.
        fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
        fcntl.ioctl(fd, TUNSETPERSIST, 1 if persist else 0)
    except OSError as exc:
        os.close(fd)
        raise TapError(exc.errno, f"{name}: cannot set up TAP device: {exc.strerror}") from None
    return fd


def open_queues(name: str, count: int) -> list[int]:
    """`count` queues of a multi-queue TAP (created if missing)."""
    fds: list[int] = []
    try:
        for _ in range(count):
            fds.append(open_tap(name, multi_queue=True))
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def is_multi_queue(name: str) -> bool | None:
    """The kind of an existing TAP (None: no such TAP)."""
    try:
        with open(f"/sys/class/net/{name}/tun_flags") as f:
            return bool(int(f.read().strip(), 16) & IFF_MULTI_QUEUE)
    except (OSError, ValueError):
        return None


def destroy_tap(name: str) -> None:
    """Remove a persistent TAP: attach to it and clear the persist flag."""
    fd = open_tap(name, persist=False, multi_queue=bool(is_multi_queue(name)))
    os.close(fd)
