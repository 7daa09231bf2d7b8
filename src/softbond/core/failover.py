"""Choosing the active member and what follows a change of it: the MAC
handling of fail_over_mac (or tlb/alb's MAC swap), the bond's carrier, and
the gratuitous ARP / unsolicited NA that tell the peers where the bond's
MAC now lives.

`Failover` is one part of `bond.Bond` (mixed in): what is chosen, and when,
is the pure core's (decide.BondCore); this carries out its actions.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import time

from .membership import FAIL_OVER_MAC_ACTIVE, FAIL_OVER_MAC_FOLLOW, Member
from ..modes.alb import learning_frame
from ..kernel import links as linkops
from ..kernel import mcast
from ..wire import arp as wire_arp
from ..wire import igmp as wire_igmp
from ..wire import mld as wire_mld

IGMP_RESEND_INTERVAL = 0.2     # seconds between resend_igmp rounds (HZ/5)
MLD2_RECORDS = 64              # 20-byte records: a report stays below a 1500-byte MTU
from ..wire.ethernet import mac_to_bytes
from ..wire import ndisc as wire_ndisc


class Failover:
    """Active member selection, fail_over_mac, carrier and peer notification."""

    def _uses_primary(self) -> bool:
        return self.core.uses_primary()

    def _reselect(self, force_primary: bool = False) -> None:
        self._run(self.core.reselect(time.monotonic(), force_primary))

    def _change_active(self, new: Member | None, announce: bool = True) -> None:
        self._run(self.core.change_active(new, announce))

    def _move_mac(self, old: Member | None, new: Member) -> None:
        if self.runner.unique_macs:
            self._move_bond_mac(old, new)
        else:
            self._apply_fail_over_mac(old, new)

    def _move_bond_mac(self, old: Member | None, new: Member) -> None:
        """tlb/alb (bond_alb_handle_active_change): the active member carries
        the bond's MAC. The member holding it swaps MACs with the new one,
        then both send learning frames so the switch moves them at once."""
        bond_mac = mac_to_bytes(self.mac)
        if new.mac_bytes == bond_mac:
            return
        holder = next((m for m in self.members if m.mac_bytes == bond_mac and m is not new), None)
        previous = new.mac_bytes
        self._set_member_mac(new, bond_mac)
        if holder is not None:
            self._set_member_mac(holder, previous)
        moved = [m for m in (new, holder) if m is not None]
        self.runner.macs_moved(*moved)
        for member in moved:
            for _ in range(2):
                self._send_control(member, learning_frame(member.mac_bytes))

    def _apply_fail_over_mac(self, old: Member | None, new: Member) -> None:
        fom = self.opts.fail_over_mac
        try:
            if fom == FAIL_OVER_MAC_ACTIVE:
                current = linkops.sysfs(new.name, "address")
                if current and current != self.mac:
                    self.mac = current
                    self.links.set_mac(self.name, current)
            elif fom == FAIL_OVER_MAC_FOLLOW and old is not None and old in self.members:
                new_mac = linkops.sysfs(new.name, "address")
                self.links.set_mac(new.name, self.mac)
                if new_mac and new_mac != self.mac:
                    self.links.set_mac(old.name, new_mac)
            elif fom == FAIL_OVER_MAC_FOLLOW:
                self.links.set_mac(new.name, self.mac)
        except linkops.LinkError as exc:
            self._event("warning", f"fail_over_mac: {exc}", new, level=logging.WARNING)

    def _update_carrier(self) -> None:
        self._run(self.core.update_carrier())

    def _set_carrier(self, on: bool) -> None:
        self.core.carrier = on
        if self.device is not None:
            self.device.set_carrier(on)

    # -------------------------------------------------------- peer notifying
    def _schedule_peer_notify(self, member: Member) -> None:
        """The first round goes out now, the rest from a task."""
        if self._notify_task:
            self._notify_task.cancel()
            self._notify_task = None
        count = self.opts.num_grat_arp
        if count <= 0:
            return
        self._notify_round(member)
        if count > 1:
            gap = (self.opts.peer_notif_delay or self.opts.miimon or self.opts.arp_interval or 0) / 1000
            self._notify_task = self.loop.create_task(self._peer_notify(member, count - 1, gap))

    def _schedule_igmp_resend(self, member: Member) -> None:
        """resend_igmp: the joined groups reported by the new active member,
        at once and then every 200 ms, resend_igmp times in all (the
        kernel's mcast_work, HZ/5)."""
        if self._igmp_task:
            self._igmp_task.cancel()
            self._igmp_task = None
        if self.opts.resend_igmp > 0 and self.loop is not None:
            self._igmp_task = self.loop.create_task(self._igmp_resend(member, self.opts.resend_igmp))

    async def _igmp_resend(self, member: Member, count: int) -> None:
        for i in range(count):
            if member is not self.active:
                return
            for frame in self._membership_reports():
                self._send_control(member, frame)
            if i + 1 < count:
                await asyncio.sleep(IGMP_RESEND_INTERVAL)

    def _membership_reports(self) -> list[bytes]:
        """IGMP reports, one per group as ip_mc_rejoin_groups sends them (a
        v1 querier gets v2 reports, which v1 routers ignore harmlessly), and
        MLD reports (v2: all groups in reports of up to MLD2_RECORDS each,
        as mld_send_report packs them; v1: one per group)."""
        mac = mac_to_bytes(self.mac)
        addresses = [ipaddress.ip_interface(c).ip for c in self.links.addresses(self.name, scope_global_only=False)]
        frames = []
        version, groups = mcast.igmp_groups(self.name)
        if groups:
            src = str(next((ip for ip in addresses if ip.version == 4 and not ip.is_link_local), "0.0.0.0"))
            build = wire_igmp.build_igmpv3_report if version == 3 else wire_igmp.build_igmpv2_report
            frames += [build(mac, src, g) for g in groups]
        groups6 = mcast.mld_groups(self.name)
        if groups6:
            src6 = str(next((ip for ip in addresses if ip.version == 6 and ip.is_link_local), "::"))
            if mcast.mld_version(self.name) == 1:
                frames += [wire_mld.build_mldv1_report(mac, src6, g) for g in groups6]
            else:
                frames += [wire_mld.build_mldv2_report(mac, src6, groups6[k:k + MLD2_RECORDS])
                           for k in range(0, len(groups6), MLD2_RECORDS)]
        return frames

    async def _peer_notify(self, member: Member, count: int, gap: float) -> None:
        """Gratuitous ARP and unsolicited NA so the switch and the peers learn
        at once where our MAC now lives (num_grat_arp / num_unsol_na)."""
        for _ in range(count):
            await asyncio.sleep(gap)
            if member is not self.active:
                return
            self._notify_round(member)

    def _notify_round(self, member: Member) -> None:
        mac = mac_to_bytes(self.mac)
        for cidr in self.links.addresses(self.name, scope_global_only=False):
            ip = ipaddress.ip_interface(cidr).ip
            if ip.version == 4:
                frame = wire_arp.build_gratuitous_arp(mac, str(ip))
            else:
                frame = wire_ndisc.build_unsolicited_na(mac, str(ip))
            self._send_control(member, frame)
