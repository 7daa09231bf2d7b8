"""The Python data path on several cores: worker processes over a
multi-queue TAP (`datapath_workers=N`).

One Python process moves about one core's worth of frames (one thread,
datapath.forward). Past that, the bond's TAP gets N queues
(IFF_MULTI_QUEUE) and N worker processes each own one queue, and each
worker reads its share of every member through a PACKET_FANOUT group,
in the same loop as the in-process path. The kernel spreads the bond's
outgoing flows over the queues (tun keeps a flow on the queue that last
wrote its incoming frames) and each member's incoming frames over the
group by flow hash, so frames of one flow stay in order and both
directions of a flow tend to meet in one worker.

Member choice is data, as on the eBPF path: the daemon sends every worker
a `Plan` (the facts ebpf/state.EbpfSnapshot writes into the BPF maps) and
the worker compiles it into a transmit callable that mirrors bond.bpf.c's
sb_egress, using the same Python hash and bucket functions as the runners.
What needs state stays in the daemon: tlb/alb bucket placement arrives as
the bucket table and the bytes each bucket carried go back through shared
memory (like the programs' per-CPU counters), and alb's outgoing ARP is
handed to the daemon, whose rlb rewrites and sends it.

A worker runs `python3 -m softbond.datapath.workers`; its fds come from the daemon:
the TAP queue, a SOCK_SEQPACKET socket carrying plans (EOF: exit), a
datagram socket for alb's ARP, and a memfd of counters.
"""
from __future__ import annotations

import argparse
import ctypes
import mmap
import os
import pickle
import random
import select
import signal
import socket
import sys
from dataclasses import dataclass, field

from . import inprocess as datapath
from .inprocess import Snapshot, counting_send, forward, rx_proto_slot, rx_segments_slot
from .abi import BUCKETS, MODE_8023AD, MODE_AB, MODE_ALB, MODE_BCAST, MODE_RR, MODE_TLB, MODE_XOR
from ..modes.alb import alb_bucket
from ..modes.base import RX_DROP, VNET
from ..modes.tlb import tlb_bucket
from ..kernel import packet
from ..wire.xmit_hash import hash_function

SOL_PACKET = 263
PACKET_FANOUT = 18
PACKET_FANOUT_HASH = 0
# The group's hook ignores the socket's PACKET_IGNORE_OUTGOING: without this
# flag (Linux 6.6+) every worker reads back each frame the members send.
PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000

