"""The mode runners' decisions, as the data paths forward them: which
member sends each frame (the runner's plan compiled as the in-process
loop does; tests/unit/test_worker_plans.py holds the paths to each
other), what each member's frames do on the way up, alb's client table.
Frames carry the 10-byte virtio-net header."""
from dataclasses import replace

import pytest

from softbond.config.registry import BondOptions
from softbond.modes import make_runner
from softbond.modes.alb import (
    ARP_BURST, CLIENT_TTL, TABLE_SIZE, UPDATE_BUDGET, UPDATE_DELAY, UPDATE_RETRY, alb_bucket, learning_frame,
)
from softbond.modes.base import RX_DELIVER, RX_DROP, RX_NOT_OWN, RX_UNICAST_OWN_MAC
from softbond.modes.tlb import LoadTable
from softbond.wire.arp import ARPOP_REPLY, ARPOP_REQUEST, build_arp, parse_arp
from softbond.wire.xmit_hash import xmit_slave_index

from tests.support.fakeport import FakePort  # shared with the eBPF comparisons
from tests.support.planpaths import inprocess_transmit, plan_of

VNET = bytes(10)
BOND_MAC = bytes.fromhex("020000000001")
PEER_MAC = bytes.fromhex("0200000000aa")


def ports(n=2):
    return [FakePort(f"eth{i}", bytes.fromhex(f"02000000010{i}"), 1 + i) for i in range(n)]


def runner(mode, **opts):
    return make_runner(replace(BondOptions(), mode=mode, **opts))


def ipv4_frame(src_port=1000, dst_port=80, dst_ip=b"\xc0\xa8\x64\x01", proto=6, dst_mac=PEER_MAC):
    ip = bytearray(20)
    ip[0], ip[9] = 0x45, proto
    ip[12:16] = b"\xc0\xa8\x64\xc7"
    ip[16:20] = dst_ip
    l4 = src_port.to_bytes(2, "big") + dst_port.to_bytes(2, "big") + bytes(16)
    return bytearray(VNET + dst_mac + BOND_MAC + b"\x08\x00" + bytes(ip) + l4)


def transmit_of(r, members, active, usable=None):
    """The runner's plan for these members, compiled as the in-process loop
    compiles it; alb's ARP goes to the daemon, modelled as
    core/listeners._on_bond_arp handles it: the rlb picks the member."""
    def to_daemon(frame):
        buf = bytearray(VNET + bytes(frame))
        member = r.rlb.arp_xmit(memoryview(buf), r.clock())
        if member is None or member is active:
            member = active
        else:
            buf[16:22] = member.mac_bytes
        member.send(buf)
    transmit, r.bucket_counts = inprocess_transmit(plan_of(r, members, active, BOND_MAC, usable), members, to_daemon)
    return transmit


def send_all(transmit, frames):
    for f in frames:
        transmit(memoryview(f))


# -- balance-rr ----------------------------------------------------------------

def test_rr_rotates_one_frame_per_member():
    members = ports(3)
    tx = transmit_of(runner(0), members, None)
    send_all(tx, [ipv4_frame(src_port=i) for i in range(9)])
    assert [len(m.sent) for m in members] == [3, 3, 3]
    assert members[0].sent[0] != members[1].sent[0]


def test_rr_packets_per_slave_and_random():
    members = ports(2)
    tx = transmit_of(runner(0, packets_per_slave=3), members, None)
    send_all(tx, [ipv4_frame(src_port=i) for i in range(6)])
    ports_of = [int.from_bytes(f[10 + 34:10 + 36], "big") for f in members[0].sent]
    assert ports_of == [0, 1, 2] and len(members[1].sent) == 3
    members = ports(2)
    tx = transmit_of(runner(0, packets_per_slave=0), members, None)
    send_all(tx, [ipv4_frame() for _ in range(400)])
    assert all(100 < len(m.sent) < 300 for m in members)


def test_rr_sends_igmp_by_one_member_and_handles_tiny_frames():
    members = ports(2)
    tx = transmit_of(runner(0), members, None)
    send_all(tx, [ipv4_frame(proto=2) for _ in range(4)])
    assert [len(m.sent) for m in members] == [4, 0]
    tx(memoryview(bytearray(VNET + b"\x01" * 14)))   # no IP header at all: still sent
    assert sum(len(m.sent) for m in members) == 5


