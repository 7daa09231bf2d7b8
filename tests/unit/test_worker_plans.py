"""The data path workers (softbond/datapath/workers.py, datapath_workers > 1) make
the same per-frame decisions as the runners they stand in for: the same
member, the same bytes on the wire, frame by frame, from a Plan built the
way the bond publishes it. No sockets: the members are fake ports."""
import pickle
from dataclasses import replace

import pytest

from softbond.datapath import workers
from softbond.config.registry import BondOptions
from softbond.modes import make_runner
from softbond.modes.base import RX_DELIVER, RX_DROP
from softbond.wire import xmit_hash as xh

from tests.support.fakeport import FakePort
from tests.support.framegen import ether, frames, ipv4, udp

VNET = bytes(10)
BOND_MAC = bytes.fromhex("02bb00000001")


def fake_ports(n):
    return [FakePort(f"eth{i}", bytes.fromhex(f"02aa0000000{i}"), 1001 + i) for i in range(n)]


def runner(mode, **opts):
    return make_runner(replace(BondOptions(), mode=mode, **opts))


def counters():
    return memoryview(bytearray(8 * workers.COUNTER_SLOTS)).cast("Q")


def compiled(r, ports, active, *, slow=None, sockets=None):
    plan = workers.plan_for(r, ports, ports, active, BOND_MAC)
    plan = pickle.loads(pickle.dumps(plan))          # as it travels to a worker
    have = ports if sockets is None else sockets
    c = counters()
    tx = workers.compile_transmit(plan, {p.ifindex: p.send for p in have}, c,
                                  slow.append if slow is not None else (lambda f: False))
    return tx, c, plan


def choice(transmit, ports, frame):
    """(ifindex, bytes on the wire without the virtio-net header) per send."""
    for p in ports:
        p.sent.clear()
    if transmit is not None:
        transmit(memoryview(bytearray(VNET + frame)))
    return [(p.ifindex, f[10:]) for p in ports for f in p.sent]


def same_as_runner(r, ports, active, fs, skip=lambda f: False):
    want_tx = r.transmit(ports, active, BOND_MAC)
    got_tx, _, _ = compiled(r, ports, active)
    checked = 0
    for f in fs:
        if skip(f):
            continue
        assert choice(got_tx, ports, f) == choice(want_tx, ports, f), f.hex()
        checked += 1
    return checked


def test_active_backup_follows_the_active_member_and_drops_without_one():
    ports = fake_ports(2)
    r = runner(1)
    assert same_as_runner(r, ports, ports[1], frames()[:50]) == 50
    tx, _, _ = compiled(r, ports, None)
    assert choice(tx, ports, frames()[0]) == []


@pytest.mark.parametrize("pps", [1, 3])
def test_round_robin_rotates_as_the_runner_and_sends_igmp_by_the_first(pps):
    ports = fake_ports(3)
    igmp = ether(0x0800, ipv4("10.0.0.1", "224.0.0.22", 2, bytes(8)))
    fs = [igmp if i % 7 == 3 else ether(0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(i, 9))) for i in range(40)]
    assert same_as_runner(runner(0, packets_per_slave=pps), ports, None, fs) == 40


def test_round_robin_random_uses_every_member():
    ports = fake_ports(3)
    tx, _, _ = compiled(runner(0, packets_per_slave=0), ports, None)
    used = {choice(tx, ports, frames()[1])[0][0] for _ in range(90)}
    assert used == {p.ifindex for p in ports}


@pytest.mark.parametrize("policy", sorted(xh.POLICY_NAMES), ids=lambda p: xh.POLICY_NAMES[p])
def test_balance_xor_picks_the_runners_member(policy):
    assert same_as_runner(runner(2, xmit_hash_policy=policy), fake_ports(3), None, frames()) > 1000


