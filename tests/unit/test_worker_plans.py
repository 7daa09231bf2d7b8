"""The two Python data paths forward from one ForwardingPlan
(datapath/plan.py) and make the same per-frame decisions: the in-process
loop's compiled plan and a worker's (the plan pickled as it travels to
the worker, its counters in shared memory) send every frame by the same
member with the same bytes, and both are held to the kernel's rule for
each mode, computed here independently from the xmit hash. The eBPF
program is held to the same plans in tests/integration/test_ebpf_modes.py.
No sockets: the members are fake ports."""
from dataclasses import replace

import pytest

from softbond.config.registry import BondOptions
from softbond.datapath import workers
from softbond.datapath.abi import MODE_8023AD
from softbond.datapath.inprocess import accept
from softbond.modes import make_runner
from softbond.modes.alb import alb_bucket
from softbond.modes.base import RX_DELIVER, RX_DROP, RX_NOT_OWN, RX_UNICAST_OWN_MAC
from softbond.modes.tlb import REBALANCE_INTERVAL, place_by_load, tlb_bucket
from softbond.wire import xmit_hash as xh

from tests.support.fakeport import FakePort
from tests.support.framegen import ether, frames, ipv4, tcp, udp
from tests.support.planpaths import VNET, choice, inprocess_transmit, plan_of, worker_transmit

BOND_MAC = bytes.fromhex("02bb00000001")


def fake_ports(n):
    return [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(n)]


def runner(mode, **opts):
    return make_runner(replace(BondOptions(), mode=mode, **opts))


def both_paths(plan, ports, to_daemon=None):
    return inprocess_transmit(plan, ports, to_daemon), worker_transmit(plan, ports, to_daemon)


def agree(plan, ports, fs, expect):
    """Both paths send each frame as expect(frame) says ([(ifindex,
    bytes)]); returns the frames checked and both paths' bucket counters."""
    (inproc, in_buckets), (worker, w_buckets) = both_paths(plan, ports)
    for f in fs:
        want = expect(f)
        assert choice(inproc, ports, f) == want, f.hex()
        assert choice(worker, ports, f) == want, f.hex()
    return len(fs), list(in_buckets), list(w_buckets)


def test_active_backup_follows_the_active_member_and_drops_without_one():
    ports = fake_ports(2)
    r = runner(1)
    fs = frames()[:50]
    assert agree(plan_of(r, ports, ports[1], BOND_MAC), ports, fs, lambda f: [(1002, f)])[0] == 50
    assert agree(plan_of(r, ports, None, BOND_MAC), ports, fs, lambda f: [])[0] == 50


def is_igmp(f):
    return f[12:14] == b"\x08\x00" and f[23] == 2


