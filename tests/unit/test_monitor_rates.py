"""softbond.faces.sampling: rates from counter deltas, per member and per bond,
counter resets, history, units and the event timeline."""
from __future__ import annotations

import pytest

from softbond.faces import sampling as monitor
from softbond.faces.sampling import BondMonitor, Rate, convert, counter_delta, member_rate, next_unit, totals


def member(name, rx_bytes=0, tx_bytes=0, rx_packets=0, tx_packets=0, state="backup", ad=None):
    return {"name": name, "state": state, "mii_status": "up", "ad": ad,
            "counters": {"rx_bytes": rx_bytes, "tx_bytes": tx_bytes, "rx_packets": rx_packets,
                         "tx_packets": tx_packets, "rx_dropped": 0, "tx_dropped": 0}}


def status(*members, bond="bond0", events=()):
    return {"bond": bond, "mode": "active-backup", "slaves": list(members), "events": list(events)}


def test_counter_delta_and_reset():
    assert counter_delta(100, 250) == 150
    assert counter_delta(100, 100) == 0
    # went down: the counter restarted from zero, so all of it is new
    assert counter_delta(10_000, 40) == 40


def test_member_rate_from_two_samples():
    old = {"rx_bytes": 1_000, "tx_bytes": 5_000, "rx_packets": 10, "tx_packets": 50}
    new = {"rx_bytes": 3_000, "tx_bytes": 5_000 + 1_250_000, "rx_packets": 30, "tx_packets": 1_050}
    rate = member_rate(old, new, 2.0)
    assert rate == Rate(rx_Bps=1_000, tx_Bps=625_000, rx_pps=10, tx_pps=500)
    assert rate.value("tx", "Mbit/s") == pytest.approx(5.0)
    assert rate.value("tx", "Kbit/s") == pytest.approx(5_000)
    assert rate.value("rx", "packets/s") == 10
    assert member_rate(old, new, 0) == monitor.ZERO


def test_units_cycle_and_convert():
    assert next_unit("Mbit/s") == "Kbit/s"
    assert next_unit("Kbit/s") == "packets/s"
    assert next_unit("packets/s") == "Mbit/s"
    assert convert(125_000, 7, "Mbit/s") == pytest.approx(1.0)
    assert convert(125_000, 7, "packets/s") == 7
    with pytest.raises(ValueError):
        convert(1, 1, "furlongs")


def test_rates_per_member_and_bond_sum_over_real_intervals():
    mon = BondMonitor()
    mon.update([status(member("eth0", 0, 0, 0, 0), member("eth1", 0, 0, 0, 0))], mono=10.0, wall=1000.0)
    view = mon.bonds["bond0"]
    assert view.rate == monitor.ZERO and not view.history  # no rate from one sample
    # 0.5 s later: eth0 sent 1 MB in 1000 packets, eth1 received 250 kB in 500
    mon.update([status(member("eth0", 0, 1_000_000, 0, 1000), member("eth1", 250_000, 0, 500, 0))],
               mono=10.5, wall=1000.5)
    assert view.member_rates["eth0"] == Rate(0, 2_000_000, 0, 2000)
    assert view.member_rates["eth1"] == Rate(500_000, 0, 1000, 0)
    assert view.rate == Rate(500_000, 2_000_000, 1000, 2000)
    assert view.series(None, "tx", "Mbit/s") == [pytest.approx(16.0)]
    assert view.series("eth1", "rx", "Kbit/s") == [pytest.approx(4000.0)]
    assert view.history[-1].time == 1000.5
    # a long gap is a lower rate, not the same delta per "tick"
    mon.update([status(member("eth0", 0, 3_000_000, 0, 3000), member("eth1", 250_000, 0, 500, 0))],
               mono=14.5, wall=1004.5)
    assert view.member_rates["eth0"].tx_Bps == pytest.approx(500_000)
    assert view.member_rates["eth1"] == monitor.ZERO
    assert view.rate.tx_Bps == pytest.approx(500_000)
    assert len(view.history) == 2


def test_counter_reset_is_not_a_negative_or_huge_rate():
    mon = BondMonitor()
    mon.update([status(member("eth0", rx_bytes=9_000_000, rx_packets=9000))], mono=0.0)
    # the member was re-created: its counters start again near zero
    mon.update([status(member("eth0", rx_bytes=4_000, rx_packets=4))], mono=1.0)
    rate = mon.bonds["bond0"].member_rates["eth0"]
    assert rate.rx_Bps == 4_000 and rate.rx_pps == 4
    mon.update([status(member("eth0", rx_bytes=6_000, rx_packets=6))], mono=2.0)
    assert mon.bonds["bond0"].member_rates["eth0"].rx_Bps == 2_000


