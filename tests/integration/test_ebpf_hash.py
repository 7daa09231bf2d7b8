"""The eBPF data path computes the same bond_xmit_hash() as
softbond/wire/xmit_hash.py and chooses the same member as the Python
runners.

The programs run on crafted frames with BPF_PROG_TEST_RUN (no device, no
attachment), which needs root, like every integration test (they fail
without it; `make test` runs as root).
"""
import ipaddress
import random
import struct

import pytest

from softbond.wire import xmit_hash as xh

# BPF_PROG_TEST_RUN needs root: these live with the integration tests, which
# fail (never skip) without it.

TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT = 0, 2, 7
SKB_CTX = 192                 # sizeof(struct __sk_buff)
MARK_OFFSET = 8

DST = bytes.fromhex("020000000002")
SRC = bytes.fromhex("020000000001")


# ------------------------------------------------------------------ frames

def ether(etype, payload, *, dst=DST, src=SRC, tags=()):
    hdr = dst + src
    for tpid, tci in tags:
        hdr += struct.pack("!HH", tpid, tci)
    return hdr + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, *, frag=0, ihl=5, ident=1):
    opts = bytes((ihl - 5) * 4) if ihl > 5 else b""
    return (struct.pack("!BBHHHBBH", 0x40 | ihl, 0, 20 + len(opts) + len(payload), ident, frag, 64, proto, 0)
            + ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + opts + payload)


def ipv6(src, dst, nh, payload):
    return (struct.pack("!IHBB", 0x60000000, len(payload), nh, 64)
            + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)


def tcp(sport, dport):
    return struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, 0x10, 65535, 0, 0)


def udp(sport, dport, payload=b"x" * 8):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(t, code, rest):
    return struct.pack("!BBH", t, code, 0) + rest


