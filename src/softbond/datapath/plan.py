"""One forwarding plan for the three data paths.

The mode's runner decides (which members transmit, where tlb/alb buckets
go, each member's receive policy); `build_plan` turns those decisions into
one immutable `ForwardingPlan`, and every data path forwards from it:

- the in-process loop (inprocess.py) and the worker processes (workers.py)
  compile it with `compile_transmit` into the callable run per frame;
- the eBPF path (ebpf/state.py) writes it into bond.bpf.c's maps, whose
  sb_egress makes the same decisions in the kernel.

So a frame leaves by the same member whichever path carries it
(tests/unit/test_worker_plans.py and tests/integration/test_ebpf_modes.py
hold the three to that, frame by frame).

tlb/alb place buckets by one rule on every path: `xmit_hash % count` until
the first measurement, then every REBALANCE_INTERVAL by measured load
(modes/tlb.py says why this rule and how it differs from the kernel's).
What each bucket carried is counted by the path (`bucket_bytes` here, the
programs' sb_bucket_bytes) and read back by the control plane, which
publishes a new plan. alb's outgoing ARP leaves the data path on every
path: to the daemon, whose rlb picks the member and sends it.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence, TypeAlias

from .abi import (
    FLOWLET_SCAN,
    BUCKETS,
    MAX_MEMBERS,
    MODE_8023AD,
    MODE_AB,
    MODE_ALB,
    MODE_BCAST,
    MODE_RR,
    MODE_TLB,
    MODE_XOR,
    POL_L2,
    POL_VLAN_SRCMAC,
    RX_DROP,
)
from ..modes.alb import alb_bucket
from ..modes.base import VNET, Port, Runner
from ..modes.flowlet import flowlet_gap_us, flowlet_on, flowlet_queues
from ..modes.tlb import tlb_hash
from ..wire.xmit_hash import hash_function

_ETHERTYPE = VNET + 12
_SRC_MAC = slice(VNET + 6, VNET + 12)
_IGMP_PROTO = VNET + 14 + 9

#: a member's send, and the transmit compiled from a plan: a frame (a
#: memoryview, virtio-net header first) -> what the send returned (False:
#: dropped)
Send: TypeAlias = Callable[[memoryview], object]
#: the 256 tlb/alb bucket byte counters (a list, or a memoryview of shared memory)
BucketBytes: TypeAlias = list[int] | memoryview


@dataclass(frozen=True)
class ForwardingPlan:
    """Everything a data path needs to move frames, as one value.
    `buckets` (tlb/alb with tlb_dynamic_lb=1) index into `tx_members`;
    -1: `xmit_hash % count`; None: no bucket table (static placement)."""

    mode: int
    xmit_hash_policy: int
    packets_per_slave: int
    tx_members: tuple[tuple[int, bytes], ...]  # (ifindex, mac) frames may leave by, in order
    active: int  # ifindex or 0
    rx_policy: dict[int, int] = field(hash=False)  # ifindex -> abi RX_*, every member
    buckets: tuple[int, ...] | None
    bond_mac: bytes
    names: dict[int, str] = field(default_factory=dict, hash=False)  # ifindex -> name, every member
    macs: dict[int, bytes] = field(default_factory=dict, hash=False)  # ifindex -> MAC, every member
    busy_poll_ns: int = 0  # the Python loops' datapath_busy_poll
    protocol_counters: bool = True  # the Python loops count by protocol (eBPF always does)
    # xmit_balance=flowlet (xor, 802.3ad, tlb): `buckets` is where each
    # bucket is wanted, and a bucket moves there only once idle this long
    # (FlowletState, bond.bpf.c's flowlet_slot); 0: buckets apply at once
    flowlet_gap_ns: int = 0
    # flowlet with every tx member's line rate known (modes/flowlet.py's
    # queue model): tx member ifindex -> (picoseconds a byte, µs its qdisc
    # queues at most); the data paths then model each member's queue, and
    # `buckets` carries only the balancer's moves and the heavy buckets it
    # keeps where they are, -1 letting the data path place a bucket's new
    # flowlets on the shortest queue (bond.bpf.c's flowlet_queued,
    # FlowletState.queue_committer). None: no model.
    flowlet_rates: dict[int, tuple[int, int]] | None = field(default=None, hash=False)
    # The carrier rescue (ebpf/rescue.py): where each member's frames go
    # while it has no carrier (rescue_targets), and, for the receive side,
    # member -> the member it stands in for (stand_ins; empty with the
    # rescue off)
    rescue_to: dict[int, int] = field(default_factory=dict, hash=False)
    stand_ins: dict[int, int] = field(default_factory=dict, hash=False)

    @property
    def arp_slowpath(self) -> bool:
        """alb: outgoing ARP leaves the data path for the daemon's rlb
        (bond.bpf.c's SB_F_ARP_SLOWPATH, once the daemon reads it)."""
        return self.mode == MODE_ALB

    @property
    def active_slot(self) -> int:
        """The active member's index in tx_members, or -1."""
        return next((i for i, (ifindex, _) in enumerate(self.tx_members) if ifindex == self.active), -1)

    def validate(self) -> None:
        """What the eBPF maps can hold (the Python paths hold anything)."""
        if not MODE_RR <= self.mode <= MODE_ALB:
            raise ValueError(f"unknown bond mode {self.mode}")
        if not POL_L2 <= self.xmit_hash_policy <= POL_VLAN_SRCMAC:
            raise ValueError(f"unknown xmit_hash_policy {self.xmit_hash_policy}")
        if len(self.tx_members) > MAX_MEMBERS:
            raise ValueError(f"at most {MAX_MEMBERS} members in the eBPF data path")
        if len(self.bond_mac) != 6 or any(len(m) != 6 for _, m in self.tx_members):
            raise ValueError("MAC addresses are 6 bytes")
        if self.buckets is not None:
            if len(self.buckets) != BUCKETS:
                raise ValueError(f"buckets needs {BUCKETS} entries")
            n = len(self.tx_members)
            if any(not -1 <= b < n for b in self.buckets):
                raise ValueError("bucket entries are indices into tx_members or -1")


def rescue_targets(members: Sequence[int], usable: Sequence[int], sending: Sequence[int] = ()) -> dict[int, int]:
    """member ifindex -> the member its frames go to while it has no
    carrier (ebpf/rescue.bpf.c): the next member after it, in member
    order, that the plan sends by (`sending`: tx_members, so 802.3ad
    stays in its aggregator), else the next usable one; none when no
    other member is usable. Starting after the member itself spreads the
    rescues of several lost members. Active-backup's active member gets
    the carrier thread's armed choice on top (CarrierRescue.set)."""
    usable_set, sending_set = set(usable), set(sending) & set(usable)
    out: dict[int, int] = {}
    for i, member in enumerate(members):
        after = [*members[i + 1 :], *members[:i]]
        target = next((m for m in after if m in sending_set), None)
        if target is None:
            target = next((m for m in after if m in usable_set), None)
        if target is not None:
            out[member] = target
    return out


def rescue_enabled() -> bool:
    """SOFTBOND_CARRIER_RESCUE=0 turns the carrier rescue off, both sides
    (the benches measure with and without it in one invocation)."""
    return os.environ.get("SOFTBOND_CARRIER_RESCUE", "1") != "0"


def stand_ins(targets: Mapping[int, int], rx_policy: Mapping[int, int]) -> dict[int, int]:
    """The carrier rescue's receive side: member -> the member whose frames
    it delivers while that one has no carrier. B stands in for A when A's
    frames are rescued to B (`targets`, rescue_targets) and B's receive
    policy drops what A's accepts: the switch floods the far side's frames
    to B as soon as A's port goes. One A per B, the first in member order,
    and one B per A, so a flood is never delivered twice."""
    out: dict[int, int] = {}
    for lost, by in targets.items():
        if rx_policy.get(lost, RX_DROP) != RX_DROP and rx_policy.get(by, RX_DROP) == RX_DROP:
            out.setdefault(by, lost)
    return out


def build_plan(
    runner: Runner, members: Sequence[Port], usable: Sequence[Port], active: Port | None, bond_mac: bytes
) -> ForwardingPlan:
    """The runner's decisions for the current members, as a plan."""
    tx = runner.tx_members(usable, active)
    rx_policy = {m.ifindex: runner.rx_policy(m, active) for m in members}
    rescue_to = rescue_targets([m.ifindex for m in members], [m.ifindex for m in usable], [m.ifindex for m in tx])
    return ForwardingPlan(
        mode=runner.opts.mode,
        xmit_hash_policy=runner.opts.xmit_hash_policy,
        packets_per_slave=runner.opts.packets_per_slave,
        tx_members=tuple((m.ifindex, m.mac_bytes) for m in tx),
        active=active.ifindex if active is not None else 0,
        rx_policy=rx_policy,
        buckets=runner.placement(tx),
        bond_mac=bond_mac,
        names={m.ifindex: m.name for m in members},
        macs={m.ifindex: m.mac_bytes for m in members},
        busy_poll_ns=runner.opts.datapath_busy_poll * 1000,
        protocol_counters=bool(runner.opts.protocol_counters),
        flowlet_gap_ns=flowlet_gap_us(runner) * 1000 if flowlet_on(runner.opts) else 0,
        flowlet_rates=flowlet_queues(runner),
        rescue_to=rescue_to,
        stand_ins=stand_ins(rescue_to, rx_policy) if rescue_enabled() else {},
    )


class FlowletState:
    """What a Python loop remembers per bucket for flowlet balancing, across
    plans (as bond.bpf.c's sb_flowlet): the member slot the bucket uses now
    (-1: xmit_hash % count) and when its last frame left (time.monotonic_ns,
    the programs' bpf_ktime_get_ns). `moves[at]` counts the buckets that
    changed member after a pause (a list, or a worker's shared counters).
    Each worker keeps its own: the TAP's queue choice keeps a flow on one.
    `shown`: a worker's shared counters where each commit also writes the
    bucket's slot + 1 (0: hash), for the daemon's balancer to read
    (`committed`); written at a commit only, never per frame."""

    def __init__(
        self,
        moves: list[int] | memoryview | None = None,
        at: int = 0,
        shown: memoryview | None = None,
        queues: list[int] | memoryview | None = None,
    ) -> None:
        self.current = [-1] * BUCKETS
        self.last_seen = [0] * BUCKETS
        self.depart = [0] * BUCKETS  # queue model: when the bucket's last frame leaves its member's queue
        self.moves = moves if moves is not None else [0]
        self.at = at
        self.shown = shown
        # queue model (bond.bpf.c's sb_member_queue): per member counter
        # slot, when the queue the bond filled it with empties (a worker's
        # shared slots: every worker's frames fill the same members)
        self.queues = queues if queues is not None else [0] * MAX_MEMBERS
        self.member_slots: Mapping[int, int] = {}  # ifindex -> its slot in `queues`, set per plan
        self.clock = time.monotonic_ns

    def committed(self) -> list[int]:
        """Where each bucket's frames leave now (-1: hash % count)."""
        return list(self.current)

    def committer(self, wanted: Sequence[int], gap_ns: int) -> Callable[[int], int]:
        """bucket -> its slot now (-1: hash), moving it to `wanted[bucket]`
        when its last frame is older than `gap_ns`. One clock read and a few
        list stores per frame, nothing allocated."""
        current, last_seen, moves, at, clock = self.current, self.last_seen, self.moves, self.at, self.clock
        shown = self.shown

        def slot_of(bucket: int) -> int:
            now = clock()
            last = last_seen[bucket]
            if current[bucket] != wanted[bucket] and now - last > gap_ns:
                current[bucket] = wanted[bucket]
                if shown is not None:
                    shown[bucket] = wanted[bucket] + 1
                if last:  # a bucket's first frame is no move
                    moves[at] += 1
            last_seen[bucket] = now
            return current[bucket]

        return slot_of

    def queue_committer(
        self, wanted: Sequence[int], gap_ns: int, rates: Sequence[tuple[int, int, int]]
    ) -> Callable[[int, int, int], int]:
        """(bucket, its hash's slot, wire bytes) -> its slot, with the queue
        model (bond.bpf.c's flowlet_queued, which says why): to `wanted`
        when it is not -1 (its own member: it stays), else a new flowlet
        (after a pause longer than the gap) to the shortest queue when that
        is shorter than its own; moved only once the new member lets a
        frame start after the bucket's last one has left, plus the gap.
        `rates`: per tx slot (queue slot, picoseconds a byte, queue cap in
        ns)."""
        current, last_seen, depart, moves, at, clock = (
            self.current,
            self.last_seen,
            self.depart,
            self.moves,
            self.at,
            self.clock,
        )
        shown, queues, count = self.shown, self.queues, len(rates)
        scan = min(count, FLOWLET_SCAN)  # bond.bpf.c's SB_FLOWLET_SCAN

        def slot_of(bucket: int, hashed: int, nbytes: int) -> int:
            now = clock()
            slot = current[bucket]
            if not 0 <= slot < count or not last_seen[bucket]:
                slot = hashed
            queue, ps, cap = rates[slot]
            best, best_free = slot, queues[queue]
            if best_free < now:
                best_free = now
            want = wanted[bucket]
            if 0 <= want < count:
                best = want
                best_free = queues[rates[want][0]]
                if best_free < now:
                    best_free = now
            elif now - last_seen[bucket] > gap_ns:
                for i in range(scan):
                    free = queues[rates[i][0]]
                    if free < now:
                        free = now
                    if free < best_free:
                        best, best_free = i, free
            if best != slot and best_free >= depart[bucket] + gap_ns:
                if last_seen[bucket]:  # a bucket's first frame is no move
                    moves[at] += 1
                slot = best
                queue, ps, cap = rates[slot]
            if slot != current[bucket]:
                current[bucket] = slot
                if shown is not None:
                    shown[bucket] = slot + 1
            last_seen[bucket] = now
            start = queues[queue]
            if start < now:
                start = now
            start += nbytes * ps // 1000
            if start > now + cap:  # the qdisc drops past its limit: what it dropped does not queue
                start = now + cap
            queues[queue] = start
            depart[bucket] = start
            return slot

        return slot_of

    def queue_rates(self, plan: ForwardingPlan) -> tuple[tuple[int, int, int], ...] | None:
        """queue_committer's `rates` for the plan's tx members, or None
        without the queue model (or a member without a counter slot)."""
        if not plan.flowlet_rates:
            return None
        out = []
        for ifindex, _ in plan.tx_members:
            queue = self.member_slots.get(ifindex)
            rate = plan.flowlet_rates.get(ifindex)
            if queue is None or not 0 <= queue < len(self.queues) or rate is None:
                return None
            out.append((queue, rate[0], rate[1] * 1000))
        return tuple(out)


def wire_bytes(frame: memoryview) -> int:
    """The bytes a frame (virtio-net header first) takes on the wire: a GSO
    frame leaves as segments, each with its headers (bond.bpf.c's
    wire_len)."""
    n = len(frame) - VNET
    if frame[1]:  # struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, ... (little-endian)
        gso = frame[4] | frame[5] << 8
        headers = frame[2] | frame[3] << 8
        if gso and n > headers:
            n += (-(-(n - headers) // gso) - 1) * headers
    return n


# -- the forwarding decision, compiled for the Python paths ---------------------


def _drop(frame: memoryview) -> bool:
    return False


def compile_transmit(
    plan: ForwardingPlan,
    sends: Mapping[int, Send],
    bucket_bytes: BucketBytes,
    to_daemon: Send,
    rotation: Iterator[int] | None = None,
    flowlet: FlowletState | None = None,
) -> Send | None:
    """The transmit callable for `plan`, as bond.bpf.c's sb_egress decides:
    frame (memoryview with the virtio-net header) -> sent on a member, or
    dropped (returns False); None when the plan drops every frame (no
    member to send by: the loops then count nothing out).
    `sends`: ifindex -> send callable; a member without one (its socket
    not open yet) drops what would leave by it. `bucket_bytes`: 256
    counters (a list or a memoryview) the tlb/alb buckets' bytes are added
    to; `to_daemon(frame without the header)`: alb's outgoing ARP;
    `rotation`: balance-rr's frame counter (an itertools.count), kept by
    the loop across plans so that a new plan does not restart the rotation
    at the first member (the kernel's rr_tx_counter, bond.bpf.c's sb_rr);
    `flowlet`: the loop's FlowletState, kept across plans likewise (a
    fresh one when None).
    Everything is looked up here, once per plan: the callable returned only
    indexes tuples and calls."""

    def send_of(ifindex: int) -> Send:
        send = sends.get(ifindex)
        return send if send is not None else _drop

    mode = plan.mode
    active_send = send_of(plan.active) if plan.active else None
    if mode == MODE_AB:
        return active_send
    slot_sends = tuple(send_of(ifindex) for ifindex, _ in plan.tx_members)
    count = len(slot_sends)
    if plan.flowlet_gap_ns and flowlet is None:
        flowlet = FlowletState()
    if mode in (MODE_TLB, MODE_ALB):
        return _balanced(plan, slot_sends, active_send, bucket_bytes, to_daemon, flowlet)
    if not count:
        return None
    if count == 1:
        return slot_sends[0]
    if mode == MODE_RR:
        return _round_robin(slot_sends, plan.packets_per_slave, itertools.count() if rotation is None else rotation)
    if mode in (MODE_XOR, MODE_8023AD) and plan.flowlet_gap_ns and plan.buckets is not None and flowlet:
        return _hashed_flowlets(plan, slot_sends, bucket_bytes, flowlet)
    if mode in (MODE_XOR, MODE_8023AD):
        policy_hash = hash_function(plan.xmit_hash_policy)

        def transmit(frame: memoryview) -> object:
            return slot_sends[policy_hash(frame, VNET) % count](frame)

        return transmit
    if mode == MODE_BCAST:

        def transmit(frame: memoryview) -> object:
            for send in slot_sends:
                try:
                    send(frame)
                except OSError:
                    pass  # one member failing must not starve the others
            return None

        return transmit
    raise ValueError(f"unknown bond mode {mode}")


def is_igmp(frame: memoryview) -> bool:
    """An untagged IPv4 IGMP frame (virtio-net header first)."""
    return (
        len(frame) > _IGMP_PROTO
        and frame[_ETHERTYPE] == 0x08
        and frame[_ETHERTYPE + 1] == 0
        and frame[_IGMP_PROTO] == 2
    )


def _round_robin(slot_sends: tuple[Send, ...], per_slave: int, counter: Iterator[int]) -> Send:
    """bond_xmit_roundrobin: packets_per_slave frames per member in turn
    (0: a random member per frame); IGMP leaves by the first member, as
    the kernel's leaves by one port."""
    count = len(slot_sends)
    first = slot_sends[0]
    if per_slave == 0:
        randbelow = random.Random().randrange

        def pick() -> int:
            return randbelow(count)
    else:

        def pick() -> int:
            return (next(counter) // per_slave) % count

    if per_slave == 1:

        def transmit(frame: memoryview) -> object:
            if is_igmp(frame):
                return first(frame)
            return slot_sends[next(counter) % count](frame)
    else:

        def transmit(frame: memoryview) -> object:
            if is_igmp(frame):
                return first(frame)
            return slot_sends[pick()](frame)

    return transmit


def _hashed_flowlets(
    plan: ForwardingPlan, slot_sends: tuple[Send, ...], bucket_bytes: BucketBytes, flowlet: FlowletState
) -> Send:
    """xor and 802.3ad with xmit_balance=flowlet (bond.bpf.c's
    send_flowlet): the bucket (hash & 0xFF) by its committed slot, else
    the kernel's hash % count."""
    count = len(slot_sends)
    policy_hash = hash_function(plan.xmit_hash_policy)
    rates = flowlet.queue_rates(plan)
    if rates is not None:
        queued = flowlet.queue_committer(_wanted(plan, count), plan.flowlet_gap_ns, rates)

        def transmit_queued(frame: memoryview) -> object:
            key = policy_hash(frame, VNET)
            bucket = key & 0xFF
            bucket_bytes[bucket] += len(frame) - VNET
            return slot_sends[queued(bucket, key % count, wire_bytes(frame))](frame)

        return transmit_queued
    slot_of = flowlet.committer(_wanted(plan, count), plan.flowlet_gap_ns)

    def transmit(frame: memoryview) -> object:
        key = policy_hash(frame, VNET)
        bucket = key & 0xFF
        bucket_bytes[bucket] += len(frame) - VNET
        slot = slot_of(bucket)
        return slot_sends[slot if 0 <= slot < count else key % count](frame)

    return transmit


def _wanted(plan: ForwardingPlan, count: int) -> tuple[int, ...]:
    """The plan's bucket table, an index past the members -1 (it would
    raise in the loop: checked here, once per plan)."""
    return tuple(b if b < count else -1 for b in plan.buckets) if plan.buckets is not None else (-1,) * BUCKETS


def _balanced(
    plan: ForwardingPlan,
    slot_sends: tuple[Send, ...],
    active_send: Send | None,
    bucket_bytes: BucketBytes,
    to_daemon: Send,
    flowlet: FlowletState | None = None,
) -> Send | None:
    """tlb and alb (bond.bpf.c's send_balanced): balanced buckets by their
    placed member, else by xmit_hash % count, the source MAC becoming that
    member's except on the active one; the rest by the active member;
    alb's ARP to the daemon. tlb's key is the xmit hash itself (its low
    byte the bucket, the whole of it the member of an unplaced bucket: one
    hash per frame); alb's is its bucket, a cheaper XOR, and only frames
    of unplaced buckets are hashed."""
    count = len(slot_sends)
    if active_send is None:  # send_active: no active member, the first one
        if not count:
            return None
        active_send = slot_sends[0]
    balanced = _balanced_by_bucket(plan, slot_sends, active_send, bucket_bytes, flowlet) if count > 1 else active_send
    if not plan.arp_slowpath:
        return balanced

    def transmit(frame: memoryview) -> object:
        if frame[_ETHERTYPE] == 0x08 and frame[_ETHERTYPE + 1] == 0x06:
            return to_daemon(frame[VNET:])
        return balanced(frame)

    return transmit


def _balanced_by_bucket(
    plan: ForwardingPlan,
    slot_sends: tuple[Send, ...],
    active_send: Send,
    bucket_bytes: BucketBytes,
    flowlet: FlowletState | None,
) -> Send:
    count = len(slot_sends)
    macs = tuple(mac for _, mac in plan.tx_members)
    active_slot = plan.active_slot
    placed = _wanted(plan, count)
    # flowlet: a bucket takes its placed slot only after a pause
    slot_of = flowlet.committer(placed, plan.flowlet_gap_ns) if plan.flowlet_gap_ns and flowlet else None
    rates = flowlet.queue_rates(plan) if slot_of is not None and flowlet else None
    queued = flowlet.queue_committer(placed, plan.flowlet_gap_ns, rates) if flowlet and rates else None
    key_is_hash = plan.mode == MODE_TLB
    key_of = tlb_hash(plan.xmit_hash_policy) if key_is_hash else alb_bucket
    policy_hash = hash_function(plan.xmit_hash_policy)

    def transmit(frame: memoryview) -> object:
        key = key_of(frame)
        if key is None:
            return active_send(frame)
        bucket = key & 0xFF
        if queued is not None:  # tlb: the key is the hash
            slot = queued(bucket, key % count, wire_bytes(frame))
        else:
            slot = placed[bucket] if slot_of is None else slot_of(bucket)
            if not 0 <= slot < count:
                slot = (key if key_is_hash else policy_hash(frame, VNET)) % count
        # counted without a table too (nobody reads it then): a test less per frame
        bucket_bytes[bucket] += len(frame) - VNET
        if slot != active_slot:
            frame[_SRC_MAC] = macs[slot]
        return slot_sends[slot](frame)

    return transmit
