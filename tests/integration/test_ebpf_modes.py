"""The eBPF programs make the same per-frame decisions as the Python data
paths from the same ForwardingPlan (datapath/plan.py): the same member,
the same bytes on the wire, the same receive policy. Each frame goes
through the plan compiled as the in-process loop and a worker compile it
(fake ports) and through sb_egress / sb_ingress with BPF_PROG_TEST_RUN;
the maps are written with the same `publish` the bond uses. Needs root,
as every integration test.
"""
import os
from dataclasses import replace

import pytest

from softbond.config.registry import BondOptions
from softbond.datapath.abi import BUCKETS
from softbond.modes import make_runner
from softbond.modes.base import RX_DELIVER, RX_DROP, RX_NOT_OWN, RX_UNICAST_OWN_MAC
from softbond.wire import xmit_hash as xh

from tests.support.bpfrun import TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT, kernel_refuses, loaded_bond, run
from tests.support.fakeport import FakePort  # shared with the unit tests of the runners
from tests.support.planpaths import choice, inprocess_transmit, plan_of, worker_transmit
from tests.support.framegen import ether, frames, ipv4, ipv6, ports_sharing_a_member, tcp, udp

# BPF_PROG_TEST_RUN needs root: these live with the integration tests, which
# fail (never skip) without it.

VNET = bytes(10)
BOND_IFINDEX = 999
BOND_MAC = bytes.fromhex("02bb00000001")


def fake_ports(n):
    return [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(n)]


@pytest.fixture
def bpf():
    with loaded_bond(BOND_IFINDEX, BOND_MAC) as loaded:
        yield loaded


def snap(mode, ports, *, policy=0, active=None, buckets=None, pps=1, rx=None):
    from softbond.datapath.plan import ForwardingPlan
    return ForwardingPlan(mode=mode, xmit_hash_policy=policy, packets_per_slave=pps,
                          tx_members=tuple((p.ifindex, p.mac_bytes) for p in ports),
                          active=active.ifindex if active else 0, rx_policy=rx or {}, buckets=buckets,
                          bond_mac=BOND_MAC)


def python_choice(transmit, ports, frame):
    out = choice(transmit, ports, frame)
    assert len(out) <= 1
    return out[0] if out else (None, None)


def bpf_choice(bpf, ports, frame):
    obj, maps = bpf
    before = {p.ifindex: maps.counters(p.ifindex)["tx_packets"] for p in ports}
    ret, out, _ = run(obj, "sb_egress", frame)
    moved = [i for i in before if maps.counters(i)["tx_packets"] != before[i]]
    assert len(moved) <= 1
    if not moved:
        assert ret == TC_ACT_SHOT
        return None, None
    assert ret == TC_ACT_REDIRECT
    return moved[0], out


def cases(seed=11, step=2):
    return [f for f in frames(seed) if not kernel_refuses(f)][::step]


def runner(mode, **opts):
    return make_runner(replace(BondOptions(), mode=mode, **opts))


# -- active-backup / round robin / broadcast --------------------------------------

def test_active_backup_sends_by_the_active_member_and_drops_without_one(bpf):
    obj, maps = bpf
    ports = fake_ports(2)
    f = cases()[0]
    maps.publish(snap(1, ports, active=ports[1]), bond_ifindex=BOND_IFINDEX)
    assert bpf_choice(bpf, ports, f)[0] == ports[1].ifindex
    maps.publish(snap(1, ports, active=None), bond_ifindex=BOND_IFINDEX)
    drops = maps.counters(BOND_IFINDEX)["tx_drops"]
    assert bpf_choice(bpf, ports, f) == (None, None)
    assert maps.counters(BOND_IFINDEX)["tx_drops"] == drops + 1


