"""Flowlet balancing (xmit_balance=flowlet, modes/flowlet.py and
plan.FlowletState): the control plane's wanted placement from measured
bucket bytes, and the data path's rule that a bucket moves only after a
pause longer than flowlet_gap, on a fake clock. No root needed; the eBPF
program is held to the same frames in tests/integration/test_ebpf_modes.py."""
from __future__ import annotations

from dataclasses import replace

import pytest

from softbond.config.options import OptionError, change_option
from softbond.config.registry import BondOptions
from softbond.datapath.abi import BUCKETS
from softbond.datapath.plan import FlowletState
from softbond.modes import make_runner
from softbond.modes.flowlet import (IMBALANCE, MOVE_HOLD, QUEUE_READINGS, STALLED_DELAY_US, flowlet_status,
                                    member_loads, place, queue_delays_us, queue_gap_us)
from softbond.wire import xmit_hash as xh

from tests.support.fakeport import FakePort
from tests.support.framegen import ether, ipv4, ports_sharing_a_member, tcp
from tests.support.planpaths import choice, inprocess_transmit, plan_of

BOND_MAC = bytes.fromhex("02bb00000001")
GAP_US = 5000


class NsClock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


def sent(**by_bucket: int) -> list[int]:
    out = [0] * BUCKETS
    for name, value in by_bucket.items():
        out[int(name[1:])] = value
    return out


def test_two_heavy_buckets_on_one_member_split():
    # buckets 2 and 4 both hash to member 0 of 2 (their low bit)
    table = place((-1,) * BUCKETS, sent(b2=1000, b4=900, b7=10), 2)
    assert member_loads(table, sent(b2=1000, b4=900, b7=10), 2) in ([1000, 910], [900, 1010])
    assert table[2] == 1 and table[4] == -1 and table[7] == -1     # the heavier one


def test_a_balanced_bond_moves_nothing_and_a_lone_elephant_stays():
    assert place((-1,) * BUCKETS, sent(b2=1000, b3=950), 2) == (-1,) * BUCKETS
    # one bucket as large as the surplus: moving it would only swap the members
    assert place((-1,) * BUCKETS, sent(b2=1000), 2) == (-1,) * BUCKETS
    assert place((-1,) * BUCKETS, sent(b2=1000, b4=900), 1) == (-1,) * BUCKETS


def test_the_margin_holds_small_imbalances():
    assert IMBALANCE == 0.1     # of 10000 bytes: a surplus of 1000
    assert place((-1,) * BUCKETS, sent(b2=5200, b4=50, b3=4750), 2) == (-1,) * BUCKETS       # 500
    assert place((-1,) * BUCKETS, sent(b2=5600, b4=50, b3=4350), 2)[4] == 1                 # 1300


def xor_plan(runner, ports):
    return plan_of(runner, ports, None, BOND_MAC)


def flow(sport: int) -> bytes:
    return ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(sport, 5201)))


def two_flows_on_member_0() -> tuple[bytes, bytes]:
    """Two layer3+4 flows the kernel hash puts on member 0 of 2, in different buckets."""
    p = ports_sharing_a_member("10.0.0.1", "10.0.0.2", 5201, member=0)
    return flow(p), flow(p + 1)


