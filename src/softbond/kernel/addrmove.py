"""Moving an interface's addresses and routes to another interface in one
netlink batch: what `up --inherit` does from the first member to the bond,
and `down` back (see inherit.py).

The dangerous moment is the one where an address is on neither interface:
a host's only NIC turned into a bond over the SSH session running on it.
So everything that moves goes in one netlink batch (every request in a
single sendmsg, the acknowledgements read after): the kernel handles the
requests back to back, and the window is the time it takes to do so
(measured: well under a millisecond for a handful of addresses and routes).
If any request fails, the ones that succeeded are undone, in reverse.

What moves (read first, recorded in the bond's state file before anything
moves, so that crash recovery can give it back):
- every address but IPv6 link-local ones (those belong to the interface;
  the bond makes its own from the same MAC), with prefix length, scope,
  flags, label, lifetimes and prefix-route metric, in their order (IPv4
  secondaries after their primary);
- the routes through the member that an admin or DHCP made (proto boot,
  static, dhcp, ra), in every table, with metric, source, preferred source,
  scope, type, flags, router preference, metrics and expiry. Routes the
  kernel made for the addresses follow the addresses by themselves.

IPv6 addresses are added with IFA_F_NODAD (they were checked on the member
already; DAD would leave them unusable for a second) and then, in the same
batch, replaced with their own flags, which starts no DAD of its own.
"""
from __future__ import annotations

import os
import socket
import struct
import time

from . import rtnl
from .links import sysfs
from .rtnl import Rtnl

RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 20, 21, 24, 25
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLMSG_ERROR = 2
SOL_NETLINK, NETLINK_CAP_ACK = 270, 10
RTNH_F_ONLINK = 4
IFA_F_NODAD = 0x02
# Flags a request may carry: nodad, homeaddress, managetempaddr,
# noprefixroute, mcautojoin, stable-privacy (the kernel sets the others:
# secondary, permanent, tentative, deprecated, dadfailed).
IFA_F_SETTABLE = 0x02 | 0x10 | 0x100 | 0x200 | 0x400 | 0x800
LIFETIME_FOREVER = 0xFFFFFFFF
# Who made a route that moves: boot (iproute2's default), static, ra, dhcp.
MOVED_PROTOS = {3, 4, 9, 16}
USER_HZ = 100   # RTA_CACHEINFO's rta_expires is in clock ticks


class MoveError(Exception):
    pass


def capture(rtnl: Rtnl, ifindex: int, name: str) -> dict:
    """What the member has that the bond takes: a JSON-able record."""
    addresses = []
    for addr in rtnl.addresses(ifindex):
        family, scope = addr["family"], addr["scope"]
        if family == socket.AF_INET6 and scope == 253:      # link-local: the interface's own
            continue
        addresses.append({
            "family": family, "prefixlen": addr["prefixlen"], "scope": scope, "flags": addr["flags"],
            "address": addr["address"], "local": addr["local"], "broadcast": addr["broadcast"],
            "label": addr["label"],
            "valid": LIFETIME_FOREVER if addr["valid"] is None else addr["valid"],
            "preferred": LIFETIME_FOREVER if addr["preferred"] is None else addr["preferred"],
            "metric": addr["metric"], "proto": addr["proto"],
        })
    routes = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for route in rtnl.routes(family):
            if route["oif"] != ifindex or route["proto"] not in MOVED_PROTOS:
                continue
            expires = route["expires_ticks"]
            routes.append({
                **{key: route[key] for key in ("family", "dst_len", "src_len", "tos", "proto", "scope", "type",
                                               "table", "dst", "src", "gateway", "prefsrc", "priority", "pref",
                                               "metrics")},
                "flags": route["flags"] & RTNH_F_ONLINK,
                "expires": (expires + USER_HZ - 1) // USER_HZ if expires else 0,
            })
    return {"from": name, "ifindex": ifindex, "mtu": int(sysfs(name, "mtu") or 0), "addresses": addresses,
            "routes": routes}


# --------------------------------------------------------------- messages
def _addr_msg(kind: int, flags: int, ifindex: int, addr: dict, *, label: str | None,
              extra_ifa_flags: int = 0) -> bytes:
    return rtnl.address_message(kind, flags, ifindex, addr, ifa_flags=(addr["flags"] & IFA_F_SETTABLE) | extra_ifa_flags,
                                label=label, full=kind == RTM_NEWADDR)


def _route_msg(kind: int, flags: int, ifindex: int, route: dict) -> bytes:
    return rtnl.route_message(kind, flags, ifindex, route, full=kind == RTM_NEWROUTE)


# ------------------------------------------------------------------ moves
class _Step:
    """One request of a batch and the request that undoes it."""
    __slots__ = ("do", "undo", "what")

    def __init__(self, do: bytes, undo: bytes | None, what: str) -> None:
        self.do, self.undo, self.what = do, undo, what


def _label(addr: dict, old: str, new: str) -> str | None:
    """An IPv4 label starts with its device's name (eth0:1 -> bond0:1)."""
    label = addr["label"]
    if not label:
        return None
    return new + label[len(old):] if label.startswith(old) else new