@pytest.mark.parametrize("pps", [1, 3])
def test_round_robin_matches_the_runner(bpf, pps):
    # The BPF counter is per CPU (as the kernel's rr_tx_counter): stay on one.
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})
    try:
        obj, maps = bpf
        ports = fake_ports(3)
        plan = plan_of(runner(0, packets_per_slave=pps), ports, None, BOND_MAC)
        maps.publish(plan, bond_ifindex=BOND_IFINDEX)
        tx, _ = inprocess_transmit(plan, ports)
        igmp = ether(0x0800, ipv4("10.0.0.1", "224.0.0.22", 2, bytes(8)))
        seq_py, seq_bpf = [], []
        for i in range(30):
            f = igmp if i % 7 == 3 else ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(i, 9)))
            seq_py.append(python_choice(tx, ports, f)[0])
            seq_bpf.append(bpf_choice(bpf, ports, f)[0])
        # Fresh maps: the counter starts at 0 like the compiled plan's.
        assert seq_bpf == seq_py
        assert all(seq_bpf[i] == ports[0].ifindex for i in range(30) if i % 7 == 3)
        assert set(seq_bpf) == {p.ifindex for p in ports}
    finally:
        os.sched_setaffinity(0, saved)


def test_round_robin_random_and_single_member(bpf):
    obj, maps = bpf
    ports = fake_ports(3)
    maps.publish(snap(0, ports, pps=0), bond_ifindex=BOND_IFINDEX)
    used = {bpf_choice(bpf, ports, cases()[1])[0] for _ in range(60)}
    assert used == {p.ifindex for p in ports}
    maps.publish(snap(0, ports[:1]), bond_ifindex=BOND_IFINDEX)
    assert {bpf_choice(bpf, ports, f)[0] for f in cases()[:20]} == {ports[0].ifindex}


def test_broadcast_redirects_to_the_last_member(bpf):
    # bpf_clone_redirect() to the other members needs real devices (the
    # integration test covers it); the original goes to the last one.
    obj, maps = bpf
    ports = fake_ports(3)
    maps.publish(snap(3, ports), bond_ifindex=BOND_IFINDEX)
    assert run(obj, "sb_egress", cases()[0])[0] == TC_ACT_REDIRECT
    assert maps.counters(ports[2].ifindex)["tx_packets"] == 1


# -- tlb / alb ----------------------------------------------------------------------

@pytest.mark.parametrize("policy", [xh.LAYER2, xh.LAYER23, xh.LAYER34], ids=lambda p: xh.POLICY_NAMES[p])
@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_static_balancing_matches_the_python_paths(bpf, mode, policy):
    """tlb_dynamic_lb=0: member and the rewritten source MAC, frame by frame."""
    obj, maps = bpf
    ports = fake_ports(3)
    active = ports[1]
    plan = plan_of(runner(mode, xmit_hash_policy=policy, tlb_dynamic_lb=0), ports, active, BOND_MAC)
    maps.publish(plan, bond_ifindex=BOND_IFINDEX)
    tx, _ = inprocess_transmit(plan, ports)
    checked = 0
    for f in cases():
        if mode == 6 and f[12:14] == b"\x08\x06":
            continue        # alb's ARP: the rlb slow path, tested below
        want = python_choice(tx, ports, f)
        got = bpf_choice(bpf, ports, f)
        assert got == want, f.hex()
        checked += 1
    assert checked > 300


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def three_paths_agree(bpf, plan, ports, fs):
    """Each frame leaves by the same member with the same bytes on the
    eBPF program, the in-process compiled plan and a worker's; returns the
    bytes each bucket carried (the same on all three)."""
    obj, maps = bpf
    maps.publish(plan, bond_ifindex=BOND_IFINDEX)
    maps.bucket_bytes()                              # from here on
    inproc, in_buckets = inprocess_transmit(plan, ports)
    worker, w_buckets = worker_transmit(plan, ports)
    for f in fs:
        want = bpf_choice(bpf, ports, f)
        assert python_choice(inproc, ports, f) == want, f.hex()
        assert python_choice(worker, ports, f) == want, f.hex()
    measured = maps.bucket_bytes()
    assert measured == list(in_buckets) == list(w_buckets)
    return measured


