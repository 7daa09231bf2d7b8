"""A bond's machine, faked, for building a whole core.bond.Bond in a unit
test (tests/unit/test_whole_bond.py): no root, no namespaces, no sleeps.

- FakeLinks: the links port (core/ports.LinksPort) over a dict of
  interfaces; `pull`/`plug` a member's cable and the bond hears a link
  message, as from netlink.
- FakeClock: the clock port; `advance` moves time and runs what was due on
  the bond's asyncio loop (its miimon, ARP and runner tasks sleep on it).
- FakeDataPath: devices.choose's stand-in; the device it makes records
  every published plan and every control frame sent on a member.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import socket
from dataclasses import dataclass, field

from softbond.kernel.links import LinkState
from softbond.kernel.netlink import LinkEvent


@dataclass
class FakeLink:
    name: str
    ifindex: int
    mac: str
    mtu: int = 1500
    admin_up: bool = False
    cable: bool = True          # carrier, once admin-up
    speed: int = 1000
    rx_packets: int = 0         # what the ARP monitor reads when it does not validate

    @property
    def carrier(self) -> bool:
        return self.admin_up and self.cable


class FakeLinks:
    """The links port over fake interfaces."""

    def __init__(self, *names: str) -> None:
        self.links: dict[str, FakeLink] = {}
        self._events: list[LinkEvent] = []
        self._monitor: socket.socket | None = None      # the bond's end
        self._poke: socket.socket | None = None         # ours: wakes the bond's reader
        self.listeners: dict[tuple[str, int], socket.socket] = {}   # our ends of the members' listeners
        for name in names:
            self.add(name)

    def add(self, name: str) -> FakeLink:
        index = len(self.links) + 2
        link = FakeLink(name, index, f"02:00:00:00:00:{index:02x}")
        self.links[name] = link
        return link

    # -- the test's hands on the cables
    def pull(self, name: str) -> None:
        self._set_cable(name, False)

    def plug(self, name: str) -> None:
        self._set_cable(name, True)

    def _set_cable(self, name: str, on: bool) -> None:
        link = self.links[name]
        link.cable = on
        self._events.append(LinkEvent(link.ifindex, name, False, link.admin_up, link.carrier, mtu=link.mtu))
        if self._poke is not None:
            self._poke.send(b"!")

    # -- kernel/links.Links
    def exists(self, name: str) -> bool:
        return name in self.links

    def root_queues(self) -> dict[int, tuple[int, int]]:
        return {}                 # fake interfaces have no qdiscs

    def line_rates(self, names) -> dict[int, tuple[int, int]]:
        return {}                 # nor a line rate

    def index(self, name: str) -> int:
        return self.links[name].ifindex

    def find(self, ifindex: int) -> tuple[str, str] | None:
        return next(((n, "veth") for n, link in self.links.items() if link.ifindex == ifindex), None)

    def snapshot(self, name: str) -> LinkState:
        link = self.links[name]
        return LinkState(name, link.ifindex, link.mac, link.mtu, link.admin_up, False, "0")

    def isolate(self, state: LinkState) -> str | None:
        return None

    def veth_peer(self, name: str) -> str | None:
        return None

    def mtu_range(self, name: str) -> tuple[int, int]:
        return 68, 65535

    def master(self, name: str) -> int | None:
        return None

    def addresses(self, name: str, *, scope_global_only: bool = True) -> list[str]:
        return []

    def set_up(self, name: str, up: bool = True) -> None:
        self.links[name].admin_up = up

    def set_mac(self, name: str, mac: str) -> None:
        self.links[name].mac = mac

    def set_mtu(self, name: str, mtu: int) -> None:
        self.links[name].mtu = mtu

    def gso_limits(self, name: str) -> tuple[int, int]:
        return 65536, 65535

    def set_gso_limits(self, name: str, size: int, segs: int) -> None:
        pass

    def add_address(self, name: str, cidr: str) -> None:
        pass

    def add_default_route(self, name: str, gateway: str) -> None:
        pass

    def default_gateway(self, name: str) -> str | None:
        return None

    def restore(self, state: LinkState, *, leave_down: bool = False) -> None:
        link = self.links[state.name]
        link.mac, link.mtu, link.admin_up = state.mac, state.mtu, state.admin_up and not leave_down

    # -- sysfs and /proc
    def sysfs(self, name: str, attr: str) -> str | None:
        link = self.links.get(name)
        if link is None:
            return None
        return {"type": "1", "address": link.mac, "mtu": str(link.mtu), "carrier": "1" if link.carrier else "0",
                "speed": str(link.speed), "duplex": "full"}.get(attr)

    def carrier(self, name: str) -> bool:
        return name in self.links and self.links[name].carrier

    def speed_duplex(self, name: str) -> tuple[int | None, str | None]:
        return self.links[name].speed, "full"

    def counters(self, name: str) -> dict[str, int]:
        out = dict.fromkeys(("rx_bytes", "tx_bytes", "tx_packets", "rx_dropped", "tx_dropped"), 0)
        out["rx_packets"] = self.links[name].rx_packets
        return out

    def set_disable_ipv6(self, name: str, value: str | None) -> None:
        pass

    def restore_moved(self, state: LinkState, netnsid: int, ifindex: int) -> None:
        pass

    # -- sockets: a socket pair each, the far end ours
    def open_link_monitor(self) -> socket.socket | None:
        self._monitor, self._poke = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._monitor.setblocking(False)
        return self._monitor

    def set_link_filter(self, sock: socket.socket, ifindexes: list[int]) -> None:
        pass

    def read_link_events(self, sock: socket.socket) -> list[LinkEvent]:
        try:
            while sock.recv(16):
                pass
        except BlockingIOError:
            pass
        events, self._events = self._events, []
        return events

    def open_listener(self, name: str, ethertype: int) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        theirs.setblocking(False)
        replaced = self.listeners.get((name, ethertype))
        if replaced is not None:      # the bond closed its end (monitors restarted)
            replaced.close()
        self.listeners[(name, ethertype)] = ours
        return theirs

    def close(self) -> None:
        for sock in [self._poke, *self.listeners.values()]:
            if sock is not None:
                sock.close()


class FakeClock:
    """Time that moves only when the test says; what falls due runs on the
    bond's loop, in time order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start: float = 100.0) -> None:
        self.loop = loop
        self.t = start
        self._due: list = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    def call_at(self, when: float, callback, *args) -> None:
        heapq.heappush(self._due, (when, next(self._order), callback, args))

    async def sleep(self, seconds: float) -> None:
        woken = self.loop.create_future()
        self.call_at(self.t + seconds, lambda: woken.done() or woken.set_result(None))
        await woken

    def settle(self) -> None:
        """Let the loop run what is ready (a woken task, a readable socket)."""
        for _ in range(4):
            self.loop.run_until_complete(asyncio.sleep(0))

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        self.settle()
        while self._due and self._due[0][0] <= end:
            when, _, callback, args = heapq.heappop(self._due)
            self.t = max(self.t, when)
            callback(*args)
            self.settle()
        self.t = end


