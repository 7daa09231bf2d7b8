"""softbond top at 80x24, driven through Textual's own pilot on a fake
source: the layout fits, rates, totals and link facts show, every graph of
a bond shares its scale, a down member shows "down" and no bars, `u`
switches the unit, events scroll in as they happen (cut with "…", in full
behind `e`), n/p cycle bonds, LACP is summarised and its port states
decoded. (tests/integration/test_top_screen.py does the same on a real
terminal against a real bond.)"""
from __future__ import annotations

import asyncio
import copy

from softbond.faces.lacpview import lacp_summary, port_state_letters
from softbond.faces.top import TopApp, format_bytes, sparkline

T0 = 1_700_000_000.0


def member(name, state, mii, speed, failures, rx, tx, ad=None):
    return {"name": name, "state": state, "mii_status": mii, "speed_mbps": speed, "duplex": "full",
            "link_failure_count": failures, "carrier": mii == "up", "ad": ad,
            "counters": {"rx_bytes": rx, "tx_bytes": tx, "rx_packets": rx // 1000, "tx_packets": tx // 1000,
                         "rx_dropped": 0, "tx_dropped": 0}}


class FakeSource:
    """Every call is one second later: eth0 sends 1.25 MB (10 Mbit/s) and
    receives 250 kB (2 Mbit/s) per second."""

    def __init__(self, lacp=False):
        self.n = 0
        self.eth0_mii = "up"
        self.active = "eth0"
        self.failovers = 0
        self.events = [{"time": T0, "kind": "enslave", "slave": "eth0",
                        "message": "bond0: (slave eth0): Enslaving as an active interface with an up link"}]
        self.lacp = lacp
        self.extra = []

    def __call__(self):
        self.n += 1
        n = self.n
        ad = None
        if self.lacp:
            ad = {"aggregator_id": 1, "actor": {"port_state": 61},
                  "partner": {"system_mac": "a8:f9:4b:00:00:01", "port_state": 63}, "counters": {}}
        st = {"bond": "bond0", "mode": "802.3ad" if self.lacp else "active-backup", "mii_status": "up",
              "active_slave": self.active,
              "failovers": self.failovers, "options": {}, "events": copy.deepcopy(self.events),
              "lacp_status": "negotiated" if self.lacp else "off",
              "ad_info": ({"lacp_active": "on", "lacp_rate": "fast",
                           "active_aggregator": {"id": 1, "num_ports": 2, "partner_key": 9,
                                                 "partner_mac": "a8:f9:4b:00:00:01"}} if self.lacp else None),
              "slaves": [member("eth0", "active" if self.active == "eth0" else "backup", self.eth0_mii, 10000, 0,
                                250_000 * n, 1_250_000 * n, ad),
                         member("eth1", "active" if self.active == "eth1" else "backup", "up", 1000, 3,
                                0, 0, ad)]}
        return [st] + copy.deepcopy(self.extra)


def screen_text(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def feed(app, seconds, start=0):
    for i in range(start, start + seconds):
        await app.sample(mono=1000.0 + i, wall=T0 + i)


async def screen_after(app, pilot, seconds, start=0):
    """The screen's lines once `seconds` samples are in and drawn."""
    await feed(app, seconds, start)
    await pilot.pause()
    return screen_text(app)


def test_sparkline_shape():
    assert sparkline([], 5) == "     "
    assert sparkline([0, 0, 0], 3, seconds=3) == "▁▁▁"
    assert sparkline([0, 0, 0], 3) == "  ▁"  # 40 s a column: all in the last one
    assert sparkline([1, 2, 4, 8], 4, seconds=4) == "▂▃▅█"
    # 120 s into 10 columns: each column is the peak of 12 samples
    line = sparkline([0.0] * 108 + [5.0] * 12, 10)
    assert line == "▁" * 9 + "█"
    assert len(sparkline(list(range(500)), 37)) == 37
    # a shared scale: a trickle stays a trickle next to a bigger graph
    assert sparkline([1, 1], 2, seconds=2, top=100) == "▁▁"
    assert sparkline([50, 100], 2, seconds=2, top=100) == "▅█"


def test_byte_totals_format():
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1_500) == "1.5 KB"
    assert format_bytes(7_500_000) == "7.5 MB"
    assert format_bytes(3 * 10**12) == "3.0 TB"


