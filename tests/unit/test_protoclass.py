"""wire/protoclass.classify: every class, through VLAN tags, on short frames."""
import pytest

from softbond.datapath.abi import PROTO_BLOCK, PROTO_CLASS_COUNT, PROTO_TX, proto_index, protocols
from softbond.wire.protoclass import PROTO_CLASSES, classify
from softbond.wire.vnet import gso_segments, gso_wire_bytes

VNET = bytes(10)
MACS = bytes.fromhex("0200000000010200000000aa")


def eth(kind: int, body: bytes, tags=()) -> bytes:
    tagged = b"".join(tpid.to_bytes(2, "big") + (5).to_bytes(2, "big") for tpid in tags)
    return VNET + MACS + tagged + kind.to_bytes(2, "big") + body


def ipv4(proto: int) -> bytes:
    return bytes([0x45]) + bytes(8) + bytes([proto]) + bytes(30)


def ipv6(next_header: int) -> bytes:
    return bytes([0x60]) + bytes(5) + bytes([next_header]) + bytes(53)


CASES = [
    (eth(0x0806, bytes(28)), "arp"),
    (eth(0x8809, bytes(100)), "lacp"),
    (eth(0x0800, ipv4(6)), "ipv4_tcp"),
    (eth(0x0800, ipv4(17)), "ipv4_udp"),
    (eth(0x0800, ipv4(1)), "ipv4_icmp"),
    (eth(0x0800, ipv4(2)), "ipv4_other"),          # IGMP
    (eth(0x86DD, ipv6(6)), "ipv6_tcp"),
    (eth(0x86DD, ipv6(17)), "ipv6_udp"),
    (eth(0x86DD, ipv6(58)), "ipv6_icmp"),
    (eth(0x86DD, ipv6(0)), "ipv6_other"),          # hop-by-hop first (MLD)
    (eth(0x88CC, bytes(40)), "other"),             # LLDP
    (eth(0x0800, ipv4(17), tags=[0x8100]), "ipv4_udp"),
    (eth(0x86DD, ipv6(58), tags=[0x88A8, 0x8100]), "ipv6_icmp"),
    (eth(0x0806, bytes(28), tags=[0x8100, 0x8100, 0x8100]), "other"),   # past two tags: not looked into
    (eth(0x0800, b"\x45" + bytes(8)), "ipv4_other"),                   # cut before the protocol byte
    (VNET + MACS + b"\x08", "other"),                                   # cut in the ethertype
]


@pytest.mark.parametrize("frame, expected", CASES)
def test_classify(frame, expected):
    assert PROTO_CLASSES[classify(frame, len(frame))] == expected
    assert PROTO_CLASSES[classify(memoryview(bytearray(frame) + bytes(64)), len(frame))] == expected


def test_every_class_is_reached():
    assert {expected for _, expected in CASES} == set(PROTO_CLASSES)


def test_classify_at_another_offset():
    frame = eth(0x0800, ipv4(6))[10:]
    assert PROTO_CLASSES[classify(frame, len(frame), 0)] == "ipv4_tcp"


def test_super_frame_wire_bytes_repeat_the_headers():
    # TCPv4, gso_size 1000, 66 bytes of headers (14 + 20 + 32), 2500 payload bytes: 3 segments
    header = bytes([1, 1]) + (66).to_bytes(2, "little") + (1000).to_bytes(2, "little") + \
        (34).to_bytes(2, "little") + (16).to_bytes(2, "little")
    tcp = bytes(12) + b"\x80" + bytes(19)
    frame = header + MACS + b"\x08\x00" + ipv4(6)[:20] + tcp + bytes(2500)
    assert gso_segments(frame, len(frame)) == 3
    assert gso_wire_bytes(frame, len(frame), 3) == 3 * 66 + 2500
    plain = eth(0x0800, ipv4(17))
    assert gso_wire_bytes(plain, len(plain), 1) == len(plain) - 10


def test_protocols_json_reads_a_block_by_direction_and_class():
    block = list(range(PROTO_BLOCK))
    out = protocols(block)
    assert list(out) == ["rx", "tx"] and list(out["tx"]) == list(PROTO_CLASSES)
    i = proto_index(PROTO_TX, PROTO_CLASSES.index("ipv6_udp"))
    assert out["tx"]["ipv6_udp"] == {"packets": i, "bytes": i + 1}
    assert PROTO_BLOCK == 2 * PROTO_CLASS_COUNT * 2
