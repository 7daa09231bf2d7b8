"""LacpSystem instances wired back to back in memory, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from softbond.lacp import NO_RESPONSE_MSG, LacpSystem
from softbond.wire.lacpdu import (
    AGGREGATION, COLLECTING, DISTRIBUTING, LACP_ACTIVITY, LACP_TIMEOUT, SYNCHRONIZATION,
    LacpInfo, Lacpdu, MarkerPdu, build_lacpdu, build_marker, parse_slow,
)
from tests.support.lacpnet import Net, mac, mux, pair

FULL = LACP_ACTIVITY | LACP_TIMEOUT | AGGREGATION | SYNCHRONIZATION | COLLECTING | DISTRIBUTING


# -- forming -----------------------------------------------------------------

def test_fast_rate_forms_within_3_seconds():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    took = net.run_until(lambda: a.distributing() == ("eth0", "eth1")
                         and b.distributing() == ("eth0", "eth1"), 3.0)
    assert took <= 3.0
    for s in (a, b):
        assert s.carrier()
        for port in ("eth0", "eth1"):
            info = s.port_info(port)
            assert info["mux_state"] == "COLLECTING_DISTRIBUTING"
            assert info["rx_state"] == "CURRENT" and info["current"]
            assert info["actor"]["port_state"] == 63
            assert info["partner"]["port_state"] == 63
            assert info["actor"]["port_key"] == 9  # 1 Gb/s full duplex
            assert s.collecting(port)
    info = a.ad_info()
    assert info.pop("lacp_fallback") == {"mode": "off", "timeout": 90.0, "active": False, "member": None,
                                         "silent_for": 0.0}   # a LACPDU has just arrived
    assert info == {
        "lacp_active": 1, "lacp_rate": 1, "min_links": 0, "ad_select": 0,
        "system_priority": 65535, "system_mac": "02:00:00:00:00:01",
        "active_aggregator": {"id": 1, "num_ports": 2, "actor_key": 9, "partner_key": 9,
                              "partner_mac": "02:00:00:00:00:02"},
    }
    assert a.port_info("eth0")["partner"]["system_mac"] == "02:00:00:00:00:02"
    assert a.port_info("eth1")["aggregator_id"] == 1


def test_slow_rate_forms_and_sends_every_30_seconds():
    net, a, b = pair()
    net.cable(a, "eth0", b, "eth0")
    took = net.run_until(lambda: a.distributing() and b.distributing(), 5.0)
    assert took <= 3.0
    assert a.port_info("eth0")["actor"]["port_state"] == 61  # long timeout
    assert a.port_info("eth0")["periodic_state"] == "SLOW_PERIODIC"
    start = net.t
    net.run(95)
    sent = net.lacpdus(a, "eth0", since=start)
    assert 3 <= len(sent) <= 4  # one per 30 s
    assert a.distributing() == ("eth0",) and b.distributing() == ("eth0",)


def test_passive_against_active_forms():
    net, a, b = pair(a={"lacp_active": False, "lacp_fast": True}, b={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run_until(lambda: a.distributing() and b.distributing(), 3.5)
    assert a.ad_info()["lacp_active"] == 0
    assert a.port_info("eth0")["actor"]["port_state"] & LACP_ACTIVITY == 0
    # The passive end spoke only after hearing the active one.
    first_a = min(net.lacpdus(a, "eth0"))
    first_b = min(net.lacpdus(b, "eth0"))
    assert first_a >= first_b


def test_passive_against_passive_never_forms():
    net, a, b = pair(both={"lacp_active": False, "lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(30)
    # No aggregation; each end runs its port as an individual link, as the
    # kernel does when no partner answers.
    for s in (a, b):
        assert mux(s, "eth0") != "COLLECTING_DISTRIBUTING"
        assert s.port_info("eth0")["partner"]["system_mac"] == "00:00:00:00:00:00"
        assert s.distributing() == ("eth0",) and s.carrier()
    assert net.lacpdus(a, "eth0") == [] and net.lacpdus(b, "eth0") == []
    assert a.port_info("eth0")["periodic_state"] == "NO_PERIODIC"


def test_passive_partner_hears_nothing_from_silent_active_peer():
    net, a, b = pair(a={"lacp_active": False})
    net.cable(a, "eth0", b, "eth0")
    net.silence(a, "eth0")  # the active peer's frames never arrive
    net.run(10)
    assert net.lacpdus(a, "eth0") == []


# -- losing and regaining the partner ---------------------------------------------

def test_partner_silent_expires_then_defaults_and_rejoins():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run_until(lambda: a.distributing() and b.distributing(), 3.0)
    net.run(1.0)
    a.drain_events()
    net.silence(a, "eth0")
    net.silence(b, "eth0")
    cut = net.t
    expired = cut + net.run_until(lambda: a.port_info("eth0")["rx_state"] == "EXPIRED", 3.2)
    assert 2.0 <= expired - cut <= 3.2
    assert a.distributing() == () and not a.carrier()
    assert a.port_info("eth0")["actor"]["port_state"] & 0x80  # Expired bit
    net.run_until(lambda: a.port_info("eth0")["rx_state"] == "DEFAULTED", 3.2)
    assert net.t - expired >= 2.9
    info = a.port_info("eth0")
    assert info["actor"]["port_state"] & 0x40  # Defaulted bit
    assert info["partner"]["system_mac"] == "00:00:00:00:00:00"
    # Defaulted, the port is an individual link: it carries the traffic
    # (the kernel's ad_agg_selection_logic enables it) without LACP.
    assert a.distributing() == ("eth0",) and a.carrier() and a.collecting("eth0")
    assert mux(a, "eth0") != "COLLECTING_DISTRIBUTING"
    assert (None, NO_RESPONSE_MSG) in a.drain_events()
    # The partner comes back.
    net.restore(a, "eth0")
    net.restore(b, "eth0")
    net.run_until(lambda: mux(a, "eth0") == mux(b, "eth0") == "COLLECTING_DISTRIBUTING", 4.0)
    assert a.port_info("eth0")["rx_state"] == "CURRENT" and a.distributing() == ("eth0",)


def test_one_way_silence_also_leaves_distributing():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run_until(lambda: a.distributing() and b.distributing(), 3.0)
    net.silence(a, "eth0")  # b -> a lost; a -> b still works
    net.run_until(lambda: a.port_info("eth0")["rx_state"] == "EXPIRED", 3.5)
    assert a.distributing() == ()
    # a clears its Sync as soon as it is EXPIRED (the standard would keep it
    # until DEFAULTED), so b stops sending into the dead direction at once.
    assert not a.port_info("eth0")["actor"]["port_state"] & SYNCHRONIZATION
    net.run(0.3)
    assert b.distributing() == ()
    net.run(3.5)
    assert a.port_info("eth0")["rx_state"] == "DEFAULTED"
    assert b.distributing() == ()


def test_link_down_and_up():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    net.run_until(lambda: len(a.distributing()) == 2 and len(b.distributing()) == 2, 3.0)
    a.set_link("eth1", up=False, speed_mbps=0, full_duplex=False, now=net.t)
    b.set_link("eth1", up=False, speed_mbps=0, full_duplex=False, now=net.t)
    assert a.distributing() == ("eth0",)  # at once, before any tick
    assert not a.collecting("eth1")
    net.step()
    assert a.port_info("eth1")["rx_state"] == "PORT_DISABLED"
    assert a.ad_info()["active_aggregator"]["num_ports"] == 1
    a.set_link("eth1", up=True, speed_mbps=1000, full_duplex=True, now=net.t)
    b.set_link("eth1", up=True, speed_mbps=1000, full_duplex=True, now=net.t)
    net.run_until(lambda: len(a.distributing()) == 2 and len(b.distributing()) == 2, 3.5)
    assert a.distributing() == ("eth0", "eth1")


# -- selection -------------------------------------------------------------------

def _two_partners(ad_select: int, speeds=(1000, 1000, 1000)):
    """a: eth0 -> partner b; eth1, eth2 -> partner c."""
    net = Net()
    a = net.system(1, lacp_fast=True, ad_select=ad_select)
    b = net.system(2, lacp_fast=True)
    c = net.system(3, lacp_fast=True)
    net.cable(a, "eth0", b, "p0", speed=speeds[0])
    net.cable(a, "eth1", c, "p0", speed=speeds[1])
    net.cable(a, "eth2", c, "p1", speed=speeds[2])
    return net, a, b, c


def test_two_partner_systems_make_two_aggregators():
    net, a, b, c = _two_partners(ad_select=2)
    net.run(6)
    ids = {p: a.port_info(p)["aggregator_id"] for p in ("eth0", "eth1", "eth2")}
    assert ids["eth1"] == ids["eth2"] != ids["eth0"]
    warnings = [(p, m) for p, m in a.drain_events() if p is not None and "different partner" in m]
    assert warnings, "expected a warning naming the port and the reason"
    port, message = warnings[0]
    assert port in ("eth0", "eth1", "eth2")
    assert "different partner system" in message


def test_ad_select_count_prefers_more_ports():
    net, a, b, c = _two_partners(ad_select=2)
    net.run(6)
    assert a.distributing() == ("eth1", "eth2")
    assert a.ad_info()["active_aggregator"]["partner_mac"] == "02:00:00:00:00:03"
    assert not a.collecting("eth0")
    assert c.distributing() == ("p0", "p1")
    assert b.distributing() == ()  # its link is in a standby aggregator of a
    assert a.port_info("eth0")["mux_state"] == "ATTACHED"


def test_ad_select_bandwidth_prefers_faster():
    net, a, b, c = _two_partners(ad_select=1, speeds=(10000, 1000, 1000))
    net.run(6)
    assert a.distributing() == ("eth0",)
    assert a.ad_info()["active_aggregator"]["partner_mac"] == "02:00:00:00:00:02"
    # count would choose the two 1G links instead
    net2, a2, _, _ = _two_partners(ad_select=2, speeds=(10000, 1000, 1000))
    net2.run(6)
    assert a2.distributing() == ("eth1", "eth2")


def test_ad_select_stable_keeps_the_first_aggregator():
    for ad_select, expect in ((0, ("eth0",)), (2, ("eth1", "eth2"))):
        net = Net()
        a = net.system(1, lacp_fast=True, ad_select=ad_select)
        b = net.system(2, lacp_fast=True)
        c = net.system(3, lacp_fast=True)
        net.cable(a, "eth0", b, "p0")
        net.run(4)
        assert a.distributing() == ("eth0",)
        net.cable(a, "eth1", c, "p0")
        net.cable(a, "eth2", c, "p1")
        net.run(6)
        assert a.distributing() == expect, ad_select
        if ad_select == 0:
            # stable moves on only when the active aggregator loses its ports
            a.set_link("eth0", up=False, speed_mbps=0, full_duplex=False, now=net.t)
            net.run(3)
            assert a.distributing() == ("eth1", "eth2")


def test_ad_select_changed_live():
    net, a, b, c = _two_partners(ad_select=0)
    net.run(6)
    first = a.distributing()
    a.configure(ad_select=2)
    net.run(4)
    assert a.distributing() == ("eth1", "eth2")
    assert a.ad_info()["ad_select"] == 2
    assert first  # something was distributing before the change


def test_different_speed_lands_in_another_aggregator():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0", speed=1000)
    net.cable(a, "eth1", b, "eth1", speed=10000)
    net.run(6)
    assert a.port_info("eth0")["aggregator_id"] != a.port_info("eth1")["aggregator_id"]
    assert len(a.distributing()) == 1
    messages = [m for p, m in a.drain_events() if p is not None]
    assert any("different speed" in m for m in messages)


def test_half_duplex_port_is_individual_and_warned():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.add(a, "eth1", full=False)
    net.run(6)
    info = a.port_info("eth1")
    assert info["rx_state"] == "LACP_DISABLED"
    assert info["actor"]["port_key"] & 1 == 0
    assert a.distributing() == ("eth0",)
    assert any(p == "eth1" and "half duplex" in m for p, m in a.drain_events())


# -- no partner: the kernel's individual link (issue 19) ----------------------------

def lonely(**kw):
    """One system, two ports, no cable answers: nothing but our own LACPDUs."""
    net = Net()
    a = net.system(1, **kw)
    net.add(a, "eth0")
    net.add(a, "eth1")
    return net, a


def test_no_partner_runs_one_port_as_an_individual_link_like_the_kernel():
    """What the kernel oracle showed for 802.3ad with no partner: bond up,
    eth0's aggregator active with eth0 alone in it, actor states 77 and 69
    (only the active one in sync), partner states 0; the bond passes
    traffic through eth0 and only eth0."""
    net, a = lonely()
    net.run(5)
    assert a.carrier() and a.distributing() == ("eth0",)
    assert a.collecting("eth0") and not a.collecting("eth1")
    eth0, eth1 = a.port_info("eth0"), a.port_info("eth1")
    assert eth0["rx_state"] == eth1["rx_state"] == "DEFAULTED"
    assert (eth0["actor"]["port_state"], eth1["actor"]["port_state"]) == (77, 69)
    assert eth0["partner"]["port_state"] == eth1["partner"]["port_state"] == 0
    assert eth0["aggregator_id"] != eth1["aggregator_id"]
    agg = a.ad_info()["active_aggregator"]
    assert agg == {"id": eth0["aggregator_id"], "num_ports": 1, "actor_key": 9, "partner_key": 1,
                   "partner_mac": "00:00:00:00:00:00"}
    assert mux(a, "eth0") == "ATTACHED"       # no LACP: never collecting/distributing in LACPDUs
    assert (None, NO_RESPONSE_MSG) in a.drain_events()


def test_individual_link_moves_only_when_its_port_loses_the_link():
    net, a = lonely()
    net.run(5)
    a.set_link("eth0", up=False, speed_mbps=0, full_duplex=False, now=net.t)
    assert a.distributing() == ("eth1",) and a.carrier()     # at once, before any tick
    net.run(3)
    a.set_link("eth0", up=True, speed_mbps=1000, full_duplex=True, now=net.t)
    net.run(3)
    assert a.distributing() == ("eth1",)                     # ad_select=stable: no way back
    a.set_link("eth1", up=False, speed_mbps=0, full_duplex=False, now=net.t)
    a.set_link("eth0", up=False, speed_mbps=0, full_duplex=False, now=net.t)
    assert a.distributing() == () and not a.carrier()


def test_individual_link_is_held_down_by_min_links():
    net, a = lonely(min_links=2)
    net.run(5)
    assert a.distributing() == () and not a.carrier()
    assert a.collecting("eth0") and not a.collecting("eth1")   # as the kernel: enabled, no carrier


def test_a_partner_on_one_member_only_takes_the_traffic_from_the_individual_link():
    net, a, b = pair(both={"lacp_fast": True})
    net.add(a, "eth0")                   # no partner here
    net.cable(a, "eth1", b, "eth0")
    net.run_until(lambda: a.distributing() == ("eth1",), 3.5)
    assert mux(a, "eth1") == "COLLECTING_DISTRIBUTING"
    assert a.collecting("eth1") and not a.collecting("eth0")
    assert a.ad_info()["active_aggregator"]["partner_mac"] == "02:00:00:00:00:02"
    net.run(10)
    assert a.distributing() == ("eth1",)


# -- carrier and min_links -------------------------------------------------------

def test_min_links_gates_carrier():
    net, a, b = pair(a={"lacp_fast": True, "min_links": 2}, b={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    net.run(4)
    assert a.carrier() and a.distributing() == ("eth0", "eth1")
    a.set_link("eth1", up=False, speed_mbps=0, full_duplex=False, now=net.t)
    net.step()
    assert not a.carrier() and a.distributing() == ()
    assert a.collecting("eth0")  # still attached; only the bond's carrier is off
    a.configure(min_links=1)
    assert a.carrier() and a.distributing() == ("eth0",)
    assert a.ad_info()["min_links"] == 1


def test_no_ports_no_carrier():
    s = LacpSystem(system_mac=mac(1))
    assert s.tick(0.0) == []
    assert not s.carrier() and s.distributing() == ()
    assert s.ad_info()["active_aggregator"] is None
    assert s.next_deadline() is None


# -- hostile input -----------------------------------------------------------------

def test_loopback_is_refused():
    net = Net()
    a = net.system(1, lacp_fast=True)
    net.cable(a, "eth0", a, "eth1")  # a cable from the bond to itself
    net.run(8)
    # Never an aggregation: two partner-less ports, one of them (the first)
    # an individual link, as in the kernel.
    assert a.distributing() == ("eth0",)
    assert a.port_info("eth0")["aggregator_id"] != a.port_info("eth1")["aggregator_id"]
    for port in ("eth0", "eth1"):
        info = a.port_info(port)
        assert info["counters"]["lacpdu_illegal_rx"] > 0
        assert info["counters"]["lacpdu_rx"] == 0
        assert info["rx_state"] != "CURRENT"
    loops = [(p, m) for p, m in a.drain_events() if "loopback" in m]
    assert sorted(p for p, _ in loops) == ["eth0", "eth1"]  # once per port


def test_loopback_with_another_priority_is_refused():
    """The kernel's loopback check (ad_rx_machine) compares the system MAC
    alone: a LACPDU carrying our own system MAC under another priority is
    our own frame come back (or a forged one), never a partner."""
    net = Net()
    a = net.system(1, lacp_fast=True, system_priority=100)
    twin = net.system(1, lacp_fast=True, system_priority=200)   # same MAC
    net.cable(a, "eth0", twin, "eth0")
    net.run(8)
    for s in (a, twin):
        assert mux(s, "eth0") != "COLLECTING_DISTRIBUTING"   # an individual link, no partner
        info = s.port_info("eth0")
        assert info["counters"]["lacpdu_illegal_rx"] > 0
        assert info["counters"]["lacpdu_rx"] == 0
        assert info["partner"]["system_mac"] != "02:00:00:00:00:01"
        assert sum("loopback" in m for _, m in s.drain_events()) == 1


def test_loopback_of_own_frame_on_formed_link():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    own = [f for t, s, p, f in net.sent if s is a and f[14] == 1][-1]
    for _ in range(5):
        a.receive("eth0", own, net.t)
    assert a.port_info("eth0")["counters"]["lacpdu_illegal_rx"] == 5
    assert a.distributing() == ("eth0",)
    assert sum("loopback" in m for _, m in a.drain_events()) == 1


def _flood_frame(partner_system: bytes, n: int, stale: bool = True) -> bytes:
    actor = LacpInfo(65535, partner_system, 9, 255, 1, FULL)
    partner = LacpInfo(1, mac(99), n & 0xFFFF, 1, 1, 0) if stale else actor
    return build_lacpdu(mac(0x200), Lacpdu(actor, partner))


def test_lacpdus_from_ever_new_partners_grow_no_state():
    """What a LACP flood can make the system keep is bounded by its ports:
    one partner record and one aggregator per port, a capped event log,
    at most 3 LACPDUs a second out."""
    from softbond.lacp.system import MAX_EVENTS
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    net.run(4)
    sent = 0
    for i in range(20_000):
        now = net.t + i / 1000
        a.receive(("eth0", "eth1")[i & 1], _flood_frame(mac(0x1000 + i), i, stale=False), now)
        sent += len(a.tick(now))
    assert len(a._aggregators()) == 2
    assert len(a._events) <= MAX_EVENTS and len(a._outbox) == 0
    assert sent <= 2 * 3 * 21
    assert a.port_info("eth0")["partner"]["system_mac"] == "02:00:00:00:5e:1e"    # the last one


def test_tx_rate_limit_under_flood():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    start = net.t
    sent = []
    for i in range(10_000):  # one simulated second
        now = start + i / 10_000
        # each frame says something different about us: every one asks for NTT
        a.receive("eth0", _flood_frame(mac(2), i), now)
        sent += [(now, f) for p, f in a.tick(now) if p == "eth0" and f[14] == 1]
    assert len(sent) <= 3
    info = a.port_info("eth0")
    assert info["counters"]["lacpdu_rx"] >= 10_000
    assert info["counters"]["dropped_rate_limited"] > 9000
    # and over a longer flood, no 1 s window ever holds more than 3
    for i in range(30_000):
        now = start + 1 + i / 10_000
        a.receive("eth0", _flood_frame(mac(2), i), now)
        sent += [(now, f) for p, f in a.tick(now) if p == "eth0" and f[14] == 1]
    times = [t for t, _ in sent]
    for k in range(len(times) - 3):
        assert times[k + 3] - times[k] >= 1.0 - 1e-9


def test_partner_flipping_system_ids_is_damped(monkeypatch):
    from softbond.lacp import system as system_module
    joins = []
    real = system_module.port_selection

    def recording(port, aggs, now):
        was = port.selected
        changed = real(port, aggs, now)
        if port.name == "eth1" and port.actor_system == mac(1) and port.selected and not was:
            joins.append(now)
        return changed

    monkeypatch.setattr(system_module, "port_selection", recording)
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    net.run(4)
    assert a.distributing() == ("eth0", "eth1")
    active = a.ad_info()["active_aggregator"]["id"]
    # An attacker takes over eth1 and alternates between two system ids.
    del net.peer[(id(a), "eth1")]
    net.silence(a, "eth1")
    joins.clear()
    start = net.t
    for i in range(1000):  # 10 s at 100 frames/s
        now = start + i / 100
        system = mac(50) if i % 2 else mac(51)
        a.receive("eth1", _flood_frame(system, 0, stale=False), now)
        a.tick(now)
        if i % 10 == 0:
            net.t = now
            net.step()
        assert "eth0" in a.distributing()
        assert a.ad_info()["active_aggregator"]["id"] == active
    assert "eth1" not in a.distributing()
    assert 3 <= len(joins) <= 10 / 2 + 1
    assert all(t2 - t1 >= 2.0 for t1, t2 in zip(joins, joins[1:])), joins
    counters = a.port_info("eth1")["counters"]
    assert counters["partner_changes"] > 900
    assert counters["reselect_held"] > 0
    assert sum(p == "eth1" and "changed its identity" in m for p, m in a.drain_events()) == 1


def test_garbage_and_unknown_frames_are_counted_not_raised():
    net, a, b = pair()
    net.cable(a, "eth0", b, "eth0")
    net.run(1)
    good = [f for t, s, p, f in net.sent if s is b][0]
    a.receive("eth0", b"", net.t)
    a.receive("eth0", b"\x00" * 3, net.t)
    a.receive("eth0", good[:14] + b"\x03" + good[15:], net.t)  # OAM
    a.receive("eth0", good[:14] + b"\x0a" + good[15:], net.t)  # OSSP
    a.receive("eth0", good[:17] + b"\x99" + good[18:], net.t)  # bad actor length
    a.receive("nosuch", good, net.t)
    counters = a.port_info("eth0")["counters"]
    assert counters["lacpdu_illegal_rx"] == 3
    assert counters["lacpdu_unknown_rx"] == 2


# -- markers ---------------------------------------------------------------------

def test_marker_information_is_answered():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    info = MarkerPdu(1, port=5, system=mac(2), transaction_id=0xDEADBEEF)
    a.receive("eth0", build_marker(mac(0x300), info), net.t)
    frames = [(p, f) for p, f in a.tick(net.t) if f[14] == 2]
    assert len(frames) == 1
    port, frame = frames[0]
    assert port == "eth0"
    assert parse_slow(frame) == MarkerPdu(2, 5, mac(2), 0xDEADBEEF)
    assert frame[6:12] == a._ports["eth0"].mac
    a.receive("eth0", frame, net.t)  # a response is only counted
    assert [f for _, f in a.tick(net.t) if f[14] == 2] == []
    counters = a.port_info("eth0")["counters"]
    assert counters["marker_rx"] == 1
    assert counters["marker_response_tx"] == 1
    assert counters["marker_response_rx"] == 1
    assert counters["marker_tx"] == 0


def test_marker_flood_is_limited():
    net, a, b = pair()
    net.cable(a, "eth0", b, "eth0")
    net.run(1)
    frame = build_marker(mac(0x300), MarkerPdu(1, 1, mac(2), 1))
    out = []
    for i in range(1000):
        now = net.t + i / 1000
        a.receive("eth0", frame, now)
        out += [f for _, f in a.tick(now) if f[14] == 2]
    assert len(out) == 5
    assert a.port_info("eth0")["counters"]["dropped_rate_limited"] >= 995


# -- membership and options ----------------------------------------------------------

def test_remove_port_sends_farewell_and_keeps_the_others():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    net.run(4)
    assert a.port_info("eth1")["aggregator_id"] == 1  # eth0's aggregator
    a.remove_port("eth0", net.t)
    assert a.distributing() == ("eth1",)  # no interruption
    assert a.port_info("eth1")["aggregator_id"] == 2  # moved to eth1's own aggregator
    frames = a.tick(net.t)
    farewell = [parse_slow(f) for p, f in frames if p == "eth0"]
    assert len(farewell) == 1
    state = farewell[0].actor.state
    assert not state & (SYNCHRONIZATION | COLLECTING | DISTRIBUTING | AGGREGATION)
    with pytest.raises(KeyError):
        a.port_info("eth0")
    net.run(3)
    assert a.distributing() == ("eth1",) and a.carrier()


def test_remove_last_port_clears_active_aggregator():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    a.remove_port("eth0", net.t)
    assert a.ad_info()["active_aggregator"] is None
    assert any("has no active aggregator" in m for _, m in a.drain_events())


def test_lacp_rate_changed_live():
    net, a, b = pair()
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    assert b.port_info("eth0")["periodic_state"] == "SLOW_PERIODIC"
    a.configure(lacp_rate=1)  # the kernel's name for lacp_fast
    net.run(1)
    assert a.port_info("eth0")["actor"]["port_state"] & LACP_TIMEOUT
    assert b.port_info("eth0")["periodic_state"] == "FAST_PERIODIC"
    assert a.ad_info()["lacp_rate"] == 1
    start = net.t
    net.run(10)
    assert 9 <= len(net.lacpdus(b, "eth0", since=start)) <= 11


def test_system_mac_changed_live_reforms():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    a.configure(system_mac=mac(7), system_priority=100)
    net.run(4)
    assert b.port_info("eth0")["partner"]["system_mac"] == "02:00:00:00:00:07"
    assert b.port_info("eth0")["partner"]["system_priority"] == 100
    assert a.distributing() and b.distributing()
    assert a.ad_info()["system_mac"] == "02:00:00:00:00:07"


def test_user_port_key():
    net, a, b = pair(a={"lacp_fast": True, "user_port_key": 5}, b={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    assert a.port_info("eth0")["actor"]["port_key"] == (5 << 6) | 9
    assert b.ad_info()["active_aggregator"]["partner_key"] == (5 << 6) | 9
    a.configure(user_port_key=6)
    net.run(4)
    assert b.ad_info()["active_aggregator"]["partner_key"] == (6 << 6) | 9
    assert a.distributing()


def test_bad_options_and_arguments():
    with pytest.raises(ValueError):
        LacpSystem(system_mac=b"\x00")
    with pytest.raises(ValueError):
        LacpSystem(system_mac=mac(1), ad_select=3)
    s = LacpSystem(system_mac=mac(1))
    with pytest.raises(TypeError):
        s.configure(no_such_option=1)
    with pytest.raises(ValueError):
        s.configure(user_port_key=4096)
    assert s.ad_info()["lacp_rate"] == 0  # unchanged after a refused change
    s.add_port("eth0", port_number=1, mac=mac(9), speed_mbps=1000, full_duplex=True,
               link_up=True, now=0)
    with pytest.raises(ValueError):
        s.add_port("eth0", port_number=2, mac=mac(9), speed_mbps=1000, full_duplex=True,
                   link_up=True, now=0)
    with pytest.raises(ValueError):
        s.add_port("eth1", port_number=0, mac=mac(9), speed_mbps=1000, full_duplex=True,
                   link_up=True, now=0)
    s.remove_port("nosuch", 0)
    s.set_link("nosuch", up=True, speed_mbps=1, full_duplex=True, now=0)


# -- churn, scheduling, status ------------------------------------------------------

def test_churn_states():
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.add(a, "eth1")  # nobody on the other end
    net.run(5)
    assert a.port_info("eth0")["actor_churn_state"] == "monitoring"
    net.run(60)
    info = a.port_info("eth0")
    assert (info["actor_churn_state"], info["partner_churn_state"]) == ("none", "none")
    lonely = a.port_info("eth1")
    assert lonely["actor_churn_state"] == "churned"
    assert lonely["partner_churn_state"] == "churned"
    assert lonely["actor_churned_count"] == lonely["partner_churned_count"] == 1


@pytest.mark.parametrize("fast", [True, False])
def test_event_driven_ticks_at_next_deadline(fast):
    """Tick only when next_deadline says so (and after each receive)."""
    net, a, b = pair(both={"lacp_fast": fast})
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    formed_at = None
    end = 100.0
    ticks = 0
    while net.t < end:
        deadlines = [d for d in (a.next_deadline(), b.next_deadline()) if d is not None]
        assert deadlines
        net.t = max(net.t, min(deadlines))
        queue = [(s, s.tick(net.t)) for s in (a, b)]
        ticks += 1
        while queue:
            s, frames = queue.pop(0)
            queue.extend(net._deliver(s, frames))
        both = len(a.distributing()) == 2 and len(b.distributing()) == 2
        if formed_at is None and both:
            formed_at = net.t
        if formed_at is not None:
            assert both, net.t
    assert formed_at is not None and formed_at <= 3.0
    assert ticks < 400  # far fewer than one per 100 ms


def test_port_info_renders_in_proc_status():
    from softbond.faces import status_text as st
    net, a, b = pair(both={"lacp_fast": True})
    net.cable(a, "eth0", b, "eth0")
    net.run(4)
    doc = {"bond": "bond0", "mode": "802.3ad", "mii_status": "up",
           "options": {"mode": "802.3ad", "miimon": 100}, "ad_info": a.ad_info(),
           "slaves": [{"name": "eth0", "mii_status": "up", "speed_mbps": 1000,
                       "duplex": "full", "perm_hwaddr": "02:00:00:00:01:01",
                       "ad": a.port_info("eth0")}]}
    text = st.render_proc(doc)
    assert "Active Aggregator Info:\n\tAggregator ID: 1\n\tNumber of ports: 1\n" in text
    assert "Partner Mac Address: 02:00:00:00:00:02" in text
    assert "Aggregator ID: 1\nActor Churn State: monitoring\n" in text
    assert "    port state: 63\n" in text


# -- receive never raises ------------------------------------------------------------

_FUZZ = {}


def _fuzz_pair():
    if not _FUZZ:
        net, a, b = pair(both={"lacp_fast": True})
        net.cable(a, "eth0", b, "eth0")
        net.run(4)
        good = [f for t, s, p, f in net.sent if s is b and f[14] == 1][-1]
        marker = build_marker(mac(0x300), MarkerPdu(1, 1, mac(2), 1))
        _FUZZ.update(net=net, a=a, frames=[good, marker])
    return _FUZZ


@st.composite
def _hostile(draw):
    frames = _fuzz_pair()["frames"]
    if draw(st.booleans()):
        return draw(st.binary(max_size=160))
    frame = bytearray(draw(st.sampled_from(frames)))
    for _ in range(draw(st.integers(1, 8))):
        frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
    return bytes(frame[:draw(st.integers(0, len(frame)))])


@settings(max_examples=1500, deadline=None)
@given(_hostile())
def test_receive_never_raises(frame):
    fz = _fuzz_pair()
    a, net = fz["a"], fz["net"]
    net.t += 0.001
    a.receive("eth0", frame, net.t)
    for port, out in a.tick(net.t):
        assert len(out) == 124 and parse_slow(out) is not None
    info = a.port_info("eth0")
    assert info["rx_state"] in ("CURRENT", "EXPIRED", "DEFAULTED", "PORT_DISABLED",
                                "LACP_DISABLED")
