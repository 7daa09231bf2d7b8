"""lacp_fallback=active-backup (softbond.lacp.fallback) on LacpSystems wired
in memory, on a fake clock."""

from __future__ import annotations

import pytest

from softbond.config.options import OptionError, change_option
from softbond.config.registry import BondOptions
from softbond.faces import options_table
from softbond.lacp import LacpSystem
from softbond.modes.ieee8023ad import Ieee8023ad
from tests.support.lacpnet import Net, mac, mux

FALLBACK = {"fallback": "active-backup", "fallback_timeout": 10, "lacp_fast": True}


def lonely(members=("eth0", "eth1"), **kw):
    """One system whose members no partner answers."""
    net = Net()
    a = net.system(1, **{**FALLBACK, **kw})
    for name in members:
        net.add(a, name)
    return net, a


def fallback(s: LacpSystem) -> dict:
    return s.ad_info()["lacp_fallback"]


def down(net, s, name):
    s.set_link(name, up=False, speed_mbps=0, full_duplex=False, now=net.t)


def up(net, s, name):
    s.set_link(name, up=True, speed_mbps=1000, full_duplex=True, now=net.t)


def test_after_the_timeout_one_member_carries_everything_min_links_aside():
    net, a = lonely(min_links=2)
    net.run(9.5)
    # Before: the kernel's behaviour, and min_links=2 holds the carrier down.
    assert not a.carrier() and not fallback(a)["active"]
    assert 9.0 <= fallback(a)["silent_for"] <= 9.5
    started = net.t + net.run_until(lambda: fallback(a)["active"], 1.0)
    assert started >= 10.0
    assert a.carrier() and a.distributing() == ("eth0",)
    assert a.collecting("eth0") and not a.collecting("eth1")
    assert fallback(a) | {"silent_for": None} == {"mode": "active-backup", "timeout": 10, "active": True,
                                                 "member": "eth0", "silent_for": None}
    events = [m for _, m in a.drain_events() if "fallback" in m]
    assert events == ["No 802.3ad response from the link partner for 10 s: LACP fallback to "
                      "active-backup, eth0 carries the traffic"]
    # LACP runs on: LACPDUs keep going out on both members.
    sent = net.t
    net.run(3)
    assert net.lacpdus(a, "eth0", since=sent) and net.lacpdus(a, "eth1", since=sent)


def test_the_member_fails_over_on_link_loss_and_stays():
    net, a = lonely()
    net.run(10.5)
    down(net, a, "eth0")
    assert a.distributing() == ("eth1",)                     # at once, before any tick
    assert [(p, m) for p, m in a.drain_events() if "fallback" in m][-1] == (
        "eth1", "LACP fallback: now the active member (eth0 has no link)")
    up(net, a, "eth0")
    net.run(1)
    assert a.distributing() == ("eth1",)                     # active-backup: no way back
    down(net, a, "eth1")
    down(net, a, "eth0")
    assert a.distributing() == () and not a.carrier() and fallback(a)["active"]
    up(net, a, "eth0")                                       # still in fallback: at once
    assert a.distributing() == ("eth0",) and a.carrier()


def test_lowest_port_priority_then_port_number_is_chosen():
    net, a = lonely(("eth0", "eth1", "eth2"))
    a._ports["eth2"].actor_port_priority = 10
    down(net, a, "eth0")
    net.run(10.5)
    assert a.distributing() == ("eth2",)


def test_a_lacpdu_on_one_member_ends_it_at_once_and_that_member_aggregates():
    net, a = lonely()
    b = net.system(2, lacp_fast=True)
    net.run(10.5)
    assert fallback(a)["active"]
    a.drain_events()
    net.cable(a, "eth1", b, "eth0")          # a partner appears, on eth1 only
    net.step()
    assert not fallback(a)["active"] and fallback(a)["member"] is None
    ended = [(p, m) for p, m in a.drain_events() if "fallback" in m]
    assert ended == [("eth1", "LACPDU received: LACP fallback to active-backup ends after 0 s, "
                              "back to 802.3ad")]
    net.run_until(lambda: a.distributing() == ("eth1",), 3.5)
    assert mux(a, "eth1") == "COLLECTING_DISTRIBUTING" and not a.collecting("eth0")
    net.run(30)                              # far past the timeout: the partner is current
    assert not fallback(a)["active"] and a.distributing() == ("eth1",)


