"""Every difference the oracle forgives, in one place. Anything not masked
here fails the comparison.

- The driver version in the header (the kernel prints its release, softbond
  the host's).
- MAC addresses: veths get random ones. Each distinct MAC becomes MAC1,
  MAC2, ... in order of first appearance, so which MAC equals which (the
  bond's and its first member's, the partner's system MAC) is still
  compared. The all-zero MAC is kept.
- Aggregator IDs and LACP port numbers: numbered by order of first
  appearance likewise (the kernel counts them per module load, so a
  scenario's numbers depend on the bonds made before it).
- softbond's last line for an 802.3ad bond, "LACP status: negotiated" (or
  "configured (no partner)"): an addition the kernel does not print.
- With the ARP or NS monitor only: each link's MII Status and Link Failure
  Count and the Currently Active Slave. These follow the race between the
  first probes and their replies: the kernel itself settles differently from
  boot to boot (under emulation it is often still flapping at the
  snapshot), so they are not a fixed oracle. The monitor's settings, the
  targets and the member list are still compared.
"""
from __future__ import annotations

import re

HEADER = re.compile(r"^(Ethernet Channel Bonding Driver: ).*$", re.M)
MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")
ZERO_MAC = "00:00:00:00:00:00"
LACP_STATUS = re.compile(r"\nLACP status: [^\n]*\n\Z")
MONITOR_TIMING = re.compile(r"^(MII Status|Link Failure Count|Currently Active Slave): .*$", re.M)
NUMBERED = {"Aggregator ID": re.compile(r"(Aggregator ID: )(\d+)"),
            "port number": re.compile(r"(port number: )(\d+)")}


def _by_first_appearance(pattern: re.Pattern, text: str, label: str, group: int, keep=()) -> str:
    seen: dict[str, str] = {}

    def name(m: re.Match) -> str:
        value = m.group(group)
        if value in keep:
            return m.group(0)
        seen.setdefault(value, f"{label}{len(seen) + 1}")
        return m.group(0)[: m.start(group) - m.start(0)] + seen[value]
    return pattern.sub(name, text)


def mask(text: str, opts: str = "") -> str:
    """text with the differences above masked; opts: the scenario's options."""
    text = HEADER.sub(r"\1VERSION", text)
    text = LACP_STATUS.sub("", text)
    if "arp_interval=" in opts:
        text = MONITOR_TIMING.sub(r"\1: <timing>", text)
    text = _by_first_appearance(MAC, text, "MAC", 0, keep=(ZERO_MAC,))
    for label, pattern in NUMBERED.items():
        text = _by_first_appearance(pattern, text, f"<{label}>", 2)
    return text
