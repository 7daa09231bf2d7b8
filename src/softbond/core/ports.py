"""What a bond needs of the machine, as two ports a test can replace:

- `LinksPort`: the links (netlink requests, sysfs and /proc reads, the
  link monitor socket, the members' packet listeners). `KernelLinks` is the
  real one: kernel/links.Links with the module-level reads of kernel/links,
  kernel/netlink and kernel/packet as methods.
- `Clock`: the time events are stamped with, a call at a later time (an
  updelay or downdelay ending) and the periodic tasks' sleep. `MonotonicClock` is the real one, on the
  running asyncio loop.

tests/support/fakelinks.py has the fakes that build a whole Bond in a unit
test (tests/unit/test_whole_bond.py): no root, no namespaces, no sleeps.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ..kernel import links as linkops
from ..kernel import netlink, packet


class LinksPort(Protocol):
    """The interface reads and changes a bond makes. Errors are
    kernel/links.LinkError."""

    # -- kernel/links.Links
    def exists(self, name: str) -> bool: ...
    def root_queues(self) -> dict[int, tuple[int, int]]: ...
    def index(self, name: str) -> int: ...
    def find(self, ifindex: int) -> tuple[str, str] | None: ...
    def snapshot(self, name: str) -> linkops.LinkState: ...
    def isolate(self, state: linkops.LinkState) -> str | None: ...
    def veth_peer(self, name: str) -> str | None: ...
    def mtu_range(self, name: str) -> tuple[int, int]: ...
    def master(self, name: str) -> int | None: ...
    def addresses(self, name: str, *, scope_global_only: bool = True) -> list[str]: ...
    def set_up(self, name: str, up: bool = True) -> None: ...
    def set_mac(self, name: str, mac: str) -> None: ...
    def set_mtu(self, name: str, mtu: int) -> None: ...
    def gso_limits(self, name: str) -> tuple[int, int]: ...
    def set_gso_limits(self, name: str, size: int, segs: int) -> None: ...
    def add_address(self, name: str, cidr: str) -> None: ...
    def add_default_route(self, name: str, gateway: str) -> None: ...
    def default_gateway(self, name: str) -> str | None: ...
    def restore(self, state: linkops.LinkState, *, leave_down: bool = False) -> None: ...

    # -- sysfs and /proc
    def sysfs(self, name: str, attr: str) -> str | None: ...
    def carrier(self, name: str) -> bool: ...
    def speed_duplex(self, name: str) -> tuple[int | None, str | None]: ...
    def counters(self, name: str) -> dict[str, int]: ...
    def set_disable_ipv6(self, name: str, value: str | None) -> None: ...
    def restore_moved(self, state: linkops.LinkState, netnsid: int, ifindex: int) -> None: ...

    # -- sockets: link messages and a member's control-plane frames
    def open_link_monitor(self) -> socket.socket | None: ...
    def set_link_filter(self, sock: socket.socket, ifindexes: list[int]) -> None: ...
    def read_link_events(self, sock: socket.socket) -> list[netlink.LinkEvent]: ...
    def open_listener(self, name: str, ethertype: int) -> socket.socket: ...


class KernelLinks(linkops.Links):
    """The links port on the real kernel."""

    sysfs = staticmethod(linkops.sysfs)
    carrier = staticmethod(linkops.carrier)
    speed_duplex = staticmethod(linkops.speed_duplex)
    counters = staticmethod(linkops.counters)
    set_disable_ipv6 = staticmethod(linkops.set_disable_ipv6)
    restore_moved = staticmethod(linkops.restore_moved)
    open_link_monitor = staticmethod(netlink.open_link_monitor)
    set_link_filter = staticmethod(netlink.set_link_filter)
    read_link_events = staticmethod(netlink.read_link_events)
    open_listener = staticmethod(packet.open_listener)


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> None:
        """Call `callback(*args)` once `now()` reaches `when`."""

    async def sleep(self, seconds: float) -> None:
        """Return once `now()` has moved on by `seconds` (the monitors'
        and the mode runner's periodic tasks wait with it)."""


class MonotonicClock:
    """time.monotonic(), and calls on the running asyncio loop."""

    now = staticmethod(time.monotonic)
    sleep = staticmethod(asyncio.sleep)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        loop.call_at(loop.time() + (when - time.monotonic()), callback, *args)


if TYPE_CHECKING:  # mypy holds the real ports to their protocols

    def _conforming(links: KernelLinks, clock: MonotonicClock) -> tuple[LinksPort, Clock]:
        return links, clock