def test_port_state_letters_and_lacp_summary():
    assert port_state_letters(63) == "ATGSCD.."
    assert port_state_letters(61) == "A.GSCD.."
    assert port_state_letters(0x47) == "ATG...F."
    assert port_state_letters(0x80) == ".......E"
    assert port_state_letters(None) == "-"
    assert lacp_summary({"ad_info": None, "lacp_status": "off"}) is None
    agg = {"id": 1, "num_ports": 2, "partner_key": 9, "partner_mac": "a8:f9:4b:00:00:01"}
    distributing = [{"ad": {"actor": {"port_state": 63}}}, {"ad": {"actor": {"port_state": 0x47}}}]
    # the word is the daemon's lacp_status, whatever the aggregator says
    assert lacp_summary({"lacp_status": "negotiated", "slaves": distributing,
                         "ad_info": {"lacp_active": 1, "lacp_rate": 1, "active_aggregator": agg}}) == (
        "negotiated: partner a8:f9:4b:00:00:01 key 9, aggregator 1 with 2 port(s), "
        "1/2 members distributing, rate fast")
    assert lacp_summary({"lacp_status": "configured (no partner)", "slaves": distributing,
                         "ad_info": {"lacp_active": "on", "lacp_rate": 0, "active_aggregator": agg}}
                        ) == "configured (no partner): sending LACPDUs at the slow rate, none answered"
    assert lacp_summary({"lacp_status": "configured (no partner)",
                         "ad_info": {"lacp_active": "off", "active_aggregator": None}}) == (
        "configured (no partner): lacp_active=off, waiting for a partner to speak first")


def test_layout_at_80x24_and_unit_key():
    source = FakeSource()

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            lines = await screen_after(app, pilot, 5)
            assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
            text = "\n".join(lines)
            for want in ("bond0", "active-backup", "active eth0", "eth0", "eth1", "10000M", "1000M",
                         "fail 3", "unit: Mbit/s", "10.0 Mbit/s", "2.00 Mbit/s", "Events", "Enslaving"):
                assert want in text, (want, text)
            # every widget is inside the 80x24 screen
            for widget in app.screen.query("*"):
                region = widget.region
                if region.width and region.height:
                    assert region.right <= 80 and region.bottom <= 24, widget
            # the member rows show the rate next to a graph, on the bond's
            # scale: 10 Mbit/s out is a full bar, 2 Mbit/s in a low one
            eth0 = next(i for i, line in enumerate(lines) if "eth0" in line and "active" in line and "in" in line)
            assert "2.00 Mbit/s" in lines[eth0] and lines[eth0].rstrip().endswith("▂▂▂▂")
            assert "out" in lines[eth0 + 1] and "10.0 Mbit/s" in lines[eth0 + 1] and "████" in lines[eth0 + 1]
            # the idle member's graph is flat, not scaled up to its own peak
            eth1 = next(i for i, line in enumerate(lines) if "eth1" in line and "in" in line)
            assert lines[eth1].rstrip().endswith("▁▁▁▁") and "█" not in lines[eth1 + 1]
            # byte totals and drops (6 samples: on_mount took one)
            assert lines[eth0 + 2].split() == ["total", "in", "1.5", "MB", "0", "dropped", "out", "7.5", "MB",
                                               "0", "dropped"]
            assert lines[eth1 + 2].split() == ["total", "in", "0", "B", "0", "dropped", "out", "0", "B", "0",
                                               "dropped"]

            await pilot.press("u")
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "unit: Kbit/s" in text and "10,000 Kbit/s" in text
            assert str(app.query_one("#unit").render()).startswith("unit: Kbit/s")
            await pilot.press("u")
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "unit: packets/s" in text and "1,250 pps" in text
            await pilot.press("u")
            await pilot.pause()
            assert "unit: Mbit/s" in "\n".join(screen_text(app))
    asyncio.run(go())


def test_failover_and_link_events_appear_as_they_happen():
    source = FakeSource()

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 3)
            source.active, source.failovers = "eth1", 1
            source.events += [
                {"time": T0 + 3, "kind": "link", "slave": "eth0",
                 "message": "bond0: (slave eth0): link status definitely down, disabling slave"},
                {"time": T0 + 3.1, "kind": "failover", "slave": "eth1",
                 "message": "bond0: (slave eth1): making interface the new active one"}]
            await feed(app, 1, start=3)
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "active eth1" in text and "failovers 1" in text
            assert "definitely down" in text and "new active one" in text
            # reported once, not once per sample
            await feed(app, 3, start=4)
            await pilot.pause()
            assert "\n".join(screen_text(app)).count("new active one") == 1
    asyncio.run(go())


