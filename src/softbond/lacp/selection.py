"""Aggregators and the Selection Logic (802.1AX 6.4.14; bond_3ad.c
ad_port_selection_logic / ad_agg_selection_logic / ad_agg_selection_test).

Every port brings one aggregator, numbered from 1 in the order ports are
added (as the kernel does).  A port that is not SELECTED leaves its
aggregator once its mux machine is DETACHED, then joins an aggregator with
the same actor key, partner system, partner system priority and partner
key, that has a partner and is not individual; otherwise it takes the
first free aggregator.  Only one aggregator is active; ad_select decides
which (stable, bandwidth, count).

The active aggregator's ports pass frames (``enabled_ports``): with a
partner, those in COLLECTING_DISTRIBUTING; without one (no partner ever
answered, or its information timed out: an individual link), every port
with link up whose receive machine is DEFAULTED, as the kernel's
ad_agg_selection_logic enables them. The kernel holds its first
aggregator selection 8 s for the same reason this waits for DEFAULTED
(the 3 s short timeout): a partner that answers at start-up must not see
the bond's carrier go up on one port, down, and up again on the LAG.
A partner-less aggregator holds one port, so such a bond runs over one
member and fails over when that member loses its link.

Protection against a partner that keeps changing its identity: once a port
has joined an aggregator with a live partner, it joins another one at most
once per Aggregate_Wait_Time (2 s); each held re-selection is counted in
the port's ``reselect_held`` counter.
"""

from __future__ import annotations

from ..config.registry import AdSelect
from .params import (
    AGGREGATE_WAIT_TIME,
    CURRENT,
    DEFAULTED_STATE,
    DETACHED,
    DUPLEX_KEY_MASK,
    SPEED_KEY_MASK,
    SPEED_OF_CODE,
    USER_KEY_MASK,
    ZERO_MAC,
)
from .port import Port

AD_SELECT_STABLE, AD_SELECT_BANDWIDTH, AD_SELECT_COUNT = AdSelect


class Aggregator:
    __slots__ = (
        "id",
        "ports",
        "is_individual",
        "actor_key",
        "partner_system",
        "partner_system_priority",
        "partner_key",
        "is_active",
    )

    def __init__(self, agg_id: int):
        self.id = agg_id
        self.ports: list[Port] = []
        self.clear()

    def clear(self) -> None:
        """ad_clear_agg (the id is kept)."""
        self.ports = []
        self.is_individual = False
        self.actor_key = 0
        self.partner_system = ZERO_MAC
        self.partner_system_priority = 0
        self.partner_key = 0
        self.is_active = False

    def take_over(self, other: "Aggregator") -> None:
        """Move every port and parameter of *other* here (unbinding a port
        whose aggregator still serves other ports)."""
        self.ports = other.ports
        self.is_individual = other.is_individual
        self.actor_key = other.actor_key
        self.partner_system = other.partner_system
        self.partner_system_priority = other.partner_system_priority
        self.partner_key = other.partner_key
        self.is_active = other.is_active
        for port in self.ports:
            port.aggregator = self
        other.clear()

    @property
    def has_partner(self) -> bool:
        return self.partner_system != ZERO_MAC

    @property
    def active_ports(self) -> int:
        """__agg_active_ports: ports whose link is up."""
        return sum(1 for p in self.ports if p.link_up)

    @property
    def bandwidth(self) -> int:
        """Total Mb/s of the ports whose link is up (speeds the key knows)."""
        total = 0
        for p in self.ports:
            if p.link_up:
                total += SPEED_OF_CODE.get((p.actor_oper_key & SPEED_KEY_MASK) >> 1, 0)
        return total

    def matches(self, port: Port) -> bool:
        partner = port.partner
        return (
            self.actor_key == port.actor_oper_key
            and self.partner_system == partner.system
            and self.partner_system_priority == partner.system_priority
            and self.partner_key == partner.key
            and self.has_partner
            and not self.is_individual
            and not port.is_individual
        )


def _detach(port: Port) -> Aggregator | None:
    agg = port.aggregator
    if agg is None:
        return None
    if port in agg.ports:
        agg.ports.remove(port)
    port.aggregator = None
    if not agg.ports:
        agg.clear()
    return agg


