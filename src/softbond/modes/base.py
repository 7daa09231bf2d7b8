"""What every mode ("runner") provides, and the receive policies the data
path understands.

A runner turns the control plane's view of the members into two things the
data path runs: one transmit callable for frames coming down from the bond
device, and a receive policy per member. The runner is consulted only when
something changes (a member comes or goes, the active member changes, a
rebalance); the callables it returns run per frame and are kept free of
logging, allocation and attribute lookups beyond what the frame needs.

Frames handed to a transmit callable carry the 10-byte virtio-net header
first; the Ethernet header starts at VNET (offset 10).
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

# The receive policies a runner returns per member (datapath_abi.py says
# what each does); the runners import them from here.
from ..datapath.abi import RX_DELIVER, RX_DROP, RX_NOT_OWN, RX_UNICAST_OWN_MAC  # noqa: F401

VNET = 10

Transmit = Callable[[memoryview], object]


class Port(Protocol):
    """What a runner may know of a member."""
    name: str
    send: Callable                 # socket.send of the member's data socket
    mac_bytes: bytes               # current MAC
    speed: int                     # Mbps, 0 unknown
    up: bool


class Runner:
    """Default behaviour: every usable member is equal (rr, xor, broadcast)."""

    #: the bond has a current active member (active-backup, tlb, alb)
    uses_active = False
    #: members keep distinct MACs; the active one carries the bond's (tlb, alb)
    unique_macs = False

    def __init__(self, opts) -> None:
        self.opts = opts

    def configure(self, opts) -> None:
        self.opts = opts

    def transmit(self, usable: Sequence[Port], active: Port | None, bond_mac: bytes) -> Transmit | None:
        raise NotImplementedError

    def rx_policy(self, member: Port, active: Port | None) -> int:
        return RX_NOT_OWN

    # The eBPF data path runs the same decisions from maps: the members
    # frames may leave by, and (tlb/alb) the bucket placement.
    def tx_members(self, usable: Sequence[Port], active: Port | None) -> list[Port]:
        return list(usable)

    def ebpf_buckets(self, tx: Sequence[Port]) -> tuple[int, ...] | None:
        return None

    def ebpf_rebalance(self, read_bucket_bytes, now: float) -> bool:
        return False

    def carrier(self, usable: Sequence[Port], active: Port | None) -> bool:
        """bond_set_carrier(): up while any member is usable (min_links is
        honoured by 802.3ad only, as in the kernel)."""
        return bool(usable)

    # Periodic work (tlb rebalance, alb learning frames and client updates),
    # run by the bond every `tick_interval` seconds. `now` is time.monotonic();
    # returns control frames to send, as (member, Ethernet frame).
    tick_interval: float | None = None

    def tick(self, now: float, members: Sequence[Port]) -> list[tuple[Port, bytes]]:
        return []

    # Member lifecycle, for runners with per-member protocol state (802.3ad).
    # `dirty` asks the bond to republish the forwarding snapshot and re-check
    # its carrier after a tick or a received frame changed what forwards.
    dirty = False

    def add_member(self, member: Port, now: float) -> None:
        pass

    def remove_member(self, member: Port, now: float) -> None:
        pass

    def link_changed(self, member: Port, now: float) -> None:
        pass

    def drain_events(self) -> list[tuple[str | None, str]]:
        """(member name or None, message) for the bond's log."""
        return []