# Counters: whole pages per worker, u64 slots: datapath's (the loop's C_*,
# the members' extra wire segments and protocol counters), then the buckets.
C_BUCKETS = datapath.COUNTER_SLOTS
COUNTER_SLOTS = C_BUCKETS + BUCKETS
COUNTER_STRIDE = -(-COUNTER_SLOTS * 8 // mmap.PAGESIZE) * mmap.PAGESIZE

_ETHERTYPE = VNET + 12
_SRC_MAC = slice(VNET + 6, VNET + 12)
_IGMP_PROTO = VNET + 14 + 9


@dataclass(frozen=True)
class Plan:
    """What the workers do, as one value (ebpf.EbpfSnapshot plus what a
    process outside the daemon needs to open member sockets).
    `buckets` index into `tx_members`; -1 or None: hash % count."""
    mode: int
    xmit_hash_policy: int
    packets_per_slave: int
    tx_members: tuple[tuple[int, bytes], ...]       # (ifindex, mac) in order
    active: int                                     # ifindex or 0
    rx_policy: dict[int, int] = field(hash=False)   # ifindex -> modes.base RX_*
    buckets: tuple[int, ...] | None
    bond_mac: bytes
    names: dict[int, str] = field(hash=False)       # ifindex -> name, every member
    macs: dict[int, bytes] = field(hash=False)      # ifindex -> MAC, every member
    arp_slowpath: bool = False
    busy_poll_ns: int = 0
    # ifindex -> datapath member slot (segment and protocol counters)
    segment_slots: dict[int, int] = field(default_factory=dict, hash=False)
    protocol_counters: bool = True


def plan_for(runner, members, usable, active, bond_mac: bytes,
             segment_slots: dict[int, int] | None = None) -> Plan:
    """The runner's decisions for the current members, as data (what
    bonddev.EbpfDevice.publish writes into the BPF maps)."""
    tx = runner.tx_members(usable, active)
    return Plan(
        mode=runner.opts.mode, xmit_hash_policy=runner.opts.xmit_hash_policy,
        packets_per_slave=runner.opts.packets_per_slave,
        tx_members=tuple((m.ifindex, m.mac_bytes) for m in tx),
        active=active.ifindex if active is not None else 0,
        rx_policy={m.ifindex: runner.rx_policy(m, active) for m in members},
        buckets=runner.ebpf_buckets(tx), bond_mac=bond_mac,
        names={m.ifindex: m.name for m in members}, macs={m.ifindex: m.mac_bytes for m in members},
        arp_slowpath=runner.opts.mode == MODE_ALB,
        busy_poll_ns=runner.opts.datapath_busy_poll * 1000, segment_slots=segment_slots or {},
        protocol_counters=bool(runner.opts.protocol_counters))


def fanout_id(ifindex: int) -> int:
    """One fanout group per member. Group ids are per network namespace;
    an ifindex is unique there, and no other softbond socket joins a group."""
    return ifindex & 0xFFFF


def counter_view(mem: mmap.mmap, index: int) -> memoryview:
    return memoryview(mem)[index * COUNTER_STRIDE:index * COUNTER_STRIDE + COUNTER_SLOTS * 8].cast("Q")


# -- the forwarding decision ---------------------------------------------------

def compile_transmit(plan: Plan, sends: dict, counters, to_daemon):
    """The transmit callable for `plan`: frame (memoryview with the
    virtio-net header) -> sent on a member, or dropped (returns False).
    `sends`: ifindex -> send callable of this worker's socket; members
    without one (not opened yet) drop what would leave by them."""
    tx = [(sends.get(ifindex), mac) for ifindex, mac in plan.tx_members]
    count = len(tx)
    active_send = sends.get(plan.active) if plan.active else None
    active_slot = next((i for i, (ifindex, _) in enumerate(plan.tx_members) if ifindex == plan.active), -1)
    mode = plan.mode

    def drop(frame):
        return False

    def send_or_drop(send):
        return send if send is not None else drop

    if mode == MODE_AB:
        return send_or_drop(active_send)
    slot_sends = tuple(send_or_drop(s) for s, _ in tx)
    if not count:
        return drop if mode not in (MODE_TLB, MODE_ALB) else send_or_drop(active_send)
    first = slot_sends[0]
    policy_hash = hash_function(plan.xmit_hash_policy)

    if mode == MODE_RR:
        if count == 1:
            return first
        per_slave = plan.packets_per_slave
        state = [0]
        randbelow = random.Random().randrange

        def transmit(frame):
            # IGMP leaves by the first member, as the kernel's rr does
            if (len(frame) > _IGMP_PROTO and frame[_ETHERTYPE] == 0x08 and frame[_ETHERTYPE + 1] == 0
                    and frame[_IGMP_PROTO] == 2):
                return first(frame)
            if per_slave == 0:
                return slot_sends[randbelow(count)](frame)
            n = state[0]
            state[0] = n + 1
            return slot_sends[(n // per_slave if per_slave > 1 else n) % count](frame)
        return transmit

    if mode in (MODE_XOR, MODE_8023AD):
        if count == 1:
            return first

        def transmit(frame):
            return slot_sends[policy_hash(frame, VNET) % count](frame)
        return transmit

    if mode == MODE_BCAST:
        def transmit(frame):
            for send in slot_sends:
                try:
                    send(frame)
                except OSError:
                    pass      # one member failing must not starve the others
        return transmit

    # tlb and alb: balanced buckets, the rest by the active member
    active_tx = send_or_drop(active_send)
    if count <= 1:
        return active_tx
    macs = tuple(mac for _, mac in tx)
    dynamic = plan.buckets is not None
    placed = tuple(plan.buckets) if dynamic else (-1,) * BUCKETS
    bucket_bytes = counters[C_BUCKETS:]
    bucket_of = tlb_bucket(plan.xmit_hash_policy) if mode == MODE_TLB else alb_bucket
    arp_slowpath = mode == MODE_ALB and plan.arp_slowpath

    def transmit(frame):
        if arp_slowpath and frame[_ETHERTYPE] == 0x08 and frame[_ETHERTYPE + 1] == 0x06:
            return to_daemon(frame[VNET:])
        bucket = bucket_of(frame)
        if bucket is None:
            return active_tx(frame)
        slot = placed[bucket]
        if slot < 0 or slot >= count:
            slot = policy_hash(frame, VNET) % count
        if dynamic:
            bucket_bytes[bucket] += len(frame) - VNET
        if slot != active_slot:
            frame[_SRC_MAC] = macs[slot]
        return slot_sends[slot](frame)
    return transmit


# -- the worker process --------------------------------------------------------

class Worker:
    def __init__(self, index: int, tap_fd: int, control: socket.socket, arp: socket.socket | None,
                 counters) -> None:
        self.index = index
        self.tap_fd = tap_fd
        self.control = control
        self.arp = arp
        self.counters = counters
        self.plan: Plan | None = None
        self.socks: dict[int, socket.socket] = {}      # ifindex -> fanout member socket
        self.snapshot = Snapshot()                     # what datapath.forward reads
        self.epoll = select.epoll()
        self.epoll.register(tap_fd, select.EPOLLIN)
        self.epoll.register(control.fileno(), select.EPOLLIN)

    # -- plans ----------------------------------------------------------------
    def apply(self, plan: Plan) -> None:
        for ifindex in [i for i in self.socks if i not in plan.names]:
            sock = self.socks.pop(ifindex)
            self.epoll.unregister(sock.fileno())
            sock.close()
        for ifindex, name in plan.names.items():
            if ifindex not in self.socks:
                sock = self._open_member(name, ifindex)
                if sock is not None:
                    self.socks[ifindex] = sock
                    self.epoll.register(sock.fileno(), select.EPOLLIN)
        slots = plan.segment_slots
        counting = plan.protocol_counters
        sends = {ifindex: counting_send(sock.send, self.counters, slots.get(ifindex), counting)
                 for ifindex, sock in self.socks.items()}
        to_daemon = self.arp.send if self.arp is not None else (lambda frame: False)
        receive = {sock.fileno(): (sock.recv_into, plan.rx_policy.get(ifindex, RX_DROP),
                                   plan.macs.get(ifindex, bytes(6)), rx_segments_slot(slots.get(ifindex)),
                                   rx_proto_slot(slots.get(ifindex)) if counting else -1)
                   for ifindex, sock in self.socks.items()}
        self.snapshot = Snapshot(transmit=compile_transmit(plan, sends, self.counters, to_daemon),
                                 receive=receive, bond_mac=plan.bond_mac, busy_poll_ns=plan.busy_poll_ns)
        self.plan = plan

    @staticmethod
    def _open_member(name: str, ifindex: int) -> socket.socket | None:
        try:
            sock = packet.open_data_socket(name, ifindex)
        except OSError:
            return None          # the member went away; the next plan drops it
        try:
            try:
                sock.setsockopt(SOL_PACKET, PACKET_FANOUT, fanout_id(ifindex)
                                | (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_IGNORE_OUTGOING) << 16)
            except OSError:     # an older kernel: read back and counted as received
                sock.setsockopt(SOL_PACKET, PACKET_FANOUT, fanout_id(ifindex) | PACKET_FANOUT_HASH << 16)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return None
        return sock

    def _read_control(self) -> bool:
        """False when the daemon has gone (EOF)."""
        latest = None
        while True:
            try:
                msg = self.control.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError:
                return False
            if not msg:
                return False
            latest = msg
        if latest is not None:
            # Only the newest plan matters: older ones are already stale.
            self.apply(pickle.loads(latest))
        return True

    # -- the loop ---------------------------------------------------------------
    def run(self) -> None:
        forward(self, self.tap_fd, self.epoll, self.counters, self._other)

    def _other(self, fd: int) -> bool:
        """A ready fd other than the TAP queue and the members: the control
        socket (False: the daemon has gone), or a member socket just closed."""
        return self._read_control() if fd == self.control.fileno() else True


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass     # the control socket's EOF ends the worker anyway


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="softbond-worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--tap-fd", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--arp-fd", type=int, default=-1)
    parser.add_argument("--counters-fd", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the daemon decides when workers stop
    if os.getppid() == 1:
        return 0                                       # the daemon died before we got here
    control = socket.socket(fileno=args.control_fd)
    arp = socket.socket(fileno=args.arp_fd) if args.arp_fd >= 0 else None
    mem = mmap.mmap(args.counters_fd, 0)
    os.set_blocking(args.tap_fd, False)
    worker = Worker(args.index, args.tap_fd, control, arp, counter_view(mem, args.index))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
