"""802.3ad (mode 4): LACP decides which members aggregate; frames are
spread over the active aggregator's distributing members by the xmit hash.

The protocol itself (lacp/) is an object without I/O; this runner feeds it
member events, received LACPDUs and a 100 ms tick (the kernel's
AD_TIMER_INTERVAL), sends what it asks to send, and turns its verdicts
(distributing, collecting, carrier) into the forwarding snapshot.
xmit_balance=flowlet moves flows between the distributing members at
their pauses (modes/flowlet.py).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..config.registry import BondOptions, LacpFallback
from ..lacp import LacpSystem
from .base import RX_DROP, RX_NOT_OWN, Port
from .flowlet import FlowletRunner, flowlet_on

TICK = 0.1
# The bond's tick loop wakes when LACP's next timer is due (the system's
# next_deadline, as Open vSwitch schedules from lacp_wait()), not every
# TICK as the kernel's ad timer does: an idle 802.3ad bond runs its machines
# about once a second (fast) or once in LONGEST (slow), not ten times.
# SOONEST keeps a machine that stays busy from spinning the loop;
# LONGEST bounds the sleep whatever the timers say.
SOONEST = 0.005
LONGEST = 1.0


def _system_options(opts: BondOptions) -> dict[str, Any]:
    return dict(
        system_priority=opts.ad_actor_sys_prio,
        lacp_fast=bool(opts.lacp_rate),
        lacp_active=bool(opts.lacp_active),
        ad_select=opts.ad_select,
        min_links=opts.min_links,
        user_port_key=opts.ad_user_port_key,
        fallback=LacpFallback(opts.lacp_fallback).label,  # type: ignore[call-arg]  # a lookup by value; mypy reads the two-argument __new__
        fallback_timeout=opts.lacp_fallback_timeout,
    )


class Ieee8023ad(FlowletRunner):
    hash_tick_interval: float = TICK

    def __init__(self, opts: BondOptions, bond_name: str = "bond0") -> None:
        super().__init__(opts)
        self.bond_name = bond_name
        self.system: LacpSystem | None = None
        self._port_numbers: dict[str, int] = {}
        self._next_port = 0
        self._by_name: dict[str, Port] = {}
        self._last_forwarding: tuple[object, ...] = ()
        self._bond_mac = bytes(6)  # the system MAC when ad_actor_system is all zeros

    def _system_mac(self, bond_mac: bytes) -> bytes:
        configured = bytes(int(x, 16) for x in self.opts.ad_actor_system.split(":"))
        return configured if any(configured) else bond_mac

    def start(self, bond_mac: bytes) -> None:
        self._bond_mac = bond_mac
        if self.system is None:
            self.system = LacpSystem(
                system_mac=self._system_mac(bond_mac), bond_name=self.bond_name, **_system_options(self.opts)
            )

    def _running(self) -> LacpSystem:
        """The protocol, which start() made (the bond starts the runner
        before it adds a member)."""
        if self.system is None:
            raise RuntimeError(f"{self.bond_name}: 802.3ad runner used before start()")
        return self.system

    def configure(self, opts: BondOptions) -> None:
        super().configure(opts)
        if self.system is not None:
            # ad_actor_system too: set live, the ports speak as the new system.
            self.system.configure(system_mac=self._system_mac(self._bond_mac), **_system_options(opts))
            self.dirty = True
        self.wake()

    # -- members -------------------------------------------------------------
    def add_member(self, member: Port, now: float) -> None:
        # Port numbers, like the kernel's, count up from 1 and are not reused
        # while the bond lives (a partner must not confuse two ports).
        self._next_port += 1
        self._port_numbers[member.name] = self._next_port
        self._by_name[member.name] = member
        self._running().add_port(
            member.name,
            port_number=self._next_port,
            mac=member.lacp_mac,
            speed_mbps=member.speed,
            full_duplex=bool(member.duplex),
            link_up=member.up,
            now=now,
        )
        self.dirty = True
        self.wake()

    def remove_member(self, member: Port, now: float) -> None:
        self._by_name.pop(member.name, None)
        self._port_numbers.pop(member.name, None)
        if self.system is not None:
            self.system.remove_port(member.name, now)
        self.dirty = True
        self.wake()

    def link_changed(self, member: Port, now: float) -> None:
        self._running().set_link(
            member.name, up=member.up, speed_mbps=member.speed, full_duplex=bool(member.duplex), now=now
        )
        self.dirty = True
        self.wake()

    def receive(self, member: Port, frame: bytes, now: float) -> list[tuple[Port, bytes]]:
        self._running().receive(member.name, frame, now)
        out = self._run(now)
        self.wake()  # the partner may have asked for fast periodic PDUs: a timer moved
        return out

    # -- periodic --------------------------------------------------------------
    def tick(self, now: float, members: Sequence[Port]) -> list[tuple[Port, bytes]]:
        return self._run(now)

    def next_tick(self, last: float) -> float:
        latest = last + (self.flowlet.interval if flowlet_on(self.opts) else LONGEST)
        deadline = self.system.next_deadline() if self.system is not None else None
        due = latest if deadline is None else min(deadline, latest)
        return max(due, last + SOONEST)

    def _run(self, now: float) -> list[tuple[Port, bytes]]:
        if self.system is None:
            return []
        out = [(self._by_name[name], frame) for name, frame in self.system.tick(now) if name in self._by_name]
        forwarding = (
            self.system.distributing(),
            self.system.carrier(),
            tuple(n for n in self._by_name if self.system.collecting(n)),
        )
        if forwarding != self._last_forwarding:
            self._last_forwarding = forwarding
            self.dirty = True
        return out

    def drain_events(self) -> list[tuple[str | None, str]]:
        return self.system.drain_events() if self.system is not None else []

    # -- forwarding ------------------------------------------------------------
    def tx_members(self, usable: Sequence[Port], active: Port | None) -> list[Port]:
        if self.system is None:
            return []
        distributing = set(self.system.distributing())
        return [m for m in usable if m.name in distributing]

    def rx_policy(self, member: Port, active: Port | None) -> int:
        if self.system is not None and self.system.collecting(member.name):
            return RX_NOT_OWN
        return RX_DROP

    def carrier(self, usable: Sequence[Port], active: Port | None) -> bool:
        return self.system is not None and self.system.carrier()

    # -- runner hooks (base.Runner) ----------------------------------------------
    listens_for = frozenset({"lacp"})
    # A port the path monitor takes out leaves our distribution only: its
    # link stays up for LACP, so the partner keeps the aggregate, the port
    # keeps being probed, and it comes back when its path is clean again.
    # (Taking its link down stopped its LACPDUs: the partner dropped the
    # port, the probes went unanswered, and it never came back.)
    path_takes_link_down = False
    ports_keyed_by_name = True

    def stop(self, members: Sequence[Port], now: float) -> list[tuple[Port, bytes]]:
        """Every port sends its last LACPDU (no longer aggregating), so the
        partner stops using the links now rather than at its LACP timeout."""
        if self.system is None:
            return []
        for member in members:
            self.system.remove_port(member.name, now)
        by_name = {m.name: m for m in members}
        return [(by_name[name], frame) for name, frame in self.system.tick(now) if name in by_name]

    def receive_control(self, member: Port, frame: bytes, now: float) -> list[tuple[Port, bytes]]:
        return self.receive(member, frame, now)

    def status(self) -> dict[str, Any]:
        return {"ad_info": self.system.ad_info()} if self.system is not None else {}

    def member_status(self, name: str) -> dict[str, Any] | None:
        try:
            return self.system.port_info(name) if self.system is not None else None
        except KeyError:
            return None

    def member_collecting(self, name: str) -> bool | None:
        return self.system.collecting(name) if self.system is not None else None
