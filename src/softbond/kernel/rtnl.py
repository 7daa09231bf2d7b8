"""rtnetlink requests, encoded and decoded by hand: links, addresses, routes
and the tc qdiscs and filters softbond puts on members.

This replaces pyroute2 in the bond process: importing pyroute2 costs 19.7
MiB of RSS per bond (its package loads NDB, IPDB, sqlite3, ssl, decimal),
and the daemon needs only the few requests below. Requests are blocking
syscalls on one socket, serialised by a lock (the daemon calls them from
its loop and from helper threads). A refused request raises NetlinkError
with the kernel's errno.
"""
from __future__ import annotations

import os
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Iterator

from .netlink import IFLA_ADDRESS, IFLA_GSO_MAX_SEGS, IFLA_GSO_MAX_SIZE, IFLA_IFNAME, IFLA_MTU

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 1, 2, 4, 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC = 36, 37, 38
RTM_NEWTFILTER, RTM_DELTFILTER, RTM_GETTFILTER = 44, 45, 46
NLA_TYPE_MASK = 0x3FFF

IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO, IFLA_LINK_NETNSID = 5, 10, 18, 37
IFLA_MIN_MTU, IFLA_MAX_MTU = 50, 51
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO = 1, 2, 3, 4, 6
IFA_FLAGS, IFA_RT_PRIORITY, IFA_PROTO = 8, 9, 11
RTA_DST, RTA_SRC, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_METRICS = 1, 2, 4, 5, 6, 7, 8
RTA_CACHEINFO, RTA_TABLE, RTA_PREF, RTA_EXPIRES = 12, 15, 20, 23
RTAX_CC_ALGO = 16
# The metric names a route's record keeps (inheritrecord JSON; pyroute2's names, which older records have).
RTAX_NAMES = ("RTAX_UNSPEC", "RTAX_LOCK", "RTAX_MTU", "RTAX_WINDOW", "RTAX_RTT", "RTAX_RTTVAR", "RTAX_SSTHRESH",
              "RTAX_CWND", "RTAX_ADVMSS", "RTAX_REORDERING", "RTAX_HOPLIMIT", "RTAX_INITCWND", "RTAX_FEATURES",
              "RTAX_RTO_MIN", "RTAX_INITRWND", "RTAX_QUICKACK", "RTAX_CC_ALGO", "RTAX_FASTOPEN_NO_COOKIE")
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
TCA_KIND, TCA_OPTIONS, TCA_STATS = 1, 2, 3
TC_H_ROOT = 0xFFFFFFFF
TCA_BPF_FD, TCA_BPF_NAME, TCA_BPF_FLAGS, TCA_BPF_ID = 6, 7, 8, 11
TCA_BPF_FLAG_ACT_DIRECT = 1
TC_H_CLSACT, CLSACT_HANDLE = 0xFFFFFFF1, 0xFFFF0000
ETH_P_ALL = 3
IFF_UP, IFF_PROMISC = 0x1, 0x100
IFNAMSIZ = 16

_HEADER = struct.Struct("=IHHII")
_ATTR = struct.Struct("=HH")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBi")
_RTMSG = struct.Struct("=BBBBBBBBI")
_TCMSG = struct.Struct("=BxxxiIII")
_U8, _U32, _S32 = struct.Struct("=B"), struct.Struct("=I"), struct.Struct("=i")
_TC_STATS = struct.Struct("=QIIIIIII")       # struct tc_stats: bytes, packets, ..., qlen, backlog
# struct tc_tbf_qopt: rate (a struct tc_ratespec, its byte rate last), peakrate, limit, buffer, mtu
_TBF_QOPT = struct.Struct("=8xI12xIII")
TCA_TBF_PARMS, TCA_TBF_RATE64 = 1, 4


class NetlinkError(OSError):
    """The kernel refused a request; `code` (and errno) is its errno."""

    def __init__(self, code: int, what: str = "") -> None:
        super().__init__(code, what or os.strerror(code))
        self.code = code


# ------------------------------------------------------------- attributes
def attr(kind: int, payload: bytes) -> bytes:
    data = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, _U32.pack(value))


def attr_str(kind: int, value: str) -> bytes:
    return attr(kind, value.encode() + b"\0")


def attr_nested(kind: int, *attrs: bytes) -> bytes:
    return attr(kind, b"".join(attrs))      # without NLA_F_NESTED, as iproute2 sends them


def attr_ip(kind: int, family: int, text: str) -> bytes:
    return attr(kind, socket.inet_pton(family, text))