def frames(seed=1):
    """Many frames: every L3/L4 shape the hash distinguishes, untagged and
    with one 802.1Q/802.1AD tag, plus random ones."""
    rnd = random.Random(seed)
    out = []

    def a4():
        return str(ipaddress.IPv4Address(rnd.getrandbits(32)))

    def a6():
        return str(ipaddress.IPv6Address(rnd.getrandbits(128)))

    def mac():
        return bytes([rnd.getrandbits(8) & 0xFE | 2]) + rnd.randbytes(5)

    for _ in range(12):
        s4, d4, s6, d6 = a4(), a4(), a6(), a6()
        sp, dp = rnd.randrange(65536), rnd.randrange(65536)
        l3 = [
            (0x0800, ipv4(s4, d4, 6, tcp(sp, dp))),
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp))),
            (0x0800, ipv4(s4, d4, 6, tcp(sp, dp), frag=0x2000)),            # first fragment (MF)
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp)[:4], frag=0x00B9)),      # later fragment
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp), ihl=7)),                # options
            (0x0800, ipv4(s4, d4, 17, udp(sp, dp), ihl=rnd.randrange(0, 5))),  # bogus ihl
            (0x0800, ipv4(s4, d4, 6, tcp(sp, dp)[:3])),                    # ports truncated
            (0x0800, ipv4(s4, d4, 1, icmp(8, 0, struct.pack("!HH", rnd.randrange(65536), 1)))),
            (0x0800, ipv4(s4, d4, 1, icmp(0, 0, struct.pack("!HH", 0, 7)))),   # id 0 -> 1
            (0x0800, ipv4(s4, d4, 1, icmp(13, 0, bytes(16)))),
            (0x0800, ipv4(s4, d4, 1, icmp(9, 0, bytes(4)))),               # no id
            (0x0800, ipv4(s4, d4, 1, icmp(3, 3, bytes(4) + ipv4(d4, s4, 17, udp(dp, sp))))),
            (0x0800, ipv4(s4, d4, 1, icmp(11, 0, bytes(4) + ipv4(d4, s4, 6, tcp(dp, sp), frag=0x2000)))),
            (0x0800, ipv4(s4, d4, 1, icmp(3, 1, bytes(4) + b"\x45\x00"))),  # quote truncated
            (0x0800, ipv4(s4, d4, 1, icmp(8, 0, b"\0"))),                  # ICMP header truncated
            (0x0800, ipv4(s4, d4, 2, bytes(8))),                           # IGMP
            (0x0800, ipv4(s4, d4, 47, bytes(8))),                          # GRE: no ports
            (0x0800, ipv4(s4, d4, 51, struct.pack("!BBHI", 6, 4, 0, rnd.getrandbits(32)) + bytes(8))),  # AH
            (0x0800, ipv4(s4, d4, 50, rnd.randbytes(8))),                  # ESP
            (0x0800, ipv4(s4, d4, 132, rnd.randbytes(12))),                # SCTP
            (0x0800, ipv4(s4, d4, 58, icmp(1, 0, bytes(4) + ipv4(d4, s4, 6, tcp(1, 2))))),  # v6 type in v4
            (0x0800, ipv4(s4, d4, 6, b"")[:12]),                           # truncated IPv4 header
            (0x86DD, ipv6(s6, d6, 6, tcp(sp, dp))),
            (0x86DD, ipv6(s6, d6, 17, udp(sp, dp))),
            (0x86DD, ipv6(s6, d6, 58, icmp(128, 0, struct.pack("!HH", sp, 1)))),
            (0x86DD, ipv6(s6, d6, 58, icmp(129, 0, struct.pack("!HH", 0, 1)))),
            (0x86DD, ipv6(s6, d6, 58, icmp(1, 4, bytes(4) + ipv6(d6, s6, 17, udp(dp, sp))))),
            (0x86DD, ipv6(s6, d6, 58, icmp(135, 0, bytes(20)))),           # neighbour solicitation
            (0x86DD, ipv6(s6, d6, 0, bytes([6, 0]) + bytes(6) + tcp(sp, dp))),  # hop-by-hop
            (0x86DD, ipv6(s6, d6, 44, bytes([17, 0, 0, 1]) + bytes(4) + udp(sp, dp))),  # fragment header
            (0x86DD, ipv6(s6, d6, 17, b"")[:30]),                          # truncated IPv6 header
            (0x0806, bytes.fromhex("0001080006040001") + mac() + bytes(4) + bytes(6) + bytes(4)),
            (0x8809, bytes([1, 1]) + bytes(108)),
            (0x88CC, rnd.randbytes(20)),
        ]
        for etype, payload in l3:
            for tags in ((), ((0x8100, rnd.randrange(65536)),), ((0x88A8, rnd.randrange(4096)),),
                         ((0x8100, 5), (0x8100, 6))):
                out.append(ether(etype, payload, dst=mac(), src=mac(), tags=tags))
    for _ in range(300):                       # random bytes behind real-looking headers
        etype = rnd.choice((0x0800, 0x86DD, 0x8100, 0x0806, rnd.randrange(65536)))
        out.append(ether(etype, rnd.randbytes(rnd.randrange(0, 90)), dst=mac(), src=mac()))
    for _ in range(200):
        proto = rnd.choice((1, 6, 17, 58, 51, 50, 132, 2, rnd.randrange(256)))
        frag = rnd.choice((0, 0, 0x2000, rnd.randrange(65536)))
        out.append(ether(0x0800, ipv4(a4(), a4(), proto, rnd.randbytes(rnd.randrange(0, 40)), frag=frag),
                         dst=mac(), src=mac()))
        out.append(ether(0x86DD, ipv6(a6(), a6(), proto, rnd.randbytes(rnd.randrange(0, 60))),
                         dst=mac(), src=mac()))
    return out


# ---------------------------------------------------------------- fixture

@pytest.fixture(scope="module")
def bpf():
    from softbond import ebpf
    ok, why = ebpf.available()
    if not ok:
        pytest.fail(f"eBPF data path unavailable: {why}")
    from softbond.ebpf import build, loader
    from softbond.ebpf.state import BondMaps
    obj, _ = loader.load(build.object_path())
    maps = BondMaps(obj.maps)
    maps.initialize(999, b"\x02\xbb\0\0\0\x01")
    yield obj, maps
    obj.close()


def kernel_refuses(frame):
    """BPF_PROG_TEST_RUN rejects (EINVAL) untagged IPv4/IPv6 frames whose IP
    header is truncated; the stack would not hand such a frame to tc
    either."""
    etype = frame[12] << 8 | frame[13]
    return (etype == 0x0800 and len(frame) < 34) or (etype == 0x86DD and len(frame) < 54)


def run(obj, prog, frame, mark=0):
    from softbond.ebpf import libbpf
    ctx = bytearray(SKB_CTX)
    struct.pack_into("=I", ctx, MARK_OFFSET, mark)
    return libbpf.test_run(obj.progs[prog], frame, bytes(ctx))