@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_one_tlb_rule_on_all_three_paths(bpf, mode):
    """tlb_dynamic_lb=1, the placement rule of modes/tlb.py: from the first
    plan, buckets hash % count; at the first measurement, 10 s after it
    (the same tick on every path), the buckets the program counted are
    placed by least load; the next plan sends each bucket there, frame by
    frame the same on the three paths."""
    ports = fake_ports(3)
    active = ports[0]
    r = runner(mode, xmit_hash_policy=xh.LAYER34, tlb_dynamic_lb=1)
    r.clock = Clock(500.0)
    fs = [f for f in cases(seed=13, step=1) if not (mode == 6 and f[12:14] == b"\x08\x06")]
    plan = plan_of(r, ports, active, BOND_MAC)
    assert plan.buckets == (-1,) * 256
    measured = three_paths_agree(bpf, plan, ports, fs)
    assert sum(measured) > 0
    # The first measurement is due at the first tick 10 s after the first
    # plan (it was at the second, 20 s, on eBPF before the paths shared one rule).
    assert r.rebalance(lambda: measured, 500.0 + 10.0)
    plan = plan_of(r, ports, active, BOND_MAC)
    assert plan.buckets != (-1,) * 256
    assert {plan.buckets[b] for b in range(256) if measured[b]} == {0, 1, 2}
    assert three_paths_agree(bpf, plan, ports, fs) == measured


def test_unplaced_bucket_uses_hash_modulo_count(bpf):
    obj, maps = bpf
    ports = fake_ports(2)
    maps.publish(snap(5, ports, policy=xh.LAYER34, active=ports[0], buckets=(-1,) * 256),
                 bond_ifindex=BOND_IFINDEX)
    for sport in range(40):
        f = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(sport, 80)))
        want = ports[xh.hash_layer34(f) % 2]
        ifindex, out = bpf_choice(bpf, ports, f)
        assert ifindex == want.ifindex
        assert out[6:12] == (f[6:12] if want is ports[0] else want.mac_bytes)


def test_alb_arp_goes_to_the_slow_path_only_when_asked(bpf):
    obj, maps = bpf
    ports = fake_ports(2)
    arp = ether(0x0806, bytes.fromhex("0001080006040002") + BOND_MAC + bytes(4) + bytes(6) + bytes(4))
    maps.publish(snap(6, ports, active=ports[1]), bond_ifindex=BOND_IFINDEX)
    assert bpf_choice(bpf, ports, arp)[0] == ports[1].ifindex
    maps.publish(snap(6, ports, active=ports[1]), bond_ifindex=BOND_IFINDEX, arp_slowpath=True)
    ret, out, _ = run(obj, "sb_egress", arp)
    assert ret == TC_ACT_OK and out == arp
    v6 = ether(0x86DD, ipv6("2001:db8::1", "2001:db8::2", 17, udp(1, 2)))
    assert bpf_choice(bpf, ports, v6)[0] is not None


# -- receive side ---------------------------------------------------------------------

LO = 1      # BPF_PROG_TEST_RUN runs on the loopback device: skb->ifindex 1


@pytest.mark.parametrize("policy", [RX_DROP, RX_DELIVER, RX_NOT_OWN, RX_UNICAST_OWN_MAC])
def test_receive_policies_match_the_python_datapath(bpf, policy):
    obj, maps = bpf
    member_mac = bytes.fromhex("02aa00000009")
    maps.set_rx(LO, policy, 0, member_mac)
    maps.ensure_stats(LO)
    payload = ipv4("10.0.0.2", "10.0.0.1", 17, udp(5, 6))
    samples = {
        "to bond": ether(0x0800, payload, dst=BOND_MAC, src=bytes.fromhex("02cc00000001")),
        "to member": ether(0x0800, payload, dst=member_mac, src=bytes.fromhex("02cc00000001")),
        "broadcast": ether(0x0800, payload, dst=b"\xff" * 6, src=bytes.fromhex("02cc00000001")),
        "reflected": ether(0x0800, payload, dst=b"\xff" * 6, src=BOND_MAC),
    }
    for name, f in samples.items():
        ret, out, _ = run(obj, "sb_ingress", f)
        # modes/base.py + datapath.py semantics
        if policy == RX_DROP:
            want = None
        elif policy == RX_DELIVER:
            want = f
        elif policy == RX_NOT_OWN:
            want = None if f[6:12] == BOND_MAC else f
        else:
            want = None if f[0] & 1 else (BOND_MAC + f[6:] if f[:6] == member_mac else f)
        if want is None:
            assert ret == TC_ACT_SHOT, name
        else:
            assert ret == TC_ACT_REDIRECT and out == want, name


