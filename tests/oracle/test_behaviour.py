"""Behaviour differences softbond keeps on purpose (docs/kernel-differences.md):
the test asserts the difference itself, so it turns red if either side
changes."""
from __future__ import annotations

import re

from .compare import snapshots

FAILURES = re.compile(r"^Link Failure Count: (\d+)$", re.M)
MEMBER_MII = re.compile(r"^Slave Interface: \S+\nMII Status: (\S+)", re.M)


def test_arp_interval_switched_on_without_a_target(oracle):
    """The kernel starts an ARP monitor with nothing to probe: it takes the
    members down and flaps them. softbond keeps them up on carrier and says
    so (safer: a bond is never taken down by a half-finished reconfiguration)."""
    name = "ab-arp_interval-no-target"
    kernel = snapshots(oracle.kernel["scenarios"], name, "the kernel")[-1]
    ours = snapshots(oracle.softbond["scenarios"], name, "softbond")[-1]
    assert sum(map(int, FAILURES.findall(kernel))) >= 2, kernel
    assert FAILURES.findall(ours) == ["0", "0"], ours
    assert MEMBER_MII.findall(ours) == ["up", "up"], ours
    assert "ARP Polling Interval (ms): 100" in kernel and "ARP Polling Interval (ms): 100" in ours
