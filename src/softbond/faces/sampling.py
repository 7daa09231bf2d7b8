"""Sampling shared by `softbond top` and `softbond web`.

A *source* is any callable that returns the current status dicts (the
`softbond status --json` dicts, one per bond). `socket_source()` reads every
bond of this network namespace through its control socket; tests pass a
function that returns made-up dicts.

`BondMonitor` turns successive samples into rates: per member from the
deltas of the member NIC's kernel counters over the time between samples,
per bond as the sum of its members. Counter resets (a member re-created, a
32-bit counter wrapping) are handled the way Prometheus' rate() does: a
counter that went down started again from zero, so the increase over that
interval is its new value. It also keeps a bounded history of rates for the
graphs, and collects the bond's events (plus LACP changes it sees between
samples) into one de-duplicated timeline.
"""
from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..control import ControlError, call, request
from .lacpview import port_state_change

log = logging.getLogger("softbond")

Source = Callable[[], list]
"""() -> list of status dicts, one per bond."""

COUNTER_KEYS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_dropped", "tx_dropped")
HISTORY_SECONDS = 300  # the graphs show the last five minutes
EVENT_HISTORY = 200

# Units, in the order the `u` key (top) and the unit buttons (web) cycle them.
UNITS = ("Mbit/s", "Kbit/s", "packets/s")


# ------------------------------------------------------------------ sources
def known_bonds(bond: str | None = None) -> list:
    """The bonds of this network namespace (runtime.list_bonds: alive or
    not), or only `bond`."""
    from ..kernel import rundir as runtime
    records = runtime.list_bonds(problems=[])     # a refused record: the CLI verbs report it
    if bond:
        records = [r for r in records if r.name == bond] or [runtime.BondRecord(bond, 0, True)]
    return records


def read_status(bond: str, timeout: float = 5.0) -> dict:
    """One bond's status dict, as `softbond status BOND --json` prints it."""
    return call(bond, "status", timeout=timeout)["status"]


def socket_source(bond: str | None = None, timeout: float = 5.0) -> Source:
    """A source reading the control sockets: every bond, or only `bond`.

    A bond whose process died is a {"name", "managed": false, "reason"}
    dict (runtime.BondRecord.to_json; no "bond" key, so consumers of status
    dicts pass over it). One whose process does not answer is left out of
    that sample (it is going away, or it is wedged)."""
    def source() -> list:
        out = []
        for record in known_bonds(bond):
            if not record.alive:
                out.append(record.to_json())
                continue
            try:
                out.append(read_status(record.name, timeout=timeout))
            except ControlError as exc:
                log.debug("%s: skipped: %s", record.name, exc)
        return out
    return source


def socket_action(bond: str, payload: dict) -> dict:
    """Send a control request (enslave, release, set_active) to a bond."""
    return request(bond, payload)


# -------------------------------------------------------------------- rates
@dataclass(frozen=True)
class Rate:
    """Rates over one sampling interval: bytes/s and packets/s."""
    rx_Bps: float = 0.0
    tx_Bps: float = 0.0
    rx_pps: float = 0.0
    tx_pps: float = 0.0

    def __add__(self, other: "Rate") -> "Rate":
        return Rate(self.rx_Bps + other.rx_Bps, self.tx_Bps + other.tx_Bps,
                    self.rx_pps + other.rx_pps, self.tx_pps + other.tx_pps)

    def value(self, direction: str, unit: str) -> float:
        """The rx or tx rate in `unit` (one of UNITS)."""
        return convert(self.rx_Bps if direction == "rx" else self.tx_Bps,
                       self.rx_pps if direction == "rx" else self.tx_pps, unit)

    def to_json(self) -> dict:
        return {"rx_Bps": self.rx_Bps, "tx_Bps": self.tx_Bps, "rx_pps": self.rx_pps, "tx_pps": self.tx_pps}


ZERO = Rate()


def convert(bytes_per_s: float, packets_per_s: float, unit: str) -> float:
    if unit == "Mbit/s":
        return bytes_per_s * 8 / 1e6
    if unit == "Kbit/s":
        return bytes_per_s * 8 / 1e3
    if unit == "packets/s":
        return packets_per_s
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def next_unit(unit: str) -> str:
    return UNITS[(UNITS.index(unit) + 1) % len(UNITS)]


