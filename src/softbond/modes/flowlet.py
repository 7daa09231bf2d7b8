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

Each bucket counts where its frames actually leave: every interval the
control plane reads back what the data path committed (the device's
read_committed: sb_flowlet in one batch lookup, FlowletState's list, the
workers' shared slots; nothing per frame). A move still waiting for its
pause counts on the member the bucket leaves by; it stays wanted while
that member is still the busier of its two, and is not doubled by another
bucket sent after it; once the loads no longer ask for it (another bucket
moved meanwhile) it is dropped before it happens. Counting a bucket on the
member it was wanted on, as the balancer did at first, believed the
imbalance fixed while the bucket waited and kept wishes that had become
wrong. Unplaced buckets count on `bucket % count`, which is their member
exactly for 2 and 4 members (the hash's low bits); with other counts the
load estimate is approximate, the frames still leave by the kernel's
member.

The queue model (flowlet_gap_auto=on, every member's line rate known: a
tbf root's rate and limit, else the driver's speed, Links.line_rates read
every interval): the plan carries each member's picoseconds a byte and
queue cap, and the data path models each member's queue itself (every
frame starts when the one before has left, at the line rate) and moves a
bucket only once its frames on the new member cannot overtake its last one
on the old (bond.bpf.c's flowlet_queued says how). A reading every
interval could not: it misses the peaks of TCP's sawtooth. The table then
carries the balancer's moves and pins its heavy buckets (HEAVY) where the
data path sends them; -1 lets the data path place a bucket's new flowlets
on the shortest queue (`_wishes`). The gap is flowlet_gap alone, the floor.

Without the model (a member's rate unknown), the gap follows the queues
(flowlet_gap_auto=on): a frame waits in its
member's qdisc before it leaves, so a bucket moving from member A to B
must pause longer than delay(A) - delay(B) or its first frames on B
overtake its last ones still queued on A. Every flowlet_interval the
control plane reads each member's root qdisc (bytes queued, bytes sent:
one rtnetlink dump, nothing on the data path), takes queued / rate sent
as its delay. A reading is one moment of a queue that TCP fills and
drains many times an interval, so each member counts with the largest
delay of its last QUEUE_READINGS readings as a source and the smallest as
a destination; the plan's gap is flowlet_gap plus the largest such
difference between two members: one figure for every move, the one the
worst pair needs. (Only the pairs of the moves waiting would do: a
shorter gap, measured with more reordering, bench/RESULTS.md.)
flowlet_gap stays as the floor for what no qdisc shows (rings, the
links, the switch). The gap rises at once and falls only when
the need is a quarter below it: a gap too short reorders, one a little
long only waits.

A bucket that moved stays where it went for MOVE_HOLD intervals, counted
from the move the data path made (hysteresis): the loads of the buckets
left behind move every interval, and without it the same bucket went back
and forth, each move one more chance of reordering.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Collection, Mapping, Protocol, Sequence

from ..config.registry import BondOptions, XmitBalance
from ..datapath.abi import BUCKETS
from .base import Port, Runner

#: the busiest member's surplus over the least loaded one, as a share of
#: all bytes, below which nothing moves (a move costs a gap's wait and a
#: flow's path change; small imbalances are not worth it)
IMBALANCE = 0.1

#: with the queue model, a bucket that carried this share of all bytes in
#: an interval is heavy: it stays on its member until the loads move it
HEAVY = 0.1

#: the delay of a member whose qdisc holds bytes but sent none in an
#: interval (or was replaced): unknown, so long that nothing leaves it
STALLED_DELAY_US = 1_000_000

#: the readings of each member's queue the gap covers (1 s at the default interval)
QUEUE_READINGS = 5

#: intervals a moved bucket stays wanted where it went (2 s at the default)
MOVE_HOLD = 10

#: a member qdisc's limit when it is not known (no tbf): the data path's
#: model of its queue never holds more than this much time
QUEUE_CAP_US = 50_000

#: ifindex -> (bytes sent, bytes queued now) of its root qdisc (Rtnl.root_queues)
QueueStats = Mapping[int, tuple[int, int]]
#: ifindex -> (bytes a second it drains at, bytes its qdisc holds at most,
#: 0: unknown), for the members whose line rate is known (Links.line_rates)
LineRates = Mapping[int, tuple[int, int]]
ReadRates = Callable[[Mapping[int, str]], LineRates]
ReadQueues = Callable[[], QueueStats]
#: each bucket's slot as the data path committed it (-1: hash % count); None: unknown
ReadCommitted = Callable[[], Sequence[int] | None]


def flowlet_on(opts: BondOptions) -> bool:
    return opts.xmit_balance == XmitBalance.FLOWLET


class MovesCounted(Protocol):
    def flowlet_moves(self) -> int: ...


def flowlet_status(
    opts: BondOptions, device: MovesCounted | None, runner: Runner | None = None
) -> dict[str, object] | None:
    """status --json "flowlet" (None with xmit_balance=hash); `moves`: the
    buckets the data path moved after a pause; `gap_now_us`: the gap the
    data path applies now (flowlet_gap plus the queues' difference);
    `waiting`: buckets that carried bytes in the last interval and are
    wanted on another member than the one the data path sends them by
    (a move waiting for its pause); `queue_model`: the data path models
    each member's queue at its line rate (FlowletBalancer.queue_model);
    `line_rates`: member name -> {mbit, queue_cap_us} of those whose rate
    is known."""
    if not flowlet_on(opts):
        return None
    return {
        "gap_us": opts.flowlet_gap,
        "interval_ms": opts.flowlet_interval,
        "moves": device.flowlet_moves() if device is not None else 0,
        "gap_auto": opts.flowlet_gap_auto,
        "gap_now_us": flowlet_gap_us(runner) if runner is not None else opts.flowlet_gap,
        "waiting": runner.flowlet.waiting if isinstance(runner, FlowletRunner) else 0,
        "queue_model": isinstance(runner, FlowletRunner) and runner.flowlet.queue_model,
        "line_rates": runner.flowlet.line_rates() if isinstance(runner, FlowletRunner) else {},
    }


def member_rate(rate: int, limit: int) -> tuple[int, int]:
    """(picoseconds a byte, µs its queue holds at most) of a member that
    drains `rate` bytes a second through a qdisc of `limit` bytes (0:
    unknown, QUEUE_CAP_US): sb_member's ps_per_byte and queue_cap_us."""
    ps = max(1, min(0xFFFFFFFF, round(1e12 / rate)))
    cap = round(limit * 1e6 / rate) if limit else QUEUE_CAP_US
    return ps, max(1, min(10_000_000, cap))


def flowlet_queues(runner: Runner) -> dict[int, tuple[int, int]] | None:
    """The plan's flowlet_rates: tx member ifindex -> (ps a byte, queue cap
    µs), when the data paths model the members' queues and place the
    buckets themselves (flowlet_gap_auto=on and every member's line rate
    known), else None."""
    return runner.flowlet.queue_rates() if isinstance(runner, FlowletRunner) and flowlet_on(runner.opts) else None


def flowlet_gap_us(runner: Runner) -> int:
    """The gap the runner's plan carries: its balancer's (the queues'
    difference included), else flowlet_gap."""
    return runner.flowlet.gap_us if isinstance(runner, FlowletRunner) else runner.opts.flowlet_gap


def queue_delays_us(before: QueueStats, after: QueueStats, elapsed: float, ifindexes: Sequence[int]) -> list[int]:
    """Each member's queueing delay in µs: the bytes its root qdisc holds
    now over the rate it sent at in the `elapsed` seconds since `before`
    (0: nothing queued, or no qdisc at all, as veth's noqueue)."""
    delays = []
    for ifindex in ifindexes:
        sent, queued = after.get(ifindex, (0, 0))
        if not queued:
            delays.append(0)
            continue
        rate = (sent - before.get(ifindex, (sent, 0))[0]) / elapsed if elapsed > 0 else 0.0
        delays.append(min(STALLED_DELAY_US, round(queued * 1_000_000 / rate)) if rate > 0 else STALLED_DELAY_US)
    return delays


def queue_gap_us(readings: Sequence[Sequence[int]]) -> int:
    """What the queues add to the gap, from a few readings of every
    member's delay: the largest difference between one member's longest
    and another's shortest (a move from the longest queue to the shortest
    waits for its frames there to leave first)."""
    if not readings or len(readings[0]) < 2:
        return 0
    members = range(len(readings[0]))
    longest = [max(r[m] for r in readings) for m in members]
    shortest = [min(r[m] for r in readings) for m in members]
    return max(0, max(longest[a] - shortest[b] for a in members for b in members if a != b))


def slot_member(slot: int, bucket: int, count: int) -> int:
    """The member a bucket's frames leave by with `slot` (-1, or a slot
    past the members: bucket % count, the hash's member for 2 and 4)."""
    return slot if 0 <= slot < count else bucket % count


def member_loads(placement: Sequence[int], sent: Sequence[int], count: int) -> list[int]:
    """Bytes per member in the last interval, each bucket on its placed
    member (-1: bucket % count, the hash's member for 2 and 4 members)."""
    loads = [0] * count
    for bucket in range(BUCKETS):
        if sent[bucket]:
            loads[slot_member(placement[bucket], bucket, count)] += sent[bucket]
    return loads


def waiting_moves(committed: Sequence[int], wanted: Sequence[int], count: int) -> dict[int, tuple[int, int]]:
    """bucket -> (member it leaves by, member it is wanted on), for each
    bucket wanted on another member than the data path committed."""
    moves = {}
    for b in range(BUCKETS):
        src, dst = slot_member(committed[b], b, count), slot_member(wanted[b], b, count)
        if src != dst:
            moves[b] = (src, dst)
    return moves


def keep_waiting(committed: Sequence[int], wanted: Sequence[int], sent: Sequence[int], count: int) -> list[int]:
    """The table to place from after an interval: each bucket where the
    data path sends it now, and each move still waiting for its pause
    kept while the member it leaves is still the busier of the two
    (heaviest first; a bucket that sent nothing keeps its move, it takes
    it at its next frame). A move the loads no longer ask for (another
    bucket moved meanwhile) is dropped before it reorders anything; the
    mice's noise from one interval to the next does not drop one."""
    table = [slot if 0 <= slot < count else -1 for slot in committed]
    loads = member_loads(table, sent, count)
    moves = waiting_moves(table, wanted, count)
    for b in sorted(moves, key=lambda b: -sent[b]):
        src, dst = moves[b]
        if not sent[b] or loads[src] > loads[dst]:
            table[b] = wanted[b]
            loads[src] -= sent[b]
            loads[dst] += sent[b]
    return table


def place(placement: Sequence[int], sent: Sequence[int], count: int, held: Collection[int] = ()) -> tuple[int, ...]:
    """The wanted placement after an interval in which bucket b carried
    sent[b] bytes: while the busiest member carries more than IMBALANCE of
    the total above the least loaded one, its heaviest bucket smaller than
    that difference moves there (moving a bucket as large as the
    difference or larger would only swap the two members' roles). The
    buckets in `held` moved lately and stay."""
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
        on_busiest = [
            b
            for b in range(BUCKETS)
            if sent[b]
            and sent[b] < surplus
            and b not in held
            and (table[b] if 0 <= table[b] < count else b % count) == busiest
        ]
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
        self._ifindexes: list[int] = []
        self._wanted: tuple[int, ...] = (-1,) * BUCKETS
        self._published: tuple[int, ...] = (-1,) * BUCKETS  # the plan's table (_wishes)
        self._next = 0.0
        self._queues: QueueStats = {}  # the last read of the members' qdiscs
        self._queues_at = 0.0
        self._delays: deque[list[int]] = deque(maxlen=QUEUE_READINGS)  # per reading, µs per member
        self._queue_gap = 0  # µs the queues add to flowlet_gap, as published
        self._moved: dict[int, float] = {}  # bucket -> when it last moved (was wanted elsewhere, without committed)
        self._committed: Sequence[int] | None = None  # where the data path sent each bucket, as last read
        self._names: dict[int, str] = {}  # the members', ifindex -> name
        self._rates: dict[int, tuple[int, int]] = {}  # ifindex -> member_rate() of those whose rate is known
        self.waiting = 0  # buckets that carried bytes and wait for their pause to move, at the last interval

    @property
    def interval(self) -> float:
        return self.opts.flowlet_interval / 1000

    @property
    def queue_model(self) -> bool:
        """The data paths model each member's queue from its line rate and
        place the buckets themselves (bond.bpf.c's flowlet_queued,
        FlowletState.queue_committer): flowlet_gap_auto=on and every
        member's rate known."""
        return bool(self.opts.flowlet_gap_auto and self._ifindexes and all(i in self._rates for i in self._ifindexes))

    def queue_rates(self) -> dict[int, tuple[int, int]] | None:
        """ifindex -> (ps a byte, queue cap µs) of each member, with the queue model; else None."""
        return {i: self._rates[i] for i in self._ifindexes} if self.queue_model else None

    def line_rates(self) -> dict[str, dict[str, float]]:
        """member name -> {"mbit": its line rate, "queue_cap_us": the
        longest its qdisc queues}, for the members whose rate is known."""
        return {
            self._names[i]: {"mbit": round(8e6 / ps, 3), "queue_cap_us": cap}
            for i, (ps, cap) in self._rates.items()
            if i in self._names
        }

    @property
    def gap_us(self) -> int:
        """The pause a bucket needs before it moves, as the plan carries it:
        with the queue model the floor alone (the data path adds each
        member's queue itself), else flowlet_gap plus the queues' measured
        difference (flowlet_gap_auto=on)."""
        if self.queue_model:
            return self.opts.flowlet_gap
        return self.opts.flowlet_gap + (self._queue_gap if self.opts.flowlet_gap_auto else 0)

    def follow_rates(self, read_rates: ReadRates | None) -> bool:
        """Read the members' line rates; True when they changed. A read the
        kernel refuses keeps them as they are."""
        if read_rates is None or not self._names:
            return False
        try:
            rates = {i: member_rate(rate, limit) for i, (rate, limit) in read_rates(self._names).items() if rate > 0}
        except OSError:
            return False
        changed = rates != self._rates
        self._rates = rates
        return changed

    def follow_queues(self, read_queues: ReadQueues, now: float) -> bool:
        """Read the members' qdiscs; True when the gap changed (rises at
        once, falls only when the need is a quarter below it). A read the
        kernel refuses keeps the gap as it is."""
        try:
            queues = read_queues()
        except OSError:
            return False
        self._delays.append(queue_delays_us(self._queues, queues, now - self._queues_at, self._ifindexes))
        self._queues, self._queues_at = queues, now
        need = queue_gap_us(self._delays)
        if need > self._queue_gap or 4 * need < 3 * self._queue_gap:
            self._queue_gap = need
            return bool(self.opts.flowlet_gap_auto)
        return False

    def placement(self, tx: Sequence[Port], read_rates: ReadRates | None = None) -> tuple[int, ...]:
        """The wanted table; a change of members starts from the hash again
        (as the kernel re-hashes over the new members) and reads their line
        rates (a member joining runs without the queue model until its
        rate is known)."""
        if not self._next:
            self._next = self.clock() + self.interval
        if [id(m) for m in tx] != self._tx:
            self._tx = [id(m) for m in tx]
            self._ifindexes = [m.ifindex for m in tx]
            self._names = {m.ifindex: m.name for m in tx}
            self.follow_rates(read_rates)
            self._wanted = self._published = (-1,) * BUCKETS
            self._delays.clear()
            self._moved.clear()
            self._committed = None
        return self._published

    def _wishes(
        self, wanted: tuple[int, ...], committed: Sequence[int] | None, sent: Sequence[int], count: int
    ) -> tuple[int, ...]:
        """The table the plan carries: the wanted one; with the queue model
        (bond.bpf.c's flowlet_queued) a member for each bucket wanted
        elsewhere than the data path sends it (a move), its own member for
        each heavy one (HEAVY of the bytes: it stays, as an elephant must
        not join another one at a pause), -1 for the rest: the data path
        places their new flowlets on the shortest queue itself."""
        if not self.queue_model:
            return wanted
        if committed is None or len(committed) != BUCKETS:
            return (-1,) * BUCKETS
        heavy = HEAVY * sum(sent)
        table = []
        for b in range(BUCKETS):
            src, dst = slot_member(committed[b], b, count), slot_member(wanted[b], b, count)
            table.append(dst if src != dst or (sent[b] and sent[b] >= heavy) else -1)
        return tuple(table)

    def rebalance(
        self,
        read_bucket_bytes: Callable[[], list[int]],
        now: float,
        read_queues: ReadQueues | None = None,
        read_committed: ReadCommitted | None = None,
        read_rates: ReadRates | None = None,
    ) -> bool:
        """Place the buckets from what they carried in the last interval;
        True when a new plan is due (the wanted table or the gap changed).
        With `read_committed` each bucket counts where the data path sends
        it, a move waiting for its pause on the member it still leaves by."""
        if not self._next or now + self.interval / 2 < self._next:
            return False
        self._next = now + self.interval
        sent = read_bucket_bytes()
        rates_changed = self.follow_rates(read_rates)
        count = len(self._tx)
        committed = read_committed() if read_committed is not None else None
        if committed is not None and len(committed) == BUCKETS:
            wanted = self._place_committed(committed, sent, count, now)
            waiting = waiting_moves(committed, wanted, count) if count else {}
            self.waiting = sum(1 for b in waiting if sent[b])
        else:
            wanted = self._place_wanted(sent, count, now)
        self._wanted = wanted
        published = self._published
        self._published = self._wishes(wanted, committed, sent, count)
        changed = self._published != published
        # the queue model needs no readings of the qdiscs (one dump less an interval)
        gap_changed = read_queues is not None and not self.queue_model and self.follow_queues(read_queues, now)
        return changed or gap_changed or rates_changed

    def _place_committed(
        self, committed: Sequence[int], sent: Sequence[int], count: int, now: float
    ) -> tuple[int, ...]:
        """The wanted table from where the data path sends each bucket: a
        bucket is held MOVE_HOLD intervals from when it moved there, and no
        move is added while one that carries bytes waits for its pause."""
        last = self._committed
        if last is not None:
            self._moved.update((b, now) for b in range(BUCKETS) if committed[b] != last[b])
        self._committed = committed
        if count < 2:  # nothing to move between (802.3ad before a second member distributes)
            return self._wanted
        start = keep_waiting(committed, self._wanted, sent, count)
        waiting = waiting_moves(committed, start, count)
        if any(sent[b] for b in waiting):
            # one move waits at a time: the loads it was chosen by move
            # (the mice's first second is a burst), and a second move
            # towards the same member let two elephants swap members
            return tuple(start)
        return place(start, sent, count, self._held(now) | waiting.keys())

    def _held(self, now: float) -> set[int]:
        """The buckets that moved less than MOVE_HOLD intervals ago."""
        hold = MOVE_HOLD * self.interval
        return {b for b, when in self._moved.items() if now - when < hold}

    def _place_wanted(self, sent: Sequence[int], count: int, now: float) -> tuple[int, ...]:
        """The wanted table from the wanted one (the data path's own not
        known): a bucket is held MOVE_HOLD intervals from when it was wanted
        elsewhere, whether or not it moved."""
        held = self._held(now)
        wanted = place(self._wanted, sent, count, held)
        self._moved = {b: now for b in range(BUCKETS) if wanted[b] != self._wanted[b]} | {
            b: self._moved[b] for b in held
        }
        return wanted


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
        return self.flowlet.placement(tx, self.read_rates) if flowlet_on(self.opts) else None

    def rebalance(self, read_bucket_bytes: Callable[[], list[int]], now: float) -> bool:
        return flowlet_on(self.opts) and self.flowlet.rebalance(
            read_bucket_bytes, now, self.read_queues, self.read_committed, self.read_rates
        )
