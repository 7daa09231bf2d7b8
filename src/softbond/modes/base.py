"""What every mode ("runner") provides, and the receive policies the data
path understands.

A runner only decides: which members frames may leave by, where tlb/alb
buckets go, and a receive policy per member. datapath/plan.build_plan
turns its decisions into one ForwardingPlan that all three data paths
forward from (the Python paths compile it, the eBPF path writes it into
its maps). The runner is consulted only when something changes (a member
comes or goes, the active member changes, a rebalance); nothing of it runs
per frame.

Frames in the data paths carry the 10-byte virtio-net header first; the
Ethernet header starts at VNET (offset 10).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence, TypeAlias

from ..config.registry import BondOptions

# The receive policies a runner returns per member (datapath_abi.py says
# what each does); the runners import them from here (re-exported).
from ..datapath.abi import RX_DELIVER as RX_DELIVER, RX_DROP as RX_DROP
from ..datapath.abi import RX_NOT_OWN as RX_NOT_OWN, RX_UNICAST_OWN_MAC as RX_UNICAST_OWN_MAC

VNET = 10

#: a frame as the data paths hand it over, virtio-net header first
Frame: TypeAlias = bytes | bytearray | memoryview
#: one the runner may rewrite in place (alb's ARP replies)
WritableFrame: TypeAlias = bytearray | memoryview


class Port(Protocol):
    """What a runner may know of a member."""

    name: str
    ifindex: int
    mac_bytes: bytes  # current MAC
    speed: int  # Mbps, 0 unknown
    duplex: int  # 1 full, 0 half/unknown

    @property
    def up(self) -> bool:
        """Its link counts as up (delays settled)."""

    @property
    def lacp_mac(self) -> bytes:
        """The MAC its LACPDUs leave with (the permanent one)."""


def _nothing() -> None:
    """A runner's `wake` until a bond runs it."""


class Runner:
    """Default behaviour: every usable member is equal (rr, xor, broadcast)."""

    #: the bond has a current active member (active-backup, tlb, alb)
    uses_active = False
    #: members keep distinct MACs; the active one carries the bond's (tlb, alb)
    unique_macs = False
    #: the path monitor's verdict takes a member's link down, as a lost
    #: carrier does (False: 802.3ad, where LACP must keep running on it)
    path_takes_link_down = True

    def __init__(self, opts: BondOptions) -> None:
        self.opts = opts
        #: set by the bond: its tick loop asks `next_tick` again at once
        #: (called when the runner's next due time may have moved earlier
        #: outside tick(): a member added, a link change, a received PDU)
        self.wake: Callable[[], None] = _nothing

    def configure(self, opts: BondOptions) -> None:
        self.opts = opts

    def rx_policy(self, member: Port, active: Port | None) -> int:
        return RX_NOT_OWN

    # The decisions a ForwardingPlan carries: the members frames may leave
    # by (in order: rr rotates and xor hashes over them), and for tlb/alb
    # the bucket placement, renewed by `rebalance` from the bytes each
    # bucket carried (read_bucket_bytes(): 256 counts since the last call).
    def tx_members(self, usable: Sequence[Port], active: Port | None) -> list[Port]:
        return list(usable)

    def placement(self, tx: Sequence[Port]) -> tuple[int, ...] | None:
        """256 indices into `tx` (-1: xmit_hash % count), or None: no table."""
        return None

    def rebalance(self, read_bucket_bytes: Callable[[], list[int]], now: float) -> bool:
        """True when the placement changed and a new plan is due."""
        return False

    #: the members' root qdiscs, ifindex -> (bytes sent, bytes queued), as
    #: the bond reads them (LinksPort.root_queues): xmit_balance=flowlet's
    #: gap follows the queues (modes/flowlet.py). None: not read.
    read_queues: Callable[[], Mapping[int, tuple[int, int]]] | None = None
    #: where each bucket's frames leave now, as the data path committed it
    #: (the device's read_committed; -1: hash % count): xmit_balance=flowlet
    #: counts a bucket there, not where it is wanted. None: not read.
    read_committed: Callable[[], Sequence[int] | None] | None = None
    #: ifindex -> name of members -> (bytes a second, qdisc limit bytes) of
    #: those whose line rate is known (Links.line_rates): xmit_balance=flowlet's
    #: queue model. None: not read.
    read_rates: Callable[[Mapping[int, str]], Mapping[int, tuple[int, int]]] | None = None

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

    def next_tick(self, last: float) -> float:
        """When the bond runs tick() next, `last` being when it last did:
        every tick_interval, unless the runner knows its own timers."""
        assert self.tick_interval is not None
        return last + self.tick_interval

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

    # Runner hooks, as teamd's runner ops: what the bond asks of a mode
    # instead of asking which mode it is.
    #: control frames the bond opens listeners for: "lacp" (slow protocols
    #: on each member), "arp" (ARP on each member), "bond-arp" (the ARP the
    #: bond itself sends, handed over by the eBPF programs or the workers)
    listens_for: frozenset[str] = frozenset()
    #: per-member protocol state is keyed by the member's name (a renamed
    #: member is removed and added again)
    ports_keyed_by_name = False

    def start(self, bond_mac: bytes) -> None:
        """The bond has its MAC and a first member."""

    def stop(self, members: Sequence[Port], now: float) -> list[tuple[Port, bytes]]:
        """The runner is leaving (a mode switch): the last frames to send."""
        return []

    def receive_control(self, member: Port, frame: bytes, now: float) -> list[tuple[Port, bytes]]:
        """A frame from a "lacp" listener; returns frames to send."""
        return []

    def arp_seen(self, member: Port, op: int, sender_mac: bytes, sender_ip: bytes, target_ip: bytes) -> None:
        """An ARP frame from an "arp" listener."""

    def bond_arp_member(self, frame: WritableFrame, now: float) -> Port | None:
        """The member an ARP frame the bond sent leaves by ("bond-arp"),
        or None for the active one."""
        return None

    def macs_moved(self, *members: Port) -> None:
        """These members' MACs were swapped (tlb/alb's active change)."""

    # status --json blocks are JSON objects: values of any JSON type
    def status(self) -> dict[str, Any]:
        """The runner's block of the bond's status (keys of status --json)."""
        return {}

    def member_status(self, name: str) -> dict[str, Any] | None:
        """A member's protocol state (status --json "ad"), or None."""
        return None

    def member_collecting(self, name: str) -> bool | None:
        """Whether a member takes frames in, when the protocol decides it
        (802.3ad); None: the mode's usual rule."""
        return None
