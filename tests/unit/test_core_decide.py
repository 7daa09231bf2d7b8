"""A whole bond's decisions (core.decide.BondCore) driven on a fake clock
with fake members: no root, no sockets, no links, no asyncio. Each test
feeds events with their times and checks the actions the bond would carry
out, in order."""
from dataclasses import replace

from softbond.config.options import BOND_MODE_8023AD, BOND_MODE_ACTIVEBACKUP, BOND_MODE_ROUNDROBIN
from softbond.config.registry import BondOptions
from softbond.core.decide import (BondCore, Log, MoveMac, NotifyPeers, Publish, ResendIgmp, SendControl,
                                  SetCarrier, WakeAt)
from softbond.lacp import NO_RESPONSE_MSG
from softbond.modes import make_runner
from softbond.modes.active_backup import RESELECT_ALWAYS, RESELECT_BETTER, RESELECT_FAILURE
from tests.support.fakemember import FakeMember
from tests.support.lacppartner import Partner

BOND_MAC = bytes.fromhex("020000000001")


def make_bond(names, now=0.0, carriers=None, **options):
    """A core with `names` enslaved at `now`, as Membership enslaves them
    (runner started, member added, the bond chooses; the primary forces)."""
    opts = replace(BondOptions(), **options)
    core = BondCore(opts, make_runner(opts))
    members = {}
    for i, name in enumerate(names):
        member = FakeMember(name, carrier=(carriers or {}).get(name, True), mac_bytes=bytes([2, 0, 0, 0, 1, i + 1]))
        core.members.append(member)
        core.runner.start(BOND_MAC)
        core.runner.add_member(member, now)
        core.reselect(now, force_primary=name == opts.primary)
        members[name] = member
    return core, members


def kinds(actions):
    return [type(a).__name__ for a in actions]


def logs(actions):
    return [a.message for a in actions if isinstance(a, Log)]


def test_carrier_loss_fails_over_at_once_and_publishes_before_logging():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    assert core.active is m["eth0"] and core.carrier
    actions = core.observe(m["eth0"], False, now=5.0)
    assert core.active is m["eth1"] and core.failovers == 1 and core.carrier
    # The data path switches and the peers hear of it before the log line.
    assert kinds(actions) == ["Log", "Publish", "NotifyPeers", "Log", "MoveMac", "ResendIgmp", "Publish"]
    assert actions[0] == Log("link", "link status definitely down, disabling slave", m["eth0"], 30)
    assert actions[2] == NotifyPeers(m["eth1"]) and actions[4] == MoveMac(m["eth0"], m["eth1"])
    assert actions[3].kind == "failover"
    assert m["eth0"].link.failures == 1


def test_last_member_down_drops_the_carrier_and_it_comes_back():
    core, m = make_bond(["eth0"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    actions = core.observe(m["eth0"], False, now=1.0)
    assert core.active is None and not core.carrier
    assert SetCarrier(False) in actions
    assert "now running without any active interface!" in logs(actions)
    actions = core.observe(m["eth0"], True, now=2.0)
    assert core.active is m["eth0"] and core.carrier and SetCarrier(True) in actions
    assert logs(actions)[:2] == ["link status definitely up, 1000 Mbps full duplex",
                                 "making interface the new active one"]
    assert core.failovers == 0       # from none to one is no failover


def test_downdelay_holds_the_member_until_its_time_and_a_blip_is_forgiven():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100, downdelay=200)
    actions = core.observe(m["eth0"], False, now=10.0)
    assert actions == [Log("link", "link status down for active interface, disabling it in 200 ms", m["eth0"]),
                       WakeAt(m["eth0"], 10.2)]
    assert core.active is m["eth0"]
    assert core.expire(m["eth0"], now=10.1) == []       # too early: nothing
    actions = core.observe(m["eth0"], True, now=10.15)  # back within downdelay
    assert logs(actions) == ["link status up again after 150 ms"] and core.active is m["eth0"]
    core.observe(m["eth0"], False, now=11.0)
    actions = core.expire(m["eth0"], now=11.2)
    assert logs(actions)[0] == "link status definitely down, disabling slave"
    assert core.active is m["eth1"] and Publish() in actions


def test_updelay_enables_a_member_only_when_it_ends():
    core, m = make_bond(["eth0", "eth1"], carriers={"eth1": False}, mode=BOND_MODE_ACTIVEBACKUP,
                        miimon=100, updelay=300, primary="eth1")
    assert core.active is m["eth0"]
    actions = core.observe(m["eth1"], True, now=1.0)
    assert actions == [Log("link", "link status up for interface, enabling it in 300 ms", m["eth1"]),
                       WakeAt(m["eth1"], 1.3)]
    assert not m["eth1"].up and core.active is m["eth0"]
    actions = core.expire(m["eth1"], now=1.3)
    assert m["eth1"].up and core.active is m["eth1"]      # the primary takes over (force_primary held)
    assert kinds(actions)[0] == "Log" and Publish() in actions


def test_with_no_member_up_a_going_back_member_is_taken_early():
    core, m = make_bond(["eth0"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100, updelay=500)
    core.observe(m["eth0"], False, now=1.0)
    assert not core.carrier
    assert WakeAt(m["eth0"], 2.5) in core.observe(m["eth0"], True, now=2.0)
    assert core.active is None               # an unsettled change chooses nothing
    actions = core.reselect(2.1)             # the next choice (an enslave, `set`) takes it
    assert core.active is m["eth0"] and core.carrier
    assert logs(actions)[0] == "making interface the new active one 400 ms earlier"
    assert SetCarrier(True) in actions and ResendIgmp(m["eth0"]) in actions


def primary_comes_back(reselect, speeds=(1000, 1000)):
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100, primary="eth0",
                        primary_reselect=reselect)
    m["eth0"].speed, m["eth1"].speed = speeds
    core.observe(m["eth0"], False, now=1.0)
    assert core.active is m["eth1"]
    core.observe(m["eth0"], True, now=2.0)
    return core.active.name


def test_primary_reselect_always_better_failure():
    assert primary_comes_back(RESELECT_ALWAYS) == "eth0"
    assert primary_comes_back(RESELECT_BETTER) == "eth1"                       # equal: stays
    assert primary_comes_back(RESELECT_BETTER, speeds=(10000, 1000)) == "eth0"   # faster: back
    assert primary_comes_back(RESELECT_FAILURE) == "eth1"


def test_naming_a_primary_forces_it_whatever_primary_reselect_says():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100,
                        primary_reselect=RESELECT_FAILURE)
    core.opts = replace(core.opts, primary="eth1")
    actions = core.reselect(3.0, force_primary=True)
    assert core.active is m["eth1"] and MoveMac(m["eth0"], m["eth1"]) in actions


