"""The pure-Python data path: TAP <-> member AF_PACKET sockets.

One thread runs `forward`: one epoll over the TAP and every member socket,
each ready socket drained (up to BATCH frames) into one preallocated
buffer. The control plane never calls into it: it publishes an immutable
`Snapshot` by plain attribute assignment (atomic under the GIL) and the
loop picks it up at its next wakeup. Nothing in the loop logs, builds bytes
objects or touches asyncio; the only per-frame objects are the memoryview
slices that socket.send() needs to know the length.

Why one thread and not one per direction: the two would hand the GIL to
each other around every syscall, and each hand-off is a futex wakeup of
the other thread - measured as the larger CPU cost for no more throughput
(bench/RESULTS.md).

Busy polling (`datapath_busy_poll`, microseconds): while frames arrive
closer together than that, the loop polls without sleeping instead of
blocking in epoll_wait. A paced TCP sender (bbr) hands over one super-frame
at a time; each one otherwise costs a sleep and a wakeup of this thread -
and a wakeup of a sleeping thread is a cross-CPU interrupt, expensive in a
VM - on the way out and again for its ACK on the way back. The window
adapts as KVM's halt polling does (`next_window`), and the loop polls only
while moving frames keeps it busy a third of the time or more, so light
traffic never spins a core and an idle bond costs nothing.
"""
from __future__ import annotations

import itertools
import os
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .abi import BUCKETS, MAX_MEMBERS, MODE_RR, PROTO_BLOCK, PROTO_RX, PROTO_TX, RX_DELIVER, RX_DROP, RX_NOT_OWN, proto_index
from .plan import FlowletState, ForwardingPlan, compile_transmit
from ..kernel import packet
from ..modes.base import VNET
from ..wire.protoclass import BY_IPV4_PROTO, classify
from ..wire.vnet import gso_segments, gso_wire_bytes

# Offsets in a received frame: the virtio-net header, then Ethernet.
DST, SRC, ETH_END = VNET, VNET + 6, VNET + 12

IPV4_PROTO = ETH_END + 2 + 9     # the IPv4 header's protocol byte

# A 64 KB GSO super-frame plus the virtio-net header and slack.
FRAME_BUFFER = 65536 + VNET + 256
MSG_DONTWAIT = socket.MSG_DONTWAIT
BATCH = 64                   # frames per socket per wakeup: one busy fd cannot starve the others
# balance-rr's member send buffer (size_send_buffers; the kernel doubles it
# for its own accounting, so a member holds about 16 KB not yet on the wire,
# and one frame more: 1.3 ms at 100 Mbit/s). bench/RESULTS.md (issue 22.2)
# has the sizes tried: larger ones let the members' queues drift apart
# again, and TCP retransmits what arrives out of order.
RR_SEND_BUFFER = 8 * 1024
# While a frame waits for a full member: how long the loop sleeps before it
# tries again without the member's EPOLLOUT (a member socket closed under
# it by a new plan never signals).
HELD_RECHECK_S = 0.01

# Counters kept by the loop, by index (the worker processes keep the same
# slots in shared memory). C_SLEPT: wakeups from a sleep in epoll_wait;
# C_POLLED: polls that found frames (a wakeup busy polling saved).
C_RX_DROPPED, C_TX_ERRORS, C_FRAMES_OUT, C_FRAMES_IN, C_SLEPT, C_POLLED = range(6)
LOOP_COUNTERS = (("frames_out", C_FRAMES_OUT), ("frames_in", C_FRAMES_IN), ("rx_dropped", C_RX_DROPPED),
                 ("tx_errors", C_TX_ERRORS), ("slept", C_SLEPT), ("polled", C_POLLED))
