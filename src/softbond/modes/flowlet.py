"""Flowlet balancing (xmit_balance=flowlet) for balance-xor, 802.3ad and
balance-tlb: the control plane's half.

Windows NIC teaming's "Dynamic" mode moves a flow to another member only
at a flowlet boundary: a pause in the flow longer than the difference in
delay between the members' paths, so the frames after the pause cannot
overtake those before it and nothing is reordered. No Linux bonding mode
does this: xor and 802.3ad never move a flow, tlb moves buckets every 10 s
whatever is in flight.

The split, one plan for the three data paths (datapath/plan.py):
- the flows are the kernel's buckets, xmit_hash & 0xFF. Every bucket
  starts where the kernel puts its frames (`xmit_hash % count`, plan
  entry -1), so until a measurement finds an imbalance the bond forwards
  exactly as with xmit_balance=hash;
- every flowlet_interval the bytes each bucket carried are read back from
  the data path (the same counters tlb uses). When the busiest member
  carried more than IMBALANCE of the total above the least loaded one,
  buckets of the busiest are *wanted* on the least loaded, the heaviest
  that still narrows the difference first (`FlowletBalancer.place`);
- the data path keeps, per bucket, the member it currently uses and when
  its last frame left, and commits a wanted move only when that frame is
  older than flowlet_gap (bond.bpf.c's flowlet_slot, plan.FlowletState):
  a busy bucket keeps its member until it pauses.

The loads are computed from the wanted placement (the control plane does
not read back what each path committed): a bucket still waiting for its
gap counts on its new member. Unplaced buckets count on `bucket % count`,
which is their member exactly for 2 and 4 members (the hash's low bits);
with other counts the load estimate is approximate, the frames still leave
by the kernel's member.
"""
from __future__ import annotations

import time
from typing import Callable, Protocol, Sequence

from ..config.registry import BondOptions, XmitBalance
from ..datapath.abi import BUCKETS
from .base import Port, Runner

#: the busiest member's surplus over the least loaded one, as a share of
#: all bytes, below which nothing moves (a move costs a gap's wait and a
#: flow's path change; small imbalances are not worth it)
IMBALANCE = 0.1


def flowlet_on(opts: BondOptions) -> bool:
    return opts.xmit_balance == XmitBalance.FLOWLET


class MovesCounted(Protocol):
    def flowlet_moves(self) -> int: ...


def flowlet_status(opts: BondOptions, device: MovesCounted | None) -> dict[str, int] | None:
    """status --json "flowlet" (None with xmit_balance=hash); `moves`: the
    buckets the data path moved after a pause."""
    if not flowlet_on(opts):
        return None
    return {"gap_us": opts.flowlet_gap, "interval_ms": opts.flowlet_interval,
            "moves": device.flowlet_moves() if device is not None else 0}


def member_loads(placement: Sequence[int], sent: Sequence[int], count: int) -> list[int]:
    """Bytes per member in the last interval, each bucket on its placed
    member (-1: bucket % count, the hash's member for 2 and 4 members)."""
    loads = [0] * count
    for bucket in range(BUCKETS):
        if sent[bucket]:
            slot = placement[bucket]
            loads[slot if 0 <= slot < count else bucket % count] += sent[bucket]
    return loads


def place(placement: Sequence[int], sent: Sequence[int], count: int) -> tuple[int, ...]:
    """The wanted placement after an interval in which bucket b carried
    sent[b] bytes: while the busiest member carries more than IMBALANCE of
    the total above the least loaded one, its heaviest bucket smaller than
    that difference moves there (moving a bucket as large as the
    difference or larger would only swap the two members' roles)."""
    table = list(placement)
    if count < 2:
        return tuple(table)
    loads = member_loads(table, sent, count)
    total = sum(loads)
    while total:
        busiest = max(range(count), key=loads.__getitem__)
        least = min(range(count), key=loads.__getitem__)
        surplus = loads[busiest] - loads[least]
        if surplus <= IMBALANCE * total:
            break
        on_busiest = [b for b in range(BUCKETS) if sent[b] and sent[b] < surplus
                      and (table[b] if 0 <= table[b] < count else b % count) == busiest]
        if not on_busiest:
            break
        bucket = max(on_busiest, key=sent.__getitem__)
        table[bucket] = least
        loads[busiest] -= sent[bucket]
        loads[least] += sent[bucket]
    return tuple(table)


class FlowletBalancer:
    """A runner's flowlet placement: Runner.placement and Runner.rebalance
    for xmit_balance=flowlet, and the interval its bond ticks at."""

    def __init__(self, opts: BondOptions) -> None:
        self.opts = opts
        self.clock = time.monotonic
        self._tx: list[int] = []
        self._wanted: tuple[int, ...] = (-1,) * BUCKETS
        self._next = 0.0

    @property
    def interval(self) -> float:
        return self.opts.flowlet_interval / 1000

    def placement(self, tx: Sequence[Port]) -> tuple[int, ...]:
        """The wanted table; a change of members starts from the hash again
        (as the kernel re-hashes over the new members)."""
        if not self._next:
            self._next = self.clock() + self.interval
        if [id(m) for m in tx] != self._tx:
            self._tx = [id(m) for m in tx]
            self._wanted = (-1,) * BUCKETS
        return self._wanted

    def rebalance(self, read_bucket_bytes: Callable[[], list[int]], now: float) -> bool:
        if not self._next or now + self.interval / 2 < self._next:
            return False
        self._next = now + self.interval
        sent = read_bucket_bytes()
        wanted = place(self._wanted, sent, len(self._tx))
        if wanted == self._wanted:
            return False
        self._wanted = wanted
        return True


class FlowletRunner(Runner):
    """A runner whose flows xmit_balance=flowlet may move (balance-xor,
    802.3ad; tlb keeps its own rule for xmit_balance=hash): the placement
    and rebalance hooks, and the bond's tick at flowlet_interval."""

    #: the tick without flowlet balancing (None: no tick)
    hash_tick_interval: float | None = None

    def __init__(self, opts: BondOptions) -> None:
        super().__init__(opts)
        self.flowlet = FlowletBalancer(opts)
        self._follow(opts)

    def configure(self, opts: BondOptions) -> None:
        super().configure(opts)
        self._follow(opts)

    def _follow(self, opts: BondOptions) -> None:
        self.flowlet.opts = opts
        # the bond's tick loop reads it before each sleep: a new interval
        # takes effect at the next tick (802.3ad's 100 ms tick stays: the
        # balancer keeps its own due time)
        tick = self.hash_tick_interval
        if flowlet_on(opts):
            tick = self.flowlet.interval if tick is None else min(tick, self.flowlet.interval)
        self.tick_interval = tick

    def placement(self, tx: Sequence[Port]) -> tuple[int, ...] | None:
        return self.flowlet.placement(tx) if flowlet_on(self.opts) else None

    def rebalance(self, read_bucket_bytes: Callable[[], list[int]], now: float) -> bool:
        return flowlet_on(self.opts) and self.flowlet.rebalance(read_bucket_bytes, now)
