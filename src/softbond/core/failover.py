"""Choosing the active member and what follows a change of it: the MAC
handling of fail_over_mac (or tlb/alb's MAC swap), the bond's carrier, and
the peer notifying that follows (notify.PeerNotifier).

`Failover` is one part of `bond.Bond` (mixed in): what is chosen, and when,
is the pure core's (decide.BondCore); this carries out its actions.
"""
from __future__ import annotations

import logging

from .membership import FAIL_OVER_MAC_ACTIVE, FAIL_OVER_MAC_FOLLOW, Member
from ..modes.alb import learning_frame
from ..kernel import links as linkops
from ..wire.ethernet import mac_to_bytes


class Failover:
    """Active member selection, fail_over_mac, carrier and peer notification."""

    def _uses_primary(self) -> bool:
        return self.core.uses_primary()

    def _reselect(self, force_primary: bool = False) -> None:
        self._run(self.core.reselect(self.clock.now(), force_primary))

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
                current = self.links.sysfs(new.name, "address")
                if current and current != self.mac:
                    self.mac = current
                    self.links.set_mac(self.name, current)
            elif fom == FAIL_OVER_MAC_FOLLOW and old is not None and old in self.members:
                new_mac = self.links.sysfs(new.name, "address")
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