def test_no_usable_member_drops_and_one_member_is_direct():
    for mode in (0, 2, 3):
        assert transmit_of(runner(mode), [], None) is None
    one = ports(1)
    assert transmit_of(runner(0), one, None) == one[0].send


# -- balance-xor ---------------------------------------------------------------

@pytest.mark.parametrize("policy", range(6))
def test_xor_uses_the_kernel_hash_and_keeps_flows_on_one_member(policy):
    members = ports(3)
    tx = transmit_of(runner(2, xmit_hash_policy=policy), members, None)
    frames = [ipv4_frame(src_port=1000 + i, dst_ip=bytes([10, 0, 0, i])) for i in range(40)]
    for f in frames:
        for _ in range(3):
            tx(memoryview(bytearray(f)))
    for f in frames:
        expected = members[xmit_slave_index(bytes(f[10:]), policy, 3)]
        assert expected.sent.count(bytes(f)) == 3
    if policy in (1, 2, 3, 4):
        assert all(m.sent for m in members)   # 40 flows spread over all three


# -- broadcast -----------------------------------------------------------------

def test_broadcast_sends_every_frame_on_every_member_even_if_one_fails():
    members = ports(3)

    def broken(frame):
        raise OSError("member going away")
    members[1].send = broken
    tx = transmit_of(runner(3), members, None)
    send_all(tx, [ipv4_frame(src_port=i) for i in range(5)])
    assert len(members[0].sent) == len(members[2].sent) == 5


def test_receive_policies():
    members = ports(2)
    for mode in (0, 2, 3):
        assert runner(mode).rx_policy(members[1], None) == RX_NOT_OWN
    ab = runner(1)
    assert (ab.rx_policy(members[0], members[0]), ab.rx_policy(members[1], members[0])) == (RX_DELIVER, RX_DROP)
    assert runner(1, all_slaves_active=1).rx_policy(members[1], members[0]) == RX_DELIVER
    assert runner(5).rx_policy(members[1], members[0]) == RX_DROP
    assert runner(6).rx_policy(members[1], members[0]) == RX_UNICAST_OWN_MAC
    assert runner(6).rx_policy(members[0], members[0]) == RX_DELIVER


# -- balance-tlb ---------------------------------------------------------------

def test_load_table_places_new_buckets_on_the_least_loaded_member():
    table = LoadTable([100 << 20, 100 << 20], history=[1000] * 256)
    assert [table.assign(b) for b in range(4)] == [0, 1, 0, 1]
    fast = LoadTable([1000 << 20, 100 << 20], history=[1 << 20] * 256)
    placed = [fast.assign(b) for b in range(10)]
    assert placed.count(0) > placed.count(1)     # ten times the speed, most of the load


def test_tlb_balances_unicast_ip_and_rewrites_the_source_mac():
    members = ports(2)
    r = runner(5, xmit_hash_policy=1)
    tx = transmit_of(r, members, members[0])
    # Two flows: after a rebalance with measured load they land on two members.
    flows = [ipv4_frame(src_port=1000), ipv4_frame(src_port=1001)]
    for f in flows:
        tx(memoryview(bytearray(f)))
    measured = [50_000_000 if n else 0 for n in r.bucket_counts]
    assert sum(1 for n in measured if n) == 2
    assert r.rebalance(lambda: measured, r.clock() + 10)
    tx = transmit_of(r, members, members[0])
    for m in members:
        m.sent.clear()
    for f in flows:
        tx(memoryview(bytearray(f)))
    assert len(members[0].sent) == len(members[1].sent) == 1
    assert members[0].sent[0][16:22] == BOND_MAC           # the active keeps the bond MAC
    assert members[1].sent[0][16:22] == members[1].mac_bytes


def test_tlb_sends_broadcast_arp_and_nd_by_the_active_member():
    members = ports(2)
    tx = transmit_of(runner(5), members, members[1])
    arp = build_arp(ARPOP_REQUEST, BOND_MAC, "192.168.100.199", bytes(6), "192.168.100.1")
    nd = bytearray(VNET + b"\x33\x33\x00\x00\x00\x01" + BOND_MAC + b"\x86\xdd" + bytes(6) + b"\x3a" + bytes(33)
                   + b"\x87" + bytes(8))
    for f in (bytearray(VNET + arp), nd, ipv4_frame(dst_mac=b"\xff" * 6)):
        tx(memoryview(f))
    assert len(members[1].sent) == 3 and not members[0].sent