def test_lacp_partner_and_state_shown_when_the_mode_has_them():
    source = FakeSource(lacp=True)

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 2)
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "LACP negotiated: partner a8:f9:4b:00:00:01 key 9, aggregator 1" in text
            # no active member in 802.3ad, as /proc's "Currently Active Slave" (even
            # where the status names one)
            head = screen_text(app)[0]
            assert "bond0  802.3ad  MII up  failovers 0" in head and "active" not in head, head
            assert "LACP actor A.GSCD.. partner ATGSCD..  a8:f9:4b:00:00:01  aggregator 1" in text
    asyncio.run(go())


def test_several_bonds_cycle_with_n_and_p_and_a_named_bond_filters():
    source = FakeSource()
    other = source()[0]
    other["bond"] = "bond7"
    other["mode"] = "802.3ad"
    source.extra = [other]

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 2)
            await pilot.pause()
            assert "bond 1/2" in "\n".join(screen_text(app))
            await pilot.press("n")
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "bond7" in text and "802.3ad" in text and "bond 2/2" in text
            await pilot.press("p")
            await pilot.pause()
            assert "active-backup" in "\n".join(screen_text(app))

        app = TopApp(source, bond="bond7", interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 2)
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "bond7" in text and "active-backup" not in text

        app = TopApp(lambda: [], interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "no bonds running" in "\n".join(screen_text(app))
    asyncio.run(go())


def test_a_bond_whose_process_died_is_shown_with_its_reason():
    reason = "bond1: process not running; forwarding continues unmanaged (eBPF); run `softbond up` to adopt it"
    source = FakeSource()
    source.extra = [{"name": "bond1", "managed": False, "pid": 4242, "reason": reason}]

    async def scenario():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(200, 24)) as pilot:
            await feed(app, 2)
            await pilot.pause()
            assert any("bond1: process not running; forwarding continues unmanaged (eBPF)" in line
                       for line in screen_text(app)), screen_text(app)
        alone = TopApp(lambda: [{"name": "bond1", "managed": False, "pid": 4242, "reason": reason}], "bond1",
                       interval=3600)
        async with alone.run_test(size=(200, 24)) as pilot:
            await feed(alone, 1)
            await pilot.pause()
            assert any("bond1: process not running" in line for line in screen_text(alone)), screen_text(alone)
    asyncio.run(scenario())


def test_a_down_member_shows_down_and_an_empty_graph():
    """Its history had traffic; with the link down its rows say "down" and
    draw nothing (the bug: the old bars stayed full)."""
    source = FakeSource()

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 5)
            source.eth0_mii, source.active = "down", "eth1"
            lines = await screen_after(app, pilot, 1, start=5)
            eth0 = next(i for i, line in enumerate(lines) if " eth0 " in line)
            for line in lines[eth0:eth0 + 2]:
                assert line.split()[-2:] in (["in", "down"], ["out", "down"]), line
                assert not any(bar in line for bar in "▁▂▃▄▅▆▇█"), line
    asyncio.run(go())


def test_long_events_end_in_an_ellipsis_and_e_shows_them_in_full():
    source = FakeSource()
    tail = "the end of a long message that an 80-column terminal cannot hold on one line"
    source.events.append({"time": T0 + 1, "kind": "warning", "slave": None,
                          "message": "bond0: " + "x" * 40 + " " + tail})

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            lines = await screen_after(app, pilot, 2)
            title = next(i for i, line in enumerate(lines) if "Events (newest last" in line)
            events = [line for line in lines[title + 1:] if "bond0:" in line]
            assert len(events) == 2, lines
            assert events[1].rstrip().endswith("…") and tail not in "\n".join(lines)
            assert len({len(line) for line in lines}) == 1  # nothing wraps past the screen
            await pilot.press("e")
            await pilot.pause()
            full = " ".join(line.strip() for line in screen_text(app))
            assert tail in full and "Enslaving as an active interface with an up link" in full
            assert "A Activity  T Timeout" in full
            # a new event while reading them shows up there too
            source.events.append({"time": T0 + 3, "kind": "link", "slave": "eth1",
                                  "message": "bond0: (slave eth1): link status definitely down, disabling slave"})
            lines = await screen_after(app, pilot, 1, start=2)
            assert "bond0: (slave eth1): link status definitely down" in " ".join(line.strip() for line in lines)
            assert "events (e or esc: back)" in lines[0]
            await pilot.press("escape")
            await pilot.pause()
            assert "Events (newest last; e: in full)" in "\n".join(screen_text(app))
    asyncio.run(go())


