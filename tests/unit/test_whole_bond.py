"""A whole core.bond.Bond - membership, link health, failover, listeners,
the mode runner, publishing - built on fake links, a fake data path and a
fake clock (tests/support/fakelinks.py): no root, no namespaces, no sleeps.
The bond runs on its own asyncio loop; its miimon, ARP and runner tasks
sleep on the fake clock, link messages reach it through the links port's
monitor socket, and the test reads what it published."""
import asyncio
from dataclasses import replace

import pytest

from softbond.config.model import BondConfig
from softbond.config.options import BOND_MODE_8023AD, BOND_MODE_ACTIVEBACKUP
from softbond.config.registry import BondOptions
from softbond.core.bond import Bond, BondError
from softbond.core.listeners import ETH_P_ARP, ETH_P_SLOW
from softbond.kernel import rundir
from softbond.wire.arp import parse_arp
from softbond.modes.active_backup import RESELECT_ALWAYS, RESELECT_BETTER, RESELECT_FAILURE
from tests.support.fakelinks import FakeClock, FakeDataPath, FakeLinks, Plan
from tests.support.lacppartner import Partner


class Rig:
    """bond0 over fake members, started."""

    def __init__(self, members, **options):
        self.loop = asyncio.new_event_loop()
        self.links = FakeLinks(*members)
        self.clock = FakeClock(self.loop)
        self.datapath = FakeDataPath(self.links)
        config = BondConfig(name="bond0", slaves=tuple(members), options=replace(BondOptions(), **options),
                            addresses=(), hwaddr=None, gateway=None, onboot=False, source="test", warnings=())
        self.bond = Bond(config, self.links, self.clock, make_device=self.datapath)
        self.loop.run_until_complete(self.bond.start())
        self.clock.settle()

    @property
    def device(self):
        return self.datapath.device

    @property
    def plan(self) -> Plan:
        return self.device.plans[-1]

    def close(self):
        if self.loop.is_closed():
            return
        self.loop.run_until_complete(self.bond.stop())
        self.clock.settle()
        self.links.close()
        self.loop.close()


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir, "RUN_ROOT", str(tmp_path / "run"))   # the bond's state record
    made = []

    def make(members, **options):
        made.append(Rig(members, **options))
        return made[-1]
    yield make
    for r in made:
        r.close()


def messages(bond):
    return [e["message"] for e in bond.events]


