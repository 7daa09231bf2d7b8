"""active-backup (mode 1): one member carries everything.

Selection follows the kernel's bond_choose_primary_or_current and
bond_find_best_slave: the primary wins when primary_reselect allows it,
otherwise the current active stays, otherwise the first usable member by
priority then order.
"""
from __future__ import annotations

from typing import Protocol, Sequence

from .base import RX_DELIVER, RX_DROP, Runner

RESELECT_ALWAYS, RESELECT_BETTER, RESELECT_FAILURE = 0, 1, 2


class Candidate(Protocol):
    name: str
    up: bool            # link state UP (delays settled)
    speed: int          # Mbps, 0 unknown
    duplex: int         # 1 full, 0 half/unknown
    prio: int


def choose_active(members: Sequence[Candidate], current: Candidate | None,
                  primary: Candidate | None, reselect: int,
                  force_primary: bool = False) -> Candidate | None:
    chosen = _primary_or_current(current, primary, reselect, force_primary)
    if chosen is not None:
        return chosen
    best = None
    for member in members:
        if member.up and (best is None or member.prio > best.prio):
            best = member
    return best


def _primary_or_current(current, primary, reselect, force_primary):
    current_up = current is not None and current.up
    if primary is None or not primary.up:
        return current if current_up else None
    if force_primary or not current_up:
        return primary
    if reselect == RESELECT_ALWAYS:
        return primary
    if reselect == RESELECT_BETTER:
        if primary.speed < current.speed:
            return current
        if primary.speed == current.speed and primary.duplex <= current.duplex:
            return current
        return primary
    return current  # RESELECT_FAILURE


class ActiveBackup(Runner):
    uses_active = True

    def transmit(self, usable, active, bond_mac):
        return active.send if active is not None else None

    def tx_members(self, usable, active):
        return [active] if active is not None else []

    def rx_policy(self, member, active):
        # Frames on a backup are dropped, as on the kernel's inactive slaves,
        # unless all_slaves_active asks for them.
        return RX_DELIVER if member is active or self.opts.all_slaves_active else RX_DROP

    def carrier(self, usable, active):
        return active is not None
