"""Link events from rtnetlink (RTMGRP_LINK), parsed by hand.

Carrier changes arrive here within microseconds of the driver noticing them,
which is what makes event-driven failover fast. Only the few fields the bond
needs are decoded; malformed messages are skipped, never fatal.
"""
from __future__ import annotations

import ctypes
import socket
import struct
from typing import Iterator, NamedTuple

NETLINK_ROUTE = 0
RTMGRP_LINK = 1
RTM_NEWLINK = 16
RTM_DELLINK = 17
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_GSO_MAX_SEGS = 40
IFLA_GSO_MAX_SIZE = 41
IFLA_NEW_NETNSID = 45
IFLA_NEW_IFINDEX = 49
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000

SO_ATTACH_FILTER = 26
SO_DETACH_FILTER = 27
IFI_INDEX_OFFSET = 20        # nlmsghdr (16 bytes), then ifi_family, pad, ifi_type
MAX_FILTERED = 250           # a jeq's jump offset is one byte

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_RTATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_S32 = struct.Struct("=i")


class LinkEvent(NamedTuple):
    ifindex: int
    ifname: str
    deleted: bool
    admin_up: bool
    carrier: bool
    # 0: not in the message. The bond follows its own device's MTU and
    # its members' GSO limits from these.
    mtu: int = 0
    gso_max_size: int = 0
    gso_max_segs: int = 0
    address: bytes = b""          # the MAC (b"": not in the message)
    # A deletion that is a move to another namespace (the kernel's bond
    # releases the slave then): the namespace's id as seen from here, and
    # the interface's ifindex there. -1 and 0: an ordinary deletion.
    new_netnsid: int = -1
    new_ifindex: int = 0


def open_link_monitor() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, RTMGRP_LINK))
    return sock


def filter_program(ifindexes) -> list[tuple[int, int, int, int]] | None:
    """A classic BPF socket filter that lets through only link messages
    about these interfaces (None: too many to list, take everything).

    Every process listening on RTMGRP_LINK is woken for every link change in
    its namespace: on a host whose containers come and go, or with several
    bonds, most of those wakeups are about somebody else's interfaces. The
    kernel runs this filter before queueing, so they never happen."""
    wanted = sorted(set(ifindexes))
    if len(wanted) > MAX_FILTERED:
        return None
    n = len(wanted)
    # BPF_LD|BPF_W|BPF_ABS reads big-endian; ifi_index is in host order.
    prog = [(0x20, 0, 0, IFI_INDEX_OFFSET)]
    for i, ifindex in enumerate(wanted):
        value = struct.unpack("!I", struct.pack("=i", ifindex))[0]
        prog.append((0x15, n - i, 0, value))       # jeq #ifindex -> accept
    prog.append((0x06, 0, 0, 0))                    # ret #0: not ours (and short messages)
    prog.append((0x06, 0, 0, 0xFFFFFFFF))           # accept: the whole message
    return prog


def set_link_filter(sock: socket.socket, ifindexes) -> None:
    """Listen to these interfaces only (see filter_program); replaces the
    previous filter."""
    prog = filter_program(ifindexes)
    if prog is None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
        except OSError:
            pass                 # no filter attached
        return
    code = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *ins) for ins in prog))
    # struct sock_fprog; the kernel copies the program during the call.
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("@HP", len(prog), ctypes.addressof(code)))


def parse_link_messages(data: bytes) -> Iterator[LinkEvent]:
    offset = 0
    end = len(data)
    while offset + _NLMSGHDR.size <= end:
        length, msg_type, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > end:
            return
        if msg_type in (RTM_NEWLINK, RTM_DELLINK) and length >= _NLMSGHDR.size + _IFINFOMSG.size:
            body = offset + _NLMSGHDR.size
            _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(data, body)
            name, address, numbers = _attributes(data, body + _IFINFOMSG.size, offset + length)
            yield LinkEvent(index, name, msg_type == RTM_DELLINK, bool(flags & IFF_UP), bool(flags & IFF_LOWER_UP),
                            numbers[IFLA_MTU], numbers[IFLA_GSO_MAX_SIZE], numbers[IFLA_GSO_MAX_SEGS], address,
                            numbers[IFLA_NEW_NETNSID], numbers[IFLA_NEW_IFINDEX])
        offset += (length + 3) & ~3


def _attributes(data: bytes, offset: int, end: int) -> tuple[str, bytes, dict[int, int]]:
    """IFLA_IFNAME, IFLA_ADDRESS and the numbers (IFLA_MTU, the GSO limits,
    IFLA_NEW_NETNSID, IFLA_NEW_IFINDEX) of one message ("", b"", 0 or -1
    where absent or malformed)."""
    name, address = "", b""
    numbers = {IFLA_MTU: 0, IFLA_GSO_MAX_SIZE: 0, IFLA_GSO_MAX_SEGS: 0, IFLA_NEW_NETNSID: -1, IFLA_NEW_IFINDEX: 0}
    while offset + _RTATTR.size <= end:
        rta_len, rta_type = _RTATTR.unpack_from(data, offset)
        if rta_len < _RTATTR.size or offset + rta_len > end:
            break
        if rta_type == IFLA_IFNAME:
            raw = data[offset + _RTATTR.size: offset + rta_len]
            name = raw.split(b"\0", 1)[0].decode(errors="replace")
        elif rta_type == IFLA_ADDRESS:
            address = bytes(data[offset + _RTATTR.size: offset + rta_len])
        elif rta_type in numbers and rta_len >= _RTATTR.size + 4:
            numbers[rta_type] = (_S32 if rta_type == IFLA_NEW_NETNSID else _U32).unpack_from(
                data, offset + _RTATTR.size)[0]
        offset += (rta_len + 3) & ~3
    return name, address, numbers


def read_link_events(sock: socket.socket) -> list[LinkEvent]:
    events: list[LinkEvent] = []
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return events
        except OSError:
            # ENOBUFS: events were lost; the caller re-reads carrier state.
            events.append(LinkEvent(0, "", False, False, False))
            return events
        events.extend(parse_link_messages(data))