def test_the_newest_events_show_and_a_bigger_terminal_fills_with_them():
    """40 events and four members: at 80x24 the last rows are the newest
    events; grown to 160x50, every member shows and the events fill the
    rest down to the footer at once (no rows left empty until the next
    sample, none scrolled back)."""
    source = FakeSource(lacp=True)
    source.events += [{"time": T0 + i, "kind": "link", "slave": "eth0", "message": f"bond0: event number {i}"}
                      for i in range(1, 40)]

    def four_members():
        statuses = source()
        eth1 = statuses[0]["slaves"][1]
        statuses[0]["slaves"] += [dict(eth1, name="eth2"), dict(eth1, name="eth3")]
        return statuses

    async def go():
        app = TopApp(four_members, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            lines = await screen_after(app, pilot, 1)
            assert "event number 39" in lines[-2] and "event number 38" in lines[-3], lines
            await pilot.resize_terminal(160, 50)  # at once, not at the next sample
            await pilot.pause()
            lines = screen_text(app)
            assert len(lines) == 50
            text = "\n".join(lines)
            for name in ("eth0", "eth1", "eth2", "eth3"):
                assert f" {name} " in text, text
            title = next(i for i, line in enumerate(lines) if "Events (newest last" in line)
            events = lines[title + 1:-1]
            assert "event number 39" in events[-1] and all("bond0:" in line for line in events), lines
            assert len(events) >= 20
    asyncio.run(go())


class ProtocolSource(FakeSource):
    """FakeSource with the bond's protocol counters: per second 1 MB out as
    TCP (8 Mbit/s), 250 kB in as UDP (2 Mbit/s), one ARP each way."""

    def __call__(self):
        statuses = super().__call__()
        n = self.n
        classes = ("arp", "lacp", "ipv4_tcp", "ipv4_udp", "ipv4_icmp", "ipv4_other",
                   "ipv6_tcp", "ipv6_udp", "ipv6_icmp", "ipv6_other", "other")
        counts = {d: {c: {"packets": 0, "bytes": 0} for c in classes} for d in ("rx", "tx")}
        counts["tx"]["ipv4_tcp"] = {"packets": 700 * n, "bytes": 1_000_000 * n}
        counts["rx"]["ipv4_udp"] = {"packets": 200 * n, "bytes": 250_000 * n}
        counts["rx"]["arp"] = counts["tx"]["arp"] = {"packets": n, "bytes": 42 * n}
        statuses[0]["protocols"] = counts
        return statuses


def test_g_switches_the_bond_view_to_by_protocol_and_back():
    source = ProtocolSource()

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            lines = await screen_after(app, pilot, 5)
            assert "view: in/out" in "\n".join(lines) and "ipv4_tcp" not in "\n".join(lines)
            await pilot.press("g")
            await pilot.pause()
            lines = screen_text(app)
            assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
            assert "view: by protocol" in "\n".join(lines)
            tcp = next(line for line in lines if "ipv4_tcp" in line)
            assert "in 0.00 Mbit/s" in tcp and "out 8.00 Mbit/s" in tcp and "█" in tcp
            udp = next(line for line in lines if "ipv4_udp" in line)
            assert "in 2.00 Mbit/s" in udp and "out 0.00 Mbit/s" in udp and "█" not in udp
            await pilot.press("u", "u")
            await pilot.pause()
            arp = next(line for line in screen_text(app) if " arp " in f" {line} ")
            assert "in 1.0 pps" in arp and "out 1.0 pps" in arp
            await pilot.press("g")
            await pilot.pause()
            text = "\n".join(screen_text(app))
            assert "view: in/out" in text and "ipv4_tcp" not in text and "(all members)" in text
    asyncio.run(go())


def test_path_monitor_line_under_a_member():
    from softbond.faces.top import path_member_line
    text = path_member_line({"state": "out of service", "loss_pct": 31.5, "rtt_ms": 0.123, "probes": 40,
                             "taken_out": 2, "reason": "lost 13 of the last 40 probes", "target": "10.0.0.1"}).plain
    assert text == "  path out of service  loss 31.5%  rtt 0.12 ms  40 probes  out 2x"
    assert "rtt -" in path_member_line({"state": "in service", "loss_pct": 100.0, "rtt_ms": None}).plain