def parse_attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    """type -> payload of the attributes in data[offset:end] (the last of a repeated type)."""
    out = {}
    while offset + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size or offset + length > end:
            break
        out[kind & NLA_TYPE_MASK] = data[offset + _ATTR.size:offset + length]
        offset += (length + 3) & ~3
    return out


def _u32(attrs: dict[int, bytes], kind: int) -> int | None:
    raw = attrs.get(kind)
    return _U32.unpack_from(raw)[0] if raw is not None and len(raw) >= 4 else None


def _str(attrs: dict[int, bytes], kind: int) -> str | None:
    raw = attrs.get(kind)
    return raw.split(b"\0", 1)[0].decode(errors="replace") if raw is not None else None


def _ip(attrs: dict[int, bytes], kind: int, family: int) -> str | None:
    raw = attrs.get(kind)
    try:
        return socket.inet_ntop(family, raw) if raw is not None else None
    except ValueError:
        return None


# ----------------------------------------------------------------- decoded
@dataclass(frozen=True)
class Link:
    index: int
    flags: int
    name: str
    mac: str | None          # "aa:bb:cc:dd:ee:ff"
    mtu: int
    min_mtu: int
    max_mtu: int
    gso_max_size: int
    gso_max_segs: int
    master: int | None
    link: int | None         # IFLA_LINK: a veth's peer
    link_netnsid: int | None  # the peer's namespace when it is another one
    kind: str | None         # IFLA_INFO_KIND: veth, bridge, ...


def _link(data: bytes) -> Link:
    _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(data)
    attrs = parse_attrs(data, _IFINFOMSG.size, len(data))
    info = attrs.get(IFLA_LINKINFO)
    kind = _str(parse_attrs(info, 0, len(info)), IFLA_INFO_KIND) if info is not None else None
    mac = attrs.get(IFLA_ADDRESS)
    netnsid = attrs.get(IFLA_LINK_NETNSID)
    return Link(index, flags, _str(attrs, IFLA_IFNAME) or "", mac.hex(":") if mac else None,
                _u32(attrs, IFLA_MTU) or 0, _u32(attrs, IFLA_MIN_MTU) or 0, _u32(attrs, IFLA_MAX_MTU) or 0,
                _u32(attrs, IFLA_GSO_MAX_SIZE) or 0, _u32(attrs, IFLA_GSO_MAX_SEGS) or 0,
                _u32(attrs, IFLA_MASTER), _u32(attrs, IFLA_LINK) or None,
                _S32.unpack_from(netnsid)[0] if netnsid is not None and len(netnsid) >= 4 else None, kind)


def _address(data: bytes) -> dict:
    family, prefixlen, flags, scope, index = _IFADDRMSG.unpack_from(data)
    attrs = parse_attrs(data, _IFADDRMSG.size, len(data))
    cache = attrs.get(IFA_CACHEINFO)
    preferred, valid = struct.unpack_from("=II", cache) if cache is not None and len(cache) >= 8 else (None, None)
    proto = attrs.get(IFA_PROTO)
    return {"family": family, "prefixlen": prefixlen, "scope": scope, "index": index,
            "flags": _u32(attrs, IFA_FLAGS) or flags,
            "address": _ip(attrs, IFA_ADDRESS, family), "local": _ip(attrs, IFA_LOCAL, family),
            "broadcast": _ip(attrs, IFA_BROADCAST, family), "label": _str(attrs, IFA_LABEL),
            "preferred": preferred, "valid": valid, "metric": _u32(attrs, IFA_RT_PRIORITY),
            "proto": _U8.unpack_from(proto)[0] if proto else None}