def test_slow_protocols_end_here_uncounted_and_unknown_members_drop(bpf):
    """LACPDUs reached the control plane's taps before tc: the program ends
    them without counting a drop (handed on, the member's stack would count
    one per LACPDU: it has no 0x8809 handler)."""
    obj, maps = bpf
    lacpdu = ether(0x8809, bytes([1, 1]) + bytes(108), dst=bytes.fromhex("0180c2000002"))
    maps.del_rx(LO)
    assert run(obj, "sb_ingress", lacpdu)[0] == TC_ACT_SHOT
    assert run(obj, "sb_ingress", ether(0x0800, ipv4("1.1.1.1", "2.2.2.2", 6, tcp(1, 2))))[0] == TC_ACT_SHOT
    maps.set_rx(LO, RX_DROP, 0, bytes(6))
    maps.ensure_stats(LO)
    assert run(obj, "sb_ingress", lacpdu)[0] == TC_ACT_SHOT
    assert maps.counters(LO)["rx_drops"] == 0


# -- publishing ---------------------------------------------------------------------------

def test_publish_flips_banks_and_validates(bpf):
    from softbond.datapath.plan import ForwardingPlan
    obj, maps = bpf
    ports = fake_ports(2)
    b0 = maps.bank()
    maps.publish(snap(2, ports, policy=1), bond_ifindex=BOND_IFINDEX)
    assert maps.bank() == b0 ^ 1
    assert maps.members() == [(p.ifindex, p.mac_bytes) for p in ports]
    c = maps.config()
    assert (c["mode"], c["policy"], c["count"], c["bond_ifindex"]) == (2, 1, 2, BOND_IFINDEX)
    maps.publish(snap(1, ports[1:], active=ports[1]), bond_ifindex=BOND_IFINDEX)
    assert maps.bank() == b0
    assert maps.config()["active_slot"] == 0
    with pytest.raises(ValueError):
        maps.publish(ForwardingPlan(9, 0, 1, (), 0, {}, None, BOND_MAC), bond_ifindex=BOND_IFINDEX)
    with pytest.raises(ValueError):
        maps.publish(snap(5, ports, buckets=(2,) * 256), bond_ifindex=BOND_IFINDEX)
    with pytest.raises(ValueError):
        maps.publish(snap(5, ports, buckets=(0,) * 10), bond_ifindex=BOND_IFINDEX)


def test_receive_policy_order_on_failover(bpf):
    """A member that starts delivering is written before the flip, one
    that stops after it."""
    obj, maps = bpf
    ports = fake_ports(2)
    for p in ports:
        maps.set_rx(p.ifindex, RX_DROP, 0, p.mac_bytes)
    maps.publish(snap(1, ports, active=ports[0], rx={1001: RX_DELIVER, 1002: RX_DROP}), bond_ifindex=BOND_IFINDEX)
    rx = maps.rx_entries()
    assert rx[1001][0] == RX_DELIVER and rx[1002][0] == RX_DROP
    maps.publish(snap(1, ports, active=ports[1], rx={1002: RX_DELIVER}), bond_ifindex=BOND_IFINDEX)
    rx = maps.rx_entries()
    assert rx[1001][0] == RX_DROP and rx[1002][0] == RX_DELIVER