def test_members_enslaved_and_released_between_samples():
    mon = BondMonitor()
    mon.update([status(member("eth0", tx_bytes=100))], mono=0.0)
    mon.update([status(member("eth0", tx_bytes=200), member("eth1", tx_bytes=10**9))], mono=1.0)
    view = mon.bonds["bond0"]
    # eth1 is new: no baseline yet, so no rate (not 1 GB/s)
    assert view.member_rates["eth1"] == monitor.ZERO
    assert view.rate.tx_Bps == 100
    mon.update([status(member("eth1", tx_bytes=10**9 + 50))], mono=2.0)
    assert "eth0" not in view.member_rates and "eth0" not in view.member_history
    assert view.rate.tx_Bps == 50


def test_history_is_bounded_and_bonds_that_go_away_are_dropped():
    mon = BondMonitor(history=5)
    for i in range(20):
        mon.update([status(member("eth0", rx_bytes=i * 100)), status(member("eth0"), bond="bond1")],
                   mono=float(i))
    assert len(mon.bonds["bond0"].history) == 5
    assert len(mon.bonds["bond0"].member_history["eth0"]) == 5
    assert mon.names() == ["bond0", "bond1"]
    mon.update([status(member("eth0", rx_bytes=2000))], mono=20.0)
    assert mon.names() == ["bond0"]


def test_totals_are_the_sum_of_members():
    st = status(member("eth0", 1, 2, 3, 4), member("eth1", 10, 20, 30, 40))
    assert totals(st) == {"rx_bytes": 11, "tx_bytes": 22, "rx_packets": 33, "tx_packets": 44,
                          "rx_dropped": 0, "tx_dropped": 0}


def test_events_are_reported_once_as_they_happen():
    e1 = {"time": 100.0, "kind": "enslave", "slave": "eth0", "message": "bond0: (slave eth0): Enslaving"}
    e2 = {"time": 105.0, "kind": "failover", "slave": "eth1", "message": "bond0: (slave eth1): new active"}
    mon = BondMonitor()
    assert mon.update([status(member("eth0"), events=[e1])], mono=0.0) == [e1]
    assert mon.update([status(member("eth0"), events=[e1])], mono=1.0) == []
    assert mon.update([status(member("eth0"), events=[e1, e2])], mono=2.0) == [e2]
    assert list(mon.bonds["bond0"].events) == [e1, e2]
    assert mon.bonds["bond0"].fresh == [e2]


def test_lacp_changes_become_events():
    ad = {"aggregator_id": 1, "actor": {"port_state": 61}, "partner": {"system_mac": "00:00:00:00:00:00",
                                                                        "port_state": 1}}
    ad2 = {"aggregator_id": 1, "actor": {"port_state": 63}, "partner": {"system_mac": "aa:bb:cc:dd:ee:ff",
                                                                         "port_state": 63}}
    mon = BondMonitor()
    mon.update([status(member("eth0", ad=ad))], mono=0.0, wall=50.0)
    fresh = mon.update([status(member("eth0", ad=ad2))], mono=1.0, wall=51.0)
    assert {e["kind"] for e in fresh} == {"lacp"}
    text = " | ".join(e["message"] for e in fresh)
    # decoded as top and the dashboard show port states: letters, then words
    assert "actor port state A.GSCD.. -> ATGSCD.. (gained Timeout)" in text
    assert ("partner port state A....... -> ATGSCD.. (gained Timeout, Aggregation, Synchronization, "
            "Collecting, Distributing)") in text
    assert "partner 00:00:00:00:00:00 -> aa:bb:cc:dd:ee:ff" in text
    assert mon.update([status(member("eth0", ad=ad2))], mono=2.0) == []


def test_format_rate():
    assert monitor.format_rate(1234.5, "Kbit/s") == "1,234 Kbit/s"
    assert monitor.format_rate(12.34, "Mbit/s") == "12.3 Mbit/s"
    assert monitor.format_rate(1.234, "Mbit/s") == "1.23 Mbit/s"
    assert monitor.format_rate(5, "packets/s") == "5.0 pps"
