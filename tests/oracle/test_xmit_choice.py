"""Transmit choice (issue 19, section 2): for each xmit_hash_policy the
member that carried each flow of xmit_flows.py, the kernel's bond against
softbond's, on both data paths; the mapping must match exactly."""
from __future__ import annotations

from collections import Counter

import pytest

from .softbond_side import XMIT_DATAPATHS
from .xmit_choice import POLICIES, RAW_TAG
from .xmit_flows import flows

# Flows left out of the comparison, and why (docs/kernel-differences.md).
VLAN_DEVICE = {name for name, device, _ in flows() if device != "bond0"}
RAW_TAGGED = {name for name, _, _ in flows() if name.startswith(RAW_TAG)}


def choice(side: dict, key: str, who: str) -> dict[str, list[str]]:
    result = side["xmit"][key]
    if "error" in result:
        pytest.fail(f"{who} could not run the transmit choice for {key}: {result['error']}", pytrace=False)
    return result["choice"]


def compared(datapath: str) -> list[str]:
    left_out = set(RAW_TAGGED)
    if datapath == "ebpf":     # on this host a VLAN flow is a tagged frame on a veth, not a VLAN device's
        left_out |= VLAN_DEVICE
    return [name for name, _, _ in flows() if name not in left_out]


@pytest.mark.parametrize("datapath", XMIT_DATAPATHS)
@pytest.mark.parametrize("policy", POLICIES)
def test_member_per_flow_matches_kernel(oracle, policy, datapath):
    kernel = choice(oracle.kernel, policy, "the kernel")
    ours = choice(oracle.softbond, f"{datapath} {policy}", "softbond")
    names = compared(datapath)
    # Each flow crossed exactly one member of the kernel's bond, and the set
    # spreads over more than one member: a comparison that can tell.
    assert all(len(kernel[name]) == 1 for name in names), kernel
    assert len(Counter(kernel[name][0] for name in names)) > 1, kernel
    differ = {name: (kernel[name], ours[name]) for name in names if ours[name] != kernel[name]}
    assert not differ, f"{policy} on {datapath}: flow -> (kernel, softbond) members: {differ}"


RAW_TAG_REASON = {
    "python": "a VLAN tag a raw socket wrote into the frame: the kernel's bond hashes what the data says "
              "(ethertype 0x8100, VLAN 0 for vlan+srcmac); softbond's TAP hands over the same bytes as a VLAN "
              "device's frame, so the Python path hashes the tag as offloaded",
    "ebpf": "a VLAN tag a raw socket wrote into the frame: the kernel's bond hashes what the data says; the "
            "eBPF path hashes every in-band tag as offloaded, though tc could tell the two apart "
            "(skb->vlan_present): left to the data-path owners",
}


@pytest.mark.parametrize("datapath", [pytest.param(d, marks=pytest.mark.xfail(
                                          strict=True, raises=AssertionError, reason=RAW_TAG_REASON[d]))
                                      for d in XMIT_DATAPATHS])
@pytest.mark.parametrize("policy", POLICIES)
def test_raw_tagged_frame_member_matches_kernel(oracle, policy, datapath):
    kernel = choice(oracle.kernel, policy, "the kernel")
    ours = choice(oracle.softbond, f"{datapath} {policy}", "softbond")
    assert all(len(kernel[name]) == 1 for name in RAW_TAGGED), kernel
    assert {name: ours[name] for name in RAW_TAGGED} == {name: kernel[name] for name in RAW_TAGGED}
