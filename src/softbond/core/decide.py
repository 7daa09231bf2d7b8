"""The bond's decisions, without I/O: which member is active, when a link
counts as up or down (updelay, downdelay, the ARP/NS verdict), what the
bond's carrier is, and what the mode runner's output asks for.

`BondCore` takes events with the time they happened (`now`, a monotonic
clock the caller owns) and returns actions; it never sleeps, reads a clock,
opens a socket or touches a link. The asyncio glue in bond.py (`Bond._run`)
executes the actions in the order given, which is the order the kernel's
bond does them in (a fast failover publishes and tells the peers before it
logs). Unit tests drive it with a fake clock (tests/unit/test_core_decide.py).

A new per-member health judge (beside carrier and the ARP/NS monitor) gives
its verdicts to `verdict(member, judge, ok, now)`: a member any judge holds
down (`member.judged_down`) is down for the link state machine, as a lost
carrier is. The path monitor (pathprobe.py) sets Member.path_ok, judge
"path", and has the bond observe the member again: the same thing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, TypeAlias

from ..config.options import BOND_MODE_ACTIVEBACKUP, BOND_MODE_ALB, BOND_MODE_TLB
from ..config.registry import BondOptions, FailOverMac
from ..modes.active_backup import choose_active, link_change_reselects
from ..monitors import link as linkmon

if TYPE_CHECKING:  # membership imports the data path; the core needs only the type
    from ..modes.base import Port, Runner
    from .membership import Member


FAIL_OVER_MAC_NONE = FailOverMac.NONE


# --------------------------------------------------------------- actions
@dataclass(frozen=True)
class Publish:
    """Hand the data path a forwarding snapshot of the members as they are."""


@dataclass(frozen=True)
class SetCarrier:
    on: bool


@dataclass(frozen=True)
class NotifyPeers:
    """Gratuitous ARP / unsolicited NA rounds from the new active member."""

    member: Member


@dataclass(frozen=True)
class ResendIgmp:
    """The joined multicast groups, reported again from the new active member."""

    member: Member


@dataclass(frozen=True)
class MoveMac:
    """The active member changed: tlb/alb swap MACs, fail_over_mac moves them."""

    old: Member | None
    new: Member


@dataclass(frozen=True)
class SendControl:
    member: Member
    frame: bytes


@dataclass(frozen=True)
class Log:
    kind: str
    message: str
    member: Member | None = None
    level: int = logging.INFO


@dataclass(frozen=True)
class WakeAt:
    """Call `expire(member, when)` at `when`: a delay ends then."""

    member: Member
    when: float


#: what BondCore returns, for bond.py to execute in order
Action: TypeAlias = Publish | SetCarrier | NotifyPeers | ResendIgmp | MoveMac | SendControl | Log | WakeAt


# ------------------------------------------------------------------ core
class BondCore:
    """Members, the active one, the carrier and the failover count of one
    bond, and the rules that change them. `members` is the bond's own list
    (membership adds and removes; the core only reads it)."""

    def __init__(self, opts: BondOptions, runner: Runner) -> None:
        self.opts = opts
        self.runner = runner
        self.members: list[Member] = []
        self.active: Member | None = None
        self.carrier = False
        self.failovers = 0
        self._force_primary = False  # the kernel's bond->force_primary, see reselect

    def uses_primary(self) -> bool:
        return self.opts.mode in (BOND_MODE_ACTIVEBACKUP, BOND_MODE_TLB, BOND_MODE_ALB)

    def _primary(self) -> Member | None:
        return next((m for m in self.members if m.name == self.opts.primary), None)

    # ------------------------------------------------------ link health
    def observe(self, member: Member, carrier: bool, now: float) -> list[Action]:
        """A carrier reading (netlink event, miimon poll) of a member, whose
        speed and duplex the caller has already refreshed."""
        member.carrier = carrier
        role = ("active " if member is self.active else "backup ") if self.uses_primary() else ""
        held = member.judged_down if self.runner.path_takes_link_down else member.judged_down - {"path"}
        change = member.link.observe(
            carrier and not held, now, self.opts.updelay / 1000, self.opts.downdelay / 1000, role
        )
        return self._apply(member, change, now)

    def verdict(self, member: Member, judge: str, ok: bool, now: float) -> list[Action]:
        """A health judge's verdict on a member ("arp": the ARP/NS monitor);
        only a change is fed to the link state machine."""
        if ok == (judge not in member.judged_down):
            return []
        if ok:
            member.judged_down.discard(judge)
        else:
            member.judged_down.add(judge)
        return self.observe(member, member.carrier, now)

    def expire(self, member: Member, now: float) -> list[Action]:
        """A delay's time came (see WakeAt)."""
        if member not in self.members:
            return []
        return self._apply(member, member.link.expire(now), now)

    def _apply(self, member: Member, change: linkmon.Change | None, now: float) -> list[Action]:
        if change is None:
            return []
        message = change.message
        if message == "link status definitely up":
            speed = f"{member.speed} Mbps" if member.speed else "Unknown"
            message += f", {speed} {'full' if member.duplex else 'half'} duplex"
        out: list[Action] = [
            Log("link", message, member, logging.INFO if member.link.state != linkmon.DOWN else logging.WARNING)
        ]
        if member.link.state in (linkmon.FAIL, linkmon.BACK):
            out.append(WakeAt(member, member.link.deadline))
        if change.settled:
            self.runner.link_changed(member, now)
            if self._link_change_reselects(member):
                out += self.reselect(now)
            else:
                out += self.update_carrier()
            out.append(Publish())
        return out

    def _link_change_reselects(self, member: Member) -> bool:
        if not self.runner.uses_active:
            return True
        return link_change_reselects(member, member.link.state == linkmon.UP, self.active, self._primary())

    # ------------------------------------------------------- the active
    def reselect(self, now: float, force_primary: bool = False) -> list[Action]:
        """bond_select_active_slave. `force_primary` (the primary was just
        named, or enslaved) holds until the primary is up to take over,
        whatever primary_reselect says."""
        if not self.runner.uses_active:
            return [Publish()] + self.update_carrier()
        primary = self._primary()
        self._force_primary = self._force_primary or force_primary
        force = self._force_primary and primary is not None and primary.up
        if force:
            self._force_primary = False
        new = choose_active(self.members, self.active, primary, self.opts.primary_reselect, force)
        if new is None:
            back = [m for m in self.members if m.link.state == linkmon.BACK]
            if back:  # none up: the kernel takes a going-back member at once
                new = min(back, key=lambda m: m.link.deadline)
                early = new.link.promote_early(now)
                return [
                    Log("link", f"making interface the new active one {early} ms earlier", new)
                ] + self.change_active(new, announce=False)
        if new is not self.active:
            return self.change_active(new)
        return self.update_carrier()

    def change_active(self, new: Member | None, announce: bool = True) -> list[Action]:
        old = self.active
        self.active = new
        # When the MACs stay where they are (no tlb/alb swap, fail_over_mac
        # none) the data path switches and the switch hears the gratuitous
        # ARP before anything else is done: the event log alone costs a few
        # hundred microseconds of the failover. Otherwise the MACs move first.
        fast = new is None or (not self.runner.unique_macs and self.opts.fail_over_mac == FAIL_OVER_MAC_NONE)
        out: list[Action] = []
        if fast:
            out.append(Publish())
            if new is not None:
                out.append(NotifyPeers(new))
        if new is not None:
            if announce:
                out.append(Log("failover" if old is not None else "active", "making interface the new active one", new))
            out.append(MoveMac(old, new))
            if old is not None:
                self.failovers += 1
        if not fast:
            out.append(Publish())
        out += self.update_carrier()
        if new is not None and not fast and not self.runner.unique_macs:
            out.append(NotifyPeers(new))
        if new is not None:
            out.append(ResendIgmp(new))
        return out

    def member_left(self, member: Member, now: float) -> list[Action]:
        """A member is being released (already out of `members`)."""
        if member is self.active:
            self.active = None
        self.runner.remove_member(member, now)
        return [Publish()]

    # ---------------------------------------------------------- carrier
    def update_carrier(self) -> list[Action]:
        carrier = self.runner.carrier([m for m in self.members if m.up], self.active)
        if carrier == self.carrier:
            return []
        self.carrier = carrier
        if not carrier:
            return [SetCarrier(False), Log("carrier", "now running without any active interface!", level=logging.ERROR)]
        return [
            SetCarrier(True),
            Log("carrier", "active interface up!" if self.runner.uses_active else "link status up"),
        ]

    # ------------------------------------------------------- the runner
    def runner_tick(self, now: float) -> list[Action]:
        """The mode's periodic work (tlb, alb, the 802.3ad machines)."""
        return self.runner_output(self.runner.tick(now, list(self.members)))

    def runner_output(self, frames: Iterable[tuple[Port, bytes]]) -> list[Action]:
        """What the runner asks for after a tick or a received frame: frames
        to send, log lines, and (when what forwards changed) a new snapshot."""
        out: list[Action] = [SendControl(member, frame) for member, frame in frames if member in self.members]
        for name, message in self.runner.drain_events():
            member = next((m for m in self.members if m.name == name), None)
            warn = "No 802.3ad" in message or "different" in message or "illegal" in message
            out.append(Log("lacp", message, member, logging.WARNING if warn else logging.INFO))
        if self.runner.dirty:
            self.runner.dirty = False
            out.append(Publish())
            out += self.update_carrier()
        return out