def test_a_slow_partner_between_its_lacpdus_is_no_reason_to_fall_back():
    net = Net()
    a = net.system(1, fallback="active-backup", fallback_timeout=5)     # slow: one LACPDU in 30 s
    b = net.system(2)
    net.cable(a, "eth0", b, "eth0")
    net.run(100)
    assert not fallback(a)["active"] and a.distributing() == ("eth0",)
    assert mux(a, "eth0") == "COLLECTING_DISTRIBUTING"


def test_a_partner_gone_silent_is_fallen_back_from_after_the_timeout():
    net = Net()
    a = net.system(1, **FALLBACK)
    b = net.system(2, lacp_fast=True)
    net.cable(a, "eth0", b, "eth0")
    net.cable(a, "eth1", b, "eth1")
    net.run_until(lambda: len(a.distributing()) == 2, 3.5)
    for port in ("eth0", "eth1"):
        net.silence(a, port)
    silent = net.t
    took = net.run_until(lambda: fallback(a)["active"], 11)
    assert 9.5 <= took <= 10.5 and net.t > silent
    assert a.distributing() == ("eth0",)


def test_silence_counts_only_while_some_member_has_a_link():
    net, a = lonely()
    down(net, a, "eth0")
    down(net, a, "eth1")
    net.run(30)
    assert fallback(a)["silent_for"] is None
    up(net, a, "eth1")
    net.run(9.5)
    assert not fallback(a)["active"]
    net.run(1)
    assert fallback(a)["active"] and a.distributing() == ("eth1",)


def test_off_by_default_and_switched_live():
    net, a = lonely(fallback="off")
    net.run(100)
    assert not fallback(a)["active"] and fallback(a)["mode"] == "off"
    assert a.distributing() == ("eth0",)              # the kernel's individual link
    a.configure(fallback="active-backup", fallback_timeout=0)
    net.step()
    assert fallback(a)["active"]
    a.drain_events()
    a.configure(fallback="off")
    assert not fallback(a)["active"]
    assert [m for _, m in a.drain_events()] == [
        "lacp_fallback=off: LACP fallback to active-backup ends, back to 802.3ad"]


def test_the_next_deadline_is_the_fallback_timeout():
    net, a = lonely(fallback_timeout=40)
    net.run(20)
    deadlines = []
    while not fallback(a)["active"]:
        deadline = a.next_deadline()
        assert deadline is not None
        deadlines.append(deadline)
        a.tick(deadline)
    assert a.ad_info()["lacp_fallback"]["active"] and 40.0 in deadlines


@pytest.mark.parametrize("kw,text", [
    ({"fallback": "static"}, "fallback must be one of off, active-backup"),
    ({"fallback_timeout": -1}, "fallback_timeout must be >= 0"),
])
def test_bad_values_are_refused(kw, text):
    with pytest.raises(ValueError, match=text):
        LacpSystem(system_mac=mac(1), **kw)
    s = LacpSystem(system_mac=mac(1))
    with pytest.raises(ValueError, match=text):
        s.configure(**kw)
    assert (s.fallback, s.fallback_timeout) == ("off", 90)


def test_the_802_3ad_runner_takes_both_options_and_their_changes():
    runner = Ieee8023ad(BondOptions(mode=4, lacp_fallback=1, lacp_fallback_timeout=7))
    runner.start(mac(1))
    assert (runner.system.fallback, runner.system.fallback_timeout) == ("active-backup", 7)
    runner.configure(BondOptions(mode=4))
    assert (runner.system.fallback, runner.system.fallback_timeout) == ("off", 90)


@pytest.mark.parametrize("mode,name,value,error", [
    (1, "lacp_fallback", "active-backup",
     "bond0: option lacp_fallback: mode dependency failed, not supported in mode active-backup(1)"),
    (4, "lacp_fallback", "static", "bond0: option lacp_fallback: invalid value (static): valid values: off, "
                                   "active-backup"),
    (4, "lacp_fallback_timeout", "3601", "bond0: option lacp_fallback_timeout: allowed values 0 - 3600"),
])
def test_the_options_are_checked_like_the_kernels(mode, name, value, error):
    with pytest.raises(OptionError) as refused:
        change_option("bond0", BondOptions(mode=mode), name, value)
    assert str(refused.value) == error


def test_the_options_are_set_live_and_listed():
    opts, warnings = change_option("bond0", BondOptions(mode=4), "lacp_fallback", "active-backup")
    assert (opts.lacp_fallback, warnings) == (1, [])
    assert change_option("bond0", opts, "lacp_fallback_timeout", "0")[0].lacp_fallback_timeout == 0
    assert "lacp_fallback_timeout  90 " in options_table.table()
