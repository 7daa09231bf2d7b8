"""softbond top at 80x24, driven through Textual's own pilot on a fake
source: the layout fits, rates and link facts show, `u` switches the unit,
events scroll in as they happen, n/p cycle bonds."""
from __future__ import annotations

import asyncio
import copy

from softbond.top import TopApp, sparkline

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
        st = {"bond": "bond0", "mode": "active-backup", "mii_status": "up", "active_slave": self.active,
              "failovers": self.failovers, "options": {}, "events": copy.deepcopy(self.events),
              "slaves": [member("eth0", "active" if self.active == "eth0" else "backup", "up", 10000, 0,
                                250_000 * n, 1_250_000 * n, ad),
                         member("eth1", "active" if self.active == "eth1" else "backup", "up", 1000, 3,
                                0, 0, ad)]}
        return [st] + copy.deepcopy(self.extra)


def screen_text(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def feed(app, seconds, start=0):
    for i in range(start, start + seconds):
        await app.sample(mono=1000.0 + i, wall=T0 + i)


def test_sparkline_shape():
    assert sparkline([], 5) == "     "
    assert sparkline([0, 0, 0], 3, seconds=3) == "▁▁▁"
    assert sparkline([0, 0, 0], 3) == "  ▁"  # 40 s a column: all in the last one
    assert sparkline([1, 2, 4, 8], 4, seconds=4) == "▂▃▅█"
    # 120 s into 10 columns: each column is the peak of 12 samples
    line = sparkline([0.0] * 108 + [5.0] * 12, 10)
    assert line == "▁" * 9 + "█"
    assert len(sparkline(list(range(500)), 37)) == 37


def test_layout_at_80x24_and_unit_key():
    source = FakeSource()

    async def go():
        app = TopApp(source, interval=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 5)
            await pilot.pause()
            lines = screen_text(app)
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
            # the member rows show the rate next to a graph
            eth0 = next(i for i, line in enumerate(lines) if "eth0" in line and "active" in line and "in" in line)
            assert "2.00 Mbit/s" in lines[eth0] and "█" in lines[eth0]
            assert "out" in lines[eth0 + 1] and "10.0 Mbit/s" in lines[eth0 + 1] and "█" in lines[eth0 + 1]

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
            assert "LACP partner a8:f9:4b:00:00:01" in text
            assert "actor 61" in text and "partner 63" in text
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