def test_an_arp_verdict_takes_a_member_down_like_a_lost_carrier():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, arp_interval=100,
                        arp_ip_target=("10.0.0.1",))
    actions = core.verdict(m["eth0"], "arp", False, now=1.0)
    assert core.active is m["eth1"] and m["eth0"].carrier and "link status definitely down, disabling slave" in logs(actions)
    assert core.verdict(m["eth0"], "arp", False, now=1.1) == []      # no change, no event
    core.verdict(m["eth0"], "arp", True, now=2.0)
    assert m["eth0"].up and core.active is m["eth1"]


def test_a_member_held_down_by_two_judges_returns_when_both_let_it_go():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, arp_interval=100,
                        arp_ip_target=("10.0.0.1",))
    core.verdict(m["eth0"], "arp", False, now=1.0)
    core.verdict(m["eth0"], "path", False, now=1.5)
    assert core.verdict(m["eth0"], "arp", True, now=2.0) == [] and not m["eth0"].up
    core.verdict(m["eth0"], "path", True, now=2.5)
    assert m["eth0"].up and m["eth0"].judged_down == set()


def test_a_mode_without_an_active_member_publishes_on_every_settled_change():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ROUNDROBIN, miimon=100)
    assert core.active is None and core.carrier
    actions = core.observe(m["eth0"], False, now=1.0)
    assert kinds(actions) == ["Log", "Publish", "Publish"] and core.carrier
    actions = core.observe(m["eth1"], False, now=1.5)
    assert actions[2:4] == [SetCarrier(False), Log("carrier", "now running without any active interface!",
                                                   level=40)]


def test_the_active_member_leaving_publishes_and_the_bond_chooses_again():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    core.members.remove(m["eth0"])
    assert core.member_left(m["eth0"], now=1.0) == [Publish()] and core.active is None
    core.reselect(1.0)
    assert core.active is m["eth1"]


# -- 802.3ad: the runner's output through the core --------------------------------

def run_lacp(core, members, partner, start, seconds, dt=0.1):
    """Ticks both sides every dt from `start`; frames cross at once."""
    actions = []
    t = start
    while t < start + seconds - 1e-9:
        out = core.runner_tick(t)
        for name, frame in partner.lacp.tick(t):
            if partner.listening and name in members:
                out += core.runner_output(core.runner.receive_control(members[name], frame, t))
        actions += out
        for action in out:
            if isinstance(action, SendControl) and partner.listening and partner.faces(action.member.name):
                partner.lacp.receive(action.member.name, action.frame, t)
        t = round(t + dt, 6)
    return actions


def test_a_partner_that_never_answers_is_said_once():
    core, m = make_bond(["eth0"], mode=BOND_MODE_8023AD, miimon=100, lacp_rate=1)
    actions = run_lacp(core, m, Partner([]), 0.0, 5.0)
    # As the kernel: once the partner has timed out (DEFAULTED), eth0 runs
    # as an individual link and the bond has its carrier.
    assert core.carrier and core.runner.system.distributing() == ("eth0",)
    said = [a for a in actions if isinstance(a, Log) and a.message == NO_RESPONSE_MSG]
    assert len(said) == 1 and said[0].level == 30 and said[0].kind == "lacp"


def test_lacp_negotiates_publishes_and_a_silent_partner_takes_the_carrier_down():
    core, m = make_bond(["eth0", "eth1"], mode=BOND_MODE_8023AD, miimon=100, lacp_rate=1)
    partner = Partner(["eth0"])                     # the other member faces nobody
    assert not core.carrier
    actions = run_lacp(core, m, partner, 0.0, 3.0)
    assert core.carrier and core.runner.system.distributing() == ("eth0",)
    assert Publish() in actions and SetCarrier(True) in actions
    assert "link status up" in logs(actions)
    # The lonely member churns (actor and partner) after the churn timer.
    run_lacp(core, m, partner, 3.0, 60.0)
    lonely = core.runner.member_status("eth1")
    assert (lonely["actor_churn_state"], lonely["partner_churn_state"]) == ("churned", "churned")
    assert core.runner.member_collecting("eth1") is False and core.runner.member_collecting("eth0")
    # The partner goes silent: after the fast timeout (3 s) the port expires
    # and the bond loses its carrier, saying so.
    partner.listening = False
    actions = run_lacp(core, m, partner, 63.0, 5.0)
    assert not core.carrier and core.runner.system.distributing() == ()
    assert [a for a in actions if not isinstance(a, SendControl)] == [
        Publish(), SetCarrier(False), Log("carrier", "now running without any active interface!", level=40)]
    # 802.3ad's last LACPDUs when the runner leaves (a mode switch).
    last = core.runner.stop(list(core.members), 68.0)
    assert {member.name for member, _ in last} == {"eth0", "eth1"}
