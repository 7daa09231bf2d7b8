"""`softbond top [BOND]`: a live terminal view of a bond (Textual).

Samples the bond's control socket once per second (softbond.faces.sampling does
the rates), and shows per member and for the whole bond the incoming and
outgoing rate with a graph (one column a second, as many seconds as the
terminal is wide, up to five minutes), byte totals and drops, link state,
speed, active member, failure count and, in 802.3ad, a one-line LACP
summary and each member's decoded port states. Every graph of a bond
shares one scale (the bond's peak), so a member carrying a trickle shows
a trickle; a member whose link is down shows "down" and an empty graph.
Failovers and link events scroll in as they happen, one line each (cut
with "…"); `e` shows them in full. Fits an 80x24 terminal (over ssh too).

Keys: u switches the unit (Mbit/s, Kbit/s, packets/s); g the bond's view
from in/out to by protocol (a row per protocol class: its in and out rates,
and a graph of both together) and back; n / p show the next or previous
bond when several run and none was named; e the events in full; q quits.
"""
from __future__ import annotations

import asyncio
import time

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from .lacpview import PORT_STATE_LEGEND, lacp_summary, port_state_letters
from .sampling import HISTORY_SECONDS, UNITS, BondMonitor, BondView, Source, format_rate, next_unit, socket_source, totals

GRAPH_SECONDS = 120  # sparkline()'s default window
BARS = "▁▂▃▄▅▆▇█"
LEFT = 24  # width of the member column
# Modes with one active member ("active none" there means no member is up);
# elsewhere every member up carries traffic and the head names none.
ACTIVE_SLAVE_MODES = ("active-backup", "balance-tlb", "balance-alb")