def _route(data: bytes) -> dict:
    family, dst_len, src_len, tos, table, proto, scope, kind, flags = _RTMSG.unpack_from(data)
    attrs = parse_attrs(data, _RTMSG.size, len(data))
    metrics = []
    raw = attrs.get(RTA_METRICS)
    for key, value in sorted(parse_attrs(raw, 0, len(raw)).items()) if raw is not None else ():
        name = RTAX_NAMES[key] if key < len(RTAX_NAMES) else f"RTAX_{key}"
        metrics.append([name, value.split(b"\0", 1)[0].decode() if key == RTAX_CC_ALGO else _U32.unpack_from(value)[0]])
    cache = attrs.get(RTA_CACHEINFO)
    pref = attrs.get(RTA_PREF)
    return {"family": family, "dst_len": dst_len, "src_len": src_len, "tos": tos, "proto": proto, "scope": scope,
            "type": kind, "flags": flags, "table": _u32(attrs, RTA_TABLE) or table, "oif": _u32(attrs, RTA_OIF),
            "dst": _ip(attrs, RTA_DST, family), "src": _ip(attrs, RTA_SRC, family),
            "gateway": _ip(attrs, RTA_GATEWAY, family), "prefsrc": _ip(attrs, RTA_PREFSRC, family),
            "priority": _u32(attrs, RTA_PRIORITY), "pref": _U8.unpack_from(pref)[0] if pref else None,
            "metrics": metrics,
            # rta_cacheinfo.rta_expires, in clock ticks
            "expires_ticks": max(_S32.unpack_from(cache, 8)[0], 0) if cache is not None and len(cache) >= 12 else 0}


# ---------------------------------------------------------------- messages
def address_message(kind: int, flags: int, ifindex: int, addr: dict, *, ifa_flags: int, label: str | None,
                    full: bool) -> bytes:
    """RTM_NEWADDR/RTM_DELADDR for an address as _address() reads it;
    `full`: with label, broadcast, lifetimes, metric and proto (a new one)."""
    family = addr["family"]
    parts = [_IFADDRMSG.pack(family, addr["prefixlen"], ifa_flags & 0xFF, addr["scope"], ifindex),
             attr_ip(IFA_ADDRESS, family, addr["address"])]
    if addr["local"]:
        parts.append(attr_ip(IFA_LOCAL, family, addr["local"]))
    if full:
        if addr["broadcast"]:
            parts.append(attr_ip(IFA_BROADCAST, family, addr["broadcast"]))
        if label:
            parts.append(attr_str(IFA_LABEL, label))
        parts.append(attr_u32(IFA_FLAGS, ifa_flags))
        parts.append(attr(IFA_CACHEINFO, struct.pack("=IIII", addr["preferred"], addr["valid"], 0, 0)))
        if addr["metric"]:
            parts.append(attr_u32(IFA_RT_PRIORITY, addr["metric"]))
        if addr.get("proto"):
            parts.append(attr(IFA_PROTO, _U8.pack(addr["proto"])))
    return request(kind, NLM_F_ACK | flags, b"".join(parts))


def route_message(kind: int, flags: int, ifindex: int, route: dict, *, full: bool) -> bytes:
    """RTM_NEWROUTE/RTM_DELROUTE for a route as _route() reads it (expires
    in seconds); `full`: with its metrics and expiry (a new one)."""
    family, table = route["family"], route["table"]
    parts = [_RTMSG.pack(family, route["dst_len"], route["src_len"], route["tos"], table if table < 256 else 252,
                         route["proto"], route["scope"], route["type"], route["flags"]),
             attr_u32(RTA_TABLE, table), attr_u32(RTA_OIF, ifindex)]
    for key, nla in (("dst", RTA_DST), ("src", RTA_SRC), ("gateway", RTA_GATEWAY), ("prefsrc", RTA_PREFSRC)):
        if route[key] is not None:
            parts.append(attr_ip(nla, family, route[key]))
    if route["priority"] is not None:
        parts.append(attr_u32(RTA_PRIORITY, route["priority"]))
    if route["pref"] is not None:
        parts.append(attr(RTA_PREF, _U8.pack(route["pref"])))
    if full and route["metrics"]:
        parts.append(attr_nested(RTA_METRICS, *(
            attr_str(RTAX_NAMES.index(name), value) if isinstance(value, str) else attr_u32(RTAX_NAMES.index(name), value)
            for name, value in route["metrics"])))
    if full and route["expires"]:
        parts.append(attr_u32(RTA_EXPIRES, route["expires"]))
    return request(kind, NLM_F_ACK | flags, b"".join(parts))


def request(kind: int, flags: int, body: bytes) -> bytes:
    """One request (NLM_F_ACK in flags: acknowledged); the caller sets the sequence number."""
    return _HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | flags, 0, 0) + body


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)


def _tc(ifindex: int, handle: int, parent: int, info: int) -> bytes:
    return _TCMSG.pack(socket.AF_UNSPEC, ifindex, handle, parent, info)


def _filter_info(prio: int) -> int:
    return (prio << 16) | socket.htons(ETH_P_ALL)


