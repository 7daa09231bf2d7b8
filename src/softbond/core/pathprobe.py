"""The path monitor's I/O (path_monitor=on): one ARP probe per member and
interval to the probe target, on the member's own socket, and the replies
picked out of the ARP listener the ARP monitor already reads
(listeners.py). The judging is monitors/path.py's.

A probe is an RFC 5227 ARP probe (sender IP 0.0.0.0, so the target's
neighbour cache learns nothing) from a MAC made up per member (its
permanent MAC with a local-bit twist), as `softbond doctor`'s probe does;
to an IPv6 target (ns_ip6_target) a neighbour solicitation from that MAC's
own link-local address, which is not the bond's either. Either way:
the switch learns that MAC on the member's port, so the reply comes back on
the same path, and the bond's own MAC never moves in the switch's table
whichever member probes. The member's NIC is told to accept that MAC
(PACKET_MR_UNICAST on the listener, dropped with the socket).

A member without carrier is not probed: the link monitors have it, and it
starts with a clean window when its carrier returns. A verdict goes the way
a lost carrier goes (member.path_ok into health.py's observe): the member
is no longer usable, and the bond reselects and publishes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time

from .errors import BondError
from ..kernel.packet import PACKET_ADD_MEMBERSHIP, SOL_PACKET
from ..monitors.path import PathJudge
from ..wire.arp import ARPOP_REPLY, build_arp_probe, ip4_bytes
from ..wire.ndisc import build_ns, ip6_bytes
from ..wire.ethernet import mac_to_bytes

PACKET_MR_UNICAST = 3


def probe_mac(perm_hwaddr: str) -> bytes:
    """A MAC of the member's own for its probes: locally administered,
    unicast, and never its permanent MAC (bit 2 of the first byte flipped)."""
    mac = bytearray(mac_to_bytes(perm_hwaddr))
    mac[0] = ((mac[0] ^ 0x04) | 0x02) & 0xFE
    return bytes(mac)


def link_local(mac: bytes) -> str:
    """fe80:: and the EUI-64 of `mac` (RFC 4291): the probe MAC's own address."""
    eui = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui))


def probe_target(bond) -> str | None:
    """The first arp_ip_target, else the first ns_ip6_target, else the
    bond's IPv4 default gateway (read now, once)."""
    opts = bond.opts
    if opts.arp_ip_target:
        return opts.arp_ip_target[0]
    if opts.ns_ip6_target:
        return opts.ns_ip6_target[0]
    return bond.links.default_gateway(bond.name)


def check_target(bond, opts, *, starting: bool) -> None:
    """Refuse path_monitor=on without anything to probe: at `up`, before
    anything is touched (the configured gateway counts, and inherit's
    routes, which only exist later); live, the bond's routes as they are."""
    if not opts.path_monitor or opts.arp_ip_target or opts.ns_ip6_target:
        return
    if starting:
        found = bool(bond.config.gateway) or bool(opts.inherit)
    else:
        found = bond.links.default_gateway(bond.name) is not None
    if not found:
        raise BondError(
            f"{bond.name}: path_monitor=on needs a probe target: set arp_ip_target "
            "or ns_ip6_target (or give the bond an IPv4 default gateway)"
        )


