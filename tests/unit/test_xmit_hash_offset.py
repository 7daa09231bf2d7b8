"""The xmit hash functions' ``offset``: a frame behind k bytes of anything
hashes at offset=k exactly as the bare frame does at offset 0, for every
policy, byte order and vlan_accel setting -- including VLAN tags, IPv6,
fragments, tunnels, ICMP errors and frames cut short anywhere.  The data
path relies on it: runners hash frames in place, virtio-net header first.
"""

import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from softbond.datapath.abi import MODE_TLB, MODE_XOR
from softbond.datapath.plan import ForwardingPlan, compile_transmit
from softbond.modes.base import VNET
from softbond.modes.tlb import tlb_bucket
from softbond.wire import xmit_hash as xh

POLICIES = sorted(xh.POLICY_NAMES)
FUNCTIONS = [xh.hash_function(p) for p in POLICIES]
SETTINGS = [dict(vlan_accel=v, little=le) for v in (True, False) for le in (True, False)]

MACS = bytes.fromhex("020000000002" "020000000001")


def ipv4(proto: int, payload: bytes = b"", *, frag: int = 0x4000, ihl: int = 5,
         src: bytes = bytes([10, 0, 0, 1]), dst: bytes = bytes([10, 0, 0, 2])) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(payload), 0x1234, frag,
                         64, proto, 0, src, dst)
    return header + bytes(max(0, ihl * 4 - 20)) + payload


def ipv6(next_header: int, payload: bytes = b"") -> bytes:
    return (struct.pack("!IHBB", 0x60000000, len(payload), next_header, 64)
            + bytes.fromhex("20010db8000000000000000000000001")
            + bytes.fromhex("20010db8000000000000000000000002") + payload)


def eth(ethertype: int, payload: bytes, tags: tuple[tuple[int, int], ...] = ()) -> bytes:
    out = MACS
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    return out + struct.pack("!H", ethertype) + payload


TCP = struct.pack("!HHIIHHHH", 40000, 5201, 1, 2, 0x5010, 65535, 0, 0)
UDP = struct.pack("!HHHH", 5353, 53, 8, 0)
ECHO = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1)

# Named frames: each of the shapes the hash treats differently.
FRAMES = {
    "tcp4": eth(0x0800, ipv4(6, TCP)),
    "udp4": eth(0x0800, ipv4(17, UDP)),
    "tcp4-vlan": eth(0x0800, ipv4(6, TCP), ((0x8100, 0xA064),)),
    "tcp4-qinq": eth(0x0800, ipv4(6, TCP), ((0x88A8, 7), (0x8100, 100))),
    "tcp4-first-fragment": eth(0x0800, ipv4(6, TCP, frag=0x2000)),
    "tcp4-later-fragment": eth(0x0800, ipv4(6, TCP, frag=0x00B9)),
    "tcp4-options": eth(0x0800, ipv4(6, TCP, ihl=7)),
    "ihl-too-small": eth(0x0800, ipv4(6, TCP, ihl=3)),
    "icmp4-echo": eth(0x0800, ipv4(1, ECHO)),
    "icmp4-error": eth(0x0800, ipv4(1, struct.pack("!BBHI", 3, 3, 0, 0) + ipv4(17, UDP))),
    "ipip": eth(0x0800, ipv4(4, ipv4(6, TCP, src=b"\xc0\xa8\x00\x01"))),
    "gre-teb": eth(0x0800, ipv4(47, struct.pack("!HH", 0x2000, 0x6558) + b"\0\0\0\x07"
                                + eth(0x0800, ipv4(17, UDP)))),
    "tcp6": eth(0x86DD, ipv6(6, TCP)),
    "tcp6-vlan": eth(0x86DD, ipv6(6, TCP), ((0x8100, 5),)),
    "tcp6-hop-by-hop": eth(0x86DD, ipv6(0, bytes([6, 0]) + bytes(6) + TCP)),
    "tcp6-fragment": eth(0x86DD, ipv6(44, bytes([6, 0, 0, 1]) + bytes(4) + TCP)),
    "icmp6-echo": eth(0x86DD, ipv6(58, struct.pack("!BBHHH", 128, 0, 0, 7, 1))),
    "icmp6-error": eth(0x86DD, ipv6(58, struct.pack("!BBHI", 1, 0, 0, 0) + ipv6(17, UDP))),
    "sit": eth(0x0800, ipv4(41, ipv6(17, UDP))),
    "arp": eth(0x0806, bytes.fromhex("000108000604000102") + bytes(19)),
    "lacp": eth(0x8809, bytes(110)),
    "pppoe": eth(0x8864, bytes.fromhex("11000001") + struct.pack("!HH", 42, 0x0021)
                 + ipv4(6, TCP)),
    "mpls": eth(0x8847, bytes(20)),
    "tipc": eth(0x88CA, bytes(40)),
}
JUNK = [b"", b"\0", bytes(VNET), b"\xff" * VNET, bytes(range(256)) * 2,
        FRAMES["tcp4-vlan"], b"\x81\x00" * 40]


