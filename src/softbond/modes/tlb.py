"""balance-tlb (mode 5): outgoing load spread by member load, incoming on
the active member.

The kernel's transmit load balancing (bond_alb.c, tlb_* functions):
- only unicast IPv4/IPv6 is balanced (not neighbour discovery); the rest,
  and everything multicast, leaves by the active member;
- a 256-entry table maps hash buckets to members, placed by load: the
  member with the largest gap between link capacity `speed << 20` and
  load `load << 3` (tlb_get_least_loaded_slave);
- every 10 s (BOND_TLB_REBALANCE_INTERVAL) each bucket's bytes become its
  load history and the buckets are placed again by it;
- a frame leaving by a member other than the active one takes that member's
  MAC as source, so the switch never sees the bond MAC on two ports;
- tlb_dynamic_lb=0: usable[hash % count], no shuffling, no reordering.
The bucket is bond_xmit_hash() & 0xFF in tlb, and a XOR of the destination
IP's bytes in alb (_simple_hash).

One placement rule for all three data paths (they forward from one
datapath/plan.ForwardingPlan): a bucket leaves by `xmit_hash % count`
until the first measurement, 10 s after the bond's first plan; from then
on every bucket that carried bytes in the last interval is placed by the
kernel's least-loaded rule from what it carried (heaviest first), and one
that carried nothing hashes. The kernel places a bucket at its first frame
instead (with equal links and no history yet, members in turn by first
use), which needs the data path to write the table and the members' loads
per new flow: per-CPU races in the eBPF programs and a table shared by the
worker processes. After the first interval the two rules differ only in
the order buckets are placed in, and in buckets new since the last
measurement (hashed here, least-loaded at first frame in the kernel).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from ..wire.xmit_hash import hash_function
from ..config.registry import BondOptions
from ..datapath.abi import BUCKETS
from .base import RX_DELIVER, RX_DROP, VNET, Frame, Port
from .flowlet import FlowletRunner, flowlet_on

REBALANCE_INTERVAL = 10.0
_ETHERTYPE = VNET + 12
_IPV6_NEXT = VNET + 14 + 6
_ICMPV6_TYPE = VNET + 14 + 40
_ND_TYPES = (133, 134, 135, 136, 137)


def is_nd(frame: Frame) -> bool:
    """IPv6 neighbour discovery (alb_determine_nd): never balanced."""
    return len(frame) > _ICMPV6_TYPE and frame[_IPV6_NEXT] == 58 and frame[_ICMPV6_TYPE] in _ND_TYPES


def tlb_hash(policy: int) -> Callable[[Frame], int | None]:
    """The bond's xmit hash of a frame balance-tlb balances (its low 8 bits
    are the frame's bucket, the whole hash places an unplaced bucket, as
    bond.bpf.c uses one hash for both); None for frames that are not
    balanced. It takes the frame as the data path has it, virtio-net
    header first."""
    xmit_hash = hash_function(policy)

    def balanced_hash(frame: Frame) -> int | None:
        if frame[VNET] & 1:
            return None
        kind = frame[_ETHERTYPE] << 8 | frame[_ETHERTYPE + 1]
        if kind == 0x0800 or (kind == 0x86DD and not is_nd(frame)):
            return xmit_hash(frame, VNET)
        return None

    return balanced_hash


def tlb_bucket(policy: int) -> Callable[[Frame], int | None]:
    """Bucket function for balance-tlb: tlb_hash's low 8 bits, or None."""
    balanced_hash = tlb_hash(policy)

    def bucket(frame: Frame) -> int | None:
        h = balanced_hash(frame)
        return None if h is None else h & 0xFF

    return bucket


class LoadTable:
    """tlb_get_least_loaded_slave over the members' capacities, with each
    bucket's load history (bytes/s in the last interval)."""

    def __init__(self, capacities: list[int], history: list[int]) -> None:
        self.capacity = capacities  # speed << 20, per member
        self.load = [0] * len(capacities)  # bytes/s assigned, per member
        self.history = history

    def assign(self, bucket: int) -> int:
        """tlb_choose_channel for a bucket with no member yet."""
        best, best_gap = 0, None
        load, capacity = self.load, self.capacity
        for i in range(len(capacity)):
            gap = capacity[i] - (load[i] << 3)
            if best_gap is None or gap > best_gap:
                best, best_gap = i, gap
        load[best] += self.history[bucket]
        return best


def place_by_load(speeds: list[int], sent: list[int]) -> tuple[int, ...]:
    """The bucket table after an interval in which bucket b carried
    sent[b] bytes: each bucket that carried any on the least loaded member,
    heaviest first; the others -1 (xmit_hash % count)."""
    table = LoadTable([(speed or 10) << 20 for speed in speeds], [1 + b // int(REBALANCE_INTERVAL) for b in sent])
    placement = [-1] * BUCKETS
    for bucket in sorted((b for b in range(BUCKETS) if sent[b]), key=lambda b: -sent[b]):
        placement[bucket] = table.assign(bucket)
    return tuple(placement)


class Tlb(FlowletRunner):
    """xmit_balance=flowlet replaces the 10 s rebalance by modes/flowlet.py's
    (tlb_dynamic_lb aside: asking for flowlet asks for moves)."""

    uses_active = True
    unique_macs = True
    hash_tick_interval: float = REBALANCE_INTERVAL

    def __init__(self, opts: BondOptions) -> None:
        super().__init__(opts)
        self.clock = time.monotonic
        self._tx: list[Port] = []
        self._placed: tuple[int, ...] | None = None
        self._next_rebalance = 0.0

    def placement(self, tx: Sequence[Port]) -> tuple[int, ...] | None:
        """-1 everywhere (hash % count) until the first rebalance has
        measured the buckets, then by least load; a change of members
        hashes again until the next measurement."""
        if flowlet_on(self.opts):
            return self.flowlet.placement(tx, self.read_rates)
        if not self.opts.tlb_dynamic_lb:
            return None
        if not self._next_rebalance:
            self._next_rebalance = self.clock() + REBALANCE_INTERVAL
        if [id(m) for m in tx] != [id(m) for m in self._tx]:
            self._tx = list(tx)
            self._placed = None
        return self._placed or (-1,) * BUCKETS

    def rebalance(self, read_bucket_bytes: Callable[[], list[int]], now: float) -> bool:
        # The tick nearest the due time rebalances: the bond's ticks may
        # have started a moment before the first plan was published.
        if flowlet_on(self.opts):
            return self.flowlet.rebalance(
                read_bucket_bytes, now, self.read_queues, self.read_committed, self.read_rates
            )
        if (
            not self.opts.tlb_dynamic_lb
            or not self._next_rebalance
            or now + self.hash_tick_interval / 2 < self._next_rebalance
        ):
            return False
        self._next_rebalance = now + REBALANCE_INTERVAL
        sent = read_bucket_bytes()
        if not self._tx:
            return False
        self._placed = place_by_load([m.speed for m in self._tx], sent)
        return True

    def rx_policy(self, member: Port, active: Port | None) -> int:
        # The active member carries the bond's MAC and receives everything;
        # the others receive nothing (bond_should_deliver_exact_match).
        return RX_DELIVER if member is active or self.opts.all_slaves_active else RX_DROP

    def carrier(self, usable: Sequence[Port], active: Port | None) -> bool:
        return active is not None
