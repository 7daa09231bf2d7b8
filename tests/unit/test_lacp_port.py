"""Per-port LACP machines (softbond.lacp.port) driven directly."""

import pytest

from softbond.lacp import params as P
from softbond.lacp.port import Port
from softbond.lacp.selection import Aggregator
from softbond.wire.lacpdu import (
    AGGREGATION, COLLECTING, DEFAULTED, DISTRIBUTING, EXPIRED, LACP_ACTIVITY, LACP_TIMEOUT,
    SYNCHRONIZATION, LacpInfo, Lacpdu,
)

OURS = bytes.fromhex("020000000001")
THEIRS = bytes.fromhex("020000000002")


def make_port(*, fast=True, active=True, speed=1000, full=True, up=True, user_key=0):
    return Port("eth0", 1, bytes.fromhex("020000000101"), system=OURS, system_priority=65535,
                user_port_key=user_key, lacp_fast=fast, lacp_active=active,
                speed_mbps=speed, full_duplex=full, link_up=up, own_aggregator=Aggregator(1))


def partner_pdu(port, *, state=0x3F, system=THEIRS, key=9, knows_us=True):
    actor = LacpInfo(32768, system, key, 32768, 5, state)
    if knows_us:
        us = LacpInfo(port.actor_system_priority, port.actor_system, port.actor_oper_key,
                      port.actor_port_priority, port.number, port.actor_state)
    else:
        us = LacpInfo(0, bytes(6), 0, 0, 0, 0)
    return Lacpdu(actor, us)


def begin(port, now=0.0):
    port.rx_machine(None, now)
    port.periodic_machine(now)
    port.mux_machine(now)
    port.begin = False


# -- keys ---------------------------------------------------------------------------

@pytest.mark.parametrize("speed, full, user, key", [
    (1000, True, 0, 9),          # the /proc example: Actor Key 9
    (10000, True, 0, 15),
    (100, True, 0, 7),
    (10, True, 0, 5),
    (25000, True, 0, 21),
    (100000, True, 0, 29),
    (800000, True, 0, 35),
    (1000, False, 0, 8),         # half duplex: bit 0 clear
    (1000, True, 1023, (1023 << 6) | 9),
    (12345, True, 0, 1),         # unknown speed: speed bits 0
])
def test_port_key(speed, full, user, key):
    port = make_port(speed=speed, full=full, user_key=user)
    assert port.actor_oper_key == key
    assert port.lacp_enabled == full


def test_link_down_zeroes_speed_and_duplex_and_up_restarts():
    port = make_port(user_key=3)
    begin(port)
    port.link_up = False
    port.update_keys(reset=True)
    assert port.actor_oper_key == 3 << 6
    assert not port.lacp_enabled
    port.link_up = True
    port.update_keys(reset=False)
    assert port.actor_oper_key == (3 << 6) | 9
    assert port.begin  # a speed change on a full-duplex port restarts LACP


def test_initial_actor_state_and_defaults():
    port = make_port(fast=True, active=True)
    assert port.actor_state == LACP_ACTIVITY | LACP_TIMEOUT | AGGREGATION
    assert port.actor_port_priority == 255
    passive = make_port(fast=False, active=False)
    assert passive.actor_state == AGGREGATION
    # partner admin: the kernel's ad_initialize_port template
    admin = passive.partner_admin
    assert (admin.system_priority, admin.key, admin.port_priority, admin.port) == (
        0xFFFF, 1, 0xFF, 1)


# -- receive machine -------------------------------------------------------------

def test_begin_goes_to_expired_with_short_timeout():
    port = make_port()
    begin(port, 10.0)
    assert port.rx_state == "EXPIRED"
    assert port.actor_state & EXPIRED and port.actor_state & DEFAULTED
    assert port.partner.state & LACP_TIMEOUT
    assert port.current_while == pytest.approx(13.0)
    assert port.mux_state == "DETACHED" and port.ntt


def test_begin_on_half_duplex_goes_lacp_disabled():
    port = make_port(full=False)
    begin(port)
    assert port.rx_state == "LACP_DISABLED"
    assert port.matched and not port.partner.state & AGGREGATION
    assert port.is_individual


def test_link_down_goes_port_disabled():
    port = make_port(up=False)
    begin(port)
    assert port.rx_state == "PORT_DISABLED"