def sparkline(values: list[float], width: int, seconds: int = GRAPH_SECONDS, top: float | None = None) -> str:
    """The last `seconds` of per-second values in `width` columns (each the
    peak of its slice), right-aligned; blank where there is no data yet.
    `top` is the value of a full bar (default: the peak shown), so that
    several graphs can share one scale."""
    if width <= 0:
        return ""
    values = values[-seconds:]
    per = max(1, -(-seconds // width))  # samples per column, rounded up
    columns = []
    end = len(values)
    for _ in range(width):
        if end <= 0:
            columns.append(None)
            continue
        chunk = values[max(0, end - per):end]
        columns.append(max(chunk))
        end -= per
    columns.reverse()
    if top is None:
        top = max((v for v in columns if v is not None), default=0.0)
    out = []
    for v in columns:
        if v is None:
            out.append(" ")
        elif top <= 0 or v <= 0:
            out.append(BARS[0])
        else:
            out.append(BARS[max(0, min(len(BARS) - 1, round(v / top * (len(BARS) - 1))))])
    return "".join(out)


def format_bytes(count: int) -> str:
    """1536 -> "1.5 KB", in powers of 1000 like the rates."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"  # not reached


def _mii_style(state: str | None) -> str:
    return {"up": "bold green", "down": "bold red"}.get(state or "", "bold yellow")


def _time(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts or 0))


def event_line(event: dict) -> Text:
    kind = event.get("kind") or ""
    style = {"failover": "bold red", "carrier": "bold red", "link": "yellow", "lacp": "cyan",
             "warning": "yellow"}.get(kind, "")
    line = Text(_time(event.get("time")) + " ", style="dim")
    line.append(f"{kind:<8} ", style=style)
    line.append(event.get("message") or "")
    return line


class EventsScreen(Screen):
    """Every event of the bond the main screen shows, in full (wrapped),
    newest last, and new ones as they come; e, escape or q go back."""

    BINDINGS = [Binding("e", "app.pop_screen", "Back"), Binding("escape", "app.pop_screen", "Back", show=False),
                Binding("q", "app.pop_screen", "Back", show=False)]
    CSS = """
    #events-full-title { height: 1; background: $primary-background; padding: 0 1; }
    #events-full { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    """

    def __init__(self, title: str, events: list[dict]) -> None:
        super().__init__()
        self.heading = title
        self.events = events

    def compose(self) -> ComposeResult:
        yield Static(Text(self.heading, style="bold"), id="events-full-title")
        with VerticalScroll(id="events-full"):
            yield Static(self._text(), id="events-full-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#events-full", VerticalScroll).scroll_end(animate=False)

    def _text(self) -> Text:
        lines = [event_line(e) for e in self.events] or [Text("no events yet", style="dim")]
        return Text("\n").join(lines + [Text("LACP port state letters: " + PORT_STATE_LEGEND, style="dim")])

    def show(self, events: list[dict]) -> None:
        """New events arrived: show them (and follow them, if the reader
        was at the end)."""
        if len(events) == len(self.events) and events[-1:] == self.events[-1:]:
            return
        scroll = self.query_one("#events-full", VerticalScroll)
        at_end = scroll.scroll_y >= scroll.max_scroll_y
        self.events = events
        self.query_one("#events-full-text", Static).update(self._text())
        if at_end:
            scroll.call_after_refresh(scroll.scroll_end, animate=False, immediate=True)


# The by-protocol rows: the class name, then "in 10,000 Kbit/s" and "out ...".
PROTO_LEFT = 10
PROTO_RATE = 20


class TopApp(App):
    """The live view. `source()` returns the status dicts to show (see
    softbond.faces.sampling); `bond` picks one of them (else every bond, cycled
    with n / p)."""

    TITLE = "softbond top"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; overflow: hidden; }
    #head { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    #unit { height: 1; padding: 0 1; color: $text-muted; }
    #bond { height: auto; padding: 0 1; }
    #members { height: auto; max-height: 60%; padding: 0 1; scrollbar-size-vertical: 1; overflow-x: hidden; }
    #events-title { height: 1; padding: 0 1; color: $text-muted; }
    #events { height: 1fr; min-height: 3; padding: 0 1; scrollbar-size-vertical: 1; overflow-x: hidden; }
    #event-lines { text-wrap: nowrap; text-overflow: ellipsis; }
    """
    BINDINGS = [
        Binding("u", "unit", "Unit"),
        Binding("g", "detail", "In/out or by protocol", show=False),     # the unit line names it: 80 columns
        Binding("n", "next_bond", "Next bond"),
        Binding("p", "prev_bond", "Prev bond"),
        Binding("e", "events", "Events in full"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, source: Source, bond: str | None = None, interval: float = 1.0) -> None:
        super().__init__()
        self.source = source
        self.bond = bond
        self.interval = interval
        self.unit = UNITS[0]
        self.by_protocol = False       # the bond's rows: in/out (False) or by protocol class
        self.monitor = BondMonitor()
        self.current: str | None = bond
        self.error: str | None = None
        self.unmanaged: list[str] = []     # one line per bond whose process died
        self._sampling = False

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(id="head")
        yield Static(id="unit")
        yield Static(id="bond")
        with VerticalScroll(id="members"):
            yield Static(id="member-rows")
        yield Static(Text("Events (newest last; e: in full)"), id="events-title")
        with VerticalScroll(id="events"):  # kept scrolled to the newest
            yield Static(id="event-lines")
        yield Footer()

    async def on_mount(self) -> None:
        self.render_view()
        await self.sample()
        self.set_interval(self.interval, self.sample)

    def on_resize(self) -> None:
        # after the new layout, so that the widths (and the events' scroll
        # position) are the new size's
        self.call_after_refresh(self.render_view)

    # ---------------------------------------------------------- sampling
    async def sample(self, mono: float | None = None, wall: float | None = None) -> None:
        if self._sampling:  # a slow bond: skip rather than pile up
            return
        self._sampling = True
        try:
            statuses = await asyncio.to_thread(self.source)
            self.unmanaged = [s["reason"] for s in statuses if s.get("managed") is False]
            statuses = [s for s in statuses if s.get("bond") and (not self.bond or s["bond"] == self.bond)]
            self.error = None if statuses else "; ".join(self.unmanaged) or (
                f"{self.bond}: not answering" if self.bond else "no bonds running in this network namespace")
        except Exception as exc:  # show it, keep trying
            statuses, self.error = [], str(exc)
        finally:
            self._sampling = False
        self.monitor.update(statuses, mono=mono, wall=wall)
        names = self.monitor.names()
        if self.current not in names:
            self.current = names[0] if names else self.bond
        self.render_view()

    # ----------------------------------------------------------- actions
    def action_unit(self) -> None:
        self.unit = next_unit(self.unit)
        self.render_view()

    def action_detail(self) -> None:
        self.by_protocol = not self.by_protocol
        self.render_view()

    def _cycle(self, step: int) -> None:
        names = self.monitor.names()
        if not names:
            return
        i = names.index(self.current) if self.current in names else 0
        self.current = names[(i + step) % len(names)]
        self.render_view()

    def action_next_bond(self) -> None:
        self._cycle(1)

    def action_prev_bond(self) -> None:
        self._cycle(-1)

    def action_events(self) -> None:
        view = self.monitor.bonds.get(self.current or "")
        events = list(view.events) if view is not None else []
        self.push_screen(EventsScreen(f"{self.current or 'softbond'}: events (e or esc: back)", events))

    # ------------------------------------------------------------ render
    def render_view(self) -> None:
        if not self.is_mounted:
            return
        if isinstance(self.screen, EventsScreen):
            view = self.monitor.bonds.get(self.current or "")
            self.screen.show(list(view.events) if view is not None else [])
            return
        view = self.monitor.bonds.get(self.current or "")
        width = max(40, self.size.width - 3)  # padding, and room for the members' scrollbar
        self.query_one("#unit", Static).update(self._unit_line())
        if view is None:
            self.query_one("#head", Static).update(Text(f"softbond top  {self.error or 'waiting for data'}"))
            for part in ("#bond", "#member-rows", "#event-lines"):
                self.query_one(part, Static).update("")
            return
        self.query_one("#head", Static).update(self._head(view))
        self.query_one("#bond", Static).update(self._bond_rows(view, width))
        self.query_one("#member-rows", Static).update(self._members(view, width))
        self.query_one("#event-lines", Static).update(self._events(view))
        events = self.query_one("#events", VerticalScroll)
        events.call_after_refresh(events.scroll_end, animate=False, immediate=True)  # the newest in view

    @staticmethod
    def _events(view: BondView) -> Text:
        """The bond's events, one line each: a line too long for the pane
        ends in "…" (CSS text-overflow; the full text is on the e screen)."""
        return Text("\n").join(event_line(e) for e in view.events)

    def _unit_line(self) -> Text:
        text = Text("unit: ")
        text.append(self.unit, style="bold")
        text.append("  (u to switch)", style="dim")
        text.append("   view: ")
        text.append("by protocol" if self.by_protocol else "in/out", style="bold")
        text.append("  (g)", style="dim")
        names = self.monitor.names()
        if len(names) > 1 and self.current in names:
            text.append(f"   bond {names.index(self.current) + 1}/{len(names)} (n/p)", style="dim")
        for line in self.unmanaged:
            text.append(f"   {line}", style="bold red")
        return text

    def _head(self, view: BondView) -> Text:
        st = view.status
        text = Text()
        text.append(view.name, style="bold")
        text.append(f"  {st.get('mode', '?')}  MII ")
        text.append(str(st.get("mii_status", "?")), style=_mii_style(st.get("mii_status")))
        if st.get("mode") in ACTIVE_SLAVE_MODES:    # as /proc's "Currently Active Slave"
            text.append("  active ")
            text.append(str(st.get("active_slave") or "none"), style="bold")
        text.append(f"  failovers {st.get('failovers', 0)}")
        return text

    def _grid(self, width: int) -> tuple[Table, int]:
        graph = max(8, width - LEFT - 3 - 14 - 3)
        table = Table.grid(padding=(0, 1))
        table.add_column(width=LEFT, no_wrap=True, overflow="ellipsis")
        table.add_column(width=3, no_wrap=True)
        table.add_column(width=14, justify="right", no_wrap=True)
        table.add_column(width=graph, no_wrap=True)
        return table, graph

    def _scale(self, view: BondView, graph: int) -> float:
        """The full-bar value for every graph of the bond: its peak (the
        bond's rate is the sum of its members') in the window shown."""
        seconds = min(graph, HISTORY_SECONDS)
        return max((max(view.series(None, d, self.unit)[-seconds:], default=0.0) for d in ("rx", "tx")),
                   default=0.0)

    def _rate_cells(self, view: BondView, member: str | None, direction: str, graph: int, top: float,
                    down: bool = False) -> list:
        label = Text("in" if direction == "rx" else "out", style="dim")
        if down:  # nothing moves on a dead link, whatever its past was
            return [label, Text("down", style="bold red"), Text(" " * graph)]
        rate = view.rate if member is None else view.member_rates.get(member)
        value = rate.value(direction, self.unit) if rate is not None else 0.0
        seconds = min(graph, HISTORY_SECONDS)
        return [label, Text(format_rate(value, self.unit), style="bold"),
                Text(sparkline(view.series(member, direction, self.unit), graph, seconds=seconds, top=top),
                     style="green" if direction == "rx" else "blue")]

    @staticmethod
    def _totals(counters: dict) -> Text:
        text = Text("  total ", style="dim")
        for direction, label in (("rx", "in"), ("tx", "out")):
            text.append(f"{label} ")
            text.append(format_bytes(int(counters.get(f"{direction}_bytes", 0) or 0)), style="bold")
            text.append(f" {int(counters.get(f'{direction}_dropped', 0) or 0):,} dropped   ")
        text.no_wrap, text.overflow = True, "ellipsis"
        return text

    def _protocol_rows(self, view: BondView, width: int) -> Table:
        """The bond's rates by protocol class: in, out, and a graph of both
        (one scale: the busiest class's peak)."""
        graph = max(8, width - PROTO_LEFT - 2 * PROTO_RATE - 3)
        table = Table.grid(padding=(0, 1))
        table.add_column(width=PROTO_LEFT, no_wrap=True, overflow="ellipsis")
        table.add_column(width=PROTO_RATE, no_wrap=True, justify="right")
        table.add_column(width=PROTO_RATE, no_wrap=True, justify="right")
        table.add_column(width=graph, no_wrap=True)
        seconds = min(graph, HISTORY_SECONDS)
        series = {name: [p.rate.value("rx", self.unit) + p.rate.value("tx", self.unit) for p in points]
                  for name, points in view.protocol_history.items()}
        top = max((max(v[-seconds:], default=0.0) for v in series.values()), default=0.0)
        if not view.protocol_rates:
            table.add_row(Text("by protocol", style="bold"), Text(""), Text(""),
                          Text("no protocol counters yet", style="dim"))
        for name, rate in view.protocol_rates.items():
            table.add_row(Text(name, style="bold"),
                          Text("in " + format_rate(rate.value("rx", self.unit), self.unit), style="green"),
                          Text("out " + format_rate(rate.value("tx", self.unit), self.unit), style="blue"),
                          Text(sparkline(series.get(name, []), graph, seconds=seconds, top=top)))
        return table

    def _bond_rows(self, view: BondView, width: int) -> Group:
        if self.by_protocol:
            return Group(self._protocol_rows(view, width), self._totals(totals(view.status)))
        table, graph = self._grid(width)
        top = self._scale(view, graph)
        members = view.status.get("slaves", [])
        up = sum(1 for m in members if m.get("mii_status") == "up")
        table.add_row(Text(f"{view.name} (all members)", style="bold"),
                      *self._rate_cells(view, None, "rx", graph, top))
        table.add_row(Text(f"{up}/{len(members)} members up", style="dim"),
                      *self._rate_cells(view, None, "tx", graph, top))
        parts: list = [table, self._totals(totals(view.status))]
        summary = lacp_summary(view.status)
        if summary is not None:
            line = Text("LACP ", style="bold cyan")
            line.append(summary)
            line.no_wrap, line.overflow = True, "ellipsis"
            parts.append(line)
        return Group(*parts)

    def _members(self, view: BondView, width: int) -> Group:
        parts: list = []
        active = view.status.get("active_slave")
        top = self._scale(view, self._grid(width)[1])
        for slave in view.status.get("slaves", []):
            name = slave["name"]
            first = Text()
            first.append("* " if name == active else "  ", style="bold green")
            first.append(f"{name:<11}", style="bold" if name == active else "")
            first.append(str(slave.get("state", "")))
            mii = str(slave.get("mii_status", "?"))
            second = Text("  ")
            second.append(f"{mii:<5}", style=_mii_style(mii))
            speed = slave.get("speed_mbps")
            second.append(f"{(str(speed) + 'M') if speed else '?':<7}")
            second.append(f"fail {slave.get('link_failure_count', 0)}")
            table, graph = self._grid(width)
            down = mii == "down"
            table.add_row(first, *self._rate_cells(view, name, "rx", graph, top, down))
            table.add_row(second, *self._rate_cells(view, name, "tx", graph, top, down))
            parts.append(table)
            parts.append(self._totals(slave.get("counters") or {}))
            ad = slave.get("ad")
            if ad:
                parts.append(_lacp_member_line(ad))
            if slave.get("path"):
                parts.append(path_member_line(slave["path"]))
        return Group(*parts)


def path_member_line(path: dict) -> Text:
    """path_monitor=on: the member's path quality over the window."""
    line = Text("  path ", style="magenta")
    state = str(path.get("state", "?"))
    line.append(state, style="bold" if state == "in service" else "bold red")
    line.append(f"  loss {path.get('loss_pct', 0)}%")
    rtt = path.get("rtt_ms")
    line.append(f"  rtt {f'{rtt:.2f} ms' if rtt is not None else '-'}")
    line.append(f"  {path.get('probes', 0)} probes  out {path.get('taken_out', 0)}x", style="dim")
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


def _lacp_member_line(ad: dict) -> Text:
    partner, actor = ad.get("partner") or {}, ad.get("actor") or {}
    line = Text("  LACP ", style="cyan")
    line.append("actor ")
    line.append(port_state_letters(actor.get("port_state")), style="bold")
    line.append(" partner ")
    line.append(port_state_letters(partner.get("port_state")), style="bold")
    line.append(f"  {partner.get('system_mac') or '-'}")
    if ad.get("aggregator_id") is not None:
        line.append(f"  aggregator {ad['aggregator_id']}")
    if ad.get("mux_state"):
        line.append(f"  {str(ad['mux_state']).lower()}", style="dim")
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


def run(bond: str | None = None) -> int:
    TopApp(socket_source(bond), bond).run()
    return 0