def assert_placed_by_hash(tx, members):
    """Flows leave by layer3+4 hash modulo the member count."""
    frames = [ipv4_frame(src_port=2000 + i) for i in range(20)]
    send_all(tx, [bytearray(f) for f in frames])
    for f in frames:
        index = xmit_slave_index(bytes(f[10:]), 1, len(members))
        assert any(s[22:] == bytes(f[22:]) for s in members[index].sent)


def test_tlb_static_uses_hash_modulo_count():
    members = ports(2)
    assert_placed_by_hash(transmit_of(runner(5, tlb_dynamic_lb=0, xmit_hash_policy=1), members, members[0]),
                          members)


# -- balance-alb ---------------------------------------------------------------

def arp_frame(op, sender_ip, target_ip, target_mac=bytes(6)):
    return bytearray(VNET + build_arp(op, BOND_MAC, sender_ip, target_mac, target_ip))


def test_alb_bucket_is_the_xor_of_the_destination_address():
    assert alb_bucket(ipv4_frame(dst_ip=bytes([10, 1, 2, 4]))) == 10 ^ 1 ^ 2 ^ 4
    assert alb_bucket(ipv4_frame(dst_ip=b"\xff\xff\xff\xff")) is None
    assert alb_bucket(ipv4_frame(proto=2)) is None                   # IGMP
    assert alb_bucket(ipv4_frame(dst_mac=b"\xff" * 6)) is None


def test_alb_replies_to_clients_round_robin_with_member_macs():
    members = ports(2)
    r = runner(6)
    tx = transmit_of(r, members, members[0])
    for i in (1, 2, 3, 4):
        tx(memoryview(arp_frame(ARPOP_REPLY, "192.168.100.199", f"192.168.100.{i}",
                                bytes.fromhex(f"0200000000b{i}"))))
    replies = [(m, parse_arp(f[10:])) for m in members for f in m.sent]
    assert len(replies) == 4
    for member, arp in replies:
        assert arp.sender_mac == member.mac_bytes        # the client will send to this member
    assert {m.name for m, _ in replies} == {"eth0", "eth1"}
    assert {c["slave"] for c in r.rlb.to_json()} == {"eth0", "eth1"}


def alb_on_clock(start):
    """Two members, an alb runner on a clock the test moves (now[0]), and its transmit."""
    members = ports(2)
    r = runner(6)
    now = [start]
    r.clock = lambda: now[0]
    return members, r, now, transmit_of(r, members, members[0])


def test_alb_request_then_reply_updates_clients_after_the_delay():
    members, r, now, tx = alb_on_clock(100.0)
    tx(memoryview(arp_frame(ARPOP_REQUEST, "192.168.100.199", "192.168.100.1")))
    tx(memoryview(arp_frame(ARPOP_REQUEST, "192.168.100.199", "192.168.100.2")))
    # The clients answer; the second one was given eth0, the first eth1.
    client_macs = {1: bytes.fromhex("0200000000c1"), 2: bytes.fromhex("0200000000c2")}
    for i, mac in client_macs.items():
        r.rlb.arp_recv(ARPOP_REPLY, mac, bytes([192, 168, 100, i]), bytes([192, 168, 100, 199]))
    assert r.rlb.updates(now[0] + 1) == []            # still inside RLB_UPDATE_DELAY
    sent = r.rlb.updates(now[0] + UPDATE_DELAY + 0.1)
    by_client = {}
    for member, frame in sent:
        arp = parse_arp(frame)
        assert arp.op == ARPOP_REPLY and arp.sender_mac == member.mac_bytes == arp.eth_src
        assert arp.eth_dst == arp.target_mac == client_macs[arp.target_ip[3]]
        by_client.setdefault(arp.target_ip[3], []).append(member.name)
    assert all(len(v) == ARP_BURST for v in by_client.values()) and set(by_client) == {1, 2}


