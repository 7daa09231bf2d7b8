import struct

from hypothesis import given, settings, strategies as st

from softbond.wire import ndisc

MAC = bytes.fromhex("020000000001")
IP = "2001:db8::1"

# Unsolicited NA for 2001:db8::1 from 02:00:00:00:00:01, built by hand.
#
# ICMPv6 checksum, one's complement sum of 16-bit words:
#   pseudo-header src 2001:0db8::0001     2001 + 0db8 + 0001          = 2dba
#   pseudo-header dst ff02::1             ff02 + 0001                 = ff03
#   upper-layer length 32, next header 58 0020 + 003a
#   ICMPv6: 8800 (type 136, code 0) 0000 (csum) 2000 (O flag) 0000
#           target 2001 0db8 0000 .. 0001, option 0201 0200 0000 0001
#           8800+2000+2001+0db8+0001+0201+0200+0001               = d9bc
#   total 2dba+ff03+0020+003a+d9bc = 0x206d3 -> fold 06d3+2 = 06d5
#   checksum = ~06d5 = f92a
KNOWN_NA = bytes.fromhex(
    "333300000001" "020000000001" "86dd"  # eth: all-nodes multicast MAC
    "60000000" "0020" "3a" "ff"  # IPv6, payload 32, ICMPv6, hop limit 255
    "20010db8000000000000000000000001"  # src = the advertised address
    "ff020000000000000000000000000001"  # dst ff02::1
    "88" "00" "f92a" "20000000"  # NA, code 0, checksum, flags O
    "20010db8000000000000000000000001"  # target
    "0201" "020000000001"  # target link-layer address option
)

# NS from 2001:db8::1 for 2001:db8::abcd:1234, by hand.
#   src 2dba; dst ff02::1:ffcd:1234 -> ff02+0001+ffcd+1234 = 21104
#   length 0020, next header 003a
#   ICMPv6: 8700 + 2001 + 0db8 + abcd + 1234 + 0101 + 0200 + 0001 = 175bc
#   total 2dba+21104+0020+003a+175bc = 0x3b4d4 -> fold b4d4+3 = b4d7
#   checksum = ~b4d7 = 4b28
KNOWN_NS = bytes.fromhex(
    "3333ffcd1234" "020000000001" "86dd"  # solicited-node multicast MAC
    "60000000" "0020" "3a" "ff"
    "20010db8000000000000000000000001"
    "ff0200000000000000000001ffcd1234"  # solicited-node group of the target
    "87" "00" "4b28" "00000000"
    "20010db80000000000000000abcd1234"
    "0101" "020000000001"  # source link-layer address option
)


def ref_checksum(src: bytes, dst: bytes, icmp: bytes) -> int:
    """Independent checksum: the one's complement sum of 16-bit words is
    congruent to the big-endian integer value of the data modulo 0xffff
    (65536 == 1 mod 65535)."""
    data = src + dst + struct.pack("!I3xB", len(icmp), 58) + icmp
    if len(data) % 2:
        data += b"\0"
    v = int.from_bytes(data, "big") % 0xFFFF
    if v == 0:
        return 0 if any(data) else 0xFFFF
    return 0xFFFF - v


def test_unsolicited_na_known_good():
    assert ndisc.build_unsolicited_na(MAC, IP) == KNOWN_NA


def test_ns_known_good():
    assert ndisc.build_ns(MAC, IP, "2001:db8::abcd:1234") == KNOWN_NS


def test_known_packets_checksum_reference():
    for pkt in (KNOWN_NA, KNOWN_NS):
        icmp = bytearray(pkt[54:])
        csum = struct.unpack_from("!H", icmp, 2)[0]
        icmp[2:4] = b"\0\0"
        assert ref_checksum(pkt[22:38], pkt[38:54], bytes(icmp)) == csum
        assert ndisc.icmpv6_checksum(pkt[22:38], pkt[38:54], pkt[54:]) == 0


@settings(max_examples=500)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16), st.binary(max_size=200))
def test_checksum_matches_reference(src, dst, body):
    icmp = b"\x88\x00\x00\x00" + body
    assert ndisc.icmpv6_checksum(src, dst, icmp) == ref_checksum(src, dst, icmp)


