"""Flowlet balancing's queue model (flowlet_gap_auto=on with every member's
line rate known): the data path keeps, per member, when the queue the bond
filled it with empties, and per bucket when its last frame leaves; a bucket
moves only once its frames on the new member cannot overtake that one
(FlowletState.queue_committer here on a fake clock, bond.bpf.c's
flowlet_queued held to the same frames in tests/integration/test_ebpf_modes.py).
The control plane reads the rates (Links.line_rates; the real tbf in
tests/integration/test_flowlet_queues.py) and publishes only its moves
and its heavy buckets."""
from __future__ import annotations

import struct
from dataclasses import replace

from softbond.config.registry import BondOptions
from softbond.datapath.abi import BUCKETS
from softbond.datapath.plan import FlowletState, wire_bytes
from softbond.modes import make_runner
from softbond.modes.flowlet import HEAVY, QUEUE_CAP_US, flowlet_status, member_rate
from softbond.modes.base import VNET
from softbond.wire import xmit_hash as xh

from tests.support.fakeport import FakePort
from tests.support.planpaths import plan_of

BOND_MAC = bytes.fromhex("02bb00000001")
PORTS = [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(2)]
RATE = 12_500_000                       # bytes/s: 100 Mbit/s
PS = 80_000                             # picoseconds a byte at RATE
CAP_NS = 22_600_000
GAP_NS = 2_000_000
MS = 1_000_000
BYTES_PER_MS = RATE // 1000


class NsClock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


def committer(wanted=None):
    state = FlowletState()
    state.clock = clock = NsClock()
    slot_of = state.queue_committer(wanted or [-1] * BUCKETS, GAP_NS, ((0, PS, CAP_NS), (1, PS, CAP_NS)))
    return state, clock, slot_of


def queue_ms(state: FlowletState, clock: NsClock, slot: int) -> float:
    return max(0, state.queues[slot] - clock.now) / MS


def test_a_line_rate_and_limit_become_picoseconds_a_byte_and_the_longest_queue():
    assert member_rate(RATE, 282_500) == (PS, 22_600)          # a tbf of 100 Mbit/s, 20 ms + its burst
    assert member_rate(125_000_000, 0) == (8_000, QUEUE_CAP_US)  # 1 Gbit/s, the limit unknown


def test_each_frame_queues_behind_the_last_at_the_line_rate_up_to_the_cap():
    state, clock, slot_of = committer()
    assert slot_of(0, 0, 10 * BYTES_PER_MS) == 0
    assert queue_ms(state, clock, 0) == 10 and state.depart[0] == clock.now + 10 * MS
    clock.now += 4 * MS                                          # 4 ms drained, 6 left
    slot_of(0, 0, 2 * BYTES_PER_MS)
    assert queue_ms(state, clock, 0) == 8
    slot_of(0, 0, 100 * BYTES_PER_MS)                            # past the qdisc's limit: dropped there
    assert queue_ms(state, clock, 0) == CAP_NS / MS


def test_a_new_flow_on_an_idle_bond_keeps_the_hashs_member_and_the_next_joins_the_shorter_queue():
    state, clock, slot_of = committer()
    assert slot_of(4, 0, 15_000) == 0                            # equal (empty) queues: the hash's
    assert slot_of(6, 0, 1500) == 1                              # member 0 holds the first: the shorter
    assert state.moves == [0]                                    # a bucket's first frame is no move
    clock.now += 100_000
    assert slot_of(4, 0, 1500) == 0 and slot_of(6, 0, 1500) == 1


def test_a_bucket_that_sends_on_stays_though_the_other_queue_is_shorter():
    state, clock, slot_of = committer()
    slot_of(4, 0, 10 * BYTES_PER_MS)
    for _ in range(20):
        clock.now += GAP_NS // 2                                 # never a pause of the gap
        assert slot_of(4, 0, BYTES_PER_MS) == 0
    assert state.moves == [0]


def test_after_a_pause_a_light_bucket_joins_the_shorter_queue_once_its_frames_have_left():
    wanted = [-1] * BUCKETS
    wanted[8] = 0                                                # a heavy bucket the control plane keeps
    state, clock, slot_of = committer(wanted)
    slot_of(4, 0, 10 * BYTES_PER_MS)                             # leaves member 0 at +10 ms
    slot_of(8, 0, 10 * BYTES_PER_MS)                             # the heavy one queues behind it, to +20
    clock.now += 3 * MS                                          # paused 3 ms: member 1 is empty, but
    assert slot_of(4, 0, 1500) == 0                              # its frame there would overtake: stays
    clock.now += 20 * MS                                         # its frames have left (and the gap)
    slot_of(8, 0, 10 * BYTES_PER_MS)                             # member 0 busy again
    clock.now += 3 * MS
    assert slot_of(4, 0, 1500) == 1
    assert state.moves == [1]


