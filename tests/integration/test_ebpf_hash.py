"""The eBPF data path computes the same bond_xmit_hash() as
softbond/wire/xmit_hash.py and chooses the same member as the Python
runners.

The programs run on crafted frames with BPF_PROG_TEST_RUN (no device, no
attachment), which needs root, like every integration test (they fail
without it; `make test` runs as root).
"""
import ipaddress
import random

import pytest

from softbond.wire import xmit_hash as xh
# BPF_PROG_TEST_RUN needs root: these live with the integration tests, which
# fail (never skip) without it.
from tests.support.bpfrun import TC_ACT_REDIRECT, kernel_refuses, loaded_bond, run
from tests.support.framegen import encap_frames, encap_fuzz_frames, ether, frames, gre, ipv4, ipv6, tcp, udp


# ---------------------------------------------------------------- fixture

@pytest.fixture(scope="module")
def bpf():
    with loaded_bond(999, b"\x02\xbb\0\0\0\x01") as loaded:
        yield loaded


EXPECTED = {
    xh.LAYER2: xh.hash_layer2,
    xh.LAYER34: xh.hash_layer34,
    xh.LAYER23: xh.hash_layer23,
    xh.ENCAP23: xh.hash_encap23,
    xh.ENCAP34: xh.hash_encap34,
    xh.VLAN_SRCMAC: xh.hash_vlan_srcmac,
}


ENCAP = (xh.ENCAP23, xh.ENCAP34)


def compare(obj, policy, corpus):
    """Run sb_hash over the frames BPF_PROG_TEST_RUN accepts: (compared
    count, mismatches as (frame hex, bpf, python))."""
    expect = EXPECTED[policy]
    cases = [f for f in corpus if not kernel_refuses(f)]
    mismatches = []
    for frame in cases:
        got = run(obj, "sb_hash", frame, mark=policy)[0]
        want = expect(frame) & 0xFFFFFFFF
        if got != want:
            mismatches.append((frame.hex(), hex(got), hex(want)))
    return len(cases), mismatches


def report(policy, compared, mismatches):
    lines = [f"{xh.POLICY_NAMES[policy]}: {len(mismatches)}/{compared} frames differ (bpf vs python):"]
    lines += [f"  {h}  bpf={g} python={w}" for h, g, w in mismatches[:10]]
    return "\n".join(lines)


@pytest.mark.parametrize("policy", sorted(EXPECTED), ids=lambda p: xh.POLICY_NAMES[p])
def test_hash_matches_python(bpf, policy):
    obj, _ = bpf
    compared, mismatches = compare(obj, policy, frames())
    assert not mismatches, report(policy, compared, mismatches)
    assert compared > 1000


def test_encap_corpus_covers_the_dissector():
    """encap_frames() runs every line of _dissect() and _gre() (pure
    Python, no BPF): keeps the corpus honest when the dissector grows."""
    import dis
    import sys
    funcs = (xh._dissect, xh._gre)
    want = {(f.__code__, ln) for f in funcs for _, ln in dis.findlinestarts(f.__code__)
            if ln is not None and ln > f.__code__.co_firstlineno}
    codes = {f.__code__ for f in funcs}
    hit = set()

    def tracer(frame, event, arg):
        if frame.f_code not in codes:
            return None

        def lines(frame, event, arg):
            if event == "line":
                hit.add((frame.f_code, frame.f_lineno))
            return lines
        return lines

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        for f in encap_frames():
            xh.hash_encap23(f)
    finally:
        sys.settrace(old)
    missed = sorted(f"{c.co_name}:{ln}" for c, ln in want - hit)
    assert not missed, f"lines of the dissector no frame reaches: {missed}"


@pytest.mark.parametrize("policy", ENCAP, ids=lambda p: xh.POLICY_NAMES[p])
def test_encap_hash_matches_python_on_tunnels(bpf, policy):
    """Every branch of the flow dissector (_dissect()/_gre()): GRE with and
    without csum/key/seq, TEB, routing, PPTP, IPIP/SIT/IPv6-in-IPv6,
    MPLS-in-IP, IPv6 extension headers and fragments, PPPoE, in-band VLAN
    tags, BATMAN, HSR/PRP, TIPC, FCoE, PTP, ARP/RARP/MPLS, nesting past the
    15-header limit, and truncations of all of them."""
    obj, _ = bpf
    compared, mismatches = compare(obj, policy, encap_frames())
    assert not mismatches, report(policy, compared, mismatches)
    assert compared > 3000


@pytest.mark.parametrize("policy", ENCAP, ids=lambda p: xh.POLICY_NAMES[p])
def test_encap_hash_matches_python_on_garbage(bpf, policy):
    """Random bytes behind the headers the dissector knows."""
    obj, _ = bpf
    compared, mismatches = compare(obj, policy, encap_fuzz_frames(seed=11, count=4000))
    assert not mismatches, report(policy, compared, mismatches)
    assert compared > 3000


def test_encap_looks_through_tunnels(bpf):
    """GRE-tunnelled flows between two endpoints spread over the hash under
    encap3+4 / encap2+3 (the inner header counts) but not under layer3+4 /
    layer2+3; plain TCP/UDP hashes the same under both families."""
    obj, _ = bpf
    rnd = random.Random(7)

    def a4():
        return str(ipaddress.IPv4Address(rnd.getrandbits(32)))

    hashes = {p: set() for p in (xh.LAYER23, xh.LAYER34, xh.ENCAP23, xh.ENCAP34)}
    for _ in range(64):
        inner = ipv4(a4(), a4(), 6, tcp(rnd.randrange(65536), 443))
        f = ether(0x0800, ipv4("192.0.2.1", "192.0.2.2", 47, gre(0x0800, inner, key=42)))
        for p, seen in hashes.items():
            seen.add(run(obj, "sb_hash", f, mark=p)[0])
    assert len(hashes[xh.LAYER23]) == len(hashes[xh.LAYER34]) == 1
    assert len(hashes[xh.ENCAP34]) > 48 and len(hashes[xh.ENCAP23]) > 32
    for _ in range(50):
        f4 = ether(0x0800, ipv4(a4(), "10.1.2.3", 6, tcp(rnd.randrange(65536), 443)))
        f6 = ether(0x86DD, ipv6("2001:db8::1", str(ipaddress.IPv6Address(rnd.getrandbits(128))), 17,
                                udp(rnd.randrange(65536), 53)))
        for f in (f4, f6):
            assert run(obj, "sb_hash", f, mark=xh.ENCAP34)[0] == run(obj, "sb_hash", f, mark=xh.LAYER34)[0]
            assert run(obj, "sb_hash", f, mark=xh.ENCAP23)[0] == run(obj, "sb_hash", f, mark=xh.LAYER23)[0]


# ------------------------------------------------------- member choice (xor)

MEMBERS = ((1001, bytes.fromhex("02aa00000001")), (1002, bytes.fromhex("02aa00000002")),
           (1003, bytes.fromhex("02aa00000003")))


def snapshot(mode, policy=0, members=MEMBERS, active=0, buckets=None, pps=1, rx=None):
    from softbond.datapath.plan import ForwardingPlan
    return ForwardingPlan(mode=mode, xmit_hash_policy=policy, packets_per_slave=pps, tx_members=tuple(members),
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