class PathProbe:
    """Sends the probes, feeds the judge, applies its verdicts to the bond."""

    def __init__(self, bond, target: str) -> None:
        opts = bond.opts
        self.bond = bond
        self.target = target
        self.v6 = ":" in target
        self.target_ip = ip6_bytes(target) if self.v6 else ip4_bytes(target)
        self.judge = PathJudge(
            opts.path_monitor_interval / 1000,
            opts.path_monitor_window,
            opts.path_monitor_loss,
            opts.path_monitor_rtt,
            opts.path_monitor_recover,
        )
        self.frames: dict[int, bytes] = {}  # ifindex -> its probe, built once
        self.macs: dict[int, bytes] = {}
        self.owners: dict[bytes, int] = {}  # probe MAC -> ifindex of the member that sends from it
        self.task: asyncio.Task | None = None

    @classmethod
    def start(cls, bond) -> PathProbe | None:
        if not bond.opts.path_monitor:
            return None
        # The gateway is read once, here: a route changed later takes a restart (any path_monitor_* set).
        target = probe_target(bond)
        if target is None:
            bond._event(
                "warning",
                "path_monitor: no arp_ip_target, ns_ip6_target or IPv4 default gateway: not probing",
                level=logging.WARNING,
            )
            return None
        probe = cls(bond, target)
        for member in bond.members:
            probe.add(member)
        probe.task = bond.loop.create_task(probe._run())
        return probe

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def add(self, member) -> None:
        self.judge.add(member.ifindex)
        mac = self.macs[member.ifindex] = probe_mac(member.perm_hwaddr)
        self.owners[mac] = member.ifindex
        self.frames[member.ifindex] = (
            build_ns(mac, link_local(mac), self.target) if self.v6 else build_arp_probe(mac, "0.0.0.0", self.target)
        )

    def remove(self, member) -> None:
        self.judge.remove(member.ifindex)
        self.frames.pop(member.ifindex, None)
        self.owners.pop(self.macs.pop(member.ifindex, b""), None)
        member.path_ok = True

    def listen(self, member, listener) -> None:
        """The member's NIC accepts frames to its probe MAC for as long as
        its ARP listener is open."""
        mac = self.macs.get(member.ifindex)
        if mac is None:
            return
        mreq = (
            member.ifindex.to_bytes(4, "little")
            + PACKET_MR_UNICAST.to_bytes(2, "little")
            + (6).to_bytes(2, "little")
            + mac
            + bytes(2)
        )
        listener.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)

    def saw_arp(self, arp, now: float) -> None:
        """A reply counts for the member whose probe MAC it is sent to,
        whichever member it arrives on: a switch that trunks the members
        (802.3ad, a static LAG) picks the way back itself."""
        if arp.op == ARPOP_REPLY and arp.sender_ip == self.target_ip:
            self._replied(arp.eth_dst, now)

    def saw_na(self, na, now: float) -> None:
        """An NA from the IPv6 target, sent to a probe MAC (as saw_arp)."""
        if na.target == self.target_ip:
            self._replied(na.eth_dst, now)

    def _replied(self, probe_mac: bytes, now: float) -> None:
        owner = self.owners.get(probe_mac)
        if owner is not None:
            self.judge.replied(owner, now)

    async def _run(self) -> None:
        while True:
            with self.bond._logs_after():
                self.tick(time.monotonic())
            await asyncio.sleep(self.judge.interval)

    def tick(self, now: float) -> None:
        bond = self.bond
        by_index = {m.ifindex: m for m in bond.members}
        for ifindex, in_service in self.judge.tick(now):
            member = by_index.get(ifindex)
            if member is None:
                continue
            quality = self.judge.quality(ifindex)
            if in_service:
                bond._event(
                    "path", f"path monitor: {self.judge.recover} probes answered in a row, back in service", member
                )
            else:
                bond._event(
                    "path", f"path monitor: {quality.reason}, taking it out of service", member, level=logging.WARNING
                )
            member.path_ok = in_service
            bond.health.observe(member, member.carrier, now)  # as a lost carrier: usable no more, reselect
            if not bond.runner.path_takes_link_down:
                bond._publish()  # 802.3ad: out of (or back into) distribution only
        for member in bond.members:
            # Not probed: a member without carrier (the link monitors have
            # it), and an 802.3ad port LACP has not made collecting (the
            # partner drops what it sends); either starts with a clean window.
            if not member.carrier or bond.runner.member_collecting(member.name) is False:
                if self.judge.quality(member.ifindex).probes:
                    self.judge.add(member.ifindex)  # a clean start when the carrier returns
                if not member.path_ok:
                    member.path_ok = True
                continue
            bond._send_control(member, self.frames[member.ifindex])
            self.judge.sent(member.ifindex, now)

    def status(self, member) -> dict | None:
        quality = self.judge.quality(member.ifindex)
        if quality is None:
            return None
        return {
            "state": "in service" if quality.in_service else "out of service",
            "loss_pct": quality.loss_pct,
            "rtt_ms": quality.rtt_ms,
            "probes": quality.probes,
            "taken_out": quality.taken_out,
            "reason": quality.reason,
            "target": self.target,
        }