def _moves(record: dict, src: tuple[str, int], dst: tuple[str, int]) -> list[_Step]:
    """The requests that move the record's routes and addresses from `src`
    to `dst` (name, ifindex; a src of ifindex 0 is gone and only dst gets
    them): routes off first (an address leaving takes
    its routes along), addresses off in reverse (secondaries before their
    primary, which would take them along), then on again in order."""
    (src_name, src_index), (dst_name, dst_index) = src, dst
    steps = []
    for route in reversed(record["routes"] if src_index else []):
        steps.append(_Step(_route_msg(RTM_DELROUTE, 0, src_index, route),
                           _route_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, src_index, route),
                           f"route {_route_text(route)} off {src_name}"))
    for addr in reversed(record["addresses"] if src_index else []):
        steps.append(_Step(_addr_msg(RTM_DELADDR, 0, src_index, addr, label=None),
                           _addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, src_index, addr,
                                     label=_label(addr, record["from"], src_name), extra_ifa_flags=_nodad(addr)),
                           f"address {addr['address']}/{addr['prefixlen']} off {src_name}"))
    for addr in _in_listing_order(record["addresses"]):
        label = _label(addr, record["from"], dst_name)
        steps.append(_Step(_addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, dst_index, addr, label=label,
                                     extra_ifa_flags=_nodad(addr)),
                           _addr_msg(RTM_DELADDR, 0, dst_index, addr, label=None),
                           f"address {addr['address']}/{addr['prefixlen']} onto {dst_name}"))
        if _nodad(addr) and not addr["flags"] & IFA_F_NODAD:
            # Its own flags back; a modification starts no DAD.
            steps.append(_Step(_addr_msg(RTM_NEWADDR, NLM_F_REPLACE, dst_index, addr, label=label),
                               None, f"flags of {addr['address']} on {dst_name}"))
    for route in record["routes"]:
        steps.append(_Step(_route_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, dst_index, route),
                           _route_msg(RTM_DELROUTE, 0, dst_index, route),
                           f"route {_route_text(route)} onto {dst_name}"))
    return steps


def _in_listing_order(addresses: list[dict]) -> list[dict]:
    """The order to add the addresses in to have them listed as read: the
    kernel appends an IPv4 address after its primary but puts a new IPv6
    one first among those of its scope."""
    return ([a for a in addresses if a["family"] == socket.AF_INET]
            + [a for a in reversed(addresses) if a["family"] != socket.AF_INET])


def _nodad(addr: dict) -> int:
    return IFA_F_NODAD if addr["family"] == socket.AF_INET6 else 0


def _route_text(route: dict) -> str:
    dst = f"{route['dst']}/{route['dst_len']}" if route["dst"] else "default"
    via = f" via {route['gateway']}" if route["gateway"] else ""
    table = f" table {route['table']}" if route["table"] != 254 else ""
    return dst + via + table


def move(record: dict, src: tuple[str, int], dst: tuple[str, int]) -> float:
    """Move everything in `record` from src to dst (name, ifindex) in one
    batch; on any failure undo what was done and raise MoveError naming
    the request and the reason. Returns the seconds the batch took, from
    the send to the last acknowledgement: the most any address or route
    was on neither interface."""
    steps = _moves(record, src, dst)
    if not steps:
        return 0.0
    try:
        sock = _socket()
    except OSError as exc:
        raise MoveError(f"cannot open a netlink socket: {exc.strerror}") from None
    with sock:
        started = time.monotonic()
        results = _batch(sock, [s.do for s in steps])
        took = time.monotonic() - started
        failed = next((i for i, err in enumerate(results) if err), None)
        if failed is None:
            return took
        undo = [s.undo for s, err in zip(steps, results) if not err and s.undo is not None]
        _batch(sock, list(reversed(undo)))
    raise MoveError(f"{steps[failed].what}: {os.strerror(results[failed])}")


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)   # acks without the request echoed
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, 0))
    return sock


def _batch(sock: socket.socket, messages: list[bytes]) -> list[int]:
    """Send every message in one sendmsg; the error number of each (0: done)."""
    if not messages:
        return []
    buffer = bytearray()
    for seq, data in enumerate(messages, start=1):
        buffer += data[:8] + struct.pack("=I", seq) + data[12:]
    try:
        sock.sendall(bytes(buffer))     # one skb: the kernel takes all of it or none
    except OSError as exc:
        raise MoveError(f"cannot send the batch: {exc.strerror}") from None
    results: dict[int, int] = {}
    while len(results) < len(messages):
        data = sock.recv(1 << 16)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, _flags, seq = struct.unpack_from("=IHHI", data, offset)
            if kind == NLMSG_ERROR and 1 <= seq <= len(messages):
                results[seq] = -struct.unpack_from("=i", data, offset + 16)[0]
            offset += (length + 3) & ~3 or len(data)
    return [results[seq] for seq in range(1, len(messages) + 1)]