# ------------------------------------------------------------------ socket
class Rtnl:
    """One rtnetlink socket in the namespace of the thread that opened it."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._sock.bind((0, 0))
        self._seq = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self._sock.close()

    def _exchange(self, message: bytes) -> list[bytes]:
        """Send one request; the bodies of its answers (a dump's messages,
        or nothing for an acknowledged change)."""
        with self._lock:
            self._seq = seq = (self._seq + 1) & 0xFFFFFFFF or 1
            self._sock.send(message[:8] + _U32.pack(seq) + message[12:])
            bodies: list[bytes] = []
            while True:
                data = self._sock.recv(1 << 16)
                offset = 0
                while offset + _HEADER.size <= len(data):
                    length, kind, flags, got_seq, _pid = _HEADER.unpack_from(data, offset)
                    if length < _HEADER.size:
                        break
                    body = data[offset + _HEADER.size:offset + length]
                    offset += (length + 3) & ~3
                    if got_seq != seq:
                        continue                     # an answer to a request given up on
                    if kind == NLMSG_DONE:
                        return bodies
                    if kind == NLMSG_ERROR:
                        code = -_S32.unpack_from(body)[0]
                        if code:
                            raise NetlinkError(code)
                        return bodies
                    bodies.append(body)
                    if not flags & NLM_F_MULTI:
                        return bodies

    def _do(self, kind: int, flags: int, body: bytes) -> None:
        self._exchange(request(kind, NLM_F_ACK | flags, body))

    def _dump(self, kind: int, body: bytes) -> list[bytes]:
        return self._exchange(request(kind, NLM_F_DUMP, body))

    # -- links
    def link(self, *, index: int = 0, name: str | None = None) -> Link | None:
        """One interface by index or name; None when there is none."""
        if name is not None and not 0 < len(name.encode()) < IFNAMSIZ:
            return None
        try:
            found = self._exchange(request(RTM_GETLINK, 0, _ifinfo(index) + (attr_str(IFLA_IFNAME, name) if name else b"")))
        except NetlinkError as exc:
            if exc.code in (19, 2):      # ENODEV, ENOENT
                return None
            raise
        link = _link(found[0]) if found else None
        # The kernel also finds a device by an alternative name; softbond knows interfaces by their name.
        return link if link is None or name is None or link.name == name else None

    def links(self) -> list[Link]:
        return [_link(body) for body in self._dump(RTM_GETLINK, _ifinfo())]

    def set_link(self, index: int, *, up: bool | None = None, promisc: bool | None = None, mac: str | None = None,
                 mtu: int | None = None, gso_max_size: int | None = None, gso_max_segs: int | None = None) -> None:
        flags = change = 0
        for bit, on in ((IFF_UP, up), (IFF_PROMISC, promisc)):
            if on is not None:
                change |= bit
                flags |= bit if on else 0
        parts = [_ifinfo(index, flags, change)]
        if mac:
            parts.append(attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "").replace("-", ""))))
        for kind, value in ((IFLA_MTU, mtu), (IFLA_GSO_MAX_SIZE, gso_max_size), (IFLA_GSO_MAX_SEGS, gso_max_segs)):
            if value is not None:
                parts.append(attr_u32(kind, value))
        self._do(RTM_NEWLINK, 0, b"".join(parts))

    def add_veth(self, name: str, peer: str) -> None:
        peer_info = attr(VETH_INFO_PEER, _ifinfo() + attr_str(IFLA_IFNAME, peer))
        self._do(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, _ifinfo() + attr_str(IFLA_IFNAME, name) + attr_nested(
            IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth"), attr_nested(IFLA_INFO_DATA, peer_info)))

    def del_link(self, index: int) -> None:
        self._do(RTM_DELLINK, 0, _ifinfo(index))

    # -- addresses and routes
    def addresses(self, index: int) -> list[dict]:
        found = (_address(body) for body in self._dump(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)))
        return [a for a in found if a["index"] == index]

    def add_address(self, index: int, address: str, prefixlen: int, broadcast: str | None) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        body = _IFADDRMSG.pack(family, prefixlen, 0, 0, index) + attr_ip(IFA_LOCAL, family, address) \
            + attr_ip(IFA_ADDRESS, family, address)
        if broadcast:
            body += attr_ip(IFA_BROADCAST, family, broadcast)
        self._do(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)

    def routes(self, family: int) -> list[dict]:
        """Every route of the family, in every table."""
        return [_route(body) for body in self._dump(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0))]

    def replace_default_route(self, index: int, gateway: str) -> None:
        family = socket.AF_INET6 if ":" in gateway else socket.AF_INET
        self._do(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE,
                 _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
                 + attr_ip(RTA_GATEWAY, family, gateway) + attr_u32(RTA_OIF, index))

    # -- tc
    def qdisc_kinds(self, index: int) -> list[str]:
        kinds = []
        for body in self._dump(RTM_GETQDISC, _tc(0, 0, 0, 0)):
            if _TCMSG.unpack_from(body)[1] == index:
                kinds.append(_str(parse_attrs(body, _TCMSG.size, len(body)), TCA_KIND) or "")
        return kinds

    def _root_qdiscs(self) -> Iterator[tuple[int, dict[int, bytes]]]:
        """(ifindex, attributes) of each interface's root qdisc, from one dump."""
        for body in self._dump(RTM_GETQDISC, _tc(0, 0, 0, 0)):
            _family, ifindex, _handle, parent, _info = _TCMSG.unpack_from(body)
            if parent == TC_H_ROOT:
                yield ifindex, parse_attrs(body, _TCMSG.size, len(body))

    def root_queues(self) -> dict[int, tuple[int, int]]:
        """ifindex -> (bytes sent, bytes queued now) of each interface's
        root qdisc, from one dump (TCA_STATS; noqueue devices have none)."""
        out = {}
        for ifindex, attrs in self._root_qdiscs():
            stats = attrs.get(TCA_STATS)
            if stats is not None and len(stats) >= _TC_STATS.size:
                sent, *_, backlog = _TC_STATS.unpack_from(stats)
                out[ifindex] = (sent, backlog)
        return out

    def root_shapers(self) -> dict[int, tuple[int, int]]:
        """ifindex -> (bytes a second, bytes it queues at most) of each
        interface whose root qdisc is a tbf: the line rate a shaped link
        drains at, and its limit (one dump)."""
        out = {}
        for ifindex, attrs in self._root_qdiscs():
            if attrs.get(TCA_KIND, b"").rstrip(b"\0") != b"tbf":
                continue
            options = attrs.get(TCA_OPTIONS, b"")
            tbf = parse_attrs(options, 0, len(options))
            parms = tbf.get(TCA_TBF_PARMS)
            if parms is None or len(parms) < _TBF_QOPT.size:
                continue
            rate, limit, _buffer, _mtu = _TBF_QOPT.unpack_from(parms)
            rate64 = tbf.get(TCA_TBF_RATE64)
            if rate64 is not None and len(rate64) >= 8:
                rate = struct.unpack_from("=Q", rate64)[0]
            if rate:
                out[ifindex] = (rate, limit)
        return out

    def add_clsact(self, index: int) -> None:
        self._do(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, _tc(index, CLSACT_HANDLE, TC_H_CLSACT, 0)
                 + attr_str(TCA_KIND, "clsact"))

    def del_clsact(self, index: int) -> None:
        self._do(RTM_DELQDISC, 0, _tc(index, CLSACT_HANDLE, TC_H_CLSACT, 0) + attr_str(TCA_KIND, "clsact"))

    def bpf_filters(self, index: int, parent: int) -> list[tuple[int, int | None]]:
        """(prio, program id) of the filters under `parent` that have
        options (a filter's chain head, without, is skipped); id None:
        not a bpf filter."""
        out = []
        for body in self._dump(RTM_GETTFILTER, _tc(index, 0, parent, 0)):
            info = _TCMSG.unpack_from(body)[4]
            options = parse_attrs(body, _TCMSG.size, len(body)).get(TCA_OPTIONS)
            if options is not None:
                out.append((info >> 16, _u32(parse_attrs(options, 0, len(options)), TCA_BPF_ID)))
        return out

    def set_bpf_filter(self, index: int, parent: int, prio: int, fd: int, name: str, *, replace: bool) -> None:
        """A direct-action bpf filter (handle 1, all protocols) at `prio`;
        replace: over one there, else refused (EEXIST) when there is one."""
        options = attr_nested(TCA_OPTIONS, attr_u32(TCA_BPF_FD, fd), attr_str(TCA_BPF_NAME, name),
                              attr_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT))
        self._do(RTM_NEWTFILTER, NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL),
                 _tc(index, 1, parent, _filter_info(prio)) + attr_str(TCA_KIND, "bpf") + options)

    def del_filter(self, index: int, parent: int, prio: int) -> None:
        self._do(RTM_DELTFILTER, 0, _tc(index, 1, parent, _filter_info(prio)) + attr_str(TCA_KIND, "bpf"))
