"""balance-tlb (mode 5): outgoing load spread by member load, incoming on
the active member.

The kernel's transmit load balancing (bond_alb.c, tlb_* functions):
- only unicast IPv4/IPv6 is balanced (not neighbour discovery); the rest,
  and everything multicast, leaves by the active member;
- a 256-entry table maps hash buckets to members. A bucket gets a member at
  its first frame: the least loaded one, i.e. the largest gap between link
  capacity `speed << 20` and load `load << 3` (tlb_get_least_loaded_slave);
- every 10 s each bucket's load history becomes the bytes it sent per second
  and every bucket is unassigned, so flows are placed again by measured load
  (BOND_TLB_REBALANCE_INTERVAL);
- a frame leaving by a member other than the active one takes that member's
  MAC as source, so the switch never sees the bond MAC on two ports;
- tlb_dynamic_lb=0: usable[hash % count], no shuffling, no reordering.
The bucket is bond_xmit_hash() & 0xFF in tlb, and a XOR of the destination
IP's bytes in alb (_simple_hash).
"""
from __future__ import annotations

from ..wire.xmit_hash import hash_function
from ..datapath.abi import BUCKETS
from .base import RX_DELIVER, RX_DROP, VNET, Runner

REBALANCE_INTERVAL = 10.0
_ETHERTYPE = VNET + 12
_SRC_MAC = slice(VNET + 6, VNET + 12)
_IPV6_NEXT = VNET + 14 + 6
_ICMPV6_TYPE = VNET + 14 + 40
_ND_TYPES = (133, 134, 135, 136, 137)


def is_nd(frame) -> bool:
    """IPv6 neighbour discovery (alb_determine_nd): never balanced."""
    return len(frame) > _ICMPV6_TYPE and frame[_IPV6_NEXT] == 58 and frame[_ICMPV6_TYPE] in _ND_TYPES


def tlb_bucket(policy: int):
    """Bucket function for balance-tlb: the bond's xmit hash, low 8 bits;
    None for frames that are not balanced.  Like every bucket function it
    takes the frame as the data path has it, virtio-net header first."""
    xmit_hash = hash_function(policy)

    def bucket(frame):
        if frame[VNET] & 1:
            return None
        kind = frame[_ETHERTYPE] << 8 | frame[_ETHERTYPE + 1]
        if kind == 0x0800 or (kind == 0x86DD and not is_nd(frame)):
            return xmit_hash(frame, VNET) & 0xFF
        return None
    return bucket