EXPECTED = {
    xh.LAYER2: xh.hash_layer2,
    xh.LAYER34: xh.hash_layer34,
    xh.LAYER23: xh.hash_layer23,
    xh.ENCAP23: xh.hash_layer23,        # documented fallback: no tunnel dissection in BPF
    xh.ENCAP34: xh.hash_layer34,
    xh.VLAN_SRCMAC: xh.hash_vlan_srcmac,
}


@pytest.mark.parametrize("policy", sorted(EXPECTED), ids=lambda p: xh.POLICY_NAMES[p])
def test_hash_matches_python(bpf, policy):
    obj, _ = bpf
    expect = EXPECTED[policy]
    mismatches = []
    cases = [f for f in frames() if not kernel_refuses(f)]
    for frame in cases:
        got = run(obj, "sb_hash", frame, mark=policy)[0]
        want = expect(frame) & 0xFFFFFFFF
        if got != want:
            mismatches.append((frame.hex(), hex(got), hex(want)))
    assert not mismatches, f"{len(mismatches)}/{len(cases)} differ, first: {mismatches[:3]}"
    assert len(cases) > 1000


def test_encap_equals_kernel_for_plain_traffic(bpf):
    """Without tunnels the fallback is the real encap hash (IPv4/IPv6 TCP/UDP)."""
    obj, _ = bpf
    rnd = random.Random(7)
    for _ in range(50):
        f4 = ether(0x0800, ipv4(str(ipaddress.IPv4Address(rnd.getrandbits(32))), "10.1.2.3", 6,
                                tcp(rnd.randrange(65536), 443)))
        f6 = ether(0x86DD, ipv6("2001:db8::1", str(ipaddress.IPv6Address(rnd.getrandbits(128))), 17,
                                udp(rnd.randrange(65536), 53)))
        for f in (f4, f6):
            assert run(obj, "sb_hash", f, mark=xh.ENCAP34)[0] == xh.hash_encap34(f)
            assert run(obj, "sb_hash", f, mark=xh.ENCAP23)[0] == xh.hash_encap23(f)


# ------------------------------------------------------- member choice (xor)

MEMBERS = ((1001, bytes.fromhex("02aa00000001")), (1002, bytes.fromhex("02aa00000002")),
           (1003, bytes.fromhex("02aa00000003")))


def snapshot(mode, policy=0, members=MEMBERS, active=0, buckets=None, pps=1, rx=None):
    from softbond.ebpf import EbpfSnapshot
    return EbpfSnapshot(mode=mode, xmit_hash_policy=policy, packets_per_slave=pps, tx_members=tuple(members),
                        active=active, rx_policy=rx or {}, buckets=buckets, bond_mac=b"\x02\xbb\0\0\0\x01")


def sent_by(obj, maps, frame, members=MEMBERS):
    """Run sb_egress on `frame`: (ifindex it was redirected to or None, retval, frame out)."""
    before = {i: maps.counters(i)["tx_packets"] for i, _ in members}
    ret, out, _ = run(obj, "sb_egress", frame)
    after = {i: maps.counters(i)["tx_packets"] for i, _ in members}
    moved = [i for i in before if after[i] != before[i]]
    assert len(moved) <= 1
    return (moved[0] if moved else None), ret, out


@pytest.mark.parametrize("policy", [xh.LAYER2, xh.LAYER23, xh.LAYER34], ids=lambda p: xh.POLICY_NAMES[p])
@pytest.mark.parametrize("count", [2, 3])
def test_xor_member_matches_python(bpf, policy, count):
    obj, maps = bpf
    members = MEMBERS[:count]
    maps.publish(snapshot(2, policy, members), bond_ifindex=999)
    cases = [f for f in frames(seed=3) if not kernel_refuses(f)][::3]
    used = set()
    for frame in cases:
        ifindex, ret, _ = sent_by(obj, maps, frame, members)
        assert ret == TC_ACT_REDIRECT
        want = members[xh.xmit_slave_index(frame, policy, count)][0]
        assert ifindex == want, frame.hex()
        used.add(ifindex)
    assert used == {m[0] for m in members}


def test_802_3ad_uses_the_xor_choice(bpf):
    obj, maps = bpf
    maps.publish(snapshot(4, xh.LAYER34), bond_ifindex=999)
    for frame in [f for f in frames(seed=5) if not kernel_refuses(f)][:200]:
        assert sent_by(obj, maps, frame)[0] == MEMBERS[xh.xmit_slave_index(frame, xh.LAYER34, 3)][0]