def test_cached_view_matches_the_kernel_maps(bpf):
    """BondMaps keeps what it wrote (bank, receive entries, stats entries)
    instead of reading it back before every publish; a second BondMaps over
    the same maps, with nothing cached, must read the very same state from
    the kernel, and a new one adopts it (a daemon restart)."""
    from softbond.datapath.ebpf.state import BondMaps
    obj, maps = bpf
    ports = fake_ports(3)
    for p in ports:
        maps.set_rx(p.ifindex, RX_DROP, 0, p.mac_bytes)
    maps.publish(snap(1, ports, active=ports[0], rx={1001: RX_DELIVER}), bond_ifindex=BOND_IFINDEX)
    maps.publish(snap(1, ports[1:2], active=ports[1], rx={1002: RX_DELIVER}), bond_ifindex=BOND_IFINDEX)
    maps.del_rx(1003)
    maps.drop_stats(1003)
    fresh = BondMaps(obj.maps)
    assert fresh.bank() == maps.bank()
    assert fresh.rx_entries() == maps.rx_entries()
    assert sorted(fresh.rx_entries()) == [1001, 1002]
    assert fresh.rx_entries()[1002][0] == RX_DELIVER and fresh.rx_entries()[1001][0] == RX_DROP
    assert fresh.members() == [(ports[1].ifindex, ports[1].mac_bytes)]
    assert fresh.config()["active_ifindex"] == ports[1].ifindex
    # The counter slots come back from the maps (sb_rx, sb_config): the dropped member's is gone.
    assert fresh.slots() == maps.slots()
    assert sorted(maps.slots()) == [BOND_IFINDEX, 1001, 1002] and 0 not in maps.slots().values()
    assert len(set(maps.slots().values())) == 3
    # The adopter publishes from what it read: the flip goes to the other bank.
    before = fresh.bank()
    fresh.publish(snap(1, ports[:2], active=ports[0], rx={1001: RX_DELIVER, 1002: RX_DROP}),
                  bond_ifindex=BOND_IFINDEX)
    check = BondMaps(obj.maps)
    assert check.bank() == before ^ 1
    assert check.members() == [(p.ifindex, p.mac_bytes) for p in ports[:2]]
    assert check.rx_entries()[1001][0] == RX_DELIVER and check.rx_entries()[1002][0] == RX_DROP


def test_counters_sit_in_slots_the_maps_carry(bpf):
    """sb_stats is an array: a member's frames count in the slot its sb_rx
    and sb_members entries name, the bond's drops in sb_config's; a new
    BondMaps over the same maps (a daemon restart) reads the same counters,
    and a slot given out again starts from zero."""
    from softbond.datapath.ebpf.state import BondMaps
    obj, maps = bpf
    member = FakePort("lo", bytes.fromhex("02aa00000009"), LO)
    other = fake_ports(1)[0]
    maps.set_rx(LO, RX_DELIVER, 0, member.mac_bytes)
    maps.set_rx(other.ifindex, RX_DROP, 0, other.mac_bytes)
    maps.publish(snap(1, [member, other], active=member, rx={LO: RX_DELIVER}), bond_ifindex=BOND_IFINDEX)
    frame = ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2)), dst=BOND_MAC)
    assert run(obj, "sb_ingress", frame)[0] == TC_ACT_REDIRECT
    assert run(obj, "sb_egress", frame)[0] == TC_ACT_REDIRECT
    maps.publish(snap(1, [member, other], active=None, rx={LO: RX_DELIVER}), bond_ifindex=BOND_IFINDEX)
    assert run(obj, "sb_egress", frame)[0] == TC_ACT_SHOT
    want = {"rx_packets": 1, "tx_packets": 1}
    for view in (maps, BondMaps(obj.maps)):
        assert {k: view.counters(LO)[k] for k in want} == want
        assert view.counters(BOND_IFINDEX)["tx_drops"] == 1
        assert view.counters(other.ifindex)["tx_packets"] == 0
    slot = maps.stat_slot(LO)
    maps.del_rx(LO)
    maps.drop_stats(LO)
    assert maps.stat_slot(LO) == 0 and maps.counters(LO)["rx_packets"] == 0
    maps.set_rx(LO, RX_DELIVER, 0, member.mac_bytes)
    assert maps.stat_slot(LO) == slot and maps.counters(LO)["rx_packets"] == 0


# -- xmit_balance=flowlet -----------------------------------------------------------

FLOWLET_GAP_US = 150_000      # far above the time the three paths take per frame, even on a loaded machine


