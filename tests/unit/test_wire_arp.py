import pytest

from softbond.wire import arp

MAC = bytes.fromhex("020000000001")
PEER = bytes.fromhex("020000000002")


def test_gratuitous_arp_exact_bytes():
    f = arp.build_gratuitous_arp(MAC, "192.0.2.10")
    expected = bytes.fromhex(
        "ffffffffffff" "020000000001" "0806"  # broadcast, from us, ARP
        "0001" "0800" "06" "04" "0001"  # Ethernet/IPv4, request
        "020000000001" "c000020a"  # sender = us
        "000000000000" "c000020a"  # target MAC zero, target IP == sender IP
    )
    assert f == expected + bytes(60 - len(expected))
    assert len(f) == 60


def test_gratuitous_arp_vlan():
    f = arp.build_gratuitous_arp(MAC, "192.0.2.10", vlan=42)
    assert f[12:18] == bytes.fromhex("8100002a0806")
    p = arp.parse_arp(f)
    assert p.vlan == 42
    assert p.sender_ip == p.target_ip == bytes([192, 0, 2, 10])
    assert p.eth_dst == b"\xff" * 6


def test_probe_matches_bond_arp_send():
    f = arp.build_arp_probe(MAC, "10.0.0.1", "10.0.0.254")
    p = arp.parse_arp(f)
    assert p == arp.Arp(
        op=arp.ARPOP_REQUEST,
        sender_mac=MAC,
        sender_ip=bytes([10, 0, 0, 1]),
        target_mac=bytes(6),
        target_ip=bytes([10, 0, 0, 254]),
        eth_src=MAC,
        eth_dst=b"\xff" * 6,
        vlan=None,
    )
    # no source address yet: 0.0.0.0 is allowed
    assert arp.parse_arp(arp.build_arp_probe(MAC, "0.0.0.0", "10.0.0.254")).sender_ip == bytes(4)


def test_reply_defaults_eth_dst_to_target_mac():
    f = arp.build_arp(arp.ARPOP_REPLY, MAC, "10.0.0.1", PEER, b"\x0a\x00\x00\x02")
    p = arp.parse_arp(f)
    assert p.op == 2 and p.eth_dst == PEER and p.eth_src == MAC
    assert p.target_ip == bytes([10, 0, 0, 2])


def test_eth_overrides():
    other = bytes.fromhex("0200000000aa")
    f = arp.build_arp(1, MAC, "10.0.0.1", bytes(6), "10.0.0.2", eth_src=other, eth_dst=PEER)
    assert f[:12] == PEER + other
    assert arp.parse_arp(f).sender_mac == MAC


@pytest.mark.parametrize("bad_ip", ["10.1", "300.0.0.1", "", b"\x01\x02\x03", "::1"])
def test_bad_ip_rejected(bad_ip):
    with pytest.raises(ValueError):
        arp.build_arp_probe(MAC, bad_ip, "10.0.0.1")


def test_bad_mac_rejected():
    with pytest.raises(ValueError):
        arp.build_gratuitous_arp(b"\x00" * 5, "10.0.0.1")


def test_parse_rejects_non_ethernet_ipv4_arp():
    good = bytearray(arp.build_arp_probe(MAC, "10.0.0.1", "10.0.0.2"))
    assert arp.parse_arp(good) is not None
    for off, val in ((14, 0x01), (15, 0x06), (16, 0x86), (18, 8), (19, 16)):
        bad = bytearray(good)
        bad[off] = val  # htype, ptype, hlen, plen
        assert arp.parse_arp(bad) is None, off
    not_arp = bytearray(good)
    not_arp[12:14] = b"\x08\x00"
    assert arp.parse_arp(not_arp) is None


def test_parse_truncated_and_unpadded():
    f = arp.build_arp_probe(MAC, "10.0.0.1", "10.0.0.2")
    assert arp.parse_arp(f[:42]) is not None  # 14 + 28, no padding
    assert arp.parse_arp(f[:41]) is None
    assert arp.parse_arp(b"") is None
    assert arp.parse_arp(memoryview(f)) is not None
    assert arp.parse_arp(bytearray(f)) is not None


def test_parse_priority_tagged_has_vlan_zero():
    f = arp.build_gratuitous_arp(MAC, "10.0.0.1", vlan=0x6000)  # PCP 3, VID 0
    assert arp.parse_arp(f).vlan == 0


def test_parse_qinq():
    inner = arp.build_arp_probe(MAC, "10.0.0.1", "10.0.0.2")
    f = inner[:12] + b"\x88\xa8\x00\x07\x81\x00\x00\x09" + inner[12:]
    p = arp.parse_arp(f)
    assert p.vlan == 7 and p.target_ip == bytes([10, 0, 0, 2])