def test_current_then_expired_then_defaulted():
    port = make_port(fast=True)
    begin(port, 0.0)
    port.rx_machine(partner_pdu(port), 0.5)
    assert port.rx_state == "CURRENT"
    assert port.current_while == pytest.approx(3.5)
    assert port.partner.system == THEIRS and port.partner.key == 9
    assert port.matched and port.partner.state & SYNCHRONIZATION
    assert not port.actor_state & (EXPIRED | DEFAULTED)
    port.rx_machine(None, 3.4)
    assert port.rx_state == "CURRENT"
    port.rx_machine(None, 3.5)
    assert port.rx_state == "EXPIRED"
    assert not port.partner.state & SYNCHRONIZATION
    assert port.actor_state & EXPIRED
    port.selected = True
    port.rx_machine(None, 6.5)
    assert port.rx_state == "DEFAULTED"
    assert not port.selected  # the partner's identity went back to the defaults
    assert port.partner.system == bytes(6)
    assert port.actor_state & DEFAULTED and not port.actor_state & EXPIRED


def test_slow_rate_uses_long_timeout():
    port = make_port(fast=False)
    begin(port)
    port.rx_machine(partner_pdu(port), 1.0)
    assert port.current_while == pytest.approx(91.0)


def test_partner_that_does_not_know_us_is_not_matched():
    port = make_port()
    begin(port)
    port.rx_machine(partner_pdu(port, knows_us=False), 0.1)
    assert not port.matched
    assert not port.partner.state & SYNCHRONIZATION  # its SYNC is not believed
    assert port.ntt  # tell it about us


def test_individual_partner_is_matched():
    port = make_port()
    begin(port)
    port.rx_machine(partner_pdu(port, state=LACP_ACTIVITY | SYNCHRONIZATION,
                                knows_us=False), 0.1)
    assert port.matched
    # The kernel does not treat the link as individual for selection
    # (Open vSwitch clears the bit when its bond has one member left).
    assert not port.is_individual


def test_update_selected_and_partner_changes():
    port = make_port()
    begin(port)
    port.rx_machine(partner_pdu(port), 0.1)
    port.selected = True
    port.rx_machine(partner_pdu(port), 0.2)
    assert port.selected and port.counters["partner_changes"] == 0
    port.rx_machine(partner_pdu(port, key=10), 0.3)
    assert not port.selected and port.counters["partner_changes"] == 1


def test_update_ntt_only_when_partner_view_differs():
    port = make_port()
    begin(port)
    port.rx_machine(partner_pdu(port), 0.1)
    port.ntt = False
    port.rx_machine(partner_pdu(port), 0.2)
    assert not port.ntt
    port.actor_state |= SYNCHRONIZATION
    port.rx_machine(partner_pdu(port, knows_us=True), 0.3)
    assert not port.ntt  # the PDU was built from our current state
    pdu = partner_pdu(port)
    port.actor_state &= ~SYNCHRONIZATION
    port.rx_machine(pdu, 0.4)
    assert port.ntt


# -- periodic machine -------------------------------------------------------------

def test_periodic_fast_slow_and_passive():
    port = make_port(active=True)
    begin(port, 0.0)
    port.periodic_machine(0.0)
    assert port.periodic_state == "FAST_PERIODIC"  # EXPIRED: partner timeout short
    port.rx_machine(partner_pdu(port, state=0x3D), 0.5)  # partner wants long timeouts
    port.periodic_machine(0.5)
    assert port.periodic_state == "SLOW_PERIODIC"
    assert port.periodic_deadline == pytest.approx(30.5)
    port.ntt = False
    port.rx_machine(partner_pdu(port, state=0x3F), 1.0)  # now short again: send at once
    port.ntt = False
    port.periodic_machine(1.0)
    assert port.ntt and port.periodic_state == "FAST_PERIODIC"
    assert port.periodic_deadline == pytest.approx(2.0)
    port.ntt = False
    port.periodic_machine(2.05)
    assert port.ntt
    assert port.periodic_deadline == pytest.approx(3.0)  # no drift

    passive = make_port(active=False)
    begin(passive)
    passive.periodic_machine(0.0)
    assert passive.periodic_state == "NO_PERIODIC"
    assert passive.tx_machine(0.0) is None  # nothing while NO_PERIODIC
    passive.rx_machine(partner_pdu(passive, state=0x3F), 0.1)
    passive.periodic_machine(0.1)
    assert passive.periodic_state == "FAST_PERIODIC"
    assert passive.tx_machine(0.1) is not None


# -- mux machine -------------------------------------------------------------------

def attach(port, now=0.0):
    agg = port.own_aggregator
    agg.ports.append(port)
    agg.is_active = True
    port.aggregator = agg
    port.selected = True


