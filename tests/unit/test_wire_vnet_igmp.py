import struct
import sys

from softbond.wire import igmp, vnet
from softbond.wire.ethernet import l3_info

MAC = bytes.fromhex("020000000001")


def test_vnet_constants():
    assert vnet.VNET_HDR_LEN == 10
    assert vnet.VNET_NONE == bytes(10)
    assert (vnet.VIRTIO_NET_HDR_F_NEEDS_CSUM, vnet.VIRTIO_NET_HDR_F_DATA_VALID) == (1, 2)
    assert (
        vnet.VIRTIO_NET_HDR_GSO_NONE,
        vnet.VIRTIO_NET_HDR_GSO_TCPV4,
        vnet.VIRTIO_NET_HDR_GSO_UDP,
        vnet.VIRTIO_NET_HDR_GSO_TCPV6,
        vnet.VIRTIO_NET_HDR_GSO_UDP_L4,
        vnet.VIRTIO_NET_HDR_GSO_ECN,
    ) == (0, 1, 3, 4, 5, 0x80)


def test_vnet_native_layout():
    # TSO frame: NEEDS_CSUM, TCPV4|ECN, hdr_len 66, gso_size 1448, csum at 34+16
    raw = struct.pack("=BBHHHH", 1, 0x81, 66, 1448, 34, 16)
    h = vnet.parse_vnet(raw)
    assert h == vnet.VnetHdr(1, 0x81, 66, 1448, 34, 16)
    assert h.needs_csum and h.is_gso
    assert h.pack() == raw == vnet.build_vnet(1, 0x81, 66, 1448, 34, 16)
    order = "little" if sys.byteorder == "little" else "big"
    assert raw[2:4] == (66).to_bytes(2, order)


def test_vnet_none_and_short():
    h = vnet.parse_vnet(vnet.VNET_NONE)
    assert h == vnet.VnetHdr() and not h.needs_csum and not h.is_gso
    assert not vnet.VnetHdr(gso_type=vnet.VIRTIO_NET_HDR_GSO_ECN).is_gso
    assert vnet.parse_vnet(bytes(9)) is None
    assert vnet.parse_vnet(bytes(12), offset=3) is None
    assert vnet.parse_vnet(bytes(12), offset=2) == vnet.VnetHdr()


def test_split_vnet_aliases_buffer():
    buf = bytearray(vnet.VNET_NONE + b"frame")
    hdr, frame = vnet.split_vnet(buf)
    assert hdr == vnet.VnetHdr() and bytes(frame) == b"frame"
    buf[10] = ord("F")
    assert bytes(frame) == b"Frame"  # a view, not a copy
    hdr, frame = vnet.split_vnet(bytes(12) + b"x", vnet.VNET_HDR_MRG_LEN)
    assert bytes(frame) == b"x"
    assert vnet.split_vnet(b"short") == (None, memoryview(b""))


def _csum_ok(data: bytes) -> bool:
    if len(data) % 2:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF == 0


def _tso_frame(payload, gso_size=1448, gso_type=vnet.VIRTIO_NET_HDR_GSO_TCPV4, tcp_header=32, ipv6=False,
               flags=vnet.VIRTIO_NET_HDR_F_NEEDS_CSUM):
    ip_len = 40 if ipv6 else 20
    csum_start = 14 + ip_len
    tcp = bytearray(tcp_header)
    if tcp_header >= 20:
        tcp[12] = (tcp_header // 4) << 4
    hdr = vnet.build_vnet(flags, gso_type, csum_start + tcp_header, gso_size, csum_start, 16)
    return hdr + MAC * 2 + (b"\x86\xdd" if ipv6 else b"\x08\x00") + bytes(ip_len) + bytes(tcp) + bytes(payload)


def test_gso_segments_is_the_kernels_gso_segs():
    cases = [
        (_tso_frame(10 * 1448), 10),
        (_tso_frame(10 * 1448 + 1), 11),
        (_tso_frame(1448), 1),
        (_tso_frame(44 * 1448 + 900, gso_type=vnet.VIRTIO_NET_HDR_GSO_TCPV6 | vnet.VIRTIO_NET_HDR_GSO_ECN,
                    ipv6=True, tcp_header=20, gso_size=1428), 46),
        (_tso_frame(3 * 1472, gso_type=vnet.VIRTIO_NET_HDR_GSO_UDP_L4, tcp_header=8, gso_size=1472), 3),
        # no csum_start: hdr_len says where the headers end
        (_tso_frame(5 * 1000, gso_size=1000, flags=0), 5),
        (vnet.VNET_NONE + MAC * 2 + b"\x08\x00" + bytes(1400), 1),
    ]
    for frame, segments in cases:
        assert vnet.gso_segments(bytearray(frame), len(frame)) == segments
        assert vnet.gso_segments(memoryview(frame), len(frame)) == segments


def test_gso_segments_of_a_truncated_or_zero_sized_frame_is_one():
    frame = _tso_frame(10 * 1448)
    assert vnet.gso_segments(frame[:60], 60) == 1
    zero = bytearray(frame)
    zero[4:6] = b"\0\0"
    assert vnet.gso_segments(zero, len(zero)) == 1


def test_igmpv2_report():
    f = igmp.build_igmpv2_report(MAC, "10.0.0.1", "239.1.2.3")
    assert len(f) == 60
    assert f[:6] == bytes.fromhex("01005e010203") and f[6:12] == MAC
    assert l3_info(f) == (0x0800, 14, 0)
    ip = f[14:38]
    assert ip[0] == 0x46 and ip[1] == 0xC0 and ip[8] == 1 and ip[9] == 2  # IHL 6, TOS, TTL 1, IGMP
    assert ip[20:24] == bytes.fromhex("94040000")  # router alert
    assert ip[12:16] == bytes([10, 0, 0, 1]) and ip[16:20] == bytes([239, 1, 2, 3])
    assert _csum_ok(ip)
    msg = f[38:46]
    assert msg[0] == 0x16 and msg[4:8] == bytes([239, 1, 2, 3]) and _csum_ok(msg)


def test_igmpv3_report():
    f = igmp.build_igmpv3_report(MAC, "10.0.0.1", ["239.1.2.3", "239.200.0.1"], vlan=9)
    assert f[:6] == bytes.fromhex("01005e000016")
    assert l3_info(f) == (0x0800, 18, 9)
    ip = f[18:42]
    assert ip[16:20] == bytes([224, 0, 0, 22]) and _csum_ok(ip)
    total = struct.unpack_from("!H", ip, 2)[0]
    msg = f[42 : 18 + total]
    assert msg[0] == 0x22 and struct.unpack_from("!H", msg, 6)[0] == 2
    assert msg[8:16] == bytes([2, 0, 0, 0, 239, 1, 2, 3])  # MODE_IS_EXCLUDE, no sources
    assert msg[16:24] == bytes([2, 0, 0, 0, 239, 200, 0, 1])
    assert _csum_ok(msg)
    assert igmp.ip_mcast_mac("239.129.2.3") == bytes.fromhex("01005e010203")  # 23 bits only
