"""`softbond top [BOND]`: a live terminal view of a bond (Textual).

Samples the bond's control socket once per second (softbond.monitor does
the rates), and shows per member and for the whole bond the incoming and
outgoing rate with a graph of the last two minutes, link state, speed,
active member, failure count and, where the mode has one, the LACP partner
and port states. Failovers and link events scroll in as they happen.
Fits an 80x24 terminal (over ssh too).

Keys: u switches the unit (Mbit/s, Kbit/s, packets/s); n / p show the next
or previous bond when several run and none was named; q quits.
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
from textual.widgets import Footer, RichLog, Static

from .monitor import UNITS, BondMonitor, BondView, Source, format_rate, next_unit, socket_source

GRAPH_SECONDS = 120  # the sparklines show the last two minutes
BARS = "▁▂▃▄▅▆▇█"
LEFT = 24  # width of the member column


def sparkline(values: list[float], width: int, seconds: int = GRAPH_SECONDS) -> str:
    """The last `seconds` of per-second values in `width` columns (each the
    peak of its slice), right-aligned; blank where there is no data yet."""
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


def _mii_style(state: str | None) -> str:
    return {"up": "bold green", "down": "bold red"}.get(state or "", "bold yellow")


def _time(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts or 0))


class TopApp(App):
    """The live view. `source()` returns the status dicts to show (see
    softbond.monitor); `bond` picks one of them (else every bond, cycled
    with n / p)."""

    TITLE = "softbond top"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; overflow: hidden; }
    #head { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    #unit { height: 1; padding: 0 1; color: $text-muted; }
    #bond { height: auto; padding: 0 1; }
    #members { height: auto; max-height: 12; padding: 0 1; scrollbar-size-vertical: 1; }
    #events-title { height: 1; padding: 0 1; color: $text-muted; }
    #events { height: 1fr; min-height: 3; padding: 0 1; scrollbar-size-vertical: 1; overflow-x: hidden; }
    """
    BINDINGS = [
        Binding("u", "unit", "Unit"),
        Binding("n", "next_bond", "Next bond"),
        Binding("p", "prev_bond", "Prev bond"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, source: Source, bond: str | None = None, interval: float = 1.0) -> None:
        super().__init__()
        self.source = source
        self.bond = bond
        self.interval = interval
        self.unit = UNITS[0]
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
        yield Static("Events", id="events-title")
        yield RichLog(id="events", wrap=True, markup=False, max_lines=500, auto_scroll=True)
        yield Footer()

    async def on_mount(self) -> None:
        self.render_view()
        await self.sample()
        self.set_interval(self.interval, self.sample)

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
            self._replay_events()
        elif self.current in self.monitor.bonds:
            self._log_events(self.monitor.bonds[self.current].fresh)
        self.render_view()

    # ----------------------------------------------------------- actions
    def action_unit(self) -> None:
        self.unit = next_unit(self.unit)
        self.render_view()

    def _cycle(self, step: int) -> None:
        names = self.monitor.names()
        if not names:
            return
        i = names.index(self.current) if self.current in names else 0
        self.current = names[(i + step) % len(names)]
        self._replay_events()
        self.render_view()

    def action_next_bond(self) -> None:
        self._cycle(1)

    def action_prev_bond(self) -> None:
        self._cycle(-1)

    # ------------------------------------------------------------ events
    def _event_line(self, event: dict) -> Text:
        kind = event.get("kind") or ""
        style = {"failover": "bold red", "carrier": "bold red", "link": "yellow", "lacp": "cyan",
                 "warning": "yellow"}.get(kind, "")
        line = Text(_time(event.get("time")) + " ", style="dim")
        line.append(f"{kind:<8} ", style=style)
        line.append(event.get("message") or "")
        return line

    def _log_events(self, events: list[dict]) -> None:
        log = self.query_one("#events", RichLog)
        for event in events:
            log.write(self._event_line(event))

    def _replay_events(self) -> None:
        log = self.query_one("#events", RichLog)
        log.clear()
        view = self.monitor.bonds.get(self.current or "")
        if view is not None:
            self._log_events(list(view.events))

    # ------------------------------------------------------------ render
    def render_view(self) -> None:
        view = self.monitor.bonds.get(self.current or "")
        width = max(40, self.size.width - 2)
        self.query_one("#unit", Static).update(self._unit_line())
        if view is None:
            self.query_one("#head", Static).update(Text(f"softbond top  {self.error or 'waiting for data'}"))
            self.query_one("#bond", Static).update("")
            self.query_one("#member-rows", Static).update("")
            return
        self.query_one("#head", Static).update(self._head(view))
        self.query_one("#bond", Static).update(self._bond_rows(view, width))
        self.query_one("#member-rows", Static).update(self._members(view, width))

    def _unit_line(self) -> Text:
        text = Text("unit: ")
        text.append(self.unit, style="bold")
        text.append("  (u to switch)", style="dim")
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

    def _rate_cells(self, view: BondView, member: str | None, direction: str, graph: int) -> list:
        rate = view.rate if member is None else view.member_rates.get(member)
        value = rate.value(direction, self.unit) if rate is not None else 0.0
        return [Text("in" if direction == "rx" else "out", style="dim"),
                Text(format_rate(value, self.unit), style="bold"),
                Text(sparkline(view.series(member, direction, self.unit), graph),
                     style="green" if direction == "rx" else "blue")]

    def _bond_rows(self, view: BondView, width: int) -> Table:
        table, graph = self._grid(width)
        members = view.status.get("slaves", [])
        up = sum(1 for m in members if m.get("mii_status") == "up")
        table.add_row(Text(f"{view.name} (all members)", style="bold"),
                      *self._rate_cells(view, None, "rx", graph))
        table.add_row(Text(f"{up}/{len(members)} members up", style="dim"),
                      *self._rate_cells(view, None, "tx", graph))
        return table

    def _members(self, view: BondView, width: int) -> Group:
        parts: list = []
        active = view.status.get("active_slave")
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
            table.add_row(first, *self._rate_cells(view, name, "rx", graph))
            table.add_row(second, *self._rate_cells(view, name, "tx", graph))
            parts.append(table)
            ad = slave.get("ad")
            if ad:
                partner, actor = ad.get("partner") or {}, ad.get("actor") or {}
                lacp = Text("  LACP ", style="cyan")
                lacp.append(f"partner {partner.get('system_mac') or '-'}  "
                            f"port state actor {actor.get('port_state', '-')} "
                            f"partner {partner.get('port_state', '-')}")
                if ad.get("aggregator_id") is not None:
                    lacp.append(f"  aggregator {ad['aggregator_id']}")
                lacp.no_wrap, lacp.overflow = True, "ellipsis"
                parts.append(lacp)
        return Group(*parts)


def run(bond: str | None = None) -> int:
    TopApp(socket_source(bond), bond).run()
    return 0
