"""LACPDU / Marker PDU codecs (softbond.wire.lacpdu)."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from softbond.wire import lacpdu as L
from softbond.wire.lacpdu import (
    LacpInfo, Lacpdu, MarkerPdu, PduError, UnknownSubtype, build_lacpdu, build_marker,
    parse_slow,
)

SRC = bytes.fromhex("525400aabb01")
ACTOR = LacpInfo(system_priority=65535, system=bytes.fromhex("525400aabb01"), key=9,
                 port_priority=255, port=1, state=0x3F)
PARTNER = LacpInfo(system_priority=32768, system=bytes.fromhex("a8f94b000001"), key=1000,
                   port_priority=32768, port=5, state=0x3D)
PDU = Lacpdu(ACTOR, PARTNER)

# The 124-octet reference frame, written field by field from the 802.1AX table.
REFERENCE = bytes.fromhex(
    "0180c2000002"          # destination: Slow Protocols multicast
    "525400aabb01"          # source
    "8809"                  # ethertype
    "01" "01"               # subtype LACP, version 1
    "01" "14"               # actor information TLV, length 20
    "ffff" "525400aabb01" "0009" "00ff" "0001" "3f" "000000"
    "02" "14"               # partner information TLV, length 20
    "8000" "a8f94b000001" "03e8" "8000" "0005" "3d" "000000"
    "03" "10"               # collector information TLV, length 16
    "0000" + "00" * 12 +    # collector max delay, reserved
    "00" "00" +             # terminator
    "00" * 50               # reserved
)

MARKER_REFERENCE = bytes.fromhex(
    "0180c2000002" "525400aabb01" "8809"
    "02" "01"               # subtype Marker, version 1
    "01" "10"               # marker information TLV, length 16
    "0007" "a8f94b000001" "0000abcd" "0000"
    "00" "00" + "00" * 90
)


def _patch(frame: bytes, payload_offset: int, value: bytes) -> bytes:
    off = 14 + payload_offset
    return frame[:off] + value + frame[off + len(value):]


# -- layout and round trips ---------------------------------------------------

def test_reference_frame_is_124_octets():
    assert len(REFERENCE) == 124 == L.FRAME_LEN
    assert len(MARKER_REFERENCE) == 124


def test_build_lacpdu_is_byte_exact():
    assert build_lacpdu(SRC, PDU) == REFERENCE


def test_parse_reference_frame():
    assert parse_slow(REFERENCE) == PDU


def test_round_trip_memoryview_and_bytearray():
    frame = build_lacpdu(SRC, PDU)
    assert parse_slow(memoryview(frame)) == PDU
    assert parse_slow(bytearray(frame)) == PDU
    assert parse_slow(memoryview(bytearray(frame)).cast("c")) == PDU


def test_round_trip_collector_delay_and_extremes():
    info = LacpInfo(0, b"\xff" * 6, 0xFFFF, 0, 0xFFFF, 0xFF)
    pdu = Lacpdu(info, info, collector_max_delay=0xFFFF)
    assert parse_slow(build_lacpdu(SRC, pdu)) == pdu


def test_marker_build_is_byte_exact_and_round_trips():
    marker = MarkerPdu(kind=1, port=7, system=bytes.fromhex("a8f94b000001"),
                       transaction_id=0xABCD)
    assert build_marker(SRC, marker) == MARKER_REFERENCE
    assert parse_slow(MARKER_REFERENCE) == marker
    response = MarkerPdu(2, 7, marker.system, 0xABCD)
    assert parse_slow(build_marker(SRC, response)) == response


def test_trailing_octets_are_ignored():
    assert parse_slow(REFERENCE + b"\x12\x34\x56\x78") == PDU


def test_reserved_octets_are_ignored_on_receipt():
    frame = _patch(REFERENCE, 19, b"\xaa\xbb\xcc")
    frame = _patch(frame, 60, b"\xee" * 50)
    assert parse_slow(frame) == PDU


def test_version_2_with_extra_tlvs_is_accepted():
    extra = bytes([0x04, 0x06, 0, 0x80, 0xC2, 0x01])  # a 6-octet TLV, then terminator
    frame = _patch(REFERENCE, 1, b"\x02")
    frame = _patch(frame, 58, extra + b"\x00\x00")
    assert parse_slow(frame) == PDU


def test_state_names():
    assert L.state_names(0x3F) == ["activity", "timeout", "aggregation", "synchronization",
                                   "collecting", "distributing"]
    assert L.state_names(0xC0) == ["defaulted", "expired"]


def test_build_rejects_bad_arguments():
    with pytest.raises(ValueError):
        build_lacpdu(b"\x00" * 5, PDU)
    with pytest.raises(ValueError):
        build_lacpdu(SRC, Lacpdu(LacpInfo(1 << 16, SRC, 0, 0, 1, 0), PARTNER))
    with pytest.raises(ValueError):
        build_marker(SRC, MarkerPdu(3, 1, SRC, 1))


# -- malformed frames ------------------------------------------------------------

@pytest.mark.parametrize("length", [0, 1, 13, 14, 15, 60, 123])
def test_short_frames(length):
    with pytest.raises(PduError, match="truncated"):
        parse_slow(REFERENCE[:length])


@pytest.mark.parametrize("offset, value, reason", [
    (3, b"\x15", "bad actor length 21"),
    (3, b"\x13", "bad actor length 19"),
    (23, b"\xff", "bad partner length 255"),
    (43, b"\x11", "bad collector length 17"),
    (2, b"\x02", "bad TLV type 0x02 at offset 2"),
    (22, b"\x01", "bad TLV type 0x01 at offset 22"),
    (42, b"\x05", "bad TLV type 0x05 at offset 42"),
    (1, b"\x00", "bad version 0"),
    (58, b"\x01", "terminator missing"),
    (59, b"\x02", "bad terminator length 2"),
])
def test_malformed_lacpdu(offset, value, reason):
    with pytest.raises(PduError, match=reason):
        parse_slow(_patch(REFERENCE, offset, value))


def test_version_2_without_terminator():
    frame = _patch(REFERENCE, 1, b"\x02")
    frame = _patch(frame, 58, b"\x04\x40")  # TLV longer than the frame
    with pytest.raises(PduError, match="bad TLV length"):
        parse_slow(frame)
    frame = _patch(REFERENCE, 1, b"\x02")
    frame = _patch(frame, 58, b"\x04\x01")  # TLV shorter than its header
    with pytest.raises(PduError, match="bad TLV length"):
        parse_slow(frame)


def test_vlan_tagged_is_refused():
    tagged = REFERENCE[:12] + b"\x81\x00\x00\x05" + REFERENCE[12:]
    with pytest.raises(PduError, match="VLAN"):
        parse_slow(tagged)
    qinq = REFERENCE[:12] + b"\x88\xa8\x00\x05" + REFERENCE[12:]
    with pytest.raises(PduError, match="VLAN"):
        parse_slow(qinq)


def test_other_ethertype_and_destination():
    with pytest.raises(PduError, match="not a slow protocols frame"):
        parse_slow(REFERENCE[:12] + b"\x08\x00" + REFERENCE[14:])
    with pytest.raises(PduError, match="bad destination"):
        parse_slow(b"\xff" * 6 + REFERENCE[6:])


def test_unknown_subtype_is_its_own_error():
    oam = _patch(REFERENCE, 0, b"\x03")
    with pytest.raises(UnknownSubtype) as info:
        parse_slow(oam)
    assert info.value.subtype == 3
    assert isinstance(info.value, PduError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("offset, value, reason", [
    (1, b"\x02", "bad version 2"),
    (2, b"\x03", "bad TLV type 0x03 at offset 2"),
    (3, b"\x16", "bad marker length 22"),
    (18, b"\x01", "terminator missing"),
    (19, b"\x01", "bad terminator length 1"),
])
def test_malformed_marker(offset, value, reason):
    with pytest.raises(PduError, match=reason):
        parse_slow(_patch(MARKER_REFERENCE, offset, value))


def test_short_marker():
    with pytest.raises(PduError, match="truncated"):
        parse_slow(MARKER_REFERENCE[:60])


def test_non_buffer_inputs():
    for value in (None, "text", 5, [1, 2, 3]):
        with pytest.raises(PduError):
            parse_slow(value)
    with pytest.raises(PduError):
        parse_slow(memoryview(REFERENCE)[::2])  # not contiguous
    words = memoryview(bytearray(REFERENCE)).cast("H")
    assert parse_slow(words) == PDU


# -- fuzzing ---------------------------------------------------------------------

def _only_pdu_error(data) -> None:
    try:
        result = parse_slow(data)
    except PduError:
        return
    assert isinstance(result, (Lacpdu, MarkerPdu))


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    _only_pdu_error(data)


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_payload_behind_slow_header(payload):
    _only_pdu_error(REFERENCE[:14] + payload)


@st.composite
def mutated(draw):
    frame = bytearray(draw(st.sampled_from([REFERENCE, MARKER_REFERENCE])))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(frame) - 1))
        frame[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(frame) + 8))
    return bytes(frame[:cut]) + draw(st.binary(max_size=8))


@settings(max_examples=5000, deadline=None)
@given(mutated())
def test_fuzz_mutations_of_valid_frames(data):
    _only_pdu_error(data)


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(min_size=6, max_size=6), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFF),
       st.integers(0, 0xFFFF))
def test_fuzz_round_trip(prio, system, key, pprio, port, state, delay):
    info = LacpInfo(prio, system, key, pprio, port, state)
    pdu = Lacpdu(info, LacpInfo(pprio, system[::-1], port, prio, key, state ^ 0xFF), delay)
    frame = build_lacpdu(SRC, pdu)
    assert len(frame) == 124
    assert parse_slow(frame) == pdu
    assert struct.unpack_from("!H", frame, 12)[0] == L.ETH_P_SLOW