@pytest.mark.parametrize("mode", [2, 4, 5], ids=["xor", "802.3ad", "tlb"])
def test_a_bucket_moves_only_after_a_pause_longer_than_the_gap(mode):
    ports = [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(2)]
    runner = make_runner(replace(BondOptions(), mode=mode, xmit_hash_policy=xh.LAYER34, xmit_balance=1,
                                 flowlet_gap=GAP_US))
    a, b = two_flows_on_member_0()
    plan = xor_plan(runner, ports)
    if mode == 4:                 # no LACP partner here: the plan as 802.3ad's distributing members give it
        plan = replace(plan, tx_members=tuple((p.ifindex, p.mac_bytes) for p in ports), buckets=runner.placement(ports))
    assert plan.flowlet_gap_ns == GAP_US * 1000 and plan.buckets == (-1,) * BUCKETS
    state = FlowletState()
    state.clock = clock = NsClock()
    tx, buckets = inprocess_transmit(plan, ports, flowlet=state)

    def member(f: bytes) -> int:
        clock.now += 100_000          # 0.1 ms between frames: never a gap
        return choice(tx, ports, f)[0][0]
    # the kernel's placement until a move
    assert {member(a), member(b), member(a), member(b)} == {ports[0].ifindex}
    wanted = place(plan.buckets, list(buckets), 2)
    moved = next(i for i in range(BUCKETS) if wanted[i] == 1)
    plan = replace(plan, buckets=wanted)
    tx, _ = inprocess_transmit(plan, ports, flowlet=state)
    mover, stayer = (a, b) if xh.hash_layer34(a) & 0xFF == moved else (b, a)
    for _ in range(20):               # busy: the mover waits
        assert member(mover) == ports[0].ifindex
        assert member(stayer) == ports[0].ifindex
    assert state.moves == [0]
    clock.now += GAP_US * 1000 - 300_000     # just under the gap since its last frame: still waits
    assert member(mover) == ports[0].ifindex
    clock.now += GAP_US * 1000 + 1           # a pause longer than the gap: moves, once
    assert member(mover) == ports[1].ifindex
    assert member(mover) == ports[1].ifindex and member(stayer) == ports[0].ifindex
    assert state.moves == [1]


def test_the_runners_tick_at_the_interval_and_refuse_other_modes():
    xor = make_runner(replace(BondOptions(), mode=2, xmit_balance=1, flowlet_interval=300))
    assert xor.tick_interval == 0.3
    assert make_runner(replace(BondOptions(), mode=2)).tick_interval is None
    assert make_runner(replace(BondOptions(), mode=5, xmit_balance=1)).tick_interval == 0.2
    assert make_runner(replace(BondOptions(), mode=4, xmit_balance=1)).tick_interval == 0.1
    xor.configure(replace(xor.opts, flowlet_interval=50))
    assert xor.tick_interval == 0.05
    with pytest.raises(OptionError) as refused:
        change_option("bond0", BondOptions(mode=0), "xmit_balance", "flowlet")
    assert str(refused.value) == ("bond0: option xmit_balance: mode dependency failed, not supported in mode "
                                  "balance-rr(0)")
    with pytest.raises(OptionError) as refused:
        change_option("bond0", BondOptions(mode=2), "xmit_balance", "dynamic")
    assert str(refused.value) == "bond0: option xmit_balance: invalid value (dynamic): valid values: hash, flowlet"
    assert change_option("bond0", BondOptions(mode=2), "xmit_balance", "flowlet")[0].xmit_balance == 1


def test_hash_balancing_publishes_no_table():
    ports = [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(2)]
    plan = xor_plan(make_runner(replace(BondOptions(), mode=2)), ports)
    assert plan.buckets is None and plan.flowlet_gap_ns == 0


def test_status_text_and_metrics_show_the_moves():
    from prometheus_client.parser import text_string_to_metric_families

    from softbond.faces.status_text import render_verbose
    from softbond.faces.web import metrics
    from tests.support.webfake import Fake, bond_status

    st = bond_status()
    assert "Flowlet" not in render_verbose(st)
    st["flowlet"] = {"gap_us": 2000, "interval_ms": 200, "moves": 7}
    assert "\nFlowlet balancing: gap 2000 us, measured every 200 ms, 7 bucket moves\n" in render_verbose(st)
    fake = Fake()
    fake.statuses[0]["flowlet"] = {"gap_us": 2000, "interval_ms": 200, "moves": 7}
    samples = [s for f in text_string_to_metric_families(metrics.render(fake.source).decode())
               for s in f.samples if s.name == "softbond_flowlet_moves_total"]
    assert [(s.labels, s.value) for s in samples] == [({"bond": fake.statuses[0]["bond"]}, 7.0)]


