"""`up --inherit` (option inherit=yes, TOML inherit = true): the bond
takes over its first member's addresses, routes and MTU, and its MAC
unless hwaddr is given, so that peers and established connections to the
host's address see no change; `down` gives them back to that member.

The order is the point: the bond is prepared fully (device, MAC, MTU, up),
then what moves is recorded in the bond's state file, then moved in one
netlink batch (ports/addrmove.py), then the members are enslaved and
forwarding starts. A failure after the move gives everything back (the
daemon stops the bond); a crash is repaired by the next `up` or `down`
from the record (recover_inherited).

`Inheritance` is the bond's object for it; its state is `record` (what
moved, None when nothing did), which the state file written on every
enslave and release carries too (membership.Membership reads it).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Callable

from ..kernel import rundir as runtime
from .errors import BondError
from ..kernel import addrmove
from ..kernel import links as linkops
from ..config.registry import BondOptions

if TYPE_CHECKING:  # membership imports the data path; inherit needs only the type
    from .membership import Member

log = logging.getLogger("softbond")


class Inheritance:
    """Taking over the first member's addresses, and giving them back.

    Owns `record`: what moved (addrmove.capture's record), None when
    nothing did. Needs: the bond's name, the links port, its options (a
    getter: `softbond set` replaces them), the members named at `up`, the
    bond device's ifindex (a getter: a data path switch makes a new
    device), the core's members list and `event` for the bond's events."""

    def __init__(
        self,
        name: str,
        links: linkops.Links,
        opts: Callable[[], BondOptions],
        slaves: tuple[str, ...],
        ifindex: Callable[[], int],
        members: list[Member],
        event: Callable[..., None],
    ) -> None:
        self.name = name
        self.links = links
        self._opts = opts
        self._slaves = slaves
        self._ifindex = ifindex
        self._members = members
        self._event = event
        self.record: dict[str, Any] | None = None
        self._source_state: linkops.LinkState | None = None  # the source as prepare() found it

    def source(self) -> str | None:
        """The member whose addresses the bond takes (up-front checks let it
        have addresses), or None."""
        if self._opts().inherit and self._slaves:
            return self._slaves[0]
        return None

    def prepare(self, adopted: dict[str, linkops.LinkState]) -> linkops.LinkState:
        """Before the bond device exists: the first member as it is (or as
        a crashed run recorded it, in `adopted`), whose MAC and MTU shape
        the device. Enslaving finds the same snapshot in `adopted`."""
        name = self.source()
        if name is None:
            raise BondError(f"{self.name}: option inherit: needs members (--slaves) to inherit from")
        original = adopted.get(name) or self.links.snapshot(name)
        adopted[name] = original
        self._source_state = original
        return original

    def take_over(self) -> None:
        """The bond is ready: read what the member has now, record it, then
        move the addresses and routes onto the bond."""
        name, original = self.source(), self._source_state
        assert name is not None and original is not None, "take_over() before prepare()"
        record = addrmove.capture(self.links.rtnl, original.ifindex, name)
        runtime.write_state(self.name, os.getpid(), [original], inherited=record)
        self.record = record
        try:
            took = addrmove.move(record, (name, original.ifindex), (self.name, self._ifindex()))
        except addrmove.MoveError as exc:
            self.record = None  # put back already
            runtime.write_state(self.name, os.getpid(), [])
            raise BondError(f"{self.name}: inherit from {name}: {exc}; nothing was moved") from None
        self._event(
            "inherit",
            f"took over {len(record['addresses'])} addresses and {len(record['routes'])} routes "
            f"from {name} in one batch ({took * 1e3:.2f} ms)",
        )

    def release_order(self) -> list[Member]:
        """The members in the order a stopping bond releases them: the one
        it took addresses from last, right before they go back to it (the
        time its peers get no answer is the time from its release to then)."""
        record = self.record
        return sorted(self._members, key=lambda m: record is not None and m.ifindex == record["ifindex"])

    def give_back(self) -> None:
        """On stop, once the member is restored: everything moved goes back."""
        record, self.record = self.record, None
        if record is None:
            return
        found = self.links.find(record["ifindex"])
        if found is None:
            self._event(
                "warning", f"{record['from']} is gone: its addresses are dropped with the bond", level=logging.WARNING
            )
            return
        try:
            took = addrmove.move(record, (self.name, self.links.index(self.name)), (found[0], record["ifindex"]))
        except addrmove.MoveError as exc:
            self._event("warning", f"could not give {found[0]} its addresses back: {exc}", level=logging.WARNING)
            return
        self._event("inherit", f"gave {found[0]} back its addresses and routes ({took * 1e3:.2f} ms)")

    def carry_over(self) -> None:
        """The bond device was just rebuilt (a data path switch): what it
        had taken goes onto the new one as it was, before the plain
        re-adding of its addresses (which then finds them there)."""
        record = self.record
        if record is None:
            return
        try:
            addrmove.move(record, (self.name, 0), (self.name, self.links.index(self.name)))
        except (addrmove.MoveError, linkops.LinkError) as exc:
            self._event(
                "warning", f"the rebuilt device lost what it took from {record['from']}: {exc}", level=logging.WARNING
            )

    def check_release(self, name: str) -> None:
        record = self.record
        if record is not None and any(m.name == name and m.ifindex == record["ifindex"] for m in self._members):
            raise BondError(
                f"{self.name}: cannot release {name}: the bond holds its addresses (inherit); "
                f"softbond down {self.name} gives them back"
            )


def recover_inherited(
    bond: str, links: linkops.Links, original: linkops.LinkState, record: dict[str, Any], member: str
) -> None:
    """Crash recovery of the member the bond took addresses from: restored
    and given back what the dead daemon moved onto the bond (from the bond
    device if it is still there). A member that still holds them died
    before the move, untouched: restoring it (a down and up) would flush
    its IPv6 addresses and routes, so it is left as it is."""
    held = set(links.addresses(member, scope_global_only=False))
    if any(f"{a['address']}/{a['prefixlen']}" in held for a in record["addresses"]):
        return
    try:
        links.restore(original)
    except linkops.LinkError as exc:
        log.warning("%s: (slave %s): could not restore after a crash: %s", bond, member, exc)
    try:
        bond_index = links.index(bond)
    except linkops.LinkError:
        bond_index = 0
    try:
        addrmove.move(record, (bond, bond_index), (member, record["ifindex"]))
    except addrmove.MoveError as exc:
        log.warning("%s: (slave %s): could not give its addresses back after a crash: %s", bond, member, exc)