def flowlet_paths_agree(bpf, plan, ports, states, fs):
    """Frame by frame the same member on the program and the two Python
    paths (each with its FlowletState, kept across plans as the loops
    keep theirs); returns the members used, in order."""
    obj, maps = bpf
    maps.publish(plan, bond_ifindex=BOND_IFINDEX)
    inproc, _ = inprocess_transmit(plan, ports, flowlet=states[0])
    worker, _ = worker_transmit(plan, ports, flowlet=states[1])
    used = []
    for f in fs:
        want = bpf_choice(bpf, ports, f)
        assert python_choice(inproc, ports, f) == want, f.hex()
        assert python_choice(worker, ports, f) == want, f.hex()
        used.append(want[0])
    return used


@pytest.mark.parametrize("mode", [2, 4, 5], ids=["xor", "802.3ad", "tlb"])
def test_one_flowlet_rule_on_all_three_paths(bpf, mode):
    """Two flows the kernel hash puts on member 0 of 2: the first plan
    sends both there (the kernel's placement) on every path; after the
    runner's measurement wants one bucket on member 1, the frames that
    follow without a pause stay on member 0, and after a pause longer than
    flowlet_gap the bucket moves, at the same frame on the three paths,
    each counting one move. Real time (the program reads
    bpf_ktime_get_ns): bursts are back to back, the pause is twice the gap.
    What each path committed reads back the same (sb_flowlet in one batch,
    the loop's list, the worker's shared slots): the wanted bucket where it
    still leaves until its pause, then where it went; the runner places
    from that read."""
    import time
    from softbond.datapath import workers
    from softbond.datapath.plan import FlowletState
    from tests.support.planpaths import worker_counters

    obj, maps = bpf
    ports = fake_ports(2)
    r = runner(mode, xmit_hash_policy=xh.LAYER34, xmit_balance=1, flowlet_gap=FLOWLET_GAP_US)
    r.flowlet.clock = Clock(500.0)
    plan = plan_of(r, ports, ports[0], BOND_MAC)
    if mode == 4:                 # no LACP partner here: the plan as 802.3ad's distributing members give it
        plan = replace(plan, tx_members=tuple((p.ifindex, p.mac_bytes) for p in ports), buckets=r.placement(ports))
    counters = worker_counters()
    states = (FlowletState(), FlowletState(counters, workers.C_FLOWLET_MOVES,
                                           counters[workers.C_FLOWLET_SLOTS:workers.C_MEMBER_QUEUES]))

    def committed() -> list[int]:
        """What the three paths committed, once all three agree."""
        ebpf = maps.flowlet_slots()
        assert ebpf == states[0].committed() == [s - 1 for s in states[1].shown]
        return ebpf
    r.read_committed = committed
    p = ports_sharing_a_member("10.0.0.1", "10.0.0.2", 5201, member=0)
    a, b = (ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(q, 5201))) for q in (p, p + 1))
    burst = [a, b, a, a, b, a]
    maps.publish(plan, bond_ifindex=BOND_IFINDEX)
    maps.bucket_bytes()
    assert set(flowlet_paths_agree(bpf, plan, ports, states, burst)) == {ports[0].ifindex}
    assert r.rebalance(maps.bucket_bytes, 500.0 + r.flowlet.interval)
    wanted = r.placement(ports)     # what build_plan asks of it (tx: every port here)
    moved = xh.hash_layer34(a) & 0xFF
    assert wanted[moved] == 1 and wanted[xh.hash_layer34(b) & 0xFF] == -1     # a carried more
    plan = replace(plan, buckets=wanted)
    assert set(flowlet_paths_agree(bpf, plan, ports, states, burst)) == {ports[0].ifindex}
    assert maps.flowlet_moves() == 0
    assert committed()[moved] == -1                 # wanted on member 1, still leaving by the hash's
    time.sleep(2 * FLOWLET_GAP_US / 1e6)
    used = flowlet_paths_agree(bpf, plan, ports, states, burst)
    assert used == [ports[1].ifindex if f is a else ports[0].ifindex for f in burst]
    assert maps.flowlet_moves() == states[0].moves[0] == states[1].moves[workers.C_FLOWLET_MOVES] == 1
    assert committed()[moved] == 1


QUEUE_PS = 2_000_000_000      # ps a byte: a 54-byte frame queues 108 ms, far above the paths' time per frame
QUEUE_GAP_US = 30_000


