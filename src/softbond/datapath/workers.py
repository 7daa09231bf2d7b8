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

Member choice is data, as on the other paths: the daemon sends every
worker the bond's `ForwardingPlan` (plan.py, what the eBPF path writes
into its maps and the in-process loop compiles) and the worker compiles
it as the in-process loop does (inprocess.compile_snapshot). What needs
state stays in the daemon: tlb/alb bucket placement arrives as the bucket
table and the bytes each bucket carried go back through shared memory
(like the programs' per-CPU counters), and alb's outgoing ARP is handed to
the daemon, whose rlb rewrites and sends it.

A worker runs `python3 -m softbond.datapath.workers`; its fds come from the daemon:
the TAP queue, a SOCK_SEQPACKET socket carrying (plan, segment slots)
pairs (EOF: exit), a
datagram socket for alb's ARP, and a memfd of counters.
"""
from __future__ import annotations

import argparse
import ctypes
import itertools
import mmap
import os
import pickle
import select
import signal
import socket
import sys

from . import inprocess as datapath
from .inprocess import Snapshot, compile_snapshot, forward
from .abi import BUCKETS, MAX_MEMBERS
from .plan import FlowletState, ForwardingPlan
from ..kernel import packet

SOL_PACKET = 263
PACKET_FANOUT = 18
PACKET_FANOUT_HASH = 0
# The group's hook ignores the socket's PACKET_IGNORE_OUTGOING: without this
# flag (Linux 6.6+) every worker reads back each frame the members send.
PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000

# Counters: whole pages per worker, u64 slots: datapath's (the loop's C_*,
# the members' extra wire segments and protocol counters), then the buckets,
# then the buckets xmit_balance=flowlet moved, then where each bucket's
# frames leave now (its committed slot + 1, 0: hash), then flowlet's queue
# model per member slot (FlowletState.queues): worker 0's are every
# worker's, as all of them fill the same members.
C_BUCKETS = datapath.COUNTER_SLOTS
C_FLOWLET_MOVES = C_BUCKETS + BUCKETS
C_FLOWLET_SLOTS = C_FLOWLET_MOVES + 1
C_MEMBER_QUEUES = C_FLOWLET_SLOTS + BUCKETS
COUNTER_SLOTS = C_MEMBER_QUEUES + MAX_MEMBERS
COUNTER_STRIDE = -(-COUNTER_SLOTS * 8 // mmap.PAGESIZE) * mmap.PAGESIZE


def fanout_id(ifindex: int) -> int:
    """One fanout group per member. Group ids are per network namespace;
    an ifindex is unique there, and no other softbond socket joins a group."""
    return ifindex & 0xFFFF


def counter_view(mem: mmap.mmap, index: int) -> memoryview:
    return memoryview(mem)[index * COUNTER_STRIDE:index * COUNTER_STRIDE + COUNTER_SLOTS * 8].cast("Q")


# -- the worker process --------------------------------------------------------

class Worker:
    def __init__(self, index: int, tap_fd: int, control: socket.socket, arp: socket.socket | None,
                 counters, shared=None) -> None:
        self.index = index
        self.tap_fd = tap_fd
        self.control = control
        self.arp = arp
        self.counters = counters
        self.plan: ForwardingPlan | None = None
        self.socks: dict[int, socket.socket] = {}      # ifindex -> fanout member socket
        self.snapshot = Snapshot()                     # what datapath.forward reads
        self.rotation = itertools.count()              # balance-rr's frame counter, across plans
        # xmit_balance=flowlet's buckets, across plans
        shared = counters if shared is None else shared        # worker 0's counters
        self.flowlet = FlowletState(counters, C_FLOWLET_MOVES, counters[C_FLOWLET_SLOTS:C_MEMBER_QUEUES],
                                    shared[C_MEMBER_QUEUES:COUNTER_SLOTS])
        self.epoll = select.epoll()
        self.epoll.register(tap_fd, select.EPOLLIN)
        self.epoll.register(control.fileno(), select.EPOLLIN)

    # -- plans ----------------------------------------------------------------
    def apply(self, plan: ForwardingPlan, slots: dict[int, int]) -> None:
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
        to_daemon = self.arp.send if self.arp is not None else (lambda frame: False)
        self.snapshot = compile_snapshot(plan, self.socks, slots, self.counters,
                                         self.counters[C_BUCKETS:C_FLOWLET_MOVES], to_daemon, self.rotation,
                                         self.flowlet)
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
            self.apply(*pickle.loads(latest))
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
    worker = Worker(args.index, args.tap_fd, control, arp, counter_view(mem, args.index), counter_view(mem, 0))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
