"""Aggregators and the Selection Logic (softbond.lacp.selection)."""

import pytest

from softbond.lacp.port import Port
from softbond.lacp.selection import (
    Aggregator, port_selection, select_active, split_reason,
)
from softbond.wire.lacpdu import LacpInfo, Lacpdu

STABLE, BANDWIDTH, COUNT = 0, 1, 2


def mac(n):
    return bytes([2, 0, 0, 0, 0, n])


class Bond:
    def __init__(self):
        self.ports = []

    def port(self, *, speed=1000, full=True, up=True, partner=None, partner_key=9):
        n = len(self.ports) + 1
        port = Port(f"eth{n - 1}", n, mac(100 + n), system=mac(1), system_priority=65535,
                    user_port_key=0, lacp_fast=True, lacp_active=True, speed_mbps=speed,
                    full_duplex=full, link_up=up, own_aggregator=Aggregator(n))
        port.rx_machine(None, 0.0)
        port.begin = False
        if partner is not None:
            actor = LacpInfo(32768, mac(partner), partner_key, 32768, n, 0x3F)
            port.rx_machine(Lacpdu(actor, LacpInfo(0, bytes(6), 0, 0, 0, 0)), 0.0)
        port.mux_state = "DETACHED"
        self.ports.append(port)
        return port

    @property
    def aggs(self):
        return [p.own_aggregator for p in self.ports]

    def select_all(self, now=0.0):
        for port in self.ports:
            port_selection(port, self.aggs, now)


def test_same_partner_shares_an_aggregator():
    bond = Bond()
    a, b = bond.port(partner=9), bond.port(partner=9)
    bond.select_all()
    assert a.aggregator is b.aggregator
    assert a.aggregator.id == 1 and a.aggregator.ports == [a, b]
    agg = a.aggregator
    assert agg.has_partner and agg.partner_system == mac(9) and agg.partner_key == 9
    assert agg.actor_key == 9 and not agg.is_individual


@pytest.mark.parametrize("kw", [
    {"partner": 8},                         # another partner system
    {"partner": 9, "partner_key": 10},      # another partner key
    {"partner": 9, "speed": 10000},         # another actor key
    {"partner": 9, "full": False},          # half duplex: individual
])
def test_mismatch_takes_a_new_aggregator(kw):
    bond = Bond()
    a = bond.port(partner=9)
    b = bond.port(**kw)
    bond.select_all()
    assert a.aggregator is not b.aggregator
    assert b.aggregator.id == 2
    reason = split_reason(b, a.aggregator)
    assert reason is not None


def test_ports_without_partner_never_share():
    bond = Bond()
    a, b = bond.port(), bond.port()
    bond.select_all()
    assert a.aggregator is not b.aggregator
    assert split_reason(b, a.aggregator) is None  # not worth a warning


def test_split_reasons():
    bond = Bond()
    a = bond.port(partner=9)
    bond.select_all()
    cases = [
        (bond.port(partner=8), "partner system"),
        (bond.port(partner=9, partner_key=77), "partner key"),
        (bond.port(partner=9, speed=10000), "speed"),
        (bond.port(partner=9, full=False), "duplex"),
    ]
    for port, category in cases:
        assert split_reason(port, a.aggregator)[0] == category


def test_free_aggregator_is_the_first_empty_one():
    bond = Bond()
    a, b, c = bond.port(partner=7), bond.port(partner=8), bond.port(partner=9)
    bond.select_all()
    assert [p.aggregator.id for p in (a, b, c)] == [1, 2, 3]
    a.selected = False
    port_selection(a, bond.aggs, 5.0)  # leaves 1, which is then the first free one
    assert a.aggregator.id == 1


def test_reselection_is_held_after_joining_a_live_partner():
    bond = Bond()
    a = bond.port(partner=9)
    bond.select_all(10.0)
    a.selected = False
    assert port_selection(a, bond.aggs, 11.0)  # left its aggregator
    assert a.aggregator is None and not a.selected
    assert a.counters["reselect_held"] == 1
    port_selection(a, bond.aggs, 12.0)
    assert a.selected and a.aggregator is not None


def test_no_selection_until_detached():
    bond = Bond()
    a = bond.port(partner=9)
    bond.select_all()
    a.selected = False
    a.mux_state = "ATTACHED"
    assert not port_selection(a, bond.aggs, 5.0)
    assert a.aggregator is not None


def _aggs_for(*groups, **kw):
    """groups: (partner, n_ports, speed)"""
    bond = Bond()
    for partner, n, speed in groups:
        for _ in range(n):
            bond.port(partner=partner, speed=speed, **kw)
    bond.select_all()
    return bond


def test_count_bandwidth_and_ties():
    bond = _aggs_for((7, 1, 10000), (8, 2, 1000))
    assert select_active(bond.aggs, COUNT).partner_system == mac(8)
    for agg in bond.aggs:
        agg.is_active = False
    assert select_active(bond.aggs, BANDWIDTH).partner_system == mac(7)
    # a tie keeps the lowest id ...
    tie = _aggs_for((7, 1, 1000), (8, 1, 1000))
    assert select_active(tie.aggs, BANDWIDTH).id == 1
    # ... or the one already active
    tie.aggs[0].is_active = False
    tie.aggs[1].is_active = True
    assert select_active(tie.aggs, BANDWIDTH).id == 2


def test_stable_keeps_active_while_it_has_ports_up():
    bond = _aggs_for((7, 1, 1000), (8, 3, 1000))
    first = bond.ports[0].aggregator
    for agg in bond.aggs:
        agg.is_active = agg is first
    assert select_active(bond.aggs, STABLE) is first
    assert select_active(bond.aggs, COUNT) is not first
    for agg in bond.aggs:
        agg.is_active = agg is first
    bond.ports[0].link_up = False
    assert select_active(bond.aggs, STABLE) is not first


def test_partner_and_aggregatable_are_preferred():
    bond = Bond()
    lonely = [bond.port(), bond.port()]  # no partner, two ports ... each alone
    paired = bond.port(partner=9)
    bond.select_all()
    assert select_active(bond.aggs, COUNT) is paired.aggregator
    half = Bond()
    h1 = half.port(full=False, partner=9)
    h2 = half.port(partner=8, speed=10)
    half.select_all()
    assert h1.aggregator.is_individual
    assert select_active(half.aggs, BANDWIDTH) is h2.aggregator
    assert lonely[0].aggregator is not lonely[1].aggregator


def test_no_ports_up_no_active():
    bond = _aggs_for((7, 2, 1000), up=False)
    assert select_active(bond.aggs, STABLE) is None


def test_take_over_moves_ports_and_parameters():
    bond = _aggs_for((7, 2, 1000))
    old = bond.ports[0].aggregator
    old.is_active = True
    new = bond.ports[1].own_aggregator
    assert not new.ports
    new.take_over(old)
    assert all(p.aggregator is new for p in bond.ports)
    assert new.is_active and new.partner_system == mac(7)
    assert not old.ports and not old.is_active and not old.has_partner
    assert old.id == 1  # ids stay with their aggregator