def test_802_3ad_hashes_over_the_distributing_ports_like_xor():
    # Which ports distribute is LACP's business (tested in lacp/); given
    # them, 802.3ad's choice is balance-xor's over those ports.
    ports = fake_ports(3)
    distributing = ports[::2]
    xor = runner(2, xmit_hash_policy=xh.LAYER34)
    plan = replace(workers.plan_for(xor, ports, distributing, None, BOND_MAC), mode=workers.MODE_8023AD)
    got = workers.compile_transmit(plan, {p.ifindex: p.send for p in ports}, counters(), lambda f: False)
    want = xor.transmit(distributing, None, BOND_MAC)
    for f in frames()[:400]:
        assert choice(got, ports, f) == choice(want, ports, f)


def test_broadcast_sends_each_frame_on_every_member():
    ports = fake_ports(3)
    tx, _, _ = compiled(runner(3), ports, None)
    f = frames()[0]
    assert choice(tx, ports, f) == [(p.ifindex, f) for p in ports]


def test_a_member_without_a_socket_yet_drops_instead_of_failing():
    ports = fake_ports(2)
    tx, _, _ = compiled(runner(1), ports, ports[1], sockets=ports[:1])
    assert choice(tx, ports, frames()[0]) == []


@pytest.mark.parametrize("policy", [xh.LAYER2, xh.LAYER23, xh.LAYER34], ids=lambda p: xh.POLICY_NAMES[p])
@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_static_balancing_matches_the_runner(mode, policy):
    ports = fake_ports(3)
    r = runner(mode, xmit_hash_policy=policy, tlb_dynamic_lb=0)
    n = same_as_runner(r, ports, ports[1], frames(), skip=lambda f: mode == 6 and f[12:14] == b"\x08\x06")
    assert n > 1000


@pytest.mark.parametrize("mode", [5, 6], ids=["tlb", "alb"])
def test_dynamic_buckets_follow_the_load_table_and_count_bytes(mode):
    ports = fake_ports(3)
    active = ports[0]
    r = runner(mode, xmit_hash_policy=xh.LAYER34, tlb_dynamic_lb=1)
    want_tx = r.transmit(ports, active, BOND_MAC)
    fs = [f for f in frames(13) if not (mode == 6 and f[12:14] == b"\x08\x06")]
    for f in fs:                        # the runner's table places the buckets
        choice(want_tx, ports, f)
    table = r.table
    table.tx_bytes[:] = [0] * 256
    plan = replace(workers.plan_for(r, ports, ports, active, BOND_MAC), buckets=tuple(table.member_of))
    c = counters()
    got_tx = workers.compile_transmit(plan, {p.ifindex: p.send for p in ports}, c, lambda f: False)
    for f in fs:
        assert choice(got_tx, ports, f) == choice(want_tx, ports, f), f.hex()
    assert list(c[workers.C_BUCKETS:]) == table.tx_bytes
    assert sum(table.tx_bytes) > 0


def test_alb_hands_outgoing_arp_to_the_daemon_untagged_and_without_the_header():
    ports = fake_ports(2)
    slow = []
    tx, _, plan = compiled(runner(6), ports, ports[0], slow=slow)
    assert plan.arp_slowpath
    arp = ether(0x0806, bytes.fromhex("0001080006040002") + bytes(20))
    assert choice(tx, ports, arp) == []
    assert [bytes(f) for f in slow] == [arp]


def test_receive_policies_and_member_names_travel_in_the_plan():
    ports = fake_ports(2)
    plan = workers.plan_for(runner(1), ports, ports, ports[0], BOND_MAC)
    assert plan.rx_policy == {1001: RX_DELIVER, 1002: RX_DROP}
    assert plan.names == {1001: "eth0", 1002: "eth1"}
    assert plan.macs[1002] == ports[1].mac_bytes
    assert workers.fanout_id(1001) != workers.fanout_id(1002)


def test_receive_policy_filter_shared_by_both_python_loops():
    from softbond.datapath.inprocess import accept
    from softbond.modes.base import RX_NOT_OWN, RX_UNICAST_OWN_MAC
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