@pytest.mark.parametrize("mode", [2, 4, 5], ids=["xor", "802.3ad", "tlb"])
def test_one_queue_model_on_all_three_paths(bpf, mode):
    """The queue model (flowlet_gap_auto=on, every member's line rate
    known: bond.bpf.c's flowlet_queued, FlowletState.queue_committer): two
    new flows the kernel hash puts on member 0 of 2. The first stays there
    (equal, empty queues: the hash's member); the second, new while the
    first's frame still queues on member 0, joins the shorter queue on
    member 1; the first, sending on, stays; a heavy bucket the control
    plane pins stays on its member after a pause, a light one back from a
    pause longer than its queue joins the shorter one. The same member,
    frame by frame, on the three paths; what each committed reads back
    the same."""
    import time
    from softbond.datapath import workers
    from softbond.datapath.plan import FlowletState
    from tests.support.planpaths import worker_counters

    obj, maps = bpf
    ports = fake_ports(2)
    r = runner(mode, xmit_hash_policy=xh.LAYER34, xmit_balance=1, flowlet_gap=QUEUE_GAP_US)
    plan = plan_of(r, ports, ports[0], BOND_MAC)
    plan = replace(plan, tx_members=tuple((p.ifindex, p.mac_bytes) for p in ports), buckets=(-1,) * BUCKETS,
                   flowlet_rates={p.ifindex: (QUEUE_PS, 10_000_000) for p in ports})
    counters = worker_counters()
    states = (FlowletState(), FlowletState(counters, workers.C_FLOWLET_MOVES,
                                           counters[workers.C_FLOWLET_SLOTS:workers.C_MEMBER_QUEUES],
                                           counters[workers.C_MEMBER_QUEUES:workers.COUNTER_SLOTS]))
    for state in states:
        state.member_slots = {p.ifindex: i for i, p in enumerate(ports)}
    p = ports_sharing_a_member("10.0.0.1", "10.0.0.2", 5201, member=0)
    a, b = (ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(q, 5201))) for q in (p, p + 1))
    assert flowlet_paths_agree(bpf, plan, ports, states, [a, b, a]) == [ports[0].ifindex, ports[1].ifindex,
                                                                          ports[0].ifindex]
    committed = maps.flowlet_slots()
    assert committed == states[0].committed() == [s - 1 for s in states[1].shown]
    bucket_a, bucket_b = (xh.hash_layer34(f) & 0xFF for f in (a, b))
    assert (committed[bucket_a], committed[bucket_b]) == (0, 1)
    assert maps.flowlet_moves() == 0                # first frames are no moves
    # a pinned on member 0 (a heavy bucket the control plane keeps), b free
    pinned = [-1] * BUCKETS
    pinned[bucket_a] = 0
    plan = replace(plan, buckets=tuple(pinned))
    time.sleep(0.25)                                # both queues drained, both buckets paused
    # b back from a pause: the queues are equal, it stays; a stays, pinned
    assert flowlet_paths_agree(bpf, plan, ports, states, [b, a, b]) == [ports[1].ifindex, ports[0].ifindex,
                                                                          ports[1].ifindex]
    # c, wanted on member 1, fills it; b, back from a pause after its
    # frames there have left, joins the shorter queue on member 0: a move
    c = next(f for f in (ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(q, 5201))) for q in range(p + 2, p + 64))
             if xh.hash_layer34(f) & 0xFF not in (bucket_a, bucket_b))
    pinned[xh.hash_layer34(c) & 0xFF] = 1
    plan = replace(plan, buckets=tuple(pinned))
    time.sleep(0.4)
    assert flowlet_paths_agree(bpf, plan, ports, states, [c, c, b]) == [ports[1].ifindex, ports[1].ifindex,
                                                                          ports[0].ifindex]
    assert maps.flowlet_moves() == states[0].moves[0] == states[1].moves[workers.C_FLOWLET_MOVES] == 1
    committed = maps.flowlet_slots()
    assert committed == states[0].committed() == [s - 1 for s in states[1].shown]
    assert committed[bucket_b] == 0