def format_rate(value: float, unit: str) -> str:
    if unit == "packets/s":
        return f"{value:,.0f} pps" if value >= 100 else f"{value:.1f} pps"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}"


def counter_delta(old: int, new: int) -> int:
    """Increase of a monotonic counter; a counter that went down was reset
    (started again from zero), so all of its new value is the increase."""
    return new - old if new >= old else new


def member_rate(old: dict, new: dict, seconds: float) -> Rate:
    """Rate between two counters dicts taken `seconds` apart."""
    if seconds <= 0:
        return ZERO

    def per_s(key: str) -> float:
        return counter_delta(int(old.get(key, 0) or 0), int(new.get(key, 0) or 0)) / seconds
    return Rate(per_s("rx_bytes"), per_s("tx_bytes"), per_s("rx_packets"), per_s("tx_packets"))


def protocol_rates(old: dict | None, new: dict | None, seconds: float | None) -> dict[str, Rate]:
    """The rate of each protocol class between two `protocols` of the
    status JSON (the bond's or a member's) taken `seconds` apart."""
    if not old or not new or not seconds or seconds <= 0:
        return {}

    def per_s(direction: str, name: str, key: str) -> float:
        was = (old.get(direction) or {}).get(name) or {}
        now = (new.get(direction) or {}).get(name) or {}
        return counter_delta(int(was.get(key, 0) or 0), int(now.get(key, 0) or 0)) / seconds
    return {name: Rate(per_s("rx", name, "bytes"), per_s("tx", name, "bytes"),
                       per_s("rx", name, "packets"), per_s("tx", name, "packets"))
            for name in new.get("rx") or {}}


def totals(status: dict) -> dict:
    """The bond's counters: the sum of its members' counters."""
    out = {key: 0 for key in COUNTER_KEYS}
    for slave in status.get("slaves", []):
        counters = slave.get("counters") or {}
        for key in COUNTER_KEYS:
            out[key] += int(counters.get(key, 0) or 0)
    return out


@dataclass
class Point:
    time: float  # wall clock, for the graphs' time axis
    rate: Rate


@dataclass
class BondView:
    """What the monitor knows of one bond: the last status, rates, history."""
    name: str
    status: dict = field(default_factory=dict)
    rate: Rate = ZERO
    member_rates: dict = field(default_factory=dict)  # member -> Rate
    history: collections.deque = field(default_factory=lambda: collections.deque(maxlen=HISTORY_SECONDS))
    member_history: dict = field(default_factory=dict)  # member -> deque[Point]
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=EVENT_HISTORY))
    protocol_rates: dict = field(default_factory=dict)  # protocol class -> the bond's Rate
    protocol_history: dict = field(default_factory=dict)  # protocol class -> deque[Point]
    # private: the previous sample
    fresh: list = field(default_factory=list)  # events new in the last sample
    _counters: dict = field(default_factory=dict)
    _mono: float | None = None
    _seen_events: set = field(default_factory=set)

    def members(self) -> list[str]:
        return [s["name"] for s in self.status.get("slaves", [])]

    def series(self, member: str | None, direction: str, unit: str) -> list[float]:
        """History of one rate (the bond's when member is None) in `unit`."""
        points = self.history if member is None else self.member_history.get(member, ())
        return [p.rate.value(direction, unit) for p in points]

    def _sample_protocols(self, status: dict, seconds: float | None, wall: float, history: int) -> None:
        old = self.status.get("protocols") if self.status else None
        self.protocol_rates = protocol_rates(old, status.get("protocols"), seconds)
        for name, rate in self.protocol_rates.items():
            hist = self.protocol_history.get(name)
            if hist is None:
                hist = self.protocol_history[name] = collections.deque(maxlen=history)
            hist.append(Point(wall, rate))


def _event_key(event: dict) -> tuple:
    return (event.get("time"), event.get("kind"), event.get("slave"), event.get("message"))


