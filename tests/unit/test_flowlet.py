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
from softbond.modes.flowlet import IMBALANCE, member_loads, place
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