def port_selection(port: Port, aggregators: list[Aggregator], now: float) -> bool:
    """Run the Selection Logic for one port.  Returns True when the port
    left or joined an aggregator (the caller then re-runs
    ``select_active``)."""
    if port.selected or port.mux_state not in (None, DETACHED):
        return False
    changed = _detach(port) is not None
    if port.joined_with_partner and port.joined_at is not None and now < port.joined_at + AGGREGATE_WAIT_TIME:
        port.counters["reselect_held"] += 1
        return changed
    chosen = None
    free = None
    for agg in aggregators:
        if not agg.ports:
            if free is None:
                free = agg
        elif agg.matches(port):
            chosen = agg
            break
    if chosen is None:
        chosen = free
        if chosen is None:  # cannot happen: every port brings an aggregator
            return changed
        chosen.is_individual = port.is_individual
        chosen.actor_key = port.actor_oper_key
        chosen.partner_system = port.partner.system
        chosen.partner_system_priority = port.partner.system_priority
        chosen.partner_key = port.partner.key
    chosen.ports.append(port)
    port.aggregator = chosen
    port.selected = True
    port.joined_at = now
    port.joined_with_partner = port.rx_state == CURRENT and port.partner.system != ZERO_MAC
    return True


def _better(best: Aggregator | None, curr: Aggregator, ad_select: int) -> Aggregator:
    """ad_agg_selection_test: is *curr* a better active aggregator?"""
    if best is None:
        return curr
    if not curr.is_individual and best.is_individual:
        return curr
    if curr.is_individual and not best.is_individual:
        return best
    if curr.has_partner and not best.has_partner:
        return curr
    if not curr.has_partner and best.has_partner:
        return best
    if ad_select == AD_SELECT_COUNT:
        if curr.active_ports != best.active_ports:
            return curr if curr.active_ports > best.active_ports else best
    return curr if curr.bandwidth > best.bandwidth else best


def select_active(aggregators: list[Aggregator], ad_select: int) -> Aggregator | None:
    """ad_agg_selection_logic: choose the active aggregator; returns it."""
    active = next((a for a in aggregators if a.is_active), None)
    best = active if active is not None and active.active_ports else None
    for agg in aggregators:
        agg.is_active = False
        if agg.active_ports:
            best = _better(best, agg, ad_select)
    if (
        best is not None
        and ad_select == AD_SELECT_STABLE
        and active is not None
        and active.active_ports
        and (active.has_partner or not best.has_partner)
        and not (not active.actor_key and best.actor_key)
    ):
        best = active
    if best is not None:
        best.is_active = True
    return best


def enabled_ports(active: Aggregator | None) -> list[Port]:
    """The ports frames pass through (the kernel's __enable_port): see the
    module docstring."""
    if active is None:
        return []
    if active.has_partner:
        return [p for p in active.ports if p.collecting_distributing]
    return [p for p in active.ports if p.link_up and p.rx_state == DEFAULTED_STATE]


def split_reason(port: Port, other: Aggregator) -> tuple[str, str] | None:
    """Why *port* could not join *other*: (category, text), or None when
    the difference is not worth a warning (no live partner yet)."""
    if not (port.actor_oper_key & DUPLEX_KEY_MASK):
        return "duplex", "port is half duplex, so individual"
    if port.rx_state != CURRENT or not other.has_partner:
        return None
    if port.is_individual:
        return "individual", "the partner marks the link as individual"
    mine, theirs = port.actor_oper_key, other.actor_key
    if (mine ^ theirs) & DUPLEX_KEY_MASK:
        return "duplex", "different duplex"
    if (mine ^ theirs) & SPEED_KEY_MASK:
        a = SPEED_OF_CODE.get((mine & SPEED_KEY_MASK) >> 1, 0)
        b = SPEED_OF_CODE.get((theirs & SPEED_KEY_MASK) >> 1, 0)
        return "speed", f"different speed {a} Mb/s (aggregator {other.id}: {b} Mb/s)"
    if (mine ^ theirs) & USER_KEY_MASK:
        return "key", f"different port key {mine} (aggregator {other.id}: {theirs})"
    partner = port.partner
    if (partner.system, partner.system_priority) != (other.partner_system, other.partner_system_priority):
        return "partner system", (
            f"different partner system {partner.system_priority},{_mac(partner.system)}"
            f" (aggregator {other.id}: {other.partner_system_priority},"
            f"{_mac(other.partner_system)})"
        )
    if partner.key != other.partner_key:
        return "partner key", (f"different partner key {partner.key} (aggregator {other.id}: {other.partner_key})")
    return None


def _mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)
