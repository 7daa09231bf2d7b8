"""LacpSystem: the 802.3ad protocol for one bond, as an object with no I/O.

The bond feeds it member events (add/remove/link changes), every received
slow-protocols frame, and a clock tick every 100 ms; ``tick`` returns the
frames to send.  The bond asks ``distributing()`` for its transmit set,
``collecting(port)`` before delivering a received frame up, ``carrier()``
for its own carrier, and ``ad_info``/``port_info`` for status output.

Per tick, each port runs, in the kernel's order: receive, periodic,
selection, mux, transmit, churn (bond_3ad_state_machine_handler).

As in the kernel, an active aggregator whose partner never answered
carries traffic over its one port, an individual link (selection.py,
``enabled_ports``), and carrier needs max(min_links, 1) enabled ports.
With lacp_fallback=active-backup (fallback.py; softbond's own option) a
bond that has heard no LACPDU for lacp_fallback_timeout seconds runs as
active-backup instead, min_links aside.
The kernel's 8 s initial aggregator-selection delay is not applied.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..wire.lacpdu import (
    LACP_ACTIVITY,
    MARKER_RESPONSE,
    Lacpdu,
    MarkerPdu,
    PduError,
    UnknownSubtype,
    build_lacpdu,
    build_marker,
    parse_slow,
)
from .fallback import MODES as FALLBACK_MODES, Fallback
from .params import (
    CURRENT,
    DEFAULTED_STATE,
    DETACHED,
    LACP_DISABLED,
    NO_PERIODIC,
    SPEED_KEY_MASK,
)
from .port import Port
from .selection import Aggregator, enabled_ports, port_selection, select_active, split_reason

NO_RESPONSE_MSG = "No 802.3ad response from the link partner for any adapters in the bond"
LOOPBACK_MSG = (
    "An illegal loopback occurred on slave; check the configuration to verify"
    " that all adapters are connected to 802.3ad compliant switch ports"
)
MAX_EVENTS = 256

_OPTIONS = (
    "system_mac",
    "system_priority",
    "lacp_fast",
    "lacp_active",
    "ad_select",
    "min_links",
    "user_port_key",
    "bond_name",
    "fallback",
    "fallback_timeout",
)
# Kernel option names accepted by configure() too.
_ALIASES = {"lacp_rate": "lacp_fast", "ad_actor_sys_prio": "system_priority", "ad_user_port_key": "user_port_key"}


def _mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def _check_mac(value: bytes | bytearray | memoryview, what: str) -> bytes:
    mac = bytes(value)
    if len(mac) != 6:
        raise ValueError(f"{what} must be 6 bytes")
    return mac


class LacpSystem:
    """The 802.3ad protocol state of one bond.  See the module docstring."""

    def __init__(
        self,
        *,
        system_mac: bytes,
        system_priority: int = 65535,
        lacp_fast: bool = False,
        lacp_active: bool = True,
        ad_select: int = 0,
        min_links: int = 0,
        user_port_key: int = 0,
        bond_name: str = "bond0",
        fallback: str = "off",
        fallback_timeout: float = 90.0,
    ):
        self._ports: dict[str, Port] = {}
        self._next_agg_id = 0
        self._events: deque[tuple[str | None, str]] = deque(maxlen=MAX_EVENTS)
        self._outbox: list[tuple[str, bytes]] = []
        self._active_ident: tuple[int, bytes, int] | None = None  # (id, partner system, key)
        self._no_response = False
        self._now = 0.0
        self._dirty = False  # something changed since the last tick
        self.system_mac = _check_mac(system_mac, "system_mac")
        self.system_priority = system_priority
        self.lacp_fast = bool(lacp_fast)
        self.lacp_active = bool(lacp_active)
        self.ad_select = ad_select
        self.min_links = min_links
        self.user_port_key = user_port_key
        self.bond_name = bond_name
        self.fallback = fallback
        self.fallback_timeout = fallback_timeout
        self._validate()
        self._fallback = Fallback(fallback, fallback_timeout)

    def _validate(self) -> None:
        if not 0 <= self.system_priority <= 0xFFFF:
            raise ValueError("system_priority must be 0..65535")
        if self.ad_select not in (0, 1, 2):
            raise ValueError("ad_select must be 0 (stable), 1 (bandwidth) or 2 (count)")
        if not 0 <= self.user_port_key <= 1023:
            raise ValueError("user_port_key must be 0..1023")
        if self.min_links < 0:
            raise ValueError("min_links must be >= 0")
        if self.fallback not in FALLBACK_MODES:
            raise ValueError(f"fallback must be one of {', '.join(FALLBACK_MODES)}")
        if self.fallback_timeout < 0:
            raise ValueError("fallback_timeout must be >= 0")

    # -- configuration -----------------------------------------------------

    def configure(self, **options: Any) -> None:
        """Change options live; the keywords are those of __init__ (and the
        kernel names lacp_rate, ad_actor_sys_prio, ad_user_port_key)."""
        options = {_ALIASES.get(name, name): value for name, value in options.items()}
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        old = {name: getattr(self, name) for name in _OPTIONS}
        if "system_mac" in options:
            options["system_mac"] = _check_mac(options["system_mac"], "system_mac")
        for flag in ("lacp_fast", "lacp_active"):
            if flag in options:
                options[flag] = bool(options[flag])
        for name, value in options.items():
            setattr(self, name, value)
        try:
            self._validate()
        except ValueError:
            for name, value in old.items():
                setattr(self, name, value)
            raise
        for port in self._ports.values():
            changed = False
            if (self.system_mac, self.system_priority) != (old["system_mac"], old["system_priority"]):
                port.actor_system = self.system_mac
                port.actor_system_priority = self.system_priority
                changed = True
            if self.lacp_fast != old["lacp_fast"]:
                port.set_rate(self.lacp_fast)
                changed = True
            if self.lacp_active != old["lacp_active"]:
                port.set_actor(LACP_ACTIVITY, self.lacp_active)
                changed = True
            if self.user_port_key != old["user_port_key"]:
                port.actor_admin_key = (port.actor_admin_key & 0x3F) | (self.user_port_key << 6)
                port.update_keys(reset=not port.link_up)
                port.begin = True  # a new key is a new link aggregation group
            if changed:
                port.request_ntt()
        if self.ad_select != old["ad_select"]:
            self._reselect_active()
        self._fallback.mode, self._fallback.timeout = self.fallback, self.fallback_timeout
        self._update_fallback(self._now)
        self._dirty = True

    # -- members -----------------------------------------------------------

    def add_port(
        self, name: str, *, port_number: int, mac: bytes, speed_mbps: int, full_duplex: bool, link_up: bool, now: float
    ) -> None:
        if name in self._ports:
            raise ValueError(f"port {name} already added")
        if not 1 <= port_number <= 0xFFFF:
            raise ValueError("port_number must be 1..65535")
        self._next_agg_id += 1
        port = Port(
            name,
            port_number,
            _check_mac(mac, "mac"),
            system=self.system_mac,
            system_priority=self.system_priority,
            user_port_key=self.user_port_key,
            lacp_fast=self.lacp_fast,
            lacp_active=self.lacp_active,
            speed_mbps=speed_mbps,
            full_duplex=full_duplex,
            link_up=link_up,
            own_aggregator=Aggregator(self._next_agg_id),
        )
        self._ports[name] = port
        self._now = now
        self._dirty = True

    def remove_port(self, name: str, now: float) -> None:
        """Unbind a member: queue one last LACPDU saying it no longer
        aggregates (returned by the next ``tick``), then hand the ports of
        its aggregator, if any remain, to a free aggregator."""
        port = self._ports.pop(name, None)
        if port is None:
            return
        self._now = now
        self._dirty = True
        if port.link_up and port.lacp_enabled and not port.begin and port.periodic_state not in (None, NO_PERIODIC):
            self._outbox.append((name, build_lacpdu(port.mac, port.farewell())))
            port.counters["lacpdu_tx"] += 1
        agg = port.aggregator
        if agg is not None:
            agg.ports.remove(port)
            port.aggregator = None
            if not agg.ports:
                agg.clear()
        own = port.own_aggregator
        if own.ports:
            free = next((p.own_aggregator for p in self._ports.values() if not p.own_aggregator.ports), None)
            if free is not None:  # always, as every port brings an aggregator
                free.take_over(own)
            else:
                for other in own.ports:
                    other.selected = False
                    other.aggregator = None
                own.clear()
        self._reselect_active()
        self._update_fallback(now)

    def set_link(self, name: str, *, up: bool, speed_mbps: int, full_duplex: bool, now: float) -> None:
        port = self._ports.get(name)
        if port is None:
            return
        self._now = now
        was = (port.link_up, port.speed_mbps, port.full_duplex)
        port.link_up = bool(up)
        port.speed_mbps = speed_mbps
        port.full_duplex = bool(full_duplex)
        if was == (port.link_up, port.speed_mbps, port.full_duplex):
            return
        self._dirty = True
        port.update_keys(reset=not port.link_up)
        if port.link_up and port.actor_oper_key and not (port.actor_oper_key & SPEED_KEY_MASK):
            self._event(name, f"speed changed to 0 on port {port.number}")
        self._reselect_active()
        self._update_fallback(now)

    # -- receive -----------------------------------------------------------

    def receive(self, name: str, frame: bytes, now: float) -> None:
        """Account and process one received slow-protocols frame.  Never
        raises."""
        port = self._ports.get(name)
        if port is None:
            return
        counters = port.counters
        try:
            pdu = parse_slow(frame)
        except UnknownSubtype:
            counters["lacpdu_unknown_rx"] += 1
            return
        except PduError:
            counters["lacpdu_illegal_rx"] += 1
            return
        try:
            self._now = now
            self._dirty = True
            if isinstance(pdu, Lacpdu):
                self._receive_lacpdu(port, pdu, now)
            else:
                self._receive_marker(port, pdu, now)
        except Exception as exc:  # noqa: BLE001 - receive must never raise
            counters["lacpdu_illegal_rx"] += 1
            self._event(name, f"internal error handling a received PDU: {exc!r}")

    def _receive_lacpdu(self, port: Port, pdu: Lacpdu, now: float) -> None:
        # Our own system MAC is a loopback whatever the priority says, as in
        # the kernel's ad_rx_machine: a partner cannot share our MAC.
        if pdu.actor.system == self.system_mac:
            port.counters["lacpdu_illegal_rx"] += 1
            if not port.loopback_warned:
                port.loopback_warned = True
                self._event(port.name, LOOPBACK_MSG)
            return
        port.counters["lacpdu_rx"] += 1
        lasted = self._fallback.heard(now)
        if lasted is not None:
            self._event(
                port.name, f"LACPDU received: LACP fallback to active-backup ends after {lasted:.0f} s, back to 802.3ad"
            )
        if port.begin:  # not initialised yet: the kernel drops it in INITIALIZE
            return
        port.rx_machine(pdu, now)
        if port.counters["partner_changes"] and not port.flap_warned:
            port.flap_warned = True
            self._event(
                port.name,
                "link partner changed its identity while current;"
                " re-selection limited to once per aggregate wait time (2 s)",
            )

    def _receive_marker(self, port: Port, marker: MarkerPdu, now: float) -> None:
        if marker.kind == MARKER_RESPONSE:
            port.counters["marker_response_rx"] += 1
            return
        port.counters["marker_rx"] += 1
        if not port.link_up:
            return
        if not port.marker_allowed(now):
            port.counters["dropped_rate_limited"] += 1
            return
        response = MarkerPdu(MARKER_RESPONSE, marker.port, marker.system, marker.transaction_id)
        port.marker_out.append(build_marker(port.mac, response))

    # -- the clock ---------------------------------------------------------

    def tick(self, now: float) -> list[tuple[str, bytes]]:
        """Run every port's machines; return the frames to send."""
        self._now = now
        self._dirty = False
        out, self._outbox = self._outbox, []
        aggs = self._aggregators()
        for port in self._ports.values():
            before = (port.rx_state, port.mux_state)
            if port.begin:  # the BEGIN pulse: reset the machines, then run normally
                port.rx_machine(None, now)
                port.periodic_machine(now)
                port.mux_machine(now)
                port.begin = False
            port.rx_machine(None, now)
            port.periodic_machine(now)
            self._select(port, aggs, now)
            port.mux_machine(now)
            if not port.selected and port.mux_state == DETACHED:
                self._select(port, aggs, now)
                port.mux_machine(now)
            pdu = port.tx_machine(now)
            if pdu is not None:
                out.append((port.name, build_lacpdu(port.mac, pdu)))
            while port.marker_out:
                out.append((port.name, port.marker_out.popleft()))
                port.counters["marker_response_tx"] += 1
            port.churn_machine(now)
            if (port.rx_state, port.mux_state) != before:
                self._dirty = True  # other ports may react on the next tick
        self._check_no_response()
        self._update_fallback(now)
        return out

    def next_deadline(self) -> float | None:
        """The earliest time ``tick`` has work: the last known time when
        something is pending now, else the nearest timer, else None."""
        if self._dirty or self._outbox or any(p.begin or p.marker_out or p.tx_ready() for p in self._ports.values()):
            return self._now
        times = [t for t in (p.next_deadline(self._now) for p in self._ports.values()) if t is not None]
        fallback = self._fallback.deadline()
        if fallback is not None:
            times.append(max(fallback, self._now))
        return min(times) if times else None

    # -- selection glue ----------------------------------------------------

    def _aggregators(self) -> list[Aggregator]:
        return [p.own_aggregator for p in self._ports.values()]

    def _select(self, port: Port, aggs: list[Aggregator], now: float) -> None:
        if not port_selection(port, aggs, now):
            return
        agg = port.aggregator
        if agg is not None:
            self._warn_split(port, agg, aggs)
        self._reselect_active()

    def _warn_split(self, port: Port, agg: Aggregator, aggs: list[Aggregator]) -> None:
        others = [a for a in aggs if a is not agg and a.ports]
        if not others or len(agg.ports) > 1:
            port.split_reason = None
            return
        other = next((a for a in others if a.is_active), others[0])
        reason = split_reason(port, other)
        if reason is None:
            port.split_reason = None
            return
        category, text = reason
        if port.split_reason != category:
            port.split_reason = category
            self._event(
                port.name, f"Warning: port {port.number} joined aggregator {agg.id}, not aggregator {other.id}: {text}"
            )

    def _reselect_active(self) -> None:
        self._dirty = True  # ports earlier in this tick may react
        best = select_active(self._aggregators(), self.ad_select)
        ident = None if best is None else (best.id, best.partner_system, best.partner_key)
        if ident != self._active_ident:
            self._active_ident = ident
            if best is None:
                self._event(None, f"bond {self.bond_name} has no active aggregator")
            else:
                partner = (
                    f"partner {_mac_text(best.partner_system)} key {best.partner_key}"
                    if best.has_partner
                    else "no partner"
                )
                names = ", ".join(p.name for p in best.ports)
                self._event(None, f"aggregator {best.id} is the active aggregator ({partner}; ports {names})")
        self._check_no_response()

    def _check_no_response(self) -> None:
        active = self._active()
        silent = (
            active is not None
            and (active.is_individual or not active.has_partner)
            and any(p.rx_state in (DEFAULTED_STATE, LACP_DISABLED) for p in active.ports)
        )
        if silent and not self._no_response:
            self._event(None, NO_RESPONSE_MSG)
        self._no_response = silent

    def _active(self) -> Aggregator | None:
        for port in self._ports.values():
            if port.own_aggregator.is_active:
                return port.own_aggregator
        return None

    def _update_fallback(self, now: float) -> None:
        change = self._fallback.update(list(self._ports.values()), now)
        if change is None:
            return
        self._dirty = True
        what, new, old = change
        if what == "start":
            # (a start needs a heard_at and a member: fallback.update says so)
            assert self._fallback.heard_at is not None and new is not None
            self._event(
                None,
                f"No 802.3ad response from the link partner for"
                f" {now - self._fallback.heard_at:.0f} s: LACP fallback to active-backup,"
                f" {new.name} carries the traffic",
            )
        elif what == "member" and new is not None:
            gone = f" ({old.name} has no link)" if old is not None else ""
            self._event(new.name, f"LACP fallback: now the active member{gone}")
        elif what == "member":
            self._event(None, "LACP fallback: no member has a link")
        else:
            self._event(None, "lacp_fallback=off: LACP fallback to active-backup ends, back to 802.3ad")

    def _event(self, port: str | None, message: str) -> None:
        self._events.append((port, message))

    # -- queries -----------------------------------------------------------

    def _enabled(self) -> list[Port]:
        """The ports frames pass through, both ways: the fallback's member
        while it runs, else the active aggregator's enabled ports."""
        if self._fallback.engaged:
            member = self._fallback.member
            return [member] if member is not None else []
        return enabled_ports(self._active())

    def distributing(self) -> tuple[str, ...]:
        """Ports that transmit, in add order: those of the active aggregator
        in COLLECTING_DISTRIBUTING with link up, or its one individual link
        (no partner); empty below max(min_links, 1). In LACP fallback, its
        one member (min_links aside)."""
        names = tuple(p.name for p in self._enabled())
        if self._fallback.engaged:
            return names
        return names if len(names) >= max(self.min_links, 1) else ()

    def collecting(self, name: str) -> bool:
        """Frames received on *name* may be delivered up (the port is
        enabled as ``distributing`` says; min_links does not matter)."""
        port = self._ports.get(name)
        return port is not None and port in self._enabled()

    def carrier(self) -> bool:
        """Bond carrier: at least max(min_links, 1) distributing ports."""
        return bool(self.distributing())

    def drain_events(self) -> list[tuple[str | None, str]]:
        """(port or None, message) for the bond's log, oldest first; at most
        the last 256 are kept between drains."""
        events = list(self._events)
        self._events.clear()
        return events

    def ad_info(self) -> dict[str, Any]:
        """The /proc "802.3ad info" section of the bond."""
        active = self._active()
        agg = None
        if active is not None:
            agg = {
                "id": active.id,
                "num_ports": active.active_ports,
                "actor_key": active.actor_key,
                "partner_key": active.partner_key,
                "partner_mac": _mac_text(active.partner_system),
            }
        return {
            "lacp_active": int(self.lacp_active),
            "lacp_rate": int(self.lacp_fast),
            "min_links": self.min_links,
            "ad_select": self.ad_select,
            "system_priority": self.system_priority,
            "system_mac": _mac_text(self.system_mac),
            "active_aggregator": agg,
            "lacp_fallback": self._fallback.info(self._now),
        }

    def port_info(self, name: str) -> dict[str, Any]:
        """Per-port status (the /proc slave record's 802.3ad part, plus
        machine states and counters).  KeyError for an unknown port."""
        port = self._ports[name]
        partner = port.partner
        return {
            "aggregator_id": port.aggregator.id if port.aggregator is not None else None,
            "actor_churn_state": port.actor_churn_state,
            "partner_churn_state": port.partner_churn_state,
            "actor_churned_count": port.actor_churned_count,
            "partner_churned_count": port.partner_churned_count,
            "actor": {
                "system_priority": port.actor_system_priority,
                "system_mac": _mac_text(port.actor_system),
                "port_key": port.actor_oper_key,
                "port_priority": port.actor_port_priority,
                "port_number": port.number,
                "port_state": port.actor_state,
            },
            "partner": {
                "system_priority": partner.system_priority,
                "system_mac": _mac_text(partner.system),
                "oper_key": partner.key,
                "port_priority": partner.port_priority,
                "port_number": partner.port,
                "port_state": partner.state,
            },
            "rx_state": port.rx_state,
            "mux_state": port.mux_state,
            "periodic_state": port.periodic_state,
            "current": port.rx_state == CURRENT,
            "counters": dict(port.counters),
        }