def test_parse_na_roundtrip():
    na = ndisc.parse_na(KNOWN_NA)
    assert na == ndisc.Na(
        src_ip=ndisc.ip6_bytes(IP),
        dst_ip=ndisc.ALL_NODES,
        target=ndisc.ip6_bytes(IP),
        router=False,
        solicited=False,
        override=True,
        tlla=MAC,
        eth_src=MAC,
        eth_dst=bytes.fromhex("333300000001"),
        vlan=None,
    )
    r = ndisc.parse_na(ndisc.build_unsolicited_na(MAC, "fe80::1", vlan=12, router=True))
    assert r.router and r.override and not r.solicited and r.vlan == 12
    assert ndisc.parse_ns(KNOWN_NA) is None


def test_parse_ns_roundtrip():
    ns = ndisc.parse_ns(KNOWN_NS)
    assert ns.src_ip == ndisc.ip6_bytes(IP)
    assert ns.target == ndisc.ip6_bytes("2001:db8::abcd:1234")
    assert ns.dst_ip == ndisc.solicited_node("2001:db8::abcd:1234")
    assert ns.slla == MAC and ns.vlan is None
    assert ndisc.parse_na(KNOWN_NS) is None


def test_dad_ns_has_no_sllao():
    f = ndisc.build_ns(MAC, "::", "2001:db8::5")
    ns = ndisc.parse_ns(f)
    assert ns.src_ip == bytes(16) and ns.slla is None
    assert len(f) == 14 + 40 + 24


def _with_icmp(pkt: bytes, icmp: bytes, hlim: int = 255) -> bytes:
    """Rebuild ``pkt`` (untagged) with a new ICMPv6 body and a fresh checksum."""
    src, dst = pkt[22:38], pkt[38:54]
    icmp = bytearray(icmp)
    icmp[2:4] = b"\0\0"
    icmp[2:4] = ref_checksum(src, dst, bytes(icmp)).to_bytes(2, "big")
    ip6 = struct.pack("!IHBB", 0x60000000, len(icmp), 58, hlim) + src + dst
    return pkt[:14] + ip6 + bytes(icmp)


def test_dad_ns_with_sllao_rejected():
    f = ndisc.build_ns(MAC, "::", "2001:db8::5")
    bad = _with_icmp(f, f[54:] + b"\x01\x01" + MAC)
    assert ndisc.parse_ns(bad) is None


def test_bad_checksum_rejected_unless_disabled():
    bad = bytearray(KNOWN_NA)
    bad[56] ^= 0x01
    assert ndisc.parse_na(bytes(bad)) is None
    assert ndisc.parse_na(bytes(bad), verify_checksum=False) is not None


def test_hop_limit_must_be_255():
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, KNOWN_NA[54:], hlim=254)) is None
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, KNOWN_NA[54:], hlim=255)) is not None


def test_solicited_na_to_multicast_rejected():
    icmp = bytearray(KNOWN_NA[54:])
    icmp[4] |= ndisc.NA_SOLICITED
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, bytes(icmp))) is None


def test_bad_options_rejected():
    base = KNOWN_NA[54:78]
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, base)).tlla is None  # no option is fine
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, base + b"\x02\x00" + bytes(6))) is None  # len 0
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, base + b"\x02\x02" + bytes(14))) is None  # 16-byte lladdr
    assert ndisc.parse_na(_with_icmp(KNOWN_NA, base + b"\x02\x01" + MAC[:4])) is None  # overrun
    # unknown options are skipped
    r = ndisc.parse_na(_with_icmp(KNOWN_NA, base + b"\x0e\x01" + bytes(6) + b"\x02\x01" + MAC))
    assert r.tlla == MAC


def test_multicast_target_rejected():
    icmp = bytearray(KNOWN_NS[54:])
    icmp[8] = 0xFF
    assert ndisc.parse_ns(_with_icmp(KNOWN_NS, bytes(icmp))) is None


def test_trailing_padding_and_truncation():
    assert ndisc.parse_na(KNOWN_NA + bytes(20)) is not None
    assert ndisc.parse_na(KNOWN_NA[:-1]) is None
    assert ndisc.parse_na(memoryview(KNOWN_NA)) is not None


def test_helpers():
    assert ndisc.solicited_node("2001:db8::1:2:3") == bytes.fromhex("ff0200000000000000000001ff020003")
    assert ndisc.ip6_mcast_mac("ff02::1:ff02:3") == bytes.fromhex("3333ff020003")
