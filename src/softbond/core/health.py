"""Member health: carrier from netlink link events and the miimon poll, and
reachability from the ARP/NS monitor, fed through each member's link state
machine (monitors.link) into the mode runner and active selection.

`LinkHealth` is one part of `bond.Bond` (mixed in): it reads the links and
hands what it saw to the pure core (decide.BondCore), which decides.
"""
from __future__ import annotations

import ipaddress
import logging
import socket

from .membership import Member
from ..monitors.arp import ArpJudge, probe_frames
from .pathprobe import PathProbe
from ..kernel import netlink
from ..wire.ethernet import mac_to_bytes


class LinkHealth:
    """The link monitors (netlink, miimon, ARP/NS) and their state machines."""

    def _listen_to_links(self, *extra: int) -> None:
        """Link messages about the bond device and the members (and `extra`,
        a member being enslaved) only: the kernel drops the rest before they
        wake us."""
        if self._nl is not None:
            self.links.set_link_filter(self._nl, [self.ifindex] + [m.ifindex for m in self.members] + list(extra))

    def _on_netlink(self) -> None:
        with self._logs_after():
            self._handle_link_events(self.links.read_link_events(self._nl), self.clock.now())

    def _handle_link_events(self, events: list[netlink.LinkEvent], now: float) -> None:
        """A batch of link messages, the last one per interface: a message
        can be stale (a later one in the batch says otherwise), and the last
        says how the link is now, as of when the kernel sent it. Its flags
        are the carrier as miimon polls it (IFF_LOWER_UP of an admin-up
        link), so no sysfs read stands between the event and the failover."""
        latest: dict[int, netlink.LinkEvent] = {}
        for event in events:
            if event.ifindex == 0:  # events were lost: look at every member
                for member in list(self.members):
                    self._observe(member, self.links.carrier(member.name), now)
                latest.clear()
                continue
            latest[event.ifindex] = event
        for event in latest.values():
            if event.ifindex == self.ifindex:
                self.limits.bond_link_changed(event)
                continue
            member = next((m for m in self.members if m.ifindex == event.ifindex), None)
            if member is None:
                continue
            if event.deleted:
                moved = event.new_netnsid >= 0     # the kernel releases a slave leaving the namespace
                if moved:
                    member.moved_to = (event.new_netnsid, event.new_ifindex)
                self._event("warning", "moved to another network namespace, releasing it" if moved
                            else "interface was removed, releasing it", member, level=logging.WARNING)
                self.release(member.name)
            else:
                if event.ifname and event.ifname != member.name:
                    self._follow_rename(member, event.ifname)
                if event.address:
                    self._follow_mac(member, event.address)
                self._observe(member, event.admin_up and event.carrier, now)
                self.limits.member_link_changed(member, event)

    def _observe(self, member: Member, carrier: bool, now: float) -> None:
        if carrier and not member.carrier:    # the links port's reads; the decision is the core's
            speed, duplex = self.links.speed_duplex(member.name)
            member.speed, member.duplex = speed or 0, 1 if duplex == "full" else 0
        self._run(self.core.observe(member, carrier, now))

    def _wake_at(self, member: Member, when: float) -> None:
        """A running updelay/downdelay ends at `when` (self.clock.now())."""
        self.clock.call_at(when + 0.0005, self._expire, member)

    def _expire(self, member: Member) -> None:
        with self._logs_after():
            self._run(self.core.expire(member, self.clock.now()))

    async def _miimon(self, interval: float) -> None:
        """The miimon poll: a safety net under the netlink events."""
        while True:
            await self.clock.sleep(interval)
            self._poll_carriers(self.clock.now())

    def _poll_carriers(self, now: float) -> None:
        """One miimon look at every member's carrier."""
        with self._logs_after():
            for member in list(self.members):
                self._observe(member, self.links.carrier(member.name), now)

    def _restart_monitors(self) -> None:
        for task in (self._miimon_task, self._arp_task):
            if task:
                task.cancel()
        self._miimon_task = self._arp_task = None
        for member in self.members:
            self._close_listeners(member)
            member.judged_down.discard("arp")
        self._arp = None
        if self._path is not None:      # [path monitor]
            self._path.stop()
        for member in (m for m in self.members if not m.path_ok):
            member.path_ok = True
            self._observe(member, member.carrier, self.clock.now())
        self._path = PathProbe.start(self)
        if self.opts.miimon > 0:
            self._miimon_task = self.loop.create_task(self._miimon(self.opts.miimon / 1000))
        if self.opts.arp_interval > 0 and (self.opts.arp_ip_target or self.opts.ns_ip6_target):
            now = self.clock.now()
            targets = [socket.inet_aton(t) for t in self.opts.arp_ip_target]
            targets += [socket.inet_pton(socket.AF_INET6, t) for t in self.opts.ns_ip6_target]
            self._arp = ArpJudge(self.opts.arp_interval / 1000, self.opts.arp_missed_max,
                                 self.opts.arp_validate, bool(self.opts.arp_all_targets), targets)
            for member in self.members:
                self._arp.add(member.name, now)
            self._arp_task = self.loop.create_task(self._arp_monitor())
        for member in self.members:
            self._open_listeners(member)

    async def _arp_monitor(self) -> None:
        interval = self.opts.arp_interval / 1000
        while True:
            self._arp_tick(self.clock.now())
            await self.clock.sleep(interval)

    def _arp_tick(self, now: float) -> None:
        # Our addresses, refreshed once per interval rather than per frame:
        # a flood of ARP must not turn into a flood of netlink dumps.
        self._ours_v4 = self._our_ips(socket.AF_INET)
        self._ours_v6 = self._our_ips(socket.AF_INET6)
        judge = self._arp
        for member in list(self.members):
            active = member is self.active
            judge.saw_counters(member.name, self.links.counters(member.name)["rx_packets"], active, now)
            self._run(self.core.verdict(member, "arp", judge.alive(member.name, active, now), now))
        prober = self.active
        if prober is None:
            candidates = [m for m in self.members if m.carrier]
            if candidates:
                prober = candidates[self._arp_rotation % len(candidates)]
                self._arp_rotation += 1
        if prober is None:
            return
        v4 = [c for c in self.links.addresses(self.name) if ":" not in c]
        v6 = [c for c in self.links.addresses(self.name, scope_global_only=False) if ":" in c]
        for frame in probe_frames(mac_to_bytes(self.mac), v4, list(self.opts.arp_ip_target),
                                  v6, list(self.opts.ns_ip6_target)):
            self._send_control(prober, frame)

    def _our_ips(self, family: int) -> set[bytes]:
        out = set()
        for cidr in self.links.addresses(self.name, scope_global_only=False):
            ip = ipaddress.ip_interface(cidr).ip
            if ip.version == (4 if family == socket.AF_INET else 6):
                out.add(ip.packed)
        return out