# -- flowlet_gap_auto: the gap a bucket must pause before it moves follows
# the members' queues. A move from member A to B can reorder only while A
# still holds frames B would overtake, so the plan's gap is flowlet_gap plus
# the largest delay difference between two members, each member's delay
# being its root qdisc's queued bytes over the rate it sent at. Fake qdisc
# readings; the real qdiscs: tests/integration/test_flowlet_queues.py.

RATE = 12_500_000            # bytes/s: 100 Mbit/s
PORTS = [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(2)]


def test_a_members_delay_is_its_queue_over_the_rate_it_sent_at():
    before = {1001: (1_000_000, 0), 1002: (5_000_000, 0)}
    # 0.2 s: eth0 sent 2.5 MB (100 Mbit/s) and holds 250 kB (20 ms); eth1 holds nothing
    after = {1001: (3_500_000, 250_000), 1002: (5_100_000, 0)}
    assert queue_delays_us(before, after, 0.2, [1001, 1002]) == [20_000, 0]
    # no root qdisc reported (veth's noqueue) or none left: no delay
    assert queue_delays_us(before, {}, 0.2, [1001, 1002]) == [0, 0]
    # bytes queued but none sent (stalled, or no earlier reading): unknown, as long as allowed
    assert queue_delays_us({}, after, 0.2, [1001]) == [STALLED_DELAY_US]
    assert queue_delays_us(before, {1001: (1_000_000, 1500)}, 0.2, [1001]) == [STALLED_DELAY_US]
    assert queue_gap_us([[20_000, 0, 5_000]]) == 20_000
    assert queue_gap_us([[7_000]]) == 0 and queue_gap_us([]) == 0
    # over a few readings: one member's longest against another's shortest
    assert queue_gap_us([[20_000, 0], [0, 15_000]]) == 20_000
    assert queue_gap_us([[10_000, 0], [12_000, 3_000]]) == 12_000