def lacp_changes(old: dict, new: dict, now: float) -> list[dict]:
    """Events for LACP changes between two samples of one bond: a member's
    partner (system MAC) or actor/partner port state changed."""
    before = {s["name"]: s.get("ad") for s in old.get("slaves", [])}
    out = []
    for slave in new.get("slaves", []):
        name, ad = slave["name"], slave.get("ad")
        prev = before.get(name)
        if not ad or not prev:
            continue
        bond = new.get("bond", "")
        for side in ("actor", "partner"):
            a, b = (prev.get(side) or {}), (ad.get(side) or {})
            if a.get("port_state") != b.get("port_state") and b.get("port_state") is not None:
                out.append({"time": now, "kind": "lacp", "slave": name,
                            "message": f"{bond}: (slave {name}): LACP {side} port state "
                                       + port_state_change(a.get("port_state"), b["port_state"])})
        old_mac = (prev.get("partner") or {}).get("system_mac")
        new_mac = (ad.get("partner") or {}).get("system_mac")
        if old_mac != new_mac and new_mac is not None:
            out.append({"time": now, "kind": "lacp", "slave": name,
                        "message": f"{bond}: (slave {name}): LACP partner {old_mac} -> {new_mac}"})
    return out


class BondMonitor:
    """Feed it samples (the list a source returns); it keeps per-bond views.

    `update()` returns the events that are new since the previous sample,
    oldest first, for views that show events as they happen."""

    def __init__(self, history: int = HISTORY_SECONDS) -> None:
        self.history = history
        self.bonds: dict[str, BondView] = {}

    def names(self) -> list[str]:
        return sorted(self.bonds)

    def update(self, statuses: Iterable[dict], mono: float | None = None,
               wall: float | None = None) -> list[dict]:
        mono = time.monotonic() if mono is None else mono
        wall = time.time() if wall is None else wall
        new_events: list[dict] = []
        present = set()
        for status in statuses:
            name = status.get("bond")
            if not name:
                continue
            present.add(name)
            view = self.bonds.get(name)
            if view is None:
                view = self.bonds[name] = BondView(
                    name, history=collections.deque(maxlen=self.history))
            new_events.extend(self._update_one(view, status, mono, wall))
        for name in set(self.bonds) - present:
            del self.bonds[name]  # the bond went down
        new_events.sort(key=lambda e: e.get("time") or 0)
        return new_events

    def _update_one(self, view: BondView, status: dict, mono: float, wall: float) -> list[dict]:
        seconds = None if view._mono is None else mono - view._mono
        old_status = view.status
        rates: dict[str, Rate] = {}
        counters: dict[str, dict] = {}
        for slave in status.get("slaves", []):
            name = slave["name"]
            now = slave.get("counters") or {}
            counters[name] = now
            before = view._counters.get(name)
            rates[name] = member_rate(before, now, seconds) if before is not None and seconds else ZERO
        if seconds is not None and seconds > 0:  # no rate (and no point) from the first sample
            for name, rate in rates.items():
                hist = view.member_history.get(name)
                if hist is None:
                    hist = view.member_history[name] = collections.deque(maxlen=self.history)
                hist.append(Point(wall, rate))
            view.history.append(Point(wall, sum(rates.values(), ZERO)))
        for name in set(view.member_history) - set(rates):
            del view.member_history[name]  # released
        view.member_rates = rates
        view.rate = sum(rates.values(), ZERO)
        view._sample_protocols(status, seconds, wall, self.history)
        view._counters = counters
        view._mono = mono
        view.status = status

        fresh = []
        for event in status.get("events") or []:
            key = _event_key(event)
            if key not in view._seen_events:
                view._seen_events.add(key)
                fresh.append(event)
        if old_status:
            fresh.extend(lacp_changes(old_status, status, wall))
        fresh.sort(key=lambda e: e.get("time") or 0)
        view.events.extend(fresh)
        view.fresh = fresh
        if len(view._seen_events) > 4 * EVENT_HISTORY:  # forget keys no longer reported
            view._seen_events = {_event_key(e) for e in status.get("events") or []}
        return fresh
