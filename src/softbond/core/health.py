"""Member health: carrier from netlink link messages and the miimon poll,
and reachability from the ARP/NS monitor, fed through each member's link
state machine (monitors.link) into the mode runner and active selection.

`LinkHealth` owns the link monitors: the socket link messages come on, the
miimon task, the ARP/NS judge with its task, and the bond's own addresses
that replies are judged against. It reads carriers through the links port
(core/ports.py), stamps them with the clock, and hands them to the pure core
(decide.BondCore); the core's actions go back to the bond through `run`.
What else a link message says (a member renamed, removed, its MAC or MTU
changed; the bond device's own) is the bond's: `on_links` gets every batch.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import TYPE_CHECKING, Callable, ContextManager

from ..config.registry import BondOptions
from ..kernel.netlink import LinkEvent
from ..monitors.arp import ArpJudge, probe_frames
from ..wire.ethernet import mac_to_bytes
from .decide import Action, BondCore
from .ports import Clock, LinksPort

if TYPE_CHECKING:  # membership imports the data path; health needs only the type
    from .membership import Member


class LinkHealth:
    """The link monitors (netlink, miimon, ARP/NS) of one bond.

    Needs: the bond's name and device ifindex (a getter: a data path switch
    makes a new device), the links port, the clock, the core (whose members
    it watches), `run` for the core's actions, `hold_logs` (the bond's
    _logs_after), and the bond's MAC and control-frame sender for ARP/NS
    probes. The bond sets `loop` at start."""

    def __init__(
        self,
        name: str,
        ifindex: Callable[[], int],
        links: LinksPort,
        clock: Clock,
        core: BondCore,
        run: Callable[[list[Action]], None],
        hold_logs: Callable[[], ContextManager[None]],
        mac: Callable[[], str | None],
        send: Callable[[Member, bytes], None],
    ) -> None:
        self.name = name
        self._ifindex = ifindex
        self.links = links
        self.clock = clock
        self.core = core
        self.members = core.members
        self._run = run
        self._hold_logs = hold_logs
        self._mac = mac
        self._send = send
        self.loop: asyncio.AbstractEventLoop | None = None
        self._monitor: socket.socket | None = None  # link messages
        self._on_links: Callable[[list[LinkEvent], float], None] | None = None
        self._miimon_task: asyncio.Task[None] | None = None
        self._arp_task: asyncio.Task[None] | None = None
        self.arp: ArpJudge | None = None  # the ARP/NS monitor's judge, when it runs
        self._arp_rotation = 0
        # The bond's addresses, refreshed every ARP interval (see _arp_tick).
        self.ours_v4: set[bytes] = set()
        self.ours_v6: set[bytes] = set()

    # ------------------------------------------------------- link messages
    def open_link_monitor(self, on_links: Callable[[list[LinkEvent], float], None]) -> None:
        assert self.loop is not None
        self._on_links = on_links
        self._monitor = self.links.open_link_monitor()
        if self._monitor is not None:
            self.listen_to_links()
            self.loop.add_reader(self._monitor.fileno(), self._on_netlink)

    def listen_to_links(self, *extra: int) -> None:
        """Link messages about the bond device and the members (and `extra`,
        a member being enslaved) only: the kernel drops the rest before they
        wake us."""
        if self._monitor is not None:
            self.links.set_link_filter(
                self._monitor, [self._ifindex()] + [m.ifindex for m in self.members] + list(extra)
            )

    def _on_netlink(self) -> None:
        assert self._monitor is not None and self._on_links is not None
        with self._hold_logs():
            self._on_links(self.links.read_link_events(self._monitor), self.clock.now())

    def stop(self) -> None:
        for task in (self._miimon_task, self._arp_task):
            if task:
                task.cancel()
        if self._monitor is not None and self.loop is not None:
            self.loop.remove_reader(self._monitor.fileno())
            self._monitor.close()
            self._monitor = None

    # ------------------------------------------------------------ carrier
    def observe(self, member: Member, carrier: bool, now: float) -> None:
        if carrier and not member.carrier:  # the links port's reads; the decision is the core's
            speed, duplex = self.links.speed_duplex(member.name)
            member.speed, member.duplex = speed or 0, 1 if duplex == "full" else 0
        self._run(self.core.observe(member, carrier, now))

    def poll_carriers(self, now: float) -> None:
        """Every member's carrier as it is now (a miimon look)."""
        with self._hold_logs():
            for member in list(self.members):
                self.observe(member, self.links.carrier(member.name), now)

    def wake_at(self, member: Member, when: float) -> None:
        """A running updelay/downdelay ends at `when` (the clock's time)."""
        self.clock.call_at(when + 0.0005, self._expire, member)

    def _expire(self, member: Member) -> None:
        with self._hold_logs():
            self._run(self.core.expire(member, self.clock.now()))

    async def _miimon(self, interval: float) -> None:
        """The miimon poll: a safety net under the link messages."""
        while True:
            await self.clock.sleep(interval)
            self.poll_carriers(self.clock.now())

    # ------------------------------------------------------- the monitors
    def stop_monitors(self) -> None:
        """The miimon and ARP/NS monitors stop; the ARP verdicts are lifted."""
        for task in (self._miimon_task, self._arp_task):
            if task:
                task.cancel()
        self._miimon_task = self._arp_task = None
        for member in self.members:
            member.judged_down.discard("arp")
        self.arp = None

    def start_monitors(self, opts: BondOptions) -> None:
        """miimon and the ARP/NS monitor as the options say."""
        assert self.loop is not None
        if opts.miimon > 0:
            self._miimon_task = self.loop.create_task(self._miimon(opts.miimon / 1000))
        if opts.arp_interval > 0 and (opts.arp_ip_target or opts.ns_ip6_target):
            now = self.clock.now()
            targets = [socket.inet_aton(t) for t in opts.arp_ip_target]
            targets += [socket.inet_pton(socket.AF_INET6, t) for t in opts.ns_ip6_target]
            self.arp = ArpJudge(
                opts.arp_interval / 1000, opts.arp_missed_max, opts.arp_validate, bool(opts.arp_all_targets), targets
            )
            for member in self.members:
                self.arp.add(member.name, now)
            self._arp_task = self.loop.create_task(self._arp_monitor(self.arp, opts.arp_interval / 1000))

    async def _arp_monitor(self, judge: ArpJudge, interval: float) -> None:
        while True:
            self._arp_tick(judge, self.clock.now())
            await self.clock.sleep(interval)

    def _arp_tick(self, judge: ArpJudge, now: float) -> None:
        # Our addresses, refreshed once per interval rather than per frame:
        # a flood of ARP must not turn into a flood of netlink dumps.
        self.ours_v4 = self._our_ips(socket.AF_INET)
        self.ours_v6 = self._our_ips(socket.AF_INET6)
        for member in list(self.members):
            active = member is self.core.active
            judge.saw_counters(member.name, self.links.counters(member.name)["rx_packets"], active, now)
            self._run(self.core.verdict(member, "arp", judge.alive(member.name, active, now), now))
        prober = self.core.active
        if prober is None:
            candidates = [m for m in self.members if m.carrier]
            if candidates:
                prober = candidates[self._arp_rotation % len(candidates)]
                self._arp_rotation += 1
        if prober is None:
            return
        opts = self.core.opts
        v4 = [c for c in self.links.addresses(self.name) if ":" not in c]
        v6 = [c for c in self.links.addresses(self.name, scope_global_only=False) if ":" in c]
        for frame in probe_frames(
            mac_to_bytes(self._mac() or bytes(6)), v4, list(opts.arp_ip_target), v6, list(opts.ns_ip6_target)
        ):
            self._send(prober, frame)

    def _our_ips(self, family: int) -> set[bytes]:
        out = set()
        for cidr in self.links.addresses(self.name, scope_global_only=False):
            ip = ipaddress.ip_interface(cidr).ip
            if ip.version == (4 if family == socket.AF_INET else 6):
                out.add(ip.packed)
        return out