def check(frame: bytes, junk: bytes, **kw) -> None:
    """offset=len(junk) on junk+frame == offset 0 on frame, for every policy,
    on bytes and on a writable memoryview (what the data path has)."""
    padded = junk + frame
    view = memoryview(bytearray(padded))
    for fn in FUNCTIONS:
        want = fn(frame, **kw)
        assert fn(frame, 0, **kw) == want
        assert fn(padded, len(junk), **kw) == want, (fn.__name__, kw)
        assert fn(padded, offset=len(junk), **kw) == want
        assert fn(view, len(junk), **kw) == want
        assert 0 <= want < 2**32


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("kw", SETTINGS, ids=lambda kw: f"accel{kw['vlan_accel']:d}-le{kw['little']:d}")
def test_named_frames_hash_the_same_behind_any_prefix(name, kw):
    frame = FRAMES[name]
    for junk in JUNK:
        check(frame, junk, **kw)


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_every_truncation_hashes_the_same_behind_a_prefix(name):
    frame = FRAMES[name]
    for cut in range(len(frame) + 1):
        for kw in SETTINGS:
            check(frame[:cut], bytes(VNET), **kw)
            check(frame[:cut], b"\x08\x00" * 9, **kw)


def test_named_frames_hash_differently_by_policy():
    # The table above is not degenerate: the shapes give different hashes.
    for fn in FUNCTIONS[1:]:
        assert len({fn(f) for f in FRAMES.values()}) > 3


def test_short_frames_hash_to_zero_and_the_prefix_is_never_read():
    for n in range(14):
        for fn in FUNCTIONS:
            assert fn(b"\xff" * VNET + bytes(n), VNET) == 0
            assert fn(bytes(VNET + n), VNET + 1) == 0
    # An offset past the end is a frame of length 0.
    assert all(fn(FRAMES["tcp4"], len(FRAMES["tcp4"]) + 5) == 0 for fn in FUNCTIONS)
    # What lies before the offset does not matter, only what follows it.
    frame = FRAMES["tcp4-vlan"]
    for fn in FUNCTIONS:
        assert len({fn(junk + frame, len(junk)) for junk in (bytes(12), b"\xff" * 12,
                                                              frame[:12])}) == 1


def test_dispatch_and_slave_index_take_the_offset():
    frame, padded = FRAMES["tcp6-vlan"], bytes(VNET) + FRAMES["tcp6-vlan"]
    for policy in POLICIES:
        for kw in SETTINGS:
            want = xh.xmit_hash(frame, policy, **kw)
            assert xh.xmit_hash(padded, policy, offset=VNET, **kw) == want
            assert xh.xmit_hash(padded, xh.POLICY_NAMES[policy], offset=VNET, **kw) == want
            for count in (1, 2, 3, 7):
                assert xh.xmit_slave_index(padded, policy, count, offset=VNET, **kw) == want % count
                assert xh.xmit_slave_index(frame, policy, count, **kw) == want % count


# -- arbitrary frames ------------------------------------------------------------

_L4 = st.sampled_from([TCP, UDP, ECHO, struct.pack("!BBHI", 11, 0, 0, 0) + ipv4(6, TCP),
                       b"", bytes(3), bytes(range(40))]) | st.binary(max_size=48)
_IP_PROTO = st.sampled_from([0, 1, 4, 6, 17, 33, 41, 43, 44, 47, 50, 51, 58, 60, 132, 136,
                             137]) | st.integers(0, 255)


@st.composite
def _ip_packet(draw):
    l4 = draw(_L4)
    proto = draw(_IP_PROTO)
    if draw(st.booleans()):
        frag = draw(st.sampled_from([0, 0x4000, 0x2000, 0x00B9, 0x20B9, 0x3FFF]))
        return 0x0800, ipv4(proto, l4, frag=frag, ihl=draw(st.sampled_from([5, 5, 6, 4, 0, 15])),
                            src=draw(st.binary(min_size=4, max_size=4)),
                            dst=draw(st.binary(min_size=4, max_size=4)))
    return 0x86DD, ipv6(proto, l4)