def test_mux_waits_then_attaches_then_collects():
    port = make_port()
    begin(port)
    port.rx_machine(partner_pdu(port), 0.1)
    attach(port)
    port.mux_machine(0.1)
    assert port.mux_state == "WAITING"
    port.mux_machine(2.0)
    assert port.mux_state == "WAITING"
    port.mux_machine(2.1)
    # ATTACHED sets SYNC; the partner is in sync, so straight on
    assert port.mux_state == "COLLECTING_DISTRIBUTING"
    assert port.actor_state & (SYNCHRONIZATION | COLLECTING | DISTRIBUTING) == 0x38
    assert port.collecting_distributing
    port.aggregator.is_active = False
    port.mux_machine(2.2)
    assert port.mux_state == "ATTACHED"
    assert not port.actor_state & (SYNCHRONIZATION | COLLECTING | DISTRIBUTING)
    port.selected = False
    port.mux_machine(2.3)
    assert port.mux_state == "DETACHED" and not port.ready_n


def test_mux_waits_for_every_port_of_the_aggregator():
    one, two = make_port(), make_port()
    for port in (one, two):
        begin(port)
        port.rx_machine(partner_pdu(port), 0.0)
    agg = one.own_aggregator
    agg.is_active = True
    for port in (one, two):
        agg.ports.append(port)
        port.aggregator = agg
        port.selected = True
    one.mux_machine(0.0)
    two.mux_machine(1.0)
    one.mux_machine(2.5)
    assert one.mux_state == "WAITING" and one.ready_n  # two is not ready yet
    two.mux_machine(3.0)
    assert two.mux_state == "COLLECTING_DISTRIBUTING"
    one.mux_machine(3.0)
    assert one.mux_state == "COLLECTING_DISTRIBUTING"


# -- transmit machine and churn ------------------------------------------------------

def test_tx_at_most_three_per_second():
    port = make_port()
    begin(port)
    port.periodic_machine(0.0)
    sent = []
    for i in range(100):
        now = i / 100
        port.request_ntt()
        if port.tx_machine(now) is not None:
            sent.append(now)
    assert len(sent) == 3
    assert port.counters["lacpdu_tx"] == 3
    assert port.counters["dropped_rate_limited"] > 90
    assert port.tx_machine(1.0) is not None


def test_lacpdu_from_port():
    port = make_port()
    begin(port)
    port.rx_machine(partner_pdu(port), 0.1)
    pdu = port.lacpdu()
    assert pdu.actor == LacpInfo(65535, OURS, 9, 255, 1, port.actor_state)
    assert pdu.partner.system == THEIRS and pdu.partner.port == 5
    bye = port.farewell()
    assert bye.actor.state & (SYNCHRONIZATION | COLLECTING | DISTRIBUTING | AGGREGATION) == 0


def test_churn_detection():
    port = make_port()
    begin(port)
    port.churn_machine(0.0)
    assert port.actor_churn_state == port.partner_churn_state == "monitoring"
    port.churn_machine(59.9)
    assert port.actor_churn_state == "monitoring"
    port.churn_machine(60.0)
    assert port.actor_churn_state == port.partner_churn_state == "churned"
    assert port.actor_churned_count == port.partner_churned_count == 1

    synced = make_port()
    begin(synced)
    synced.churn_machine(0.0)
    synced.actor_state |= SYNCHRONIZATION
    synced.partner.state |= SYNCHRONIZATION
    synced.churn_machine(60.0)
    assert synced.actor_churn_state == synced.partner_churn_state == "none"
    assert synced.actor_churned_count == 0


def test_next_deadline():
    port = make_port()
    begin(port, 0.0)
    port.periodic_machine(0.0)
    port.churn_machine(0.0)
    assert port.next_deadline(0.0) == pytest.approx(1.0)  # the fast periodic timer
    assert P.SHORT_TIMEOUT_TIME == 3.0 and P.LONG_TIMEOUT_TIME == 90.0
    assert P.AGGREGATE_WAIT_TIME == 2.0 and P.CHURN_DETECTION_TIME == 60.0


def test_pdu_on_half_duplex_port_does_not_unselect():
    port = make_port(full=False)
    begin(port)
    port.selected = True
    port.rx_machine(partner_pdu(port), 0.5)
    assert port.rx_state == "LACP_DISABLED" and port.selected
    down = make_port(up=False)
    begin(down)
    down.selected = True
    down.rx_machine(partner_pdu(down), 0.5)
    assert down.rx_state == "PORT_DISABLED" and down.selected