def test_carrier_loss_fails_over_and_publishes_the_other_member_active(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    assert r.plan == Plan("eth0", ("eth0", "eth1")) and r.device.carrier[-1] is True
    assert r.links.links["eth1"].mac == r.links.links["bond0"].mac      # fail_over_mac=none: the bond's MAC
    r.links.pull("eth0")
    r.clock.settle()                      # the link message is read; no time passes
    assert r.plan == Plan("eth1", ("eth1",))
    assert r.bond.failovers == 1 and r.device.carrier[-1] is True
    status = r.bond.status()
    assert status["active_slave"] == "eth1" and [s["mii_status"] for s in status["slaves"]] == ["down", "up"]
    assert "bond0: (slave eth1): making interface the new active one" in messages(r.bond)
    # The bond is stopped: every member is put back as it was.
    r.close()
    assert not r.links.links["eth0"].admin_up and r.links.links["eth0"].mac == "02:00:00:00:00:02"


def test_without_link_messages_the_miimon_poll_finds_the_loss_on_the_clock(rig, monkeypatch):
    monkeypatch.setenv("SOFTBOND_LINK_EVENTS", "0")
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    r.links.pull("eth0")
    r.clock.advance(0.05)
    assert r.plan.active == "eth0"          # not polled yet
    r.clock.advance(0.06)
    assert r.plan == Plan("eth1", ("eth1",))


def test_downdelay_and_updelay_run_on_the_clock(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100, downdelay=200, updelay=300)
    published = len(r.device.plans)
    r.links.pull("eth0")
    r.clock.advance(0.15)
    assert len(r.device.plans) == published and r.bond.active.name == "eth0"    # held for downdelay
    r.clock.advance(0.06)
    assert r.plan == Plan("eth1", ("eth1",))
    r.links.plug("eth0")
    r.clock.advance(0.25)
    assert r.plan == Plan("eth1", ("eth1",))                                     # held for updelay
    r.clock.advance(0.06)
    assert r.plan == Plan("eth1", ("eth0", "eth1"))
    assert any("link status up for interface, enabling it in 300 ms" in m for m in messages(r.bond))


def test_a_blip_shorter_than_downdelay_changes_nothing(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100, downdelay=200)
    published = len(r.device.plans)
    r.links.pull("eth0")
    r.clock.advance(0.1)
    r.links.plug("eth0")
    r.clock.advance(1.0)
    assert len(r.device.plans) == published and r.bond.failovers == 0


@pytest.mark.parametrize("reselect, primary_speed, comes_back", [
    (RESELECT_ALWAYS, 1000, True),
    (RESELECT_BETTER, 1000, False),       # no better than the active one: stays
    (RESELECT_BETTER, 10000, True),
    (RESELECT_FAILURE, 10000, False),
])
def test_primary_reselect_when_the_primary_comes_back(rig, reselect, primary_speed, comes_back):
    r = rig(["eth0", "eth1", "eth2"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100, primary="eth1",
            primary_reselect=reselect)
    assert r.plan.active == "eth1"
    before = r.bond.failovers      # the primary took over from eth0 when enslaved
    r.links.pull("eth1")
    r.clock.settle()
    assert r.plan.active == "eth0"
    r.links.links["eth1"].speed = primary_speed      # read again when its carrier returns
    r.links.plug("eth1")
    r.clock.advance(0.01)
    assert r.plan == Plan("eth1" if comes_back else "eth0", ("eth0", "eth1", "eth2"))
    assert r.bond.failovers - before == (2 if comes_back else 1)


def test_the_arp_monitor_takes_down_a_member_that_hears_nothing(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, arp_interval=100, arp_ip_target=("10.0.0.1",))
    assert r.plan.active == "eth0" and ("eth0", ETH_P_ARP) in r.links.listeners
    for _ in range(5):                      # both hear traffic
        for name in ("eth0", "eth1"):
            r.links.links[name].rx_packets += 1
        r.clock.advance(0.1)
    assert r.plan.active == "eth0"
    probes = [frame for name, frame in r.device.sent if name == "eth0"]
    assert probes and all(parse_arp(frame).target_ip == bytes([10, 0, 0, 1]) for frame in probes)
    for _ in range(5):                      # eth0 hears nothing more; its carrier stays
        r.links.links["eth1"].rx_packets += 1
        r.clock.advance(0.1)
    assert r.plan == Plan("eth1", ("eth1",)) and r.links.carrier("eth0")
    assert [e["message"] for e in r.bond.events if e["slave"] == "eth0"][-1] == \
        "bond0: (slave eth0): link status definitely down, disabling slave"


def exchange(r, partner, seconds, dt=0.1):
    """LACPDUs both ways every dt: the bond's go out through the data
    path's control sender, the partner's come in on the member's listener."""
    for _ in range(round(seconds / dt)):
        r.clock.advance(dt)
        now = r.clock.now()
        for name, frame in r.device.sent:
            if partner.listening and partner.faces(name):
                partner.lacp.receive(name, frame, now)
        r.device.sent.clear()
        for name, frame in partner.lacp.tick(now):
            if partner.listening:
                r.links.listeners[(name, ETH_P_SLOW)].send(frame)
        r.clock.settle()


def test_lacp_negotiates_churns_a_lonely_member_and_loses_a_silent_partner(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_8023AD, miimon=100, lacp_rate=1)
    partner = Partner(["eth0"], now=r.clock.now())       # eth1 faces nobody
    assert r.device.carrier[-1] is False
    exchange(r, partner, 3.0)
    assert r.device.carrier[-1] is True and r.plan.usable == ("eth0", "eth1")
    assert r.bond.runner.system.distributing() == ("eth0",)
    exchange(r, partner, 60.0)
    lonely = r.bond.status()["slaves"][1]["ad"]
    assert (lonely["actor_churn_state"], lonely["partner_churn_state"]) == ("churned", "churned")
    assert r.bond.runner.member_collecting("eth1") is False
    partner.listening = False
    exchange(r, partner, 4.0)
    assert r.device.carrier[-1] is False and r.bond.runner.system.distributing() == ()
    assert "bond0: now running without any active interface!" in messages(r.bond)


def count_ticks(runner):
    ticks = []
    tick = runner.tick

    def counted(now, members):
        ticks.append(now)
        return tick(now, members)
    runner.tick = counted
    return ticks


@pytest.mark.parametrize("lacp_rate", [0, 1])
def test_an_idle_8023ad_bond_runs_lacp_when_its_timers_are_due_not_every_100_ms(rig, lacp_rate):
    """The runner tick sleeps until LACP's next timer (as Open vSwitch
    schedules from lacp_wait()), not the kernel's fixed 100 ms ad tick; a
    link change still reaches the machines at once, and the partner keeps
    hearing its periodic LACPDUs."""
    r = rig(["eth0", "eth1"], mode=BOND_MODE_8023AD, miimon=100, lacp_rate=lacp_rate)
    partner = Partner(["eth0", "eth1"], now=r.clock.now())
    exchange(r, partner, 5.0)
    assert r.bond.runner.system.distributing() == ("eth0", "eth1")
    ticks = count_ticks(r.bond.runner)
    heard = []
    receive = partner.lacp.receive
    partner.lacp.receive = lambda name, frame, now: (heard.append((name, now)), receive(name, frame, now))
    exchange(r, partner, 30.0)
    assert r.bond.runner.system.distributing() == ("eth0", "eth1")
    # The partner (fast) asks for a LACPDU a second; at most one tick a
    # second otherwise (the longest sleep): 300 at the fixed 100 ms tick.
    assert len(ticks) <= 70, len(ticks)
    for name in ("eth0", "eth1"):
        times = [t for n, t in heard if n == name]
        assert len(times) >= 25 and max(b - a for a, b in zip(times, times[1:])) <= 1.5, (name, times)
    # A pulled cable reaches LACP within a few ms, not at the next 100 ms tick.
    r.links.pull("eth0")
    r.clock.settle()
    r.clock.advance(0.02)
    assert r.bond.runner.system.distributing() == ("eth1",)


def test_release_puts_the_member_back_and_a_new_member_joins_as_a_backup(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    bond_mac = r.links.links["bond0"].mac
    r.bond.release("eth0")
    assert r.plan == Plan("eth1", ("eth1",))
    assert r.links.links["eth0"].mac == "02:00:00:00:00:02" and not r.links.links["eth0"].admin_up
    # eth0's permanent MAC is still the bond's: said, as the kernel does.
    assert any("the permanent HWaddr of slave - 02:00:00:00:00:02 - is still in use" in m for m in messages(r.bond))
    r.links.add("eth2")
    r.bond.check_enslaveable(["eth2"])
    r.bond.enslave("eth2")
    assert r.plan == Plan("eth1", ("eth1", "eth2")) and r.links.links["eth2"].mac == bond_mac
    assert "bond0: (slave eth2): Enslaving as a backup interface with an up link" in messages(r.bond)
    assert [m["name"] for m in rundir.read_state("bond0")["members"]] == ["eth1", "eth2"]


def test_refused_requests_change_nothing(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    plans, opts = len(r.device.plans), r.bond.opts
    for request, why in [(lambda: r.bond.check_enslaveable(["eth1"]), "eth1 is already a slave of bond0"),
                         (lambda: r.bond.check_enslaveable(["eth9"]), "cannot enslave eth9: no such interface"),
                         (lambda: r.bond.check_releasable(["eth9"]), "eth9 is not a slave of bond0"),
                         (lambda: r.bond.set_option("primary", "a b"), "bond0: option primary:")]:
        with pytest.raises(BondError, match=why):
            request()
    assert len(r.device.plans) == plans and r.bond.opts == opts and [m.name for m in r.bond.members] == ["eth0", "eth1"]


def test_set_primary_and_mode_live_take_the_members_over(rig):
    r = rig(["eth0", "eth1"], mode=BOND_MODE_ACTIVEBACKUP, miimon=100)
    bond_mac = r.links.links["bond0"].mac
    r.bond.set_option("primary", "eth1")
    assert r.plan.active == "eth1" and r.bond.failovers == 1
    # tlb: every member its own MAC, the active one the bond's.
    r.bond.set_option("mode", "balance-tlb")
    assert r.bond.status()["mode"] == "balance-tlb"
    macs = {name: r.links.links[name].mac for name in ("eth0", "eth1")}
    assert macs[r.bond.active.name] == bond_mac and len(set(macs.values())) == 2
    r.links.pull(r.bond.active.name)
    r.clock.settle()
    assert r.links.links[r.bond.active.name].mac == bond_mac       # the MAC moved with the active member


def test_a_runner_tick_that_raises_is_logged_and_the_next_tick_still_runs(rig, caplog):
    """A fault in one tick (a rebalance bug once stopped flowlet for good)
    is logged, and LACP's machines keep running at their timers."""
    r = rig(["eth0", "eth1"], mode=BOND_MODE_8023AD, miimon=100, lacp_rate=1)
    ticks = count_ticks(r.bond.runner)
    tick = r.bond.runner.tick
    calls = []

    def faulty(now, members):
        calls.append(now)
        if len(calls) <= 3:
            raise ZeroDivisionError("a bug in the runner")
        return tick(now, members)
    r.bond.runner.tick = faulty
    r.links.pull("eth0")        # wakes the tick at once
    r.clock.settle()
    for _ in range(50):
        r.clock.advance(0.1)
    assert len(calls) > 3, calls
    assert len(ticks) == len(calls) - 3 >= 3     # the real tick ran after each fault-free call
    logged = [rec for rec in caplog.records if "runner's tick failed" in rec.getMessage()]
    # failures 1 and 2 are logged (powers of two), the third is not
    assert [rec.getMessage() for rec in logged] == [
        "bond0: the 802.3ad runner's tick failed (1 times so far); it goes on",
        "bond0: the 802.3ad runner's tick failed (2 times so far); it goes on",
    ], logged
