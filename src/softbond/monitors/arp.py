"""The ARP (and IPv6 NS) link monitor: arp_interval, arp_ip_target,
ns_ip6_target, arp_validate, arp_all_targets, arp_missed_max.

It catches a dead path whose carrier stays up: a member is judged by whether
anything (or, when validating, the right ARP/NA) arrived on it recently,
as in the kernel's bond_ab_arp_inspect. Probes leave through the active
member; with no active member they rotate through the others so that each
gets a chance to prove itself without the switch seeing our MAC flap.
Received-traffic evidence for unvalidated members comes from the kernel's
own rx counters, so the data path does no per-frame bookkeeping for it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TypeVar

from ..wire import arp as wire_arp
from ..wire import ndisc as wire_ndisc

ARP_VALIDATE_ACTIVE = 1
ARP_VALIDATE_BACKUP = 2
ARP_FILTER = 4


def validates(arp_validate: int, active: bool) -> bool:
    return bool(arp_validate & (ARP_VALIDATE_ACTIVE if active else ARP_VALIDATE_BACKUP))


@dataclass
class Evidence:
    """When a member last showed signs of life."""

    last_rx: float
    rx_packets: int = -1
    target_rx: dict[bytes, float] = field(default_factory=dict)


class ArpJudge:
    """Pure decision logic; the bond feeds it frames, counters and time."""

    def __init__(
        self, interval: float, missed_max: int, validate: int, all_targets: bool, targets: list[bytes]
    ) -> None:
        self.interval = interval
        self.missed_max = missed_max
        self.validate = validate
        self.all_targets = all_targets
        self.targets = targets
        self.evidence: dict[str, Evidence] = {}

    def add(self, name: str, now: float) -> None:
        self.evidence[name] = Evidence(last_rx=now)

    def remove(self, name: str) -> None:
        self.evidence.pop(name, None)

    def saw_counters(self, name: str, rx_packets: int, active: bool, now: float) -> None:
        ev = self.evidence.get(name)
        if ev is None:
            return
        if ev.rx_packets >= 0 and rx_packets != ev.rx_packets:
            # Any traffic counts for members we do not validate, unless
            # arp_validate=filter* asks for ARP only.
            if not validates(self.validate, active) and not (self.validate & ARP_FILTER):
                ev.last_rx = now
        ev.rx_packets = rx_packets

    def saw_reply(
        self, name: str, sender_ip: bytes, target_ip: bytes, ours: set[bytes], active: bool, now: float
    ) -> None:
        """An ARP (or NA) frame: a reply from a target to us, or, as a backup
        sees it through the switch, our own request to a target."""
        ev = self.evidence.get(name)
        if ev is None:
            return
        target = None
        if sender_ip in self.targets and target_ip in ours:
            target = sender_ip
        elif not active and target_ip in self.targets and sender_ip in ours:
            target = target_ip
        if target is None:
            # Unvalidated filter modes still count any ARP.
            if not validates(self.validate, active) and self.validate & ARP_FILTER:
                ev.last_rx = now
            return
        ev.last_rx = now
        ev.target_rx[target] = now

    def alive(self, name: str, active: bool, now: float) -> bool:
        ev = self.evidence.get(name)
        if ev is None:
            return False
        # Backups get one interval more: they only hear our probes second-hand.
        window = self.interval * (self.missed_max + (0 if active else 1)) + self.interval / 2
        if self.all_targets and active and validates(self.validate, active) and len(self.targets) > 1:
            return all(now - ev.target_rx.get(t, -1e9) <= window for t in self.targets)
        return now - ev.last_rx <= window


def probe_frames(
    mac: bytes, sources_v4: list[str], targets_v4: list[str], sources_v6: list[str], targets_v6: list[str]
) -> list[bytes]:
    """ARP requests / neighbour solicitations for every target, each from the
    bond address on the target's subnet when there is one (as the kernel
    picks the source by route)."""
    frames = []
    for target in targets_v4:
        frames.append(
            wire_arp.build_arp(
                1, mac, _source_for(target, sources_v4, "0.0.0.0"), bytes(6), target, eth_dst=b"\xff" * 6
            )
        )
    for target in targets_v6:
        source = _source_for(target, sources_v6, None)
        if source is not None:
            frames.append(wire_ndisc.build_ns(mac, source, target))
    return frames


_Default = TypeVar("_Default")


def _source_for(target: str, sources: list[str], default: _Default) -> str | _Default:
    addr = ipaddress.ip_address(target)
    for cidr in sources:
        iface = ipaddress.ip_interface(cidr)
        if addr in iface.network:
            return str(iface.ip)
    return str(ipaddress.ip_interface(sources[0]).ip) if sources else default
