import pytest

from softbond.wire import ethernet as eth


def test_constants():
    assert eth.ETH_P_IP == 0x0800
    assert eth.ETH_P_ARP == 0x0806
    assert eth.ETH_P_IPV6 == 0x86DD
    assert eth.ETH_P_8021Q == 0x8100
    assert eth.ETH_P_8021AD == 0x88A8
    assert eth.ETH_P_SLOW == 0x8809
    assert eth.ETH_P_LOOPBACK == 0x9000
    assert eth.BROADCAST_MAC == b"\xff" * 6
    assert eth.SLOW_PROTOCOLS_MAC == bytes([0x01, 0x80, 0xC2, 0x00, 0x00, 0x02])


@pytest.mark.parametrize(
    "text",
    ["02:00:5e:10:00:ff", "02-00-5E-10-00-FF", "02005e1000ff", "0200.5e10.00ff", " 02:00:5E:10:00:Ff "],
)
def test_mac_to_bytes_forms(text):
    assert eth.mac_to_bytes(text) == b"\x02\x00\x5e\x10\x00\xff"


@pytest.mark.parametrize(
    "bad", ["", "02:00:5e:10:00", "02:00:5e:10:00:ff:01", "02:00-5e:10:00:ff", "zz:00:5e:10:00:ff", 5]
)
def test_mac_to_bytes_rejects(bad):
    with pytest.raises(ValueError):
        eth.mac_to_bytes(bad)


def test_mac_to_bytes_passthrough_and_roundtrip():
    raw = bytes(range(6))
    assert eth.mac_to_bytes(raw) == raw
    with pytest.raises(ValueError):
        eth.mac_to_bytes(b"\x00" * 5)
    assert eth.mac_to_str(b"\x02\x00\x5e\x10\x00\xff") == "02:00:5e:10:00:ff"
    assert eth.mac_to_str(memoryview(b"\xaa\xbb\xcc\xdd\xee\xff")) == "aa:bb:cc:dd:ee:ff"
    assert eth.mac_to_bytes(eth.mac_to_str(raw)) == raw


def test_is_multicast():
    assert eth.is_multicast(eth.BROADCAST_MAC)
    assert eth.is_multicast(eth.SLOW_PROTOCOLS_MAC)
    assert eth.is_multicast(b"\x33\x33\x00\x00\x00\x01")
    assert not eth.is_multicast(b"\x02\x00\x00\x00\x00\x01")
    assert not eth.is_multicast(b"")
    assert eth.is_broadcast(eth.BROADCAST_MAC)
    assert not eth.is_broadcast(eth.SLOW_PROTOCOLS_MAC)


DST = bytes.fromhex("020000000002")
SRC = bytes.fromhex("020000000001")


def test_l3_info_untagged():
    f = DST + SRC + b"\x08\x00" + bytes(20)
    assert eth.l3_info(f) == (0x0800, 14, 0)


def test_l3_info_one_tag():
    f = DST + SRC + b"\x81\x00" + (0x2000 | 100).to_bytes(2, "big") + b"\x86\xdd" + bytes(40)
    # PCP bits (0x2000) are not part of the VLAN id
    assert eth.l3_info(f) == (0x86DD, 18, 100)


def test_l3_info_qinq_reports_outer_vid():
    f = DST + SRC + b"\x88\xa8\x00\x0a" + b"\x81\x00\x00\x14" + b"\x08\x06" + bytes(28)
    assert eth.l3_info(f) == (0x0806, 22, 10)


def test_l3_info_three_tags_skips_only_two():
    f = DST + SRC + b"\x81\x00\x00\x01" + b"\x81\x00\x00\x02" + b"\x81\x00\x00\x03" + b"\x08\x00"
    assert eth.l3_info(f) == (0x8100, 22, 1)


def test_l3_info_short_and_truncated():
    assert eth.l3_info(b"") == (0, 0, 0)
    assert eth.l3_info(bytes(13)) == (0, 0, 0)
    assert eth.l3_info(DST + SRC + b"\x81\x00" + b"\x00") == (0x8100, 14, 0)
    assert eth.l3_info(DST + SRC + b"\x81\x00\x00\x05\x81\x00\x00") == (0x8100, 18, 5)


def test_l3_info_accepts_bytearray_and_memoryview():
    f = DST + SRC + b"\x08\x00" + bytes(20)
    assert eth.l3_info(bytearray(f)) == (0x0800, 14, 0)
    assert eth.l3_info(memoryview(f)) == (0x0800, 14, 0)
    assert eth.l3_info(memoryview(b"xx" + f)[2:]) == (0x0800, 14, 0)


def test_eth_header_and_pad():
    h = eth.eth_header(DST, SRC, 0x0806)
    assert h == DST + SRC + b"\x08\x06"
    t = eth.eth_header(DST, SRC, 0x0806, vlan=0xFFF)
    assert t == DST + SRC + b"\x81\x00\x0f\xff\x08\x06"
    with pytest.raises(ValueError):
        eth.eth_header(DST, SRC, 0x0806, vlan=0x10000)
    p = eth.pad(h)
    assert len(p) == 60 and p.startswith(h) and p[14:] == bytes(46)
    long = bytes(100)
    assert eth.pad(long) == long
