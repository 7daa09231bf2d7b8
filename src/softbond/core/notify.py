"""Telling the peers where the bond's MAC now lives, after the active
member changed: gratuitous ARP and unsolicited NA rounds (num_grat_arp /
num_unsol_na, peer_notif_delay apart) and the joined multicast groups
reported again (resend_igmp).

`PeerNotifier` owns its rounds (the tasks that send them); it needs the
bond's name, its links (the addresses), and getters for the options, the
bond's MAC and the active member (a round stops when another member took
over), and a way to send a control frame on a member. The bond sets `loop`
at start.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import TYPE_CHECKING, Callable, Protocol

from ..kernel import mcast
from ..wire import arp as wire_arp
from ..wire import igmp as wire_igmp
from ..wire import mld as wire_mld
from ..wire import ndisc as wire_ndisc
from ..config.registry import BondOptions
from ..wire.ethernet import mac_to_bytes

if TYPE_CHECKING:  # membership imports the data path; this needs only the type
    from .membership import Member

IGMP_RESEND_INTERVAL = 0.2  # seconds between resend_igmp rounds (HZ/5)
MLD2_RECORDS = 64  # 20-byte records: a report stays below a 1500-byte MTU


class Addresses(Protocol):
    """What the notifier reads of kernel/links.Links: the bond's addresses."""

    def addresses(self, name: str, *, scope_global_only: bool = True) -> list[str]: ...


class PeerNotifier:
    """GARP/NA rounds and IGMP/MLD reports from the active member."""

    def __init__(
        self,
        name: str,
        links: Addresses,
        opts: Callable[[], BondOptions],
        mac: Callable[[], str],
        active: Callable[[], Member | None],
        send: Callable[[Member, bytes], None],
    ) -> None:
        self.name = name
        self.links = links
        self._opts = opts
        self._mac = mac
        self._active = active
        self._send = send
        self.loop: asyncio.AbstractEventLoop | None = None
        self._notify_task: asyncio.Task[None] | None = None
        self._igmp_task: asyncio.Task[None] | None = None

    def stop(self) -> None:
        for task in (self._notify_task, self._igmp_task):
            if task:
                task.cancel()

    def notify(self, member: Member) -> None:
        """The first round goes out now, the rest from a task."""
        if self._notify_task:
            self._notify_task.cancel()
            self._notify_task = None
        opts = self._opts()
        count = opts.num_grat_arp
        if count <= 0:
            return
        self.notify_round(member)
        if count > 1 and self.loop is not None:  # (None: not started, as in unit tests)
            gap = (opts.peer_notif_delay or opts.miimon or opts.arp_interval or 0) / 1000
            self._notify_task = self.loop.create_task(self._peer_notify(member, count - 1, gap))

    def resend_igmp(self, member: Member) -> None:
        """resend_igmp: the joined groups reported by the new active member,
        at once and then every 200 ms, resend_igmp times in all (the
        kernel's mcast_work, HZ/5)."""
        if self._igmp_task:
            self._igmp_task.cancel()
            self._igmp_task = None
        count = self._opts().resend_igmp
        if count > 0 and self.loop is not None:
            self._igmp_task = self.loop.create_task(self._igmp_resend(member, count))

    async def _igmp_resend(self, member: Member, count: int) -> None:
        for i in range(count):
            if member is not self._active():
                return
            for frame in self._membership_reports():
                self._send(member, frame)
            if i + 1 < count:
                await asyncio.sleep(IGMP_RESEND_INTERVAL)

    def _membership_reports(self) -> list[bytes]:
        """IGMP reports, one per group as ip_mc_rejoin_groups sends them (a
        v1 querier gets v2 reports, which v1 routers ignore harmlessly), and
        MLD reports (v2: all groups in reports of up to MLD2_RECORDS each,
        as mld_send_report packs them; v1: one per group)."""
        mac = mac_to_bytes(self._mac())
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
                frames += [
                    wire_mld.build_mldv2_report(mac, src6, groups6[k : k + MLD2_RECORDS])
                    for k in range(0, len(groups6), MLD2_RECORDS)
                ]
        return frames

    async def _peer_notify(self, member: Member, count: int, gap: float) -> None:
        """Gratuitous ARP and unsolicited NA so the switch and the peers learn
        at once where our MAC now lives (num_grat_arp / num_unsol_na)."""
        for _ in range(count):
            await asyncio.sleep(gap)
            if member is not self._active():
                return
            self.notify_round(member)

    def notify_round(self, member: Member) -> None:
        mac = mac_to_bytes(self._mac())
        for cidr in self.links.addresses(self.name, scope_global_only=False):
            ip = ipaddress.ip_interface(cidr).ip
            if ip.version == 4:
                frame = wire_arp.build_gratuitous_arp(mac, str(ip))
            else:
                frame = wire_ndisc.build_unsolicited_na(mac, str(ip))
            self._send(member, frame)