# Then, per member slot (0..MAX_MEMBERS-1), the wire segments its GSO
# super-frames carried beyond the first, received and sent: a member NIC
# of the virtual kinds counts a super-frame as one packet, the wire carries
# gso_segs of them (member_segment_counters adds these to its counts); and
# the frames it delivered standing in for a member without carrier
# (CarrierProbe). A member without a slot (none assigned yet) counts into
# C_UNASSIGNED.
C_UNASSIGNED = 6
C_SEGMENTS = 8
SLOT_STRIDE = 3
# Then, per member slot and one more for members without one, the block of
# protocol counters (abi.PROTO_BLOCK: per direction and class, packets and
# bytes on the wire), laid out as the eBPF programs' sb_stats.proto.
C_PROTO = C_SEGMENTS + SLOT_STRIDE * MAX_MEMBERS
COUNTER_SLOTS = C_PROTO + PROTO_BLOCK * (MAX_MEMBERS + 1)


def rx_segments_slot(member_slot: int | None) -> int:
    return C_UNASSIGNED if member_slot is None else C_SEGMENTS + SLOT_STRIDE * member_slot


def tx_segments_slot(member_slot: int | None) -> int:
    return C_UNASSIGNED if member_slot is None else C_SEGMENTS + SLOT_STRIDE * member_slot + 1


def rescued_in_slot(member_slot: int | None) -> int:
    return C_UNASSIGNED if member_slot is None else C_SEGMENTS + SLOT_STRIDE * member_slot + 2


def proto_block(member_slot: int | None) -> int:
    """Where the member's protocol counters start."""
    return C_PROTO + PROTO_BLOCK * (MAX_MEMBERS if member_slot is None else member_slot)


def rx_proto_slot(member_slot: int | None) -> int:
    return proto_block(member_slot) + proto_index(PROTO_RX, 0)


def tx_proto_slot(member_slot: int | None) -> int:
    return proto_block(member_slot) + proto_index(PROTO_TX, 0)


def count_frame(counters, at: int, frame, n: int) -> int:
    """Counts the `n`-byte frame (virtio-net header first) by protocol class
    in the direction's counters from `at` (rx_proto_slot, tx_proto_slot):
    packets and bytes as on the wire, a GSO super-frame as its segments.
    Returns the segments beyond the first. Byte reads only: per frame."""
    # untagged IPv4 inline (classify's first case): one call less a frame
    if n > IPV4_PROTO and frame[ETH_END] == 0x08 and frame[ETH_END + 1] == 0x00:
        i = at + 2 * BY_IPV4_PROTO[frame[IPV4_PROTO]]
    else:
        i = at + 2 * classify(frame, n)
    if frame[1]:        # gso_type: nonzero only in a GSO super-frame
        segments = gso_segments(frame, n)
        counters[i] += segments
        counters[i + 1] += gso_wire_bytes(frame, n, segments)
        return segments - 1
    counters[i] += 1
    counters[i + 1] += n - VNET
    return 0


def counting_send(send: Callable, counters, member_slot: int | None, protocols: bool = True,
                  full: list | None = None, fd: int = -1) -> Callable:
    """`send` (a member socket's: called with MSG_DONTWAIT) that counts a
    GSO super-frame's extra wire segments in the member's segments slot
    and, with `protocols`, what it sent by protocol class
    (protocol_counters=off: gso_type, byte 1 of the virtio-net header, is
    the one byte read for any other frame). When the member's send buffer
    is full it raises BlockingIOError and leaves in `full[0]` itself and
    the socket's `fd`, for `forward` to hold the frame until the member
    has room (Snapshot.full)."""
    segments_slot, at = tx_segments_slot(member_slot), tx_proto_slot(member_slot)
    if full is None:
        full = [None]

    def send_counted(frame):
        try:
            sent = send(frame, MSG_DONTWAIT)
        except BlockingIOError:
            full[0] = (send_counted, fd)
            raise
        extra = count_frame(counters, at, frame, len(frame))
        if extra:
            counters[segments_slot] += extra
        return sent

    def send_segments_counted(frame):
        try:
            sent = send(frame, MSG_DONTWAIT)
        except BlockingIOError:
            full[0] = (send_segments_counted, fd)
            raise
        if frame[1]:
            counters[segments_slot] += gso_segments(frame, len(frame)) - 1
        return sent
    return send_counted if protocols else send_segments_counted


