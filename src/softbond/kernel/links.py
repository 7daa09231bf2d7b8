"""Reading and changing interfaces: the control plane's view of member NICs.

Everything a bond changes on a member is recorded first (LinkState) so that
release/down/crash recovery can put it back exactly as found.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

from pyroute2 import IPRoute

from . import isolate, nsid
from pyroute2.netlink.exceptions import NetlinkError

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


class IPRouteThread:
    """pyroute2's synchronous IPRoute runs its own asyncio loop and refuses
    to work inside a thread whose loop is running (the daemon's). So it
    lives in a thread of its own; calls block the caller briefly, like the
    syscalls they are."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="softbond-netlink")
        self._ipr = self._pool.submit(IPRoute).result()

    def __getattr__(self, name):
        method = getattr(self._ipr, name)

        def call(*args, **kwargs):
            return self._pool.submit(method, *args, **kwargs).result()
        return call

    def close(self) -> None:
        self._pool.submit(self._ipr.close).result()
        self._pool.shutdown()


class Links:
    """A thin, error-translating wrapper over pyroute2 for one namespace."""

    def __init__(self) -> None:
        self._ipr = IPRouteThread()

    def close(self) -> None:
        self._ipr.close()

    def _index(self, name: str) -> int:
        found = self._ipr.link_lookup(ifname=name)
        if not found:
            raise LinkError(f"{name}: no such interface")
        return found[0]

    def exists(self, name: str) -> bool:
        return bool(self._ipr.link_lookup(ifname=name))

    def index(self, name: str) -> int:
        return self._index(name)

    def _link(self, name: str):
        return self._ipr.get_links(self._index(name))[0]

    def snapshot(self, name: str) -> LinkState:
        link = self._link(name)
        return LinkState(
            name=name,
            ifindex=link["index"],
            mac=link.get_attr("IFLA_ADDRESS"),
            mtu=link.get_attr("IFLA_MTU"),
            admin_up=bool(link["flags"] & IFF_UP),
            promisc=bool(link["flags"] & IFF_PROMISC),
            disable_ipv6=_read_disable_ipv6(name),
            had_clsact=self._has_clsact(link["index"]),
            arp_ignore=isolate.sysctl(f"/proc/sys/net/ipv4/conf/{name}/arp_ignore"),
            rp_filter=isolate.sysctl(f"/proc/sys/net/ipv4/conf/{name}/rp_filter"),
        )

    def _has_clsact(self, ifindex: int) -> bool:
        return any(q.get_attr("TCA_KIND") in ("clsact", "ingress") for q in self._ipr.get_qdiscs(index=ifindex))

    def isolate(self, state: LinkState) -> str | None:
        """Keep the kernel stack off a member; returns a warning if degraded."""
        return isolate.apply(self._ipr, state.name, state.ifindex, state.had_clsact)

    def kind(self, name: str) -> str | None:
        info = self._link(name).get_attr("IFLA_LINKINFO")
        return info.get_attr("IFLA_INFO_KIND") if info else None

    def veth_peer(self, name: str) -> str | None:
        """The name of a veth's other end when it is in this namespace too."""
        link = self._link(name)
        peer_index = link.get_attr("IFLA_LINK")
        info = link.get_attr("IFLA_LINKINFO")
        if not info or info.get_attr("IFLA_INFO_KIND") != "veth" or not peer_index \
                or link.get_attr("IFLA_LINK_NETNSID") is not None:
            return None
        try:
            return self._ipr.get_links(peer_index)[0].get_attr("IFLA_IFNAME")
        except (NetlinkError, IndexError):
            return None

    def mtu_range(self, name: str) -> tuple[int, int]:
        """The MTUs the device takes (min_mtu, max_mtu; 0: no limit given)."""
        link = self._link(name)
        return link.get_attr("IFLA_MIN_MTU") or 0, link.get_attr("IFLA_MAX_MTU") or 0

    def master(self, name: str) -> int | None:
        return self._link(name).get_attr("IFLA_MASTER")

    def addresses(self, name: str, *, scope_global_only: bool = True) -> list[str]:
        out = []
        for addr in self._ipr.get_addr(index=self._index(name)):
            if scope_global_only and addr["scope"] != 0:
                continue
            out.append(f"{addr.get_attr('IFA_ADDRESS')}/{addr['prefixlen']}")
        return out

    def _set(self, name: str, what: str, **kwargs) -> None:
        try:
            self._ipr.link("set", index=self._index(name), **kwargs)
        except NetlinkError as exc:
            raise LinkError(f"{name}: cannot set {what}: {os.strerror(exc.code)}") from None

    def set_up(self, name: str, up: bool = True) -> None:
        self._set(name, "state", state="up" if up else "down")

    def set_mac(self, name: str, mac: str) -> None:
        self._set(name, "MAC address", address=mac)

    def set_mtu(self, name: str, mtu: int) -> None:
        self._set(name, f"MTU {mtu}", mtu=mtu)

    def gso_limits(self, name: str) -> tuple[int, int]:
        """(gso_max_size, gso_max_segs): the largest GSO frame the device
        takes, which TCP sizes its super-frames by."""
        link = self._link(name)
        return link.get_attr("IFLA_GSO_MAX_SIZE") or 0, link.get_attr("IFLA_GSO_MAX_SEGS") or 0

    def set_gso_limits(self, name: str, size: int, segs: int) -> None:
        self._set(name, "GSO limits", gso_max_size=size, gso_max_segs=segs)

    def set_promisc(self, name: str, on: bool) -> None:
        # pyroute2 takes the flag through flags/mask.
        self._set(name, "promiscuity", flags=IFF_PROMISC if on else 0, mask=IFF_PROMISC)

    def add_address(self, name: str, cidr: str) -> None:
        iface = ipaddress.ip_interface(cidr)
        kwargs = {}
        if iface.version == 4 and iface.network.prefixlen < 31:
            kwargs["broadcast"] = str(iface.network.broadcast_address)
        try:
            self._ipr.addr("add", index=self._index(name), address=str(iface.ip),
                           prefixlen=iface.network.prefixlen, **kwargs)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise LinkError(f"{name}: cannot add address {cidr}: {os.strerror(exc.code)}") from None

    def add_default_route(self, name: str, gateway: str) -> None:
        try:
            self._ipr.route("replace", dst="default" if ":" not in gateway else "::/0",
                            gateway=gateway, oif=self._index(name))
        except NetlinkError as exc:
            raise LinkError(f"{name}: cannot add default route via {gateway}: {os.strerror(exc.code)}") from None

    def default_gateway(self, name: str) -> str | None:
        """The gateway of the IPv4 default route through `name`, if any
        (the path monitor's probe target when no arp_ip_target is set)."""
        index = self._index(name)
        for route in self._ipr.get_default_routes(family=socket.AF_INET):
            if route.get_attr("RTA_OIF") == index and route.get_attr("RTA_GATEWAY"):
                return route.get_attr("RTA_GATEWAY")
        return None

    def find(self, ifindex: int) -> tuple[str, str] | None:
        """The name and MAC of the interface with this ifindex, if any."""
        try:
            link = self._ipr.get_links(ifindex)[0]
        except (NetlinkError, IndexError):
            return None
        return link.get_attr("IFLA_IFNAME"), (link.get_attr("IFLA_ADDRESS") or "").lower()

    def has_our_filter(self, ifindex: int) -> bool:
        """softbond's ingress filter (the isolate drop or the eBPF path's) is
        on it: only a member softbond enslaved has one."""
        try:
            filters = self._ipr.get_filters(index=ifindex, parent=isolate.CLSACT_PARENT)
        except NetlinkError:
            return False
        return any((f["info"] >> 16) == isolate.FILTER_PRIO for f in filters)

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
        isolate.undo(self._ipr, name, state.ifindex, state.had_clsact,
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