def test_alb_moves_clients_off_a_failed_member_and_rebalances_on_return():
    members = ports(2)
    r = runner(6)
    tx = transmit_of(r, members, members[0])
    for i in range(1, 5):
        tx(memoryview(arp_frame(ARPOP_REPLY, "192.168.100.199", f"192.168.100.{i}",
                                bytes.fromhex(f"0200000000d{i}"))))
    plan_of(r, members, members[0], BOND_MAC, [members[0]])           # eth1 failed
    assert {c["slave"] for c in r.rlb.to_json()} == {"eth0"}
    assert r.rlb.rx_ntt
    transmit_of(r, members, members[0])                # eth1 is back
    assert {c["slave"] for c in r.rlb.to_json()} == {"eth0", "eth1"}


def _spoofed_replies(tx, count):
    """Our ARP replies to `count` distinct clients (10.77.x.y, each its own MAC)."""
    for i in range(count):
        ip = f"10.77.{i >> 8}.{i & 0xFF}"
        tx(memoryview(arp_frame(ARPOP_REPLY, "10.77.255.254", ip, bytes([2, 0x77, 0, 0, i >> 8, i & 0xFF]))))


def test_alb_client_table_holds_at_most_its_256_slots():
    members = ports(2)
    r = runner(6)
    tx = transmit_of(r, members, members[0])
    _spoofed_replies(tx, 10_000)
    clients = r.rlb.to_json()
    assert len(clients) == TABLE_SIZE
    # a newcomer takes over its slot (the XOR of the address bytes)
    assert {"client": "10.77.39.15", "ip": "10.77.255.254", "mac": "02:77:00:00:27:0f",
            "slave": clients[39 ^ 15 ^ 77 ^ 10]["slave"]} in clients


def test_alb_failover_tells_each_client_a_bounded_number_of_times_a_budget_per_tick():
    members, r, _, tx = alb_on_clock(100.0)
    _spoofed_replies(tx, 10_000)
    r.rlb.updates(100.0)
    while r.rlb.rx_ntt:                     # the replies' own rounds
        r.rlb.updates(100.0)
    plan_of(r, members, members[0], BOND_MAC, [members[0]])        # eth1 failed
    per_tick = []
    while r.rlb.rx_ntt:
        per_tick.append(len(r.rlb.updates(101.0)))
    assert max(per_tick) <= ARP_BURST * UPDATE_BUDGET
    assert sum(per_tick) <= ARP_BURST * TABLE_SIZE * (1 + UPDATE_RETRY)
    assert sum(per_tick) >= ARP_BURST * TABLE_SIZE // 2     # eth1's clients were told


def test_alb_clients_no_arp_refreshed_age_out():
    members, r, now, tx = alb_on_clock(50.0)
    _spoofed_replies(tx, 3)
    now[0] += CLIENT_TTL / 2
    r.rlb.arp_recv(ARPOP_REPLY, bytes([2, 0x77, 0, 0, 0, 1]), bytes([10, 77, 0, 1]),
                   bytes([10, 77, 255, 254]), now[0])
    r.tick(now[0], members)
    assert len(r.rlb.to_json()) == 3
    now[0] = 50.0 + CLIENT_TTL + 1
    r.tick(now[0], members)
    assert [c["client"] for c in r.rlb.to_json()] == ["10.77.0.1"]    # refreshed half way


def test_alb_learning_frames_every_lp_interval():
    members = ports(2)
    r = runner(6, lp_interval=1)
    transmit_of(r, members, members[0])
    first = r.tick(10.0, members)
    assert sorted(f for _, f in first) == sorted(learning_frame(m.mac_bytes) for m in members)
    assert r.tick(10.5, members) == []
    frame = learning_frame(members[1].mac_bytes)
    assert len(frame) == 60 and frame[:6] == frame[6:12] == members[1].mac_bytes and frame[12:14] == b"\x90\x00"


def test_alb_non_arp_traffic_uses_tlb_and_arp_garbage_goes_to_the_active():
    members = ports(2)
    tx = transmit_of(runner(6), members, members[0])
    tx(memoryview(bytearray(VNET + BOND_MAC + PEER_MAC + b"\x08\x06" + b"\x00" * 10)))   # truncated ARP
    assert len(members[0].sent) == 1