class LoadTable:
    """tx_hashtbl: which member each bucket uses and what it has carried."""

    def __init__(self, capacities: list[int], history: list[int] | None = None) -> None:
        self.capacity = capacities                  # speed << 20, per usable member
        self.load = [0] * len(capacities)           # bytes/s assigned, per member
        self.member_of = [-1] * BUCKETS
        self.tx_bytes = [0] * BUCKETS
        self.history = list(history) if history else [0] * BUCKETS

    def assign(self, bucket: int) -> int:
        """tlb_choose_channel for a bucket with no member yet."""
        best, best_gap = 0, None
        load, capacity = self.load, self.capacity
        for i in range(len(capacity)):
            gap = capacity[i] - (load[i] << 3)
            if best_gap is None or gap > best_gap:
                best, best_gap = i, gap
        load[best] += self.history[bucket]
        self.member_of[bucket] = best
        return best

    def rebalance(self) -> None:
        """Every 10 s: remember what each bucket carried, then forget the
        placement so the next frame of each flow is placed by load."""
        tx = self.tx_bytes
        self.history = [1 + b // int(REBALANCE_INTERVAL) for b in tx]
        self.tx_bytes[:] = [0] * BUCKETS
        self.load[:] = [0] * len(self.load)
        self.member_of[:] = [-1] * BUCKETS


def balanced_transmit(usable, active, bucket_of, table: LoadTable | None, policy_hash):
    """The transmit callable shared by tlb and alb.

    bucket_of(frame) -> 0..255 or None (not balanced: active member).
    With a table (tlb_dynamic_lb=1) buckets are placed by load; without it
    the member is usable[policy_hash(frame, VNET) % count] (policy_hash is an
    xmit_hash function: it takes the offset of the Ethernet header)."""
    if active is None and not usable:
        return None
    sends = tuple(m.send for m in usable)
    macs = tuple(m.mac_bytes for m in usable)
    count = len(sends)
    active_send = active.send if active is not None else (sends[0] if sends else None)
    active_index = usable.index(active) if active in usable else -1
    if count <= 1:
        return active_send
    if table is not None:
        member_of, tx_bytes, assign = table.member_of, table.tx_bytes, table.assign

        def transmit(frame):
            bucket = bucket_of(frame)
            if bucket is None:
                return active_send(frame)
            index = member_of[bucket]
            if index < 0:
                index = assign(bucket)
            tx_bytes[bucket] += len(frame) - VNET
            if index != active_index:
                frame[_SRC_MAC] = macs[index]
            return sends[index](frame)
    else:
        def transmit(frame):
            if bucket_of(frame) is None:
                return active_send(frame)
            index = policy_hash(frame, VNET) % count
            if index != active_index:
                frame[_SRC_MAC] = macs[index]
            return sends[index](frame)
    return transmit


class Tlb(Runner):
    uses_active = True
    unique_macs = True
    tick_interval = REBALANCE_INTERVAL

    def __init__(self, opts) -> None:
        super().__init__(opts)
        self.table: LoadTable | None = None

    def bucket_function(self):
        return tlb_bucket(self.opts.xmit_hash_policy)

    def transmit(self, usable, active, bond_mac):
        history = self.table.history if self.table is not None else None
        self.table = None
        if self.opts.tlb_dynamic_lb:
            self.table = LoadTable([(m.speed or 10) << 20 for m in usable], history)
        return balanced_transmit(list(usable), active, self.bucket_function(), self.table,
                                 hash_function(self.opts.xmit_hash_policy))

    # -- the eBPF data path: buckets placed from measured bytes -------------
    _ebpf_tx: list = []
    _ebpf_placement: tuple[int, ...] | None = None
    _ebpf_next: float = 0.0

    def ebpf_buckets(self, tx):
        """Placement for the BPF bucket map: -1 (hash % count) until the
        first rebalance has measured the buckets, then by least load as
        LoadTable.assign decides, heaviest buckets first."""
        if not self.opts.tlb_dynamic_lb:
            return None
        if [id(m) for m in tx] != [id(m) for m in self._ebpf_tx]:
            self._ebpf_tx = list(tx)
            self._ebpf_placement = None       # members changed: measure again
        return self._ebpf_placement or (-1,) * BUCKETS

    def ebpf_rebalance(self, read_bucket_bytes, now):
        if not self.opts.tlb_dynamic_lb or now < self._ebpf_next:
            return False
        first = self._ebpf_next == 0.0
        self._ebpf_next = now + REBALANCE_INTERVAL
        sent = read_bucket_bytes()
        if first or not self._ebpf_tx:
            return False
        table = LoadTable([(m.speed or 10) << 20 for m in self._ebpf_tx],
                          [1 + b // int(REBALANCE_INTERVAL) for b in sent])
        placement = [-1] * BUCKETS
        for bucket in sorted((b for b in range(BUCKETS) if sent[b]), key=lambda b: -sent[b]):
            placement[bucket] = table.assign(bucket)
        self._ebpf_placement = tuple(placement)
        return True

    def rx_policy(self, member, active):
        # The active member carries the bond's MAC and receives everything;
        # the others receive nothing (bond_should_deliver_exact_match).
        return RX_DELIVER if member is active or self.opts.all_slaves_active else RX_DROP

    def carrier(self, usable, active):
        return active is not None

    def tick(self, now, members):
        if self.table is not None:
            self.table.rebalance()
        return []