# How often a loop may ask whether a stood-in member has lost its carrier:
# a flood on the backup costs one question per this, not one per frame.
CARRIER_PROBE_NS = 150_000


class CarrierProbe:
    """The carrier rescue's receive side on the Python paths: whether the
    member `name`, which the member receiving stands in for
    (plan.stand_ins), has lost its carrier since the plan. Read from its
    carrier_down_count and carrier_up_count in sysfs, which
    netif_carrier_off()/on() count at once (atomics, no RTNL), where
    IFF_RUNNING and operstate wait for linkwatch (the 3-75 ms the failover
    waits for) and SIOCGIFFLAGS cuts IFF_LOWER_UP off (a short). Both
    counts start at the plan, when the member had its carrier: more downs
    than ups since then means no carrier now. Asked at most once per
    CARRIER_PROBE_NS (the answer kept meanwhile), and only for a frame
    the receiving member's policy drops; a member whose counts cannot be
    read is never lost, nor one whose name in this sysfs is another
    device's (a sysfs mounted in another namespace than the bond's: its
    ifindex differs). The files are opened per question: a probe holds
    no fd a replaced plan would have to close under the loop."""

    def __init__(self, name: str, ifindex: int, counter: int) -> None:
        self.counter = counter      # the loop's counter of frames delivered so (rescued_in_slot)
        self.paths = (f"/sys/class/net/{name}/carrier_down_count", f"/sys/class/net/{name}/carrier_up_count")
        self.asked = -CARRIER_PROBE_NS
        self.answer = False
        try:
            same = read_number(f"/sys/class/net/{name}/ifindex") == ifindex
            self.base: int | None = self._balance() if same else None
        except (OSError, ValueError):
            self.base = None

    def _balance(self) -> int:
        down, up = (read_number(path) for path in self.paths)
        return down - up

    def lost(self, now: int) -> bool:
        """At clock value `now` (ns)."""
        if self.base is None or now - self.asked < CARRIER_PROBE_NS:
            return self.answer
        self.asked = now
        try:
            self.answer = self._balance() > self.base
        except (OSError, ValueError):       # the member went away
            self.answer = False
        return self.answer