class Qdiscs:
    """The members' root qdiscs as Rtnl.root_queues reports them: each
    sends at RATE while it holds a queue (of `delay_us` worth)."""

    def __init__(self) -> None:
        self.sent = {p.ifindex: 0 for p in PORTS}
        self.delay_us = {p.ifindex: 0 for p in PORTS}
        self.refuse = False

    def advance(self, seconds: float) -> None:
        for ifindex in self.sent:
            self.sent[ifindex] += int(RATE * seconds)

    def __call__(self) -> dict[int, tuple[int, int]]:
        if self.refuse:
            raise OSError(105, "No buffer space available")
        return {i: (self.sent[i], self.delay_us[i] * RATE // 1_000_000) for i in self.sent}


def runner_on(qdiscs: Qdiscs, mode: int = 2, **opts):
    runner = make_runner(replace(BondOptions(), mode=mode, xmit_balance=1, xmit_hash_policy=xh.LAYER34, **opts))
    runner.read_queues = qdiscs
    plan_of(runner, PORTS, None, BOND_MAC)          # the first plan starts the balancer
    return runner


def tick(runner, qdiscs: Qdiscs, now: float, sent=None) -> bool:
    qdiscs.advance(0.2)
    return runner.rebalance(lambda: list(sent or [0] * BUCKETS), now)


def gap_ns(runner) -> int:
    return plan_of(runner, PORTS, None, BOND_MAC).flowlet_gap_ns


def test_the_gap_rises_with_the_queue_difference_at_once_and_falls_slowly():
    qdiscs = Qdiscs()
    runner = runner_on(qdiscs, flowlet_gap=2000)
    now = runner.flowlet.clock()
    assert gap_ns(runner) == 2_000_000
    assert not tick(runner, qdiscs, now + 0.2)                        # no queues: flowlet_gap alone
    qdiscs.delay_us[1001] = 18_000
    assert tick(runner, qdiscs, now + 0.4)                            # a new plan is due
    assert gap_ns(runner) == 20_000_000
    # eth1 fills to 9 ms: while a reading of it empty is among the last
    # QUEUE_READINGS, a move towards it may still meet an empty queue
    qdiscs.delay_us[1002] = 9_000
    for n in range(QUEUE_READINGS - 1):
        assert not tick(runner, qdiscs, now + 0.6 + 0.2 * n) and gap_ns(runner) == 20_000_000
    now += 0.2 * QUEUE_READINGS
    assert tick(runner, qdiscs, now + 0.4) and gap_ns(runner) == 11_000_000     # 9 ms: a quarter below, follows
    qdiscs.delay_us[1002] = 30_000                                    # eth1 the longer now: eth1 -> eth0 needs 12
    assert tick(runner, qdiscs, now + 0.6) and gap_ns(runner) == 14_000_000
    qdiscs.refuse = True                                              # an unreadable qdisc keeps the gap
    assert not tick(runner, qdiscs, now + 0.8) and gap_ns(runner) == 14_000_000
    assert flowlet_status(runner.opts, None, runner) == {
        "gap_us": 2000, "interval_ms": 200, "moves": 0, "gap_auto": 1, "gap_now_us": 14_000, "waiting": 0, "queue_model": False,
        "line_rates": {}}


def test_with_flowlet_gap_auto_off_the_gap_is_flowlet_gap_alone():
    qdiscs = Qdiscs()
    qdiscs.delay_us[1001] = 18_000
    opts, _ = change_option("bond0", replace(BondOptions(), mode=5, xmit_balance=1), "flowlet_gap_auto", "off")
    runner = runner_on(qdiscs, mode=5, flowlet_gap_auto=opts.flowlet_gap_auto, flowlet_gap=3000)
    now = runner.flowlet.clock()
    for n in range(1, QUEUE_READINGS + 2):         # past the first reading (no rate yet: stalled)
        assert not tick(runner, qdiscs, now + 0.2 * n)
    assert gap_ns(runner) == 3_000_000
    # turned on live (`softbond set` republishes): the queues as last read count at once
    runner.configure(replace(runner.opts, flowlet_gap_auto=1))
    assert gap_ns(runner) == 21_000_000


def test_a_bucket_leaves_the_full_queue_only_after_that_queue_drained():
    """The data path applies the plan's gap: the bucket that the balancer
    wants off member 0 (18 ms queued) stays there through a pause of the
    fixed flowlet_gap and moves after one longer than the difference."""
    qdiscs = Qdiscs()
    runner = runner_on(qdiscs, flowlet_gap=2000)
    a, b = two_flows_on_member_0()
    state = FlowletState()
    state.clock = clock = NsClock()
    tx, buckets = inprocess_transmit(plan_of(runner, PORTS, None, BOND_MAC), PORTS, flowlet=state)

    def member(frame: bytes, after_ns: int = 100_000) -> int:
        clock.now += after_ns
        return choice(tx, PORTS, frame)[0][0]
    for _ in range(10):
        assert member(a) == member(b) == PORTS[0].ifindex
    now = runner.flowlet.clock()
    assert not tick(runner, qdiscs, now + 0.2)                        # the first reading: rates from here on
    qdiscs.delay_us[1001] = 18_000
    assert tick(runner, qdiscs, now + 0.4, sent=buckets)
    plan = plan_of(runner, PORTS, None, BOND_MAC)
    mover = next(f for f in (a, b) if plan.buckets[xh.hash_layer34(f) & 0xFF] == 1)
    assert plan.flowlet_gap_ns == 20_000_000
    tx, _ = inprocess_transmit(plan, PORTS, flowlet=state)
    assert member(mover, after_ns=5_000_000) == PORTS[0].ifindex     # longer than flowlet_gap: not enough
    assert member(mover, after_ns=19_000_000) == PORTS[0].ifindex
    assert member(mover, after_ns=20_000_001) == PORTS[1].ifindex
    assert state.moves == [1]



def test_status_says_the_gap_now():
    from softbond.faces.status_text import render_verbose
    from tests.support.webfake import bond_status

    st = bond_status()
    st["flowlet"] = {"gap_us": 2000, "interval_ms": 200, "moves": 3, "gap_auto": 1, "gap_now_us": 14500}
    assert ("\nFlowlet balancing: gap 2000 us (now 14500 us with the queues), measured every 200 ms, "
            "3 bucket moves\n") in render_verbose(st)


def test_a_moved_bucket_stays_where_it_went_for_a_while():
    """Hysteresis: the bucket just moved is not moved again for MOVE_HOLD
    intervals, though the loads would ask for it; afterwards it may."""
    load = [0] * BUCKETS
    load[2], load[4], load[7] = 1000, 900, 10          # 2 and 4 on eth0 (the hash's low bit)
    assert place((-1,) * BUCKETS, load, 2, held={2})[4] == 1      # 2 held: the next heaviest goes
    qdiscs = Qdiscs()
    runner = runner_on(qdiscs)
    now = runner.flowlet.clock()
    assert tick(runner, qdiscs, now + 0.2, sent=load)
    assert runner.placement(PORTS)[2] == 1                        # the heaviest that narrows it
    swapped = [0] * BUCKETS
    # now eth1 (2 and 3) is the busier by far, and only 2 would narrow it
    swapped[2], swapped[3], swapped[4] = 1000, 2000, 1000
    for n in range(2, MOVE_HOLD + 1):
        tick(runner, qdiscs, now + 0.2 * n, sent=swapped)
        assert runner.placement(PORTS)[2] == 1, n                 # held
    assert tick(runner, qdiscs, now + 0.2 * (MOVE_HOLD + 1), sent=swapped)
    assert runner.placement(PORTS)[2] == 0                        # back, once the hold is over


# -- the balancer counts each bucket where the data path sends it ------------------


class Committed:
    """What the data path committed, as a device's read_committed gives it."""

    def __init__(self) -> None:
        self.slots = [-1] * BUCKETS

    def __call__(self) -> list[int]:
        return list(self.slots)


def committed_runner(mode: int = 2):
    qdiscs = Qdiscs()
    runner = runner_on(qdiscs, mode=mode)
    runner.read_committed = data_path = Committed()
    return runner, qdiscs, data_path


@pytest.mark.parametrize("mode", [2, 5], ids=["xor", "tlb"])
def test_a_move_waiting_for_its_pause_is_kept_and_not_doubled(mode):
    """Buckets 2 and 4 on eth0 (the hash's low bit): one is wanted on
    eth1; while the data path still sends it by eth0 the move stays wanted
    and the other bucket is not sent after it (both would then crowd eth1)."""
    runner, qdiscs, data_path = committed_runner(mode)
    now = runner.flowlet.clock()
    heavy = sent(b2=1000, b4=900, b7=10)
    assert tick(runner, qdiscs, now + 0.2, sent=heavy)
    assert runner.placement(PORTS)[2] == 1 and runner.placement(PORTS)[4] == -1
    for n in range(2, 3 * MOVE_HOLD):               # no pause: it waits, as long as it takes
        assert not tick(runner, qdiscs, now + 0.2 * n, sent=heavy)
        assert runner.placement(PORTS)[2] == 1 and runner.placement(PORTS)[4] == -1, n
    data_path.slots[2] = 1                          # it paused: eth1 carries it
    assert not tick(runner, qdiscs, now + 0.2 * 3 * MOVE_HOLD, sent=heavy)
    assert runner.placement(PORTS)[2] == 1 and runner.placement(PORTS)[4] == -1


def test_no_second_move_while_one_waits():
    """Bucket 2 waits to leave eth0 when the next interval's loads (the
    mice's first second is a burst) ask for bucket 4 too: nothing more is
    wanted until bucket 2 moved, or two elephants could swap members."""
    runner, qdiscs, data_path = committed_runner(5)
    now = runner.flowlet.clock()
    assert tick(runner, qdiscs, now + 0.2, sent=sent(b2=1000, b4=900))
    assert runner.placement(PORTS)[2] == 1
    assert not tick(runner, qdiscs, now + 0.4, sent=sent(b2=500, b4=900, b6=800))
    assert runner.placement(PORTS)[4] == runner.placement(PORTS)[6] == -1
    data_path.slots[2] = 1                          # it moved: the next move may be chosen
    assert tick(runner, qdiscs, now + 0.6, sent=sent(b2=500, b4=900, b6=800, b8=100))
    assert runner.placement(PORTS)[4] == 1


def test_a_waiting_move_the_loads_no_longer_ask_for_is_dropped():
    """Bucket 2 waits to leave eth0 for eth1 when eth1's own bucket 3
    grows to make eth1 the busier: the move is dropped before it happens.
    Counted where it was wanted (before the balancer read what the data
    path committed) bucket 2 stayed wanted on eth1 and bucket 3 was sent
    to eth0: two flows crossing for nothing."""
    runner, qdiscs, data_path = committed_runner()
    now = runner.flowlet.clock()
    assert tick(runner, qdiscs, now + 0.2, sent=sent(b2=1000, b4=900))
    assert runner.placement(PORTS)[2] == 1
    assert tick(runner, qdiscs, now + 0.4, sent=sent(b2=1000, b3=1500))
    assert runner.placement(PORTS)[2] == -1 and runner.placement(PORTS)[3] == -1


def test_a_bucket_is_held_from_when_it_moved_not_from_when_it_was_wanted():
    """MOVE_HOLD counts from the move the data path made: a bucket that
    waited long for its pause is not sent back at once after it."""
    runner, qdiscs, data_path = committed_runner()
    now = runner.flowlet.clock()
    heavy = sent(b2=1000, b4=900)
    tick(runner, qdiscs, now + 0.2, sent=heavy)
    for n in range(2, 2 * MOVE_HOLD):
        tick(runner, qdiscs, now + 0.2 * n, sent=heavy)
    data_path.slots[2] = 1                          # moved after 2 * MOVE_HOLD intervals
    # now eth1 is the busier by far, and only bucket 2 would narrow it
    swapped = sent(b2=1000, b3=2000, b4=1000)
    for n in range(2 * MOVE_HOLD, 3 * MOVE_HOLD):
        tick(runner, qdiscs, now + 0.2 * n, sent=swapped)
        assert runner.placement(PORTS)[2] == 1, n   # held
    assert tick(runner, qdiscs, now + 0.2 * (3 * MOVE_HOLD + 1), sent=swapped)
    assert runner.placement(PORTS)[2] == 0          # back, once the hold is over


def test_the_python_paths_read_back_what_they_committed():
    """The in-process loop's FlowletState and a worker's shared slots
    (slot + 1, written at a commit only) give the device the same answer."""
    from tests.support.planpaths import worker_counters
    from softbond.datapath import workers

    counters = worker_counters()
    loop, worker = FlowletState(), FlowletState(counters, workers.C_FLOWLET_MOVES,
                                                counters[workers.C_FLOWLET_SLOTS:workers.C_MEMBER_QUEUES])
    wanted = [-1] * BUCKETS
    wanted[9] = 1
    for state in (loop, worker):
        state.clock = NsClock()
        slot_of = state.committer(wanted, GAP_US * 1000)
        assert slot_of(9) == 1 and slot_of(8) == -1
    assert loop.committed() == [s - 1 for s in worker.shown] == wanted


@pytest.mark.parametrize("members", [0, 1])
def test_no_member_to_move_between_places_nothing_and_keeps_ticking(members):
    """802.3ad before its second member distributes: the bond's tick reads
    what the data path committed over no member or one (a division by the
    member count once killed the tick for good)."""
    runner = make_runner(replace(BondOptions(), mode=2, xmit_balance=1))
    runner.read_committed = Committed()
    plan_of(runner, PORTS[:members], None, BOND_MAC)
    now = runner.flowlet.clock()
    for n in range(1, 4):
        assert not runner.rebalance(lambda: sent(b2=1000, b4=900), now + 0.2 * n)
    assert runner.placement(PORTS[:members]) == (-1,) * BUCKETS
    assert flowlet_status(runner.opts, None, runner)["waiting"] == 0
