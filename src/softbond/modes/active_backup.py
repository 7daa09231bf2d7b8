"""active-backup (mode 1): one member carries everything.

Selection follows the kernel's bond_choose_primary_or_current and
bond_find_best_slave (with the per-slave prio of Linux 6.0): a primary that
is up is the candidate; otherwise the up member with the highest prio (the
first of equals). The candidate replaces a current active that is up only
as primary_reselect allows; with no member up there is none (the caller
may then take a member whose updelay is still running).

When to choose at all is the caller's business, as in bond_miimon_commit:
see `link_change_reselects`.
"""

from __future__ import annotations

from typing import Protocol, Sequence, TypeVar

from ..config.registry import PrimaryReselect
from .base import RX_DELIVER, RX_DROP, Port, Runner

RESELECT_ALWAYS, RESELECT_BETTER, RESELECT_FAILURE = PrimaryReselect


class Candidate(Protocol):
    name: str
    speed: int  # Mbps, 0 unknown
    duplex: int  # 1 full, 0 half/unknown
    prio: int

    @property
    def up(self) -> bool:
        """Link state UP (delays settled)."""


#: the members as the caller has them: what it passes in comes back
C = TypeVar("C", bound=Candidate)


def choose_active(
    members: Sequence[C], current: C | None, primary: C | None, reselect: int, force_primary: bool = False
) -> C | None:
    """bond_choose_primary_or_current; bond_find_best_slave's fallback to
    the first member up never finds one this has not already weighed."""
    current_up = current is not None and current.up
    if primary is None or not primary.up:
        best = None
        for member in members:
            if member.up and (best is None or member.prio > best.prio):
                best = member
        if best is None or best is current:
            return current if current_up else None
        candidate = best
    elif force_primary:
        return primary
    else:
        candidate = primary
    if current is None or not current_up:  # (None: for the type checker)
        return candidate
    if reselect == RESELECT_ALWAYS:
        return candidate
    if reselect == RESELECT_BETTER:
        if candidate.speed < current.speed:
            return current
        if candidate.speed == current.speed and candidate.duplex <= current.duplex:
            return current
        return candidate
    return current  # RESELECT_FAILURE


def link_change_reselects(member: Candidate, up: bool, active: Candidate | None, primary: Candidate | None) -> bool:
    """bond_miimon_commit: a member whose link went down makes the bond
    choose again only if it was the active one; one whose link came up, if
    there is no active, it is the primary, or its prio beats the active's."""
    if not up:
        return member is active
    return active is None or member is primary or member.prio > active.prio


class ActiveBackup(Runner):
    uses_active = True

    def tx_members(self, usable: Sequence[Port], active: Port | None) -> list[Port]:
        return [active] if active is not None else []

    def rx_policy(self, member: Port, active: Port | None) -> int:
        # Frames on a backup are dropped, as on the kernel's inactive slaves,
        # unless all_slaves_active asks for them.
        return RX_DELIVER if member is active or self.opts.all_slaves_active else RX_DROP

    def carrier(self, usable: Sequence[Port], active: Port | None) -> bool:
        return active is not None
