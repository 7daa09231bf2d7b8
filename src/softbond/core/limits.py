"""The bond device's size limits, kept in step with its members, as the
kernel's bond keeps them:

- MTU: the members carry the bond's MTU. It is set at enslave (members.py)
  and followed when the admin changes the bond's (`ip link set bond0 mtu
  9000`): the kernel's bond_change_mtu sets every slave and puts back the
  ones it changed if one refuses. softbond hears of the change only after
  the device has taken it, so a refusal also puts the bond device back.
- GSO: the bond device advertises the smallest gso_max_size and
  gso_max_segs of its members (bond_compute_features), so TCP never builds a
  super-frame a member would have to refuse. A member that cannot segment
  at all (no TSO) is fine either way: the kernel segments in software on its
  way out, for AF_PACKET and redirected frames alike. The limits are read
  at enslave and from every link message of a member; the kernel sends none
  for a change of gso_max_size alone, so such a change counts from the
  member's next message (carrier, MTU, features), much as the kernel's bond
  recomputes only on a slave's NETDEV_FEAT_CHANGE. Without link events
  (SOFTBOND_LINK_EVENTS=0, a benchmarking switch) neither is followed live.

`DeviceLimits` is an object of its own: it owns the bond device's MTU and
GSO limits (`mtu`, `gso_limits`) and needs the bond's name, its links, its
members (read only), its device (through a getter: a data path switch
replaces it) and its event log.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..kernel import links as linkops
from ..kernel import netlink

# A bond without members, and the most the data paths take: the kernel's
# GSO_LEGACY_MAX_SIZE and GSO_MAX_SEGS. The Python loop's buffers hold one
# 64 KB super-frame, so members allowing more (BIG TCP) are held to this.
GSO_MAX_SIZE = 65536
GSO_MAX_SEGS = 65535


class DeviceLimits:
    """MTU propagation to the members and the bond device's GSO limits."""

    def __init__(self, name: str, links, members: list, device: Callable[[], object], event: Callable) -> None:
        self.name = name
        self.links = links
        self.members = members
        self._device = device
        self._event = event
        self.mtu = 0  # the bond device's, as last seen
        self.gso_limits = (0, 0)  # the bond device's gso_max_size, gso_max_segs

    @property
    def device(self):
        return self._device()

    def read(self) -> None:
        """The bond device's limits as they are (at start)."""
        self.mtu = int(self.links.sysfs(self.name, "mtu") or 0)
        self.gso_limits = self.links.gso_limits(self.name)

    def apply_configured_mtu(self, mtu: int | None) -> None:
        """The configured MTU, set on the device before any member joins
        (each then takes it at enslave)."""
        if mtu is not None and mtu != self.mtu:
            self.links.set_mtu(self.name, mtu)
            self.device.follow_mtu(mtu)
            self.mtu = mtu

    def bond_link_changed(self, event: netlink.LinkEvent) -> None:
        if event.mtu and event.mtu != self.mtu and not event.deleted:
            self._follow_mtu(event.mtu)

    def _follow_mtu(self, new: int) -> None:
        old = self.mtu
        changed = []
        try:
            for member in self.members:
                if int(self.links.sysfs(member.name, "mtu") or 0) != new:
                    self.links.set_mtu(member.name, new)
                    changed.append(member)
            self.device.follow_mtu(new)
        except linkops.LinkError as exc:
            for member in changed:
                self._try(lambda: self.links.set_mtu(member.name, old))
            self._try(lambda: self.device.follow_mtu(old))
            self._try(lambda: self.links.set_mtu(self.name, old))
            self._event("warning", f"cannot change the MTU to {new}: {exc}; it stays {old}", level=logging.WARNING)
            return
        self.mtu = new
        self._event("mtu", f"MTU changed from {old} to {new} on the bond and its slaves")

    def member_link_changed(self, member, event: netlink.LinkEvent) -> None:
        limits = (event.gso_max_size or member.gso_max_size, event.gso_max_segs or member.gso_max_segs)
        if limits != (member.gso_max_size, member.gso_max_segs):
            member.gso_max_size, member.gso_max_segs = limits
            self.sync_gso_limits()
        if event.mtu and self.mtu and event.mtu != self.mtu and event.mtu != member.mtu_seen:
            # bonding leaves a slave whose MTU was changed under it alone; so
            # do we, but say so once per change, since frames of the bond's
            # size will not pass it.
            self._event(
                "warning", f"MTU {event.mtu} differs from {self.name}'s {self.mtu}", member, level=logging.WARNING
            )
        if event.mtu:
            member.mtu_seen = event.mtu

    def sync_gso_limits(self) -> None:
        size = min([GSO_MAX_SIZE] + [m.gso_max_size for m in self.members if m.gso_max_size])
        segs = min([GSO_MAX_SEGS] + [m.gso_max_segs for m in self.members if m.gso_max_segs])
        if (size, segs) == self.gso_limits:
            return
        try:
            self.links.set_gso_limits(self.name, size, segs)
        except linkops.LinkError as exc:
            self._event("warning", f"cannot set gso_max_size {size} gso_max_segs {segs}: {exc}", level=logging.WARNING)
            return
        self.gso_limits = (size, segs)

    def _try(self, action) -> None:
        try:
            action()
        except linkops.LinkError as exc:
            self._event("warning", f"rolling back the MTU: {exc}", level=logging.WARNING)