@dataclass
class Plan:
    """What a publish handed the data path."""
    active: str | None
    usable: tuple[str, ...]


@dataclass
class FakeDevice:
    """A data path (datapath/protocols.Device) that forwards nothing."""
    links: FakeLinks
    name: str
    kind: str = "fake"
    carrier_rescue: str = "off (fake data path)"
    plans: list[Plan] = field(default_factory=list)
    carrier: list[bool] = field(default_factory=list)      # every set_carrier
    sent: list[tuple[str, bytes]] = field(default_factory=list)   # control frames, by member
    running: bool = False

    def start(self) -> None:
        self.running = True

    def close(self) -> None:
        self.running = False

    def follow_mtu(self, mtu: int) -> None:
        pass

    def set_carrier(self, on: bool) -> None:
        self.carrier.append(on)

    def open_member(self, name: str, ifindex: int, mac: bytes):
        sock, _ = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        _.close()
        return sock, lambda frame: self.sent.append((name, bytes(frame)))

    def close_member(self, sock: socket.socket, ifindex: int) -> None:
        pass

    def publish(self, runner, members, usable, active, bond_mac: bytes) -> None:
        self.plans.append(Plan(active.name if active is not None else None, tuple(m.name for m in usable)))

    def tick(self, runner, now: float) -> bool:
        return False

    def arp_socket(self):
        return None

    def member_counters(self, name: str, ifindex: int, nic: dict) -> dict:
        return nic

    def protocol_counters(self, ifindex: int):
        return None

    def rx_dropped(self, members) -> int:
        return 0

    def workers(self):
        return None

    def loop(self):
        return None

    def check_workers(self) -> list[str]:
        return []


class FakeDataPath:
    """devices.choose for a test: the bond's device, made fake."""

    def __init__(self, links: FakeLinks) -> None:
        self.links = links
        self.device: FakeDevice | None = None

    def __call__(self, name: str, datapath: str, *, mac: str | None = None, workers: int = 1):
        if name not in self.links.links:
            self.links.add(name)
        self.device = FakeDevice(self.links, name)
        return self.device, None