@pytest.mark.parametrize("pps", [1, 3])
def test_round_robin_rotates_and_sends_igmp_by_the_first(pps):
    ports = fake_ports(3)
    igmp = ether(0x0800, ipv4("10.0.0.1", "224.0.0.22", 2, bytes(8)))
    fs = [igmp if i % 7 == 3 else ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(i, 9))) for i in range(40)]
    plan = plan_of(runner(0, packets_per_slave=pps), ports, None, BOND_MAC)
    (inproc, _), (worker, _) = both_paths(plan, ports)
    n = 0
    for f in fs:
        if is_igmp(f):
            want = [(1001, f)]
        else:
            want = [(1001 + (n // pps) % 3, f)]
            n += 1
        assert choice(inproc, ports, f) == want
        assert choice(worker, ports, f) == want


def test_round_robin_goes_on_where_it_was_across_plans():
    """A new plan (a member came back) continues the rotation, as the
    kernel's rr_tx_counter and bond.bpf.c's sb_rr do, instead of starting
    again at the first member."""
    import itertools
    from softbond.datapath.plan import compile_transmit
    ports = fake_ports(3)
    r = runner(0)
    rotation = itertools.count()
    f = frames()[1]
    got = []
    for usable in (ports, ports[:2], ports):
        plan = plan_of(r, ports, None, BOND_MAC, usable)
        tx = compile_transmit(plan, {p.ifindex: p.send for p in ports}, [0] * 256, None, rotation)
        got += [choice(tx, ports, f)[0][0] for _ in range(2)]
    # frames 0..5 of one rotation, over the members usable at each
    assert got == [1001, 1002, 1001, 1002, 1002, 1003]


def test_round_robin_random_uses_every_member():
    ports = fake_ports(3)
    for tx, _ in both_paths(plan_of(runner(0, packets_per_slave=0), ports, None, BOND_MAC), ports):
        assert {choice(tx, ports, frames()[1])[0][0] for _ in range(90)} == {p.ifindex for p in ports}


@pytest.mark.parametrize("policy", sorted(xh.POLICY_NAMES), ids=lambda p: xh.POLICY_NAMES[p])
def test_balance_xor_picks_the_kernels_member(policy):
    ports = fake_ports(3)
    plan = plan_of(runner(2, xmit_hash_policy=policy), ports, None, BOND_MAC)
    fs = frames()
    assert agree(plan, ports, fs, lambda f: [(1001 + xh.xmit_slave_index(f, policy, 3), f)])[0] > 1000


def test_802_3ad_hashes_over_the_distributing_ports_like_xor():
    # Which ports distribute is LACP's business (tested in lacp/); given
    # them, 802.3ad's choice is balance-xor's over those ports.
    ports = fake_ports(3)
    distributing = ports[::2]
    plan = replace(plan_of(runner(2, xmit_hash_policy=xh.LAYER34), ports, None, BOND_MAC, distributing),
                   mode=MODE_8023AD)
    agree(plan, ports, frames()[:400],
          lambda f: [(distributing[xh.xmit_slave_index(f, xh.LAYER34, 2)].ifindex, f)])


def test_broadcast_sends_each_frame_on_every_member_even_if_one_fails():
    ports = fake_ports(3)

    def broken(frame):
        raise OSError("member going away")
    plan = plan_of(runner(3), ports, None, BOND_MAC)
    f = frames()[0]
    agree(plan, ports, [f], lambda f: [(p.ifindex, f) for p in ports])
    ports[1].send = broken
    agree(plan, ports, [f], lambda f: [(p.ifindex, f) for p in ports if p is not ports[1]])


def test_a_member_without_a_socket_yet_drops_instead_of_failing():
    ports = fake_ports(2)
    plan = plan_of(runner(1), ports, ports[1], BOND_MAC)
    for tx, _ in (inprocess_transmit(plan, ports[:1]), worker_transmit(plan, ports[:1])):
        assert choice(tx, ports, frames()[0]) == []


def balanced_expect(mode, policy, ports, active, placed=None):
    """The kernel's tlb/alb choice for a frame: balanced buckets by the
    placed member (else hash % count) with that member's source MAC unless
    it is the active one; the rest by the active member."""
    bucket_of = tlb_bucket(policy) if mode == 5 else alb_bucket

    def expect(f):
        bucket = bucket_of(bytearray(VNET + f))
        if bucket is None:
            return [(active.ifindex, f)]
        slot = placed[bucket] if placed is not None and placed[bucket] >= 0 else xh.xmit_slave_index(f, policy,
                                                                                                       len(ports))
        member = ports[slot]
        return [(member.ifindex, f if member is active else f[:6] + member.mac_bytes + f[12:])]
    return expect


def not_arp(f):
    return f[12:14] != b"\x08\x06"


@pytest.mark.parametrize("policy", [xh.LAYER2, xh.LAYER23, xh.LAYER34], ids=lambda p: xh.POLICY_NAMES[p])
@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_static_balancing_hashes_modulo_count(mode, policy):
    ports = fake_ports(3)
    plan = plan_of(runner(mode, xmit_hash_policy=policy, tlb_dynamic_lb=0), ports, ports[1], BOND_MAC)
    assert plan.buckets is None
    fs = [f for f in frames() if mode == 5 or not_arp(f)]
    n, in_buckets, w_buckets = agree(plan, ports, fs, balanced_expect(mode, policy, ports, ports[1]))
    assert n > 1000 and in_buckets == w_buckets


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def tlb_flows():
    """Eight TCP flows of different weights: flow i sends i + 1 frames."""
    flows = [ether(0x0800, ipv4("10.0.0.1", f"10.0.1.{i + 1}", 6, tcp(40000 + i, 80))) for i in range(8)]
    return [f for i, f in enumerate(flows) for _ in range(i + 1)]


@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_one_tlb_rule_hash_until_the_first_measurement_then_least_loaded(mode):
    """The placement rule every path follows (modes/tlb.py): hash % count
    from the first plan on; 10 s later the buckets that carried bytes are
    placed by least load, heaviest first; a change of members hashes
    again until the next measurement. Frame by frame on both paths, with
    the bytes each bucket carried counted the same by both."""
    ports = fake_ports(3)
    active = ports[0]
    r = runner(mode, xmit_hash_policy=xh.LAYER34, tlb_dynamic_lb=1)
    r.clock = clock = Clock(1000.0)
    fs = tlb_flows()
    plan = plan_of(r, ports, active, BOND_MAC)
    assert plan.buckets == (-1,) * 256
    _, in_buckets, w_buckets = agree(plan, ports, fs, balanced_expect(mode, xh.LAYER34, ports, active))
    assert in_buckets == w_buckets and sum(in_buckets) == sum(len(f) for f in fs)
    # Not due before 10 s after the first plan (a tick half an interval early is the due one).
    assert not r.rebalance(lambda: pytest.fail("read before the measurement is due"), clock.now + 4.9)
    assert r.rebalance(lambda: in_buckets, clock.now + REBALANCE_INTERVAL - 0.01)
    placed = place_by_load([p.speed for p in ports], in_buckets)
    plan = plan_of(r, ports, active, BOND_MAC)
    assert plan.buckets == placed
    used = {placed[b] for b in range(256) if in_buckets[b]}
    assert used == {0, 1, 2}                          # eight flows over three equal members
    agree(plan, ports, fs, balanced_expect(mode, xh.LAYER34, ports, active, placed))
    # A member leaves: hash % count over the two left until the next measurement.
    plan = plan_of(r, ports, active, BOND_MAC, usable=ports[:2])
    assert plan.buckets == (-1,) * 256
    agree(plan, ports, fs, balanced_expect(mode, xh.LAYER34, ports[:2], active))


def test_heaviest_buckets_go_first_to_the_member_with_the_largest_gap():
    sent = [0] * 256
    sent[7], sent[9], sent[11] = 90_000_000, 50_000_000, 40_000_000
    assert [place_by_load([100, 100], sent)[b] for b in (7, 9, 11)] == [0, 1, 1]
    placed = place_by_load([1000, 100], [1_000_000] * 10 + [0] * 246)
    assert placed[:10].count(0) > placed[:10].count(1) and placed[10:] == (-1,) * 246


@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_tlb_dynamic_lb_turned_off_live_hashes_at_the_next_plan(mode):
    """`softbond set bond0 tlb_dynamic_lb 0` (IFDOWN in the kernel) only
    reconfigures the runner; the next plan has no bucket table."""
    ports = fake_ports(2)
    r = runner(mode, xmit_hash_policy=1)
    assert plan_of(r, ports, ports[0], BOND_MAC).buckets is not None
    r.configure(replace(r.opts, tlb_dynamic_lb=0))
    assert plan_of(r, ports, ports[0], BOND_MAC).buckets is None
    assert not r.rebalance(lambda: [1] * 256, 1e9)


def test_alb_hands_outgoing_arp_to_the_daemon_on_both_paths_without_the_header():
    ports = fake_ports(2)
    plan = plan_of(runner(6), ports, ports[0], BOND_MAC)
    assert plan.arp_slowpath
    arp = ether(0x0806, bytes.fromhex("0001080006040002") + bytes(20))
    for path in (inprocess_transmit, worker_transmit):
        slow = []
        tx, _ = path(plan, ports, slow.append)
        assert choice(tx, ports, arp) == []
        assert [bytes(f) for f in slow] == [arp]
    # alb with one member: ARP still goes to the daemon (as bond.bpf.c)
    plan = plan_of(runner(6), ports, ports[0], BOND_MAC, usable=ports[:1])
    slow = []
    tx, _ = inprocess_transmit(plan, ports, slow.append)
    assert choice(tx, ports, arp) == [] and len(slow) == 1


def test_receive_policies_and_member_names_travel_in_the_plan():
    ports = fake_ports(2)
    plan = plan_of(runner(1), ports, ports[0], BOND_MAC)
    assert plan.rx_policy == {1001: RX_DELIVER, 1002: RX_DROP}
    assert plan.names == {1001: "eth0", 1002: "eth1"}
    assert plan.macs[1002] == ports[1].mac_bytes
    assert workers.fanout_id(1001) != workers.fanout_id(1002)


def test_receive_policy_filter_shared_by_both_python_loops():
    own = bytes.fromhex("02aa00000001")
    frame = lambda dst, src: bytearray(VNET + dst + src + b"\x08\x00" + bytes(30))  # noqa: E731
    f = frame(own, bytes.fromhex("020000000009"))
    assert not accept(f, len(f), RX_DROP, own, BOND_MAC)
    assert not accept(f, 15, RX_NOT_OWN, own, BOND_MAC)                     # truncated
    reflected = frame(b"\xff" * 6, BOND_MAC)
    assert not accept(reflected, len(reflected), RX_NOT_OWN, own, BOND_MAC)
    assert accept(f, len(f), RX_NOT_OWN, own, BOND_MAC)
    assert not accept(reflected, len(reflected), RX_UNICAST_OWN_MAC, own, BOND_MAC)   # multicast
    assert accept(f, len(f), RX_UNICAST_OWN_MAC, own, BOND_MAC)
    assert bytes(f[10:16]) == BOND_MAC          # alb: the member's MAC became the bond's