@st.composite
def frames(draw):
    """Ethernet frames of the shapes the policies distinguish, cut anywhere,
    plus plain noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=80))
    tags = tuple(draw(st.lists(st.tuples(st.sampled_from([0x8100, 0x88A8]),
                                         st.integers(0, 0xFFFF)), max_size=2)))
    kind = draw(st.integers(0, 3))
    if kind <= 1:
        ethertype, payload = draw(_ip_packet())
    elif kind == 2:  # something tunnelled, or the PPPoE/GRE/IPIP paths
        inner_type, inner = draw(_ip_packet())
        ethertype, payload = draw(st.sampled_from([
            (0x0800, ipv4(4 if inner_type == 0x0800 else 41, inner)),
            (0x86DD, ipv6(41 if inner_type == 0x86DD else 4, inner)),
            (0x0800, ipv4(47, struct.pack("!HH", 0, inner_type) + inner)),
            (0x8864, bytes.fromhex("11000000") + struct.pack(
                "!HH", len(inner) + 2, 0x0021 if inner_type == 0x0800 else 0x0057) + inner),
        ]))
    else:
        ethertype = draw(st.sampled_from([0x0806, 0x8809, 0x8847, 0x88CA, 0x8906, 0x88F7,
                                          0x8100, 0x892F]) | st.integers(0, 0xFFFF))
        payload = draw(st.binary(max_size=64))
    frame = draw(st.binary(min_size=12, max_size=12)) + eth(ethertype, payload, tags)[12:]
    return frame[:draw(st.integers(0, len(frame)))] if draw(st.booleans()) else frame


@settings(max_examples=400, deadline=None)
@given(frames(), st.binary(max_size=40), st.booleans(), st.booleans())
@example(FRAMES["tcp4-qinq"][:20], bytes(VNET), True, True)
@example(FRAMES["icmp4-error"][:45], bytes(VNET), True, False)
def test_any_frame_hashes_the_same_behind_any_prefix(frame, junk, vlan_accel, little):
    check(frame, junk, vlan_accel=vlan_accel, little=little)


# -- the data paths hash the frame in place ----------------------------------------

class _Port:
    def __init__(self, name: str, mac: bytes):
        self.name, self.mac_bytes, self.speed, self.up = name, mac, 1000, True
        self.sent: list[bytes] = []

    def send(self, frame) -> int:
        self.sent.append(bytes(frame))
        return len(frame)


def _ports(count: int) -> list[_Port]:
    return [_Port(f"eth{i}", bytes([2, 0, 0, 0, 1, i])) for i in range(count)]


def _compiled(mode: int, policy: int, ports: list[_Port], buckets=None):
    """(transmit, bucket byte counts) of a plan over `ports`, the first active."""
    plan = ForwardingPlan(mode, policy, 1, tuple((i + 1, p.mac_bytes) for i, p in enumerate(ports)), 1, {},
                          buckets, bytes(6))
    counts = [0] * 256
    return compile_transmit(plan, {i + 1: p.send for i, p in enumerate(ports)}, counts, lambda f: False), counts


def _unicast_frames() -> list[bytes]:
    return [FRAMES[name] for name in ("tcp4", "udp4", "tcp4-vlan", "tcp6", "icmp4-echo",
                                      "tcp4-later-fragment")] + [
        eth(0x0800, ipv4(6, struct.pack("!HH", 1000 + i, 80) + TCP[4:],
                         src=bytes([10, 0, 1, i]))) for i in range(16)]


@pytest.mark.parametrize("policy", POLICIES)
def test_xor_sends_each_frame_by_the_hash_of_its_ethernet_frame(policy):
    ports = _ports(3)
    transmit, _ = _compiled(MODE_XOR, policy, ports)
    fn = xh.hash_function(policy)
    for frame in _unicast_frames():
        before = [len(p.sent) for p in ports]
        transmit(memoryview(bytearray(bytes(VNET) + frame)))
        index = fn(frame) % 3
        assert [len(p.sent) - n for p, n in zip(ports, before)] == [int(i == index)
                                                                    for i in range(3)]
        assert ports[index].sent[-1] == bytes(VNET) + frame


@pytest.mark.parametrize("policy", POLICIES)
def test_tlb_buckets_and_static_placement_use_the_ethernet_frame(policy):
    fn = xh.hash_function(policy)
    bucket = tlb_bucket(policy)
    # tlb balances untagged unicast IP only; a tagged frame takes the active member.
    frames = [f for f in _unicast_frames() if f != FRAMES["tcp4-vlan"]]
    assert bucket(memoryview(bytearray(bytes(VNET) + FRAMES["tcp4-vlan"]))) is None
    for frame in frames:
        assert bucket(memoryview(bytearray(bytes(VNET) + frame))) == fn(frame) & 0xFF
    ports = _ports(3)
    transmit, _ = _compiled(MODE_TLB, policy, ports)
    for frame in frames:
        transmit(memoryview(bytearray(bytes(VNET) + frame)))
        index = fn(frame) % 3
        sent = ports[index].sent[-1]
        assert sent[VNET + 12:] == frame[12:]
        # Off the active member, the source MAC is the member's own.
        assert sent[VNET + 6:VNET + 12] == (frame[6:12] if index == 0 else ports[index].mac_bytes)
    # With a bucket table the bucket (low byte of the hash) is counted and decides.
    transmit, counts = _compiled(MODE_TLB, policy, ports, tuple(b % 3 for b in range(256)))
    for frame in frames:
        before = counts[fn(frame) & 0xFF]
        transmit(memoryview(bytearray(bytes(VNET) + frame)))
        assert counts[fn(frame) & 0xFF] == before + len(frame)
        assert ports[(fn(frame) & 0xFF) % 3].sent[-1][VNET + 12:] == frame[12:]
