"""Choosing the active member and what follows a change of it: the MAC
handling of fail_over_mac (or tlb/alb's MAC swap) and the bond's carrier.

What is chosen, and when, is the pure core's (decide.BondCore); `Failover`
asks it and carries out the MAC moves and the carrier its actions name
(the bond's `run` hands them back here).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Protocol

from ..config.registry import FailOverMac
from ..modes.alb import learning_frame
from ..kernel import links as linkops
from ..wire.ethernet import mac_to_bytes
from .decide import Action, BondCore
from .ports import Clock, LinksPort

if TYPE_CHECKING:  # membership imports the data path; failover needs only the type
    from .membership import Member

# Values of the fail_over_mac option: none, active, follow.
FAIL_OVER_MAC_NONE, FAIL_OVER_MAC_ACTIVE, FAIL_OVER_MAC_FOLLOW = FailOverMac


class Carrier(Protocol):
    """What of the bond device the carrier needs (a data path device)."""

    def set_carrier(self, on: bool) -> None: ...


class Failover:
    """Active member selection, fail_over_mac and the bond's carrier.

    Needs: the bond's name, the links port, the clock, the core, `run` for
    the core's actions, the bond's device (a getter: a data path switch
    makes a new one), its MAC (a getter) and `take_mac` (the bond takes
    another MAC: fail_over_mac=active), `send` for control frames and
    `event` for the bond's events."""

    def __init__(
        self,
        name: str,
        links: LinksPort,
        clock: Clock,
        core: BondCore,
        run: Callable[[list[Action]], None],
        device: Callable[[], Carrier | None],
        mac: Callable[[], str | None],
        take_mac: Callable[[str], None],
        send: Callable[[Member, bytes], None],
        event: Callable[..., None],
    ) -> None:
        self.name = name
        self.links = links
        self.clock = clock
        self.core = core
        self._run = run
        self._device = device
        self._mac = mac
        self._take_mac = take_mac
        self._send = send
        self._event = event

    def reselect(self, force_primary: bool = False) -> None:
        self._run(self.core.reselect(self.clock.now(), force_primary))

    def change_active(self, new: Member | None, announce: bool = True) -> None:
        self._run(self.core.change_active(new, announce))

    def move_mac(self, old: Member | None, new: Member) -> None:
        if self.core.runner.unique_macs:
            self._move_bond_mac(new)
        else:
            self._apply_fail_over_mac(old, new)

    def _move_bond_mac(self, new: Member) -> None:
        """tlb/alb (bond_alb_handle_active_change): the active member carries
        the bond's MAC. The member holding it swaps MACs with the new one,
        then both send learning frames so the switch moves them at once."""
        mac = self._mac()
        if mac is None or new.mac_bytes == mac_to_bytes(mac):  # None: no member has been enslaved
            return
        bond_mac = mac_to_bytes(mac)
        holder = next((m for m in self.core.members if m.mac_bytes == bond_mac and m is not new), None)
        previous = new.mac_bytes
        self.set_member_mac(new, bond_mac)
        if holder is not None:
            self.set_member_mac(holder, previous)
        moved = [m for m in (new, holder) if m is not None]
        self.core.runner.macs_moved(*moved)
        for member in moved:
            for _ in range(2):
                self._send(member, learning_frame(member.mac_bytes))

    def _apply_fail_over_mac(self, old: Member | None, new: Member) -> None:
        fom = self.core.opts.fail_over_mac
        mac = self._mac()
        if mac is None:  # no member has been enslaved
            return
        try:
            if fom == FAIL_OVER_MAC_ACTIVE:
                current = self.links.sysfs(new.name, "address")
                if current and current != mac:
                    self._take_mac(current)
            elif fom == FAIL_OVER_MAC_FOLLOW and old is not None and old in self.core.members:
                new_mac = self.links.sysfs(new.name, "address")
                self.links.set_mac(new.name, mac)
                if new_mac and new_mac != mac:
                    self.links.set_mac(old.name, new_mac)
            elif fom == FAIL_OVER_MAC_FOLLOW:
                self.links.set_mac(new.name, mac)
        except linkops.LinkError as exc:
            self._event("warning", f"fail_over_mac: {exc}", new, level=logging.WARNING)

    def set_member_mac(self, member: Member, mac: bytes) -> None:
        try:
            self.links.set_mac(member.name, mac.hex(":"))
            member.mac_bytes = mac
        except linkops.LinkError as exc:
            self._event("warning", f"cannot set MAC address: {exc}", member, level=logging.WARNING)

    def set_carrier(self, on: bool) -> None:
        self.core.carrier = on
        device = self._device()
        if device is not None:
            device.set_carrier(on)
