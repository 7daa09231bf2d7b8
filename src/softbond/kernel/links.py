"""Reading and changing interfaces: the control plane's view of member NICs.

Everything a bond changes on a member is recorded first (LinkState) so that
release/down/crash recovery can put it back exactly as found.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import socket
from dataclasses import asdict, dataclass, replace
from typing import Mapping

from . import isolate, nsid
from .rtnl import Link, NetlinkError, Rtnl

IFF_UP = 0x1
IFF_PROMISC = 0x100
IFF_LOWER_UP = 0x10000


class LinkError(Exception):
    pass


@dataclass(frozen=True)
class LinkState:
    """What a member looked like before the bond touched it."""
    name: str
    ifindex: int
    mac: str
    mtu: int
    admin_up: bool
    promisc: bool
    disable_ipv6: str | None
    had_clsact: bool = False
    arp_ignore: str | None = None
    rp_filter: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "LinkState":
        return cls(**data)


def sysfs(name: str, attr: str) -> str | None:
    try:
        with open(f"/sys/class/net/{name}/{attr}") as f:
            return f.read().strip()
    except OSError:
        return None


def carrier(name: str) -> bool:
    """Carrier as miimon polls it (netif_carrier_ok): needs the link admin-up."""
    return sysfs(name, "carrier") == "1"


def speed_duplex(name: str) -> tuple[int | None, str | None]:
    speed = sysfs(name, "speed")
    duplex = sysfs(name, "duplex")
    try:
        mbps = int(speed) if speed is not None else None
    except ValueError:
        mbps = None
    if mbps is not None and mbps <= 0:
        mbps = None
    return mbps, duplex if duplex in ("full", "half") else None


def counters(name: str) -> dict[str, int]:
    out = {}
    for key in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets", "rx_dropped", "tx_dropped"):
        value = sysfs(name, f"statistics/{key}")
        out[key] = int(value) if value and value.isdigit() else 0
    return out


def _disable_ipv6_path(name: str) -> str:
    return f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6"


def _read_disable_ipv6(name: str) -> str | None:
    try:
        with open(_disable_ipv6_path(name)) as f:
            return f.read().strip()
    except OSError:
        return None


def set_disable_ipv6(name: str, value: str | None) -> None:
    if value is None:
        return
    try:
        with open(_disable_ipv6_path(name), "w") as f:
            f.write(value)
    except OSError:     # the member left, or IPv6 is disabled in this kernel: nothing to restore
        pass


class Links:
    """Reading and changing this namespace's interfaces, errors as LinkError."""

    def __init__(self) -> None:
        self.rtnl = Rtnl()

    def close(self) -> None:
        self.rtnl.close()

    def _link(self, name: str) -> Link:
        link = self.rtnl.link(name=name)
        if link is None:
            raise LinkError(f"{name}: no such interface")
        return link

    def exists(self, name: str) -> bool:
        return self.rtnl.link(name=name) is not None

    def root_queues(self) -> dict[int, tuple[int, int]]:
        """ifindex -> (bytes sent, bytes queued) of every root qdisc."""
        return self.rtnl.root_queues()

    def line_rates(self, names: Mapping[int, str]) -> dict[int, tuple[int, int]]:
        """ifindex -> (bytes a second it drains at, bytes its qdisc queues
        at most; 0: unknown) for each of `names` (ifindex -> name) whose
        rate is known: a tbf root qdisc's rate and limit, else the speed
        the driver reports (a name whose sysfs is another namespace's, by
        its ifindex, counts as unknown)."""
        shapers = self.rtnl.root_shapers()
        out = {}
        for ifindex, name in names.items():
            if ifindex in shapers:
                out[ifindex] = shapers[ifindex]
                continue
            if sysfs(name, "ifindex") != str(ifindex):
                continue
            mbps, _ = speed_duplex(name)
            if mbps:
                out[ifindex] = (mbps * 125_000, 0)
        return out

    def index(self, name: str) -> int:
        return self._link(name).index

    def snapshot(self, name: str) -> LinkState:
        link = self._link(name)
        return LinkState(
            name=name,
            ifindex=link.index,
            mac=link.mac or "",
            mtu=link.mtu,
            admin_up=bool(link.flags & IFF_UP),
            promisc=bool(link.flags & IFF_PROMISC),
            disable_ipv6=_read_disable_ipv6(name),
            had_clsact=self._has_clsact(link.index),
            arp_ignore=isolate.sysctl(f"/proc/sys/net/ipv4/conf/{name}/arp_ignore"),
            rp_filter=isolate.sysctl(f"/proc/sys/net/ipv4/conf/{name}/rp_filter"),
        )

    def _has_clsact(self, ifindex: int) -> bool:
        return any(kind in ("clsact", "ingress") for kind in self.rtnl.qdisc_kinds(ifindex))

    def isolate(self, state: LinkState) -> str | None:
        """Keep the kernel stack off a member; returns a warning if degraded."""
        return isolate.apply(self.rtnl, state.name, state.ifindex, state.had_clsact)

    def kind(self, name: str) -> str | None:
        return self._link(name).kind

    def veth_peer(self, name: str) -> str | None:
        """The name of a veth's other end when it is in this namespace too."""
        link = self._link(name)
        if link.kind != "veth" or not link.link or link.link_netnsid is not None:
            return None
        peer = self.rtnl.link(index=link.link)
        return peer.name if peer is not None else None

    def mtu_range(self, name: str) -> tuple[int, int]:
        """The MTUs the device takes (min_mtu, max_mtu; 0: no limit given)."""
        link = self._link(name)
        return link.min_mtu, link.max_mtu

    def master(self, name: str) -> int | None:
        return self._link(name).master

    def addresses(self, name: str, *, scope_global_only: bool = True) -> list[str]:
        out = []
        for addr in self.rtnl.addresses(self.index(name)):
            if scope_global_only and addr["scope"] != 0:
                continue
            out.append(f"{addr['address']}/{addr['prefixlen']}")
        return out

    def _set(self, name: str, what: str, **kwargs) -> None:
        try:
            self.rtnl.set_link(self.index(name), **kwargs)
        except NetlinkError as exc:
            raise LinkError(f"{name}: cannot set {what}: {os.strerror(exc.code)}") from None

    def set_up(self, name: str, up: bool = True) -> None:
        self._set(name, "state", up=up)

    def set_mac(self, name: str, mac: str) -> None:
        self._set(name, "MAC address", mac=mac)

    def set_mtu(self, name: str, mtu: int) -> None:
        self._set(name, f"MTU {mtu}", mtu=mtu)

    def gso_limits(self, name: str) -> tuple[int, int]:
        """(gso_max_size, gso_max_segs): the largest GSO frame the device
        takes, which TCP sizes its super-frames by."""
        link = self._link(name)
        return link.gso_max_size, link.gso_max_segs

    def set_gso_limits(self, name: str, size: int, segs: int) -> None:
        self._set(name, "GSO limits", gso_max_size=size, gso_max_segs=segs)

    def set_promisc(self, name: str, on: bool) -> None:
        self._set(name, "promiscuity", promisc=on)

    def add_address(self, name: str, cidr: str) -> None:
        iface = ipaddress.ip_interface(cidr)
        broadcast = None
        if iface.version == 4 and iface.network.prefixlen < 31:
            broadcast = str(iface.network.broadcast_address)
        try:
            self.rtnl.add_address(self.index(name), str(iface.ip), iface.network.prefixlen, broadcast)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise LinkError(f"{name}: cannot add address {cidr}: {os.strerror(exc.code)}") from None

    def add_default_route(self, name: str, gateway: str) -> None:
        try:
            self.rtnl.replace_default_route(self.index(name), gateway)
        except (NetlinkError, ValueError) as exc:
            reason = os.strerror(exc.code) if isinstance(exc, NetlinkError) else "not an IP address"
            raise LinkError(f"{name}: cannot add default route via {gateway}: {reason}") from None

    def default_gateway(self, name: str) -> str | None:
        """The gateway of the IPv4 default route through `name`, if any
        (the path monitor's probe target when no arp_ip_target is set)."""
        index = self.index(name)
        for route in self.rtnl.routes(socket.AF_INET):
            if route["dst_len"] == 0 and route["oif"] == index and route["gateway"]:
                return route["gateway"]
        return None

    def find(self, ifindex: int) -> tuple[str, str] | None:
        """The name and MAC of the interface with this ifindex, if any."""
        link = self.rtnl.link(index=ifindex)
        if link is None:
            return None
        return link.name, (link.mac or "").lower()

    def has_our_filter(self, ifindex: int) -> bool:
        """softbond's ingress filter (the isolate drop or the eBPF path's) is
        on it: only a member softbond enslaved has one."""
        try:
            filters = self.rtnl.bpf_filters(ifindex, isolate.CLSACT_PARENT)
        except NetlinkError:
            return False
        return any(prio == isolate.FILTER_PRIO for prio, _ in filters)

    def restore(self, state: LinkState, *, leave_down: bool = False) -> None:
        """Put a member back as it was; best effort per attribute. The
        member is the interface that was enslaved, found by its ifindex
        under whatever name it has now (never another interface that took
        its old name). leave_down: as the kernel leaves a slave that moved
        to another namespace."""
        found = self.find(state.ifindex)
        if found is None:
            return
        name = found[0]
        errors = []
        isolate.undo(self.rtnl, name, state.ifindex, state.had_clsact,
                     {"arp_ignore": state.arp_ignore, "rp_filter": state.rp_filter})
        for what, action in (
            ("down", lambda: self.set_up(name, False)),
            ("mac", lambda: self.set_mac(name, state.mac)),
            ("mtu", lambda: self.set_mtu(name, state.mtu)),
            ("promisc", lambda: self.set_promisc(name, state.promisc)),
            ("ipv6", lambda: set_disable_ipv6(name, state.disable_ipv6)),
            ("state", lambda: self.set_up(name, state.admin_up and not leave_down)),
        ):
            try:
                action()
            except LinkError as exc:
                errors.append(str(exc))
        if errors:
            raise LinkError("; ".join(errors))


def restore_moved(state: LinkState, netnsid: int, ifindex: int) -> None:
    """Restore a member that moved to another namespace, there (the
    kernel's bond releases a slave leaving the namespace and puts its MAC
    and MTU back; the move leaves it down). `netnsid`: that namespace's id
    as seen from here; `ifindex`: the member's ifindex there."""
    fd = nsid.open_namespace(netnsid)
    if fd is None:
        raise LinkError(f"{state.name}: moved to a network namespace that cannot be found (id {netnsid})")

    def restore_there() -> None:
        links = Links()
        try:
            links.restore(replace(state, ifindex=ifindex), leave_down=True)
        finally:
            links.close()
    try:
        nsid.run_in(fd, restore_there)
    finally:
        os.close(fd)