def read_number(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return int(os.read(fd, 32))
    finally:
        os.close(fd)


# The busy-poll window grows from this when a wait ends early enough to have
# been caught by polling (KVM's halt_poll_ns_grow_start, 10 us).
POLL_GROW_START_NS = 10_000
# The loop polls only while it spent at least 1/BUSY_SHARE of the recent
# past moving frames; "recent" decays by half every LOAD_SPAN_NS.
BUSY_SHARE = 3
LOAD_SPAN_NS = 20_000_000


@dataclass(frozen=True)
class Snapshot:
    """What a Python loop runs: a ForwardingPlan compiled (compile_snapshot).

    transmit: called with each frame read from the bond device (the frame
      includes the virtio-net header); None drops everything (no usable
      member).
    receive: fd -> (recv_into, policy, member MAC, segments slot, protocol
      counters' slot, carrier probe), policy
      one of modes.base.RX_*: drop (the kernel's inactive slave), deliver,
      deliver unless sourced by the bond itself (a switch reflecting our
      floods), or alb's "unicast only, frames to the member's MAC go up as
      the bond's"; the counters' slot for the member's received extra wire
      segments (rx_segments_slot) and the first of its received protocol
      counters (rx_proto_slot; -1: protocol_counters=off); the carrier
      rescue's receive side for a member that stands in for another
      (plan.stand_ins): a CarrierProbe of that one, whose frames the loop
      delivers while it has no carrier, counted in rescued_in_slot; else
      None.
    bond_mac: the bond device's MAC, for the last two policies.
    busy_poll_ns: the longest the loop polls before sleeping; 0 never.
    full: [None], or [(send, fd)] after a member send found the member's
      send buffer full: `forward` holds that frame, stops reading the TAP
      and sends it by the same `send` once the socket `fd` has room.
    """
    transmit: Callable[[memoryview], object] | None = None
    receive: dict[int, tuple[Callable, int, bytes, int, int, CarrierProbe | None]] = field(default_factory=dict)
    bond_mac: bytes = bytes(6)
    busy_poll_ns: int = 0
    full: list = field(default_factory=lambda: [None])


def compile_snapshot(plan: ForwardingPlan, socks: dict, slots: dict[int, int], counters, bucket_bytes,
                     to_daemon, rotation, flowlet: FlowletState | None = None) -> Snapshot:
    """What a Python loop runs for `plan`, over its member sockets `socks`
    (ifindex -> socket; the in-process loop's are the members' data
    sockets, a worker's its fanout sockets). `slots`: ifindex -> the
    member's counter slot (segments and, with plan.protocol_counters,
    protocols). The rest as compile_transmit takes it."""
    counting = plan.protocol_counters
    full: list = [None]
    size_send_buffers(plan, socks.values())
    sends = {ifindex: counting_send(sock.send, counters, slots.get(ifindex), counting, full, sock.fileno())
             for ifindex, sock in socks.items()}
    receive = {sock.fileno(): (sock.recv_into, plan.rx_policy.get(ifindex, RX_DROP),
                               plan.macs.get(ifindex, bytes(6)), rx_segments_slot(slots.get(ifindex)),
                               rx_proto_slot(slots.get(ifindex)) if counting else -1,
                               stood_in_probe(plan, ifindex, slots))
               for ifindex, sock in socks.items()}
    if flowlet is not None:
        flowlet.member_slots = slots  # the queue model's slot per member
    return Snapshot(transmit=compile_transmit(plan, sends, bucket_bytes, to_daemon, rotation, flowlet), receive=receive,
                    bond_mac=plan.bond_mac, busy_poll_ns=plan.busy_poll_ns, full=full)


def stood_in_probe(plan: ForwardingPlan, ifindex: int, slots: dict[int, int]) -> CarrierProbe | None:
    """The probe of the member `ifindex` stands in for, if any."""
    lost = plan.stand_ins.get(ifindex)
    if lost is None or lost not in plan.names:
        return None
    return CarrierProbe(plan.names[lost], lost, rescued_in_slot(slots.get(ifindex)))


def size_send_buffers(plan: ForwardingPlan, socks) -> None:
    """balance-rr over more than one member: each member socket may hold
    RR_SEND_BUFFER bytes of frames not yet sent on the wire; every other
    mode the usual packet.BUFFER_BYTES.

    Why: the TAP frees each frame the stack hands it (tun_net_xmit orphans
    the skb), so TCP Small Queues never see the members' queues, and those
    run full. rr alternates frames, not bytes: with frames of 1.5 to 64 KB
    two full queues drift apart by up to a queue's delay, and one flow's
    frames arrive out of order (bench/RESULTS.md, issue 22.2). With a
    small buffer the member send fails while the member is behind,
    `forward` holds the frame and stops reading the TAP, and the excess
    waits in the one queue before the alternation, as TSQ keeps it on the
    eBPF path."""
    size = RR_SEND_BUFFER if plan.mode == MODE_RR and len(plan.tx_members) > 1 else packet.BUFFER_BYTES
    for sock in socks:
        try:
            sock.setsockopt(socket.SOL_SOCKET, packet.SO_SNDBUFFORCE, size)
        except OSError:
            pass     # without CAP_NET_ADMIN: the default buffer, no backpressure


def accept(buf: bytearray, n: int, policy: int, own_mac: bytes, bond_mac: bytes) -> bool:
    """The receive policies other than RX_DELIVER (the hot case, which the
    loops test inline): True to deliver the frame of `n` bytes in `buf`,
    whose destination MAC it may rewrite to the bond's (alb)."""
    if policy == RX_DROP or n < ETH_END:
        return False
    if policy == RX_NOT_OWN:
        return buf.find(bond_mac, SRC, ETH_END) != SRC
    if buf[DST] & 1:                    # RX_UNICAST_OWN_MAC
        return False
    if buf.find(own_mac, DST, SRC) == DST:
        buf[DST:SRC] = bond_mac
    return True


def next_window(window_ns: int, blocked_ns: int, max_ns: int) -> int:
    """The busy-poll window after a wait that slept `blocked_ns`.

    A wait that ended within `max_ns` would have been caught by polling:
    poll longer next time (double, from POLL_GROW_START_NS, up to max_ns).
    A longer one means traffic is sparse and polling would have burnt the
    whole window for nothing: stop polling until waits are short again
    (KVM halt polling with halt_poll_ns_shrink=0, its default)."""
    if max_ns <= 0 or blocked_ns > max_ns:
        return 0
    return min(max_ns, max(window_ns * 2, POLL_GROW_START_NS))


def forward(source, tap_fd: int, epoll, counters, other: Callable[[int], bool],
            clock: Callable[[], int] = time.monotonic_ns) -> None:
    """Move frames between the TAP and the members until `other(fd)`, called
    for a ready fd that is neither (a wake pipe, a control socket), returns
    False. `source.snapshot` is read at every wakeup; `counters` is indexed
    by C_*; the TAP (non-blocking) and the member sockets (read with
    MSG_DONTWAIT) must be registered in `epoll` for EPOLLIN. `clock` (ns)
    times the busy polling (tests drive it)."""
    buf = bytearray(FRAME_BUFFER)        # frames from the members
    view = memoryview(buf)
    out = bytearray(FRAME_BUFFER)        # frames from the TAP: one may be held
    out_view = memoryview(out)
    outs = [out]
    readv, write = os.readv, os.write
    wait = epoll.poll
    # A frame read from the TAP whose member's send buffer was full: its
    # length, the send that must take it (None: no frame held) and that
    # socket's fd.
    # While one is held the TAP is not read (the excess waits in its queue,
    # before the alternation) and the member's fd is watched for room.
    held, held_fd = 0, -1
    held_send: Callable[[memoryview], object] | None = None
    window = 0          # how long to poll before sleeping (next_window)
    polling_until = 0   # while nonzero: polling, until this clock value
    polled = 0          # the window polled in vain before the coming sleep
    # Decaying sums (ns): time spent moving frames, and all time - starting
    # as after a span of idleness, so a first frame alone opens no window.
    worked, elapsed = 0, LOAD_SPAN_NS
    last = clock()
    while True:
        try:
            if held_send is not None:
                ready = wait(HELD_RECHECK_S)
                began = clock()
            elif polling_until:
                ready = wait(0)
                if not ready:
                    if clock() < polling_until:
                        continue
                    polling_until, polled = 0, window
                    continue    # nothing within the window: sleep
                began = clock()
                counters[C_POLLED] += 1
            else:
                slept = clock()
                ready = wait()
                began = clock()
                counters[C_SLEPT] += 1
                window = next_window(window, polled + began - slept, source.snapshot.busy_poll_ns)
                polled = 0
        except OSError:
            return      # the epoll was closed under us: stopping
        snapshot = source.snapshot
        receive, bond_mac = snapshot.receive, snapshot.bond_mac
        if held_send is not None:
            try:
                held_send(out_view[:held])
                counters[C_FRAMES_OUT] += 1
                held_send = None
            except BlockingIOError:
                pass            # still full: wait on
            except OSError:
                counters[C_TX_ERRORS] += 1      # the member went away
                held_send = None
            if held_send is None:
                resume(epoll, tap_fd, held_fd)
        for fd, _events in ready:
            if fd == tap_fd:
                if held_send is not None:
                    continue    # readiness reported before the hold began
                transmit = snapshot.transmit
                sent = errors = 0
                for _ in range(BATCH):
                    try:
                        n = readv(tap_fd, outs)
                    except BlockingIOError:
                        break
                    except OSError:
                        errors += 1
                        break
                    if transmit is None:
                        continue
                    try:
                        transmit(out_view[:n])
                        sent += 1
                    except BlockingIOError:
                        full = snapshot.full
                        if full[0] is None:
                            errors += 1
                            continue
                        held, (held_send, held_fd), full[0] = n, full[0], None
                        hold(epoll, tap_fd, held_fd)
                        break
                    except OSError:
                        errors += 1
                counters[C_FRAMES_OUT] += sent
                if errors:
                    counters[C_TX_ERRORS] += errors
                continue
            entry = receive.get(fd)
            if entry is None:
                if not other(fd):
                    return
                continue    # or a member being released: unwatched shortly
            recv_into, policy, own_mac, segments_slot, proto_at, probe = entry
            delivered = dropped = segments = rescued = 0
            lost = None
            for _ in range(BATCH):
                try:
                    n = recv_into(buf, 0, MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if proto_at >= 0:
                    segments += count_frame(counters, proto_at, buf, n)
                elif buf[1]:    # a GSO super-frame: more than one frame on the wire
                    segments += gso_segments(buf, n) - 1
                if policy != RX_DELIVER and not accept(buf, n, policy, own_mac, bond_mac):
                    # the carrier rescue: delivered while the member this
                    # one stands in for has no carrier (asked once a batch)
                    if probe is not None and lost is None:
                        lost = probe.lost(began)
                    if not lost or n < ETH_END:
                        dropped += 1
                        continue
                    rescued += 1
                try:
                    write(tap_fd, view[:n])
                    delivered += 1
                except OSError:
                    dropped += 1
            counters[C_FRAMES_IN] += delivered
            if dropped:
                counters[C_RX_DROPPED] += dropped
            if segments:
                counters[segments_slot] += segments
            if rescued:
                counters[probe.counter] += rescued
        # Poll only while moving frames keeps this loop busy a third of the
        # time or more: there a sleep and a wakeup per frame cost throughput.
        # A lighter load (small frames far apart: 10k 64-byte datagrams a
        # second keep it under a fifth busy) would spin a core for nothing.
        now = clock()
        worked += now - began
        elapsed += now - last
        last = now
        if elapsed > LOAD_SPAN_NS:
            worked >>= 1
            elapsed >>= 1
        polling_until = now + window if window and worked * BUSY_SHARE >= elapsed else 0


def hold(epoll, tap_fd: int, member_fd: int) -> None:
    """A frame waits for room on `member_fd`: stop reading the TAP, watch
    the member for room."""
    try:
        epoll.modify(tap_fd, 0)
        epoll.modify(member_fd, select.EPOLLIN | select.EPOLLOUT)
    except OSError:
        pass        # the member's socket is gone: the next retry drops the frame


def resume(epoll, tap_fd: int, member_fd: int) -> None:
    """The held frame is gone: read the TAP again, the member only for input."""
    try:
        epoll.modify(tap_fd, select.EPOLLIN)
    except OSError:
        pass        # the epoll is closed: the loop stops at its next wait
    try:
        epoll.modify(member_fd, select.EPOLLIN)
    except OSError:
        pass        # closed and unwatched meanwhile


class DataPath:
    """`forward` in a thread of the daemon, over the bond's TAP."""

    def __init__(self, tap_fd: int) -> None:
        self.tap_fd = tap_fd
        self.snapshot = Snapshot()
        self.counters = [0] * COUNTER_SLOTS           # C_*
        self.bucket_bytes = [0] * BUCKETS             # tlb/alb: bytes each bucket carried
        self.rotation = itertools.count()             # balance-rr's frame counter, across plans
        self.flowlet = FlowletState()                 # xmit_balance=flowlet's buckets, across plans
        self._epoll = select.epoll()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._epoll.register(tap_fd, select.EPOLLIN)
        self._running = False
        self._thread: threading.Thread | None = None

    def loop_counters(self) -> dict[str, int]:
        return {name: self.counters[i] for name, i in LOOP_COUNTERS}

    @property
    def rx_dropped(self) -> int:
        """Frames read on members and not delivered."""
        return self.counters[C_RX_DROPPED]

    @property
    def tx_errors(self) -> int:
        """Member sends that failed (a member going away)."""
        return self.counters[C_TX_ERRORS]

    # -- control plane side -------------------------------------------------
    def publish(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def watch(self, fd: int) -> None:
        self._epoll.register(fd, select.EPOLLIN)

    def unwatch(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=forward, name="softbond-datapath", daemon=True,
                                        args=(self, self.tap_fd, self._epoll, self.counters, self._woken))
        self._thread.start()

    def _woken(self, fd: int) -> bool:
        if fd == self._wake_r:
            try:
                os.read(fd, 64)
            except OSError:     # drained already (EAGAIN): the wakeup did its job
                pass
        return self._running

    def stop(self) -> None:
        self._running = False
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


class BucketBytes:
    """Bytes per tlb/alb bucket since the previous call, from the running
    totals `totals()` returns (the counters are never reset: a reset would
    race the loops adding to them)."""

    def __init__(self, totals: Callable[[], list[int]]) -> None:
        self._totals = totals
        self._seen = [0] * BUCKETS

    def __call__(self) -> list[int]:
        totals = self._totals()
        delta = [max(0, t - s) for t, s in zip(totals, self._seen)]
        self._seen = totals
        return delta


class SegmentSlots:
    """Which member counts its extra wire segments and its protocol counters
    in which counter slots, and from what value: a slot a departed member
    used is handed to the next one, whose counts start from the slot's
    values then. `read(index)`
    returns a counter's current value (summed over workers)."""

    def __init__(self, read: Callable[[int], int]) -> None:
        self._read = read
        self._slots: dict[int, int] = {}                # ifindex -> member slot
        self._base: dict[int, tuple[int, int, int]] = {}    # ifindex -> (rx, tx, rescued_in) at assignment
        self._proto_base: dict[int, list[int]] = {}     # ifindex -> protocol counters at assignment

    def assign(self, ifindex: int) -> int | None:
        """The member's slot; None past MAX_MEMBERS members (those count
        what their NIC counts)."""
        if ifindex in self._slots:
            return self._slots[ifindex]
        used = set(self._slots.values())
        slot = next((i for i in range(MAX_MEMBERS) if i not in used), None)
        if slot is None:
            return None
        self._slots[ifindex] = slot
        self._base[ifindex] = (self._read(rx_segments_slot(slot)), self._read(tx_segments_slot(slot)),
                               self._read(rescued_in_slot(slot)))
        self._proto_base[ifindex] = self._read_block(slot)
        return slot

    def _read_block(self, slot: int) -> list[int]:
        first = proto_block(slot)
        return [self._read(i) for i in range(first, first + PROTO_BLOCK)]

    def release(self, ifindex: int) -> None:
        self._slots.pop(ifindex, None)
        self._base.pop(ifindex, None)
        self._proto_base.pop(ifindex, None)

    def slots(self) -> dict[int, int]:
        return dict(self._slots)

    def extra(self, ifindex: int) -> tuple[int, int]:
        """(received, sent) extra wire segments of the member so far."""
        slot = self._slots.get(ifindex)
        if slot is None:
            return 0, 0
        rx, tx, _ = self._base[ifindex]
        return self._read(rx_segments_slot(slot)) - rx, self._read(tx_segments_slot(slot)) - tx

    def rescued_in(self, ifindex: int) -> int:
        """Frames the member delivered standing in for one without carrier."""
        slot = self._slots.get(ifindex)
        return 0 if slot is None else self._read(rescued_in_slot(slot)) - self._base[ifindex][2]

    def protocols(self, ifindex: int) -> list[int] | None:
        """The member's protocol counters so far (abi.proto_index); None
        without a slot."""
        slot = self._slots.get(ifindex)
        if slot is None:
            return None
        return [now - then for now, then in zip(self._read_block(slot), self._proto_base[ifindex])]