def test_a_wanted_move_waits_until_the_new_member_cannot_overtake():
    wanted = [-1] * BUCKETS
    state, clock, slot_of = committer(wanted)
    slot_of(4, 0, 10 * BYTES_PER_MS)                             # its last frame leaves member 0 at +10 ms
    wanted[4] = 1
    clock.now += 5 * MS
    assert slot_of(4, 0, 0) == 0                                 # member 1 would start it at +5: too soon
    clock.now += 7 * MS + 1                                      # +12 ms: it has left, and the gap
    assert slot_of(4, 0, 1500) == 1 and state.moves == [1]


def test_a_long_queue_on_the_new_member_lets_a_flow_move_without_a_pause():
    wanted = [-1] * BUCKETS
    state, clock, slot_of = committer(wanted)
    assert slot_of(5, 1, 20 * BYTES_PER_MS) == 1                 # another flow fills member 1 for 20 ms
    assert slot_of(4, 0, 10 * BYTES_PER_MS) == 0                 # ours leaves member 0 at +10 ms
    wanted[4] = 1
    clock.now += 100_000                                         # no pause at all
    assert slot_of(4, 0, 1500) == 1                              # its next frame starts there at +20 ms
    assert state.moves == [1]


def test_a_pinned_bucket_stays_after_a_pause_though_the_other_queue_is_empty():
    wanted = [-1] * BUCKETS
    wanted[4] = 0                                                # heavy: the control plane keeps it
    state, clock, slot_of = committer(wanted)
    slot_of(8, 0, 10 * BYTES_PER_MS)
    slot_of(4, 0, 1500)
    clock.now += 50 * MS
    slot_of(8, 0, 10 * BYTES_PER_MS)
    assert slot_of(4, 0, 1500) == 0 and state.moves == [0]


def test_wire_bytes_count_each_segments_headers():
    frame = bytearray(VNET + 54 + 14480)
    assert wire_bytes(memoryview(frame)) == 54 + 14480
    struct.pack_into("<BBHH", frame, 0, 1, 1, 54, 1448)          # NEEDS_CSUM, TCPv4, hdr_len, gso_size
    assert wire_bytes(memoryview(frame)) == 10 * (54 + 1448)


# -- the control plane ------------------------------------------------------------


def rates(known=(1001, 1002)):
    return lambda names: {i: (RATE, 282_500) for i in names if i in known}


def runner_with(read_rates, **opts):
    runner = make_runner(replace(BondOptions(), mode=2, xmit_balance=1, xmit_hash_policy=xh.LAYER34, **opts))
    runner.read_rates = read_rates
    runner.read_queues = lambda: {}
    return runner


def test_the_model_needs_every_members_rate_and_flowlet_gap_auto():
    runner = runner_with(rates())
    plan = plan_of(runner, PORTS, None, BOND_MAC)
    assert plan.flowlet_rates == {1001: (PS, 22_600), 1002: (PS, 22_600)}
    assert plan.flowlet_gap_ns == runner.opts.flowlet_gap * 1000       # the floor: the data path adds the queues
    status = flowlet_status(runner.opts, None, runner)
    assert status["queue_model"] is True
    assert status["line_rates"] == {"eth0": {"mbit": 100.0, "queue_cap_us": 22_600},
                                    "eth1": {"mbit": 100.0, "queue_cap_us": 22_600}}
    assert plan_of(runner_with(rates(known=(1001,))), PORTS, None, BOND_MAC).flowlet_rates is None
    off = runner_with(rates(), flowlet_gap_auto=0)
    assert plan_of(off, PORTS, None, BOND_MAC).flowlet_rates is None
    assert flowlet_status(off.opts, None, off)["queue_model"] is False


def test_the_table_carries_the_moves_and_pins_the_heavy_buckets_only():
    runner = runner_with(rates())
    plan_of(runner, PORTS, None, BOND_MAC)
    committed = [-1] * BUCKETS
    committed[2] = committed[4] = committed[6] = 0               # all three on member 0
    runner.read_committed = lambda: committed
    sent = [0] * BUCKETS
    sent[2], sent[4], sent[6] = 1000, 900, 10                    # two heavy, one light
    now = runner.flowlet.clock() + runner.flowlet.interval
    assert runner.rebalance(lambda: list(sent), now)
    table = runner.placement(PORTS)
    assert table[2] == 1                                         # the heavier moves to the idle member
    assert table[4] == 0                                         # the other heavy one stays where it is
    assert table[6] == -1                                        # light: the data path places it
    assert sent[6] < HEAVY * sum(sent) <= sent[4]
    assert sum(1 for b in table if b != -1) == 2


def test_status_says_the_queues_are_modeled():
    from softbond.faces.status_text import render_verbose
    from tests.support.webfake import bond_status

    st = bond_status()
    st["flowlet"] = {"gap_us": 2000, "interval_ms": 200, "moves": 3, "gap_auto": 1, "gap_now_us": 2000,
                     "queue_model": True, "line_rates": {"eth1": {"mbit": 10000.0, "queue_cap_us": 50000},
                                                         "eth0": {"mbit": 2.5, "queue_cap_us": 22600}}}
    assert ("\nFlowlet balancing: gap 2000 us (plus each member's queue, modeled at its line rate: eth0 2.5 "
            "Mbit/s, eth1 10000 Mbit/s), measured every 200 ms, 3 bucket moves\n") in render_verbose(st)
