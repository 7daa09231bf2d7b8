"""An in-memory LACP partner (the switch's side) for unit tests that drive
a bond's 802.3ad runner on a fake clock: tests/unit/test_core_decide.py and
tests/unit/test_whole_bond.py."""
from softbond.lacp import LacpSystem


class Partner:
    """A LACP partner (the switch) on some of the bond's members."""

    def __init__(self, names, now=0.0):
        self.lacp = LacpSystem(system_mac=bytes.fromhex("020000000099"), lacp_fast=True)
        for i, name in enumerate(names):
            self.lacp.add_port(name, port_number=i + 1, mac=bytes([2, 0, 0, 0, 9, i + 1]), speed_mbps=1000,
                               full_duplex=True, link_up=True, now=now)
        self.listening = True

    def faces(self, name: str) -> bool:
        return name in self.lacp._ports
