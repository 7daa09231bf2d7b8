"""Transmit choice against the kernel (issue 19, section 2): a balance-xor
bond over three veths for each xmit_hash_policy, two VLAN devices on it,
the flows of xmit_flows.py sent through it; the far ends p0, p1, p2 (no
bridge, nothing else on them) say which member carried each flow. Built by
the same code with the kernel's driver in the guest and with softbond on the
host; the mapping must be the same flow for flow.

This file runs in the guest too: stdlib only.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time

try:
    from .scenarios import Backend, ip_batch, join_netns, sh, teardown
    from .xmit_flows import VLANS, send_and_see
except ImportError:       # in the guest this directory is on sys.path, not a package
    from scenarios import Backend, ip_batch, join_netns, sh, teardown  # type: ignore[no-redef]
    from xmit_flows import VLANS, send_and_see  # type: ignore[no-redef]

POLICIES = ("layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac")
MEMBERS = 3
FLOWS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "xmit_flows.py")
UP = re.compile(r"^MII Status: up$", re.M)
READY_CAP = 30.0
# Flows whose VLAN tag a raw socket wrote into the frame: the kernel's bond
# hashes them as untagged frames of ethertype 0x8100, softbond cannot tell
# them from frames of a VLAN device (the TAP hands both over tagged in-band).
RAW_TAG = "raw-tag "


def opts(policy: str) -> str:
    return f"mode=balance-xor miimon=100 xmit_hash_policy={policy}"


def run(backend: Backend, ns: str, policy: str, vlan_devices: bool = True,
        in_thread: bool = False) -> dict[str, list[str]]:
    """Flow name -> the members (eth0...) that carried it. vlan_devices
    False: the kernel here has no 8021q (see xmit_flows.send_and_see).
    in_thread: the calling thread joins ns and sends itself (no Python to
    start: the guest); otherwise xmit_flows.py runs under ip netns exec."""
    sh("ip", "netns", "add", ns)
    try:
        lines = []
        for i in range(MEMBERS):
            lines += [f"link add eth{i} type veth peer p{i}", f"link set p{i} up"]
        ip_batch(ns, lines)
        backend.create(ns, "bond0", opts(policy), [f"eth{i}" for i in range(MEMBERS)], None)
        if vlan_devices:
            ip_batch(ns, [line for vlan in VLANS for line in (f"link add link bond0 name bond0.{vlan} type vlan id {vlan}",
                                                              f"link set bond0.{vlan} up")])
        start = time.monotonic()
        while len(UP.findall(backend.status(ns, "bond0"))) < 1 + MEMBERS:
            if time.monotonic() - start > READY_CAP:
                raise RuntimeError(f"{policy}: not every member up after {READY_CAP:.0f} s")
            time.sleep(0.2)
        if in_thread:
            join_netns(ns)
            seen = send_and_see(MEMBERS, vlan_devices)
        else:
            seen = json.loads(sh("ip", "netns", "exec", ns, sys.executable, FLOWS_SCRIPT, str(MEMBERS),
                                 *([] if vlan_devices else ["--vlan-in-band"])).stdout)
        return {flow: ["eth" + far[1:] for far in ends] for flow, ends in seen.items()}
    finally:
        teardown(backend, ns)
