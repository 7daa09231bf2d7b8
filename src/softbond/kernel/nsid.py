"""Reaching a network namespace known only by its id.

The kernel tells a namespace that one of its interfaces moved away
(RTM_DELLINK with IFLA_NEW_NETNSID) by the id the new namespace has as seen
from the old one. To act on the interface there, that id is matched against
the namespaces this host has (named ones under /run/netns, and every
process's), asking the kernel for each one's id (RTM_GETNSID), and the work
runs in a thread that has entered it (setns is per thread).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import socket
import struct
import threading

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLM_F_REQUEST = 1
RTM_NEWNSID = 88
RTM_GETNSID = 90
NETNSA_NSID = 1
NETNSA_FD = 3
CLONE_NEWNET = 0x40000000

_NLMSGHDR = struct.Struct("=IHHII")
_RTGENMSG = struct.Struct("=Bxxx")
_ATTR = struct.Struct("=HH")
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def id_of(fd: int) -> int:
    """The id of the namespace `fd` refers to, as seen from this thread's
    namespace (-1: none assigned)."""
    body = _RTGENMSG.pack(socket.AF_UNSPEC) + _ATTR.pack(8, NETNSA_FD) + struct.pack("=I", fd)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE) as sock:
        sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_GETNSID, NLM_F_REQUEST, 1, 0) + body)
        data = sock.recv(4096)
    if len(data) < _NLMSGHDR.size + _RTGENMSG.size or _NLMSGHDR.unpack_from(data)[1] != RTM_NEWNSID:
        return -1
    offset = _NLMSGHDR.size + _RTGENMSG.size
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        if kind == NETNSA_NSID and length >= 8:
            return struct.unpack_from("=i", data, offset + _ATTR.size)[0]
        offset += (length + 3) & ~3
    return -1


def open_namespace(netnsid: int) -> int | None:
    """An open fd of the namespace with this id, or None."""
    seen = set()
    for path in sorted(glob.glob("/run/netns/*")) + glob.glob("/proc/[0-9]*/ns/net"):
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue                      # gone meanwhile, or not ours to see
        if id_of(fd) == netnsid:
            return fd
        os.close(fd)
    return None


def run_in(fd: int, work) -> None:
    """work() in a thread that entered the namespace `fd`; its exceptions
    are raised here. Threads it starts are in that namespace too."""
    failure: list[BaseException] = []

    def enter_and_work() -> None:
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"cannot enter the namespace: {os.strerror(err)}")
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failure.append(exc)
    thread = threading.Thread(target=enter_and_work, name="softbond-netns")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
