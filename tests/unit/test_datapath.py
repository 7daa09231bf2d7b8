"""The data path's loop on socketpairs: no root, no TAP, the same code."""
import select
import socket
import time

from softbond.datapath import inprocess as datapath
from softbond.datapath.abi import PROTO_BLOCK, PROTO_RX, PROTO_TX, proto_index
from softbond.wire.protoclass import PC_IPV4_OTHER, PC_IPV4_TCP
from softbond.datapath.inprocess import POLL_GROW_START_NS, DataPath, Snapshot, forward, next_window
from softbond.faces.web.openapi import LOOP_COUNTERS
from softbond.modes.base import RX_DELIVER, RX_DROP, RX_NOT_OWN, RX_UNICAST_OWN_MAC

VNET = bytes(10)
BOND = bytes.fromhex("020000000001")
MEMBER = bytes.fromhex("020000000002")
PEER = bytes.fromhex("0200000000aa")
BCAST = b"\xff" * 6


def frame(dst, src, payload=b"x" * 50):
    return VNET + dst + src + b"\x08\x00" + payload


def run_ingress(policy, frames, counters=None):
    tap_ours, tap_kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    member_ours, member_wire = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    tap_kernel.settimeout(0.3)
    tap_ours.setblocking(False)       # as the TAP is
    member_ours.setblocking(False)
    path = DataPath(tap_ours.fileno())
    slot = datapath.rx_segments_slot(3)
    path.publish(Snapshot(receive={member_ours.fileno(): (member_ours.recv_into, policy, MEMBER, slot,
                                                          datapath.rx_proto_slot(3), None)},
                          bond_mac=BOND))
    path.watch(member_ours.fileno())
    path.start()
    try:
        for f in frames:
            member_wire.send(f)
        got = []
        try:
            while True:
                got.append(tap_kernel.recv(65536))
        except socket.timeout:
            pass
        if counters is not None:
            counters.append(path.counters[slot])
            counters.append(path.counters[datapath.proto_block(3):datapath.proto_block(4)])
        return got, path.rx_dropped
    finally:
        path.stop()
        for s in (tap_ours, tap_kernel, member_ours, member_wire):
            s.close()


def test_deliver_and_drop():
    frames = [frame(BOND, PEER), frame(BCAST, PEER)]
    assert run_ingress(RX_DELIVER, frames) == (frames, 0)
    assert run_ingress(RX_DROP, frames) == ([], 2)


def gso_frame(segments, dst=BOND, src=PEER):
    """A TCPv4 super-frame of `segments` 1448-byte segments (vnet header:
    NEEDS_CSUM, GSO_TCPV4, gso_size 1448, csum_start after the IP header)."""
    header = bytes([1, 1]) + (54).to_bytes(2, "little") + (1448).to_bytes(2, "little") + \
        (34).to_bytes(2, "little") + (16).to_bytes(2, "little")
    tcp = bytes(12) + b"\x50" + bytes(7)
    ip = bytes([0x45]) + bytes(8) + b"\x06" + bytes(10)
    return header + dst + src + b"\x08\x00" + ip + tcp + bytes(1448 * segments)


def test_received_super_frames_count_their_extra_wire_segments_delivered_or_dropped():
    frames = [gso_frame(10), frame(BOND, PEER), gso_frame(3)]
    counted = []
    assert run_ingress(RX_DELIVER, frames, counted) == (frames, 0)
    assert counted[0] == 9 + 2
    counted = []
    assert run_ingress(RX_DROP, frames, counted) == ([], 3)
    assert counted[0] == 11         # the member NIC counted them as received all the same
    # by protocol: 13 TCP segments (each 54 header bytes + 1448), one IPv4 frame of another protocol
    block = counted[1]
    tcp = proto_index(PROTO_RX, PC_IPV4_TCP)
    assert block[tcp:tcp + 2] == [13, 13 * (54 + 1448)]
    other = proto_index(PROTO_RX, PC_IPV4_OTHER)
    assert block[other:other + 2] == [1, 14 + 50]
    assert sum(block) == 13 + 13 * (54 + 1448) + 1 + 64


def test_counting_send_counts_extra_segments_and_sends_the_frame_unchanged():
    counters = [0] * datapath.COUNTER_SLOTS
    sent = []
    send = datapath.counting_send(lambda f, flags: sent.append(f), counters, 5)
    for f in (gso_frame(44), frame(PEER, BOND), gso_frame(1)):
        send(memoryview(f))
    assert [bytes(f) for f in sent] == [gso_frame(44), frame(PEER, BOND), gso_frame(1)]
    assert counters[datapath.tx_segments_slot(5)] == 43
    block = counters[datapath.proto_block(5):datapath.proto_block(6)]
    tcp, other = proto_index(PROTO_TX, PC_IPV4_TCP), proto_index(PROTO_TX, PC_IPV4_OTHER)
    assert block[tcp:tcp + 2] == [45, 45 * (54 + 1448)]
    assert block[other:other + 2] == [1, 64]
    assert sum(counters) == 43 + sum(block[tcp:tcp + 2]) + 65


def test_segment_slots_are_reused_from_where_the_last_member_left_them():
    counters = [0] * datapath.COUNTER_SLOTS
    slots = datapath.SegmentSlots(counters.__getitem__)
    a, b = slots.assign(11), slots.assign(12)
    assert (a, b) == (0, 1) and slots.assign(11) == 0
    counters[datapath.rx_segments_slot(a)] += 7
    counters[datapath.tx_segments_slot(b)] += 5
    assert slots.extra(11) == (7, 0) and slots.extra(12) == (0, 5)
    counters[datapath.tx_proto_slot(a) + 2] += 3
    slots.release(11)
    assert slots.extra(11) == (0, 0) and slots.protocols(11) is None
    assert slots.assign(13) == 0 and slots.extra(13) == (0, 0)     # starts from the slot's 7
    assert slots.protocols(13) == [0] * PROTO_BLOCK
    counters[datapath.tx_proto_slot(a) + 2] += 1
    assert slots.protocols(13)[proto_index(PROTO_TX, 1)] == 1 and sum(slots.protocols(13)) == 1
    more = [slots.assign(100 + i) for i in range(datapath.MAX_MEMBERS)]     # 2 already taken
    assert more[-3:] == [datapath.MAX_MEMBERS - 1, None, None]
    assert slots.extra(100 + datapath.MAX_MEMBERS - 1) == (0, 0)            # past the slots: uncounted


def test_not_own_drops_our_reflected_floods():
    ours, theirs = frame(BCAST, BOND), frame(BCAST, PEER)
    assert run_ingress(RX_NOT_OWN, [ours, theirs, frame(BOND, PEER)]) == ([theirs, frame(BOND, PEER)], 1)


def test_alb_backup_member_takes_unicast_to_itself_as_the_bonds():
    to_member, to_bond, flood, other = frame(MEMBER, PEER), frame(BOND, PEER), frame(BCAST, PEER), frame(PEER, BOND)
    got, dropped = run_ingress(RX_UNICAST_OWN_MAC, [to_member, to_bond, flood, other, VNET + b"\x00" * 5])
    assert got == [frame(BOND, PEER), to_bond, other]
    assert dropped == 2     # the broadcast and the runt


def test_egress_uses_the_published_transmit_and_survives_its_errors():
    tap_ours, tap_kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    tap_ours.setblocking(False)
    sent = []

    def transmit(view):
        if bytes(view[10:11]) == b"E":
            raise OSError("member went away")
        sent.append(bytes(view))
    path = DataPath(tap_ours.fileno())
    path.publish(Snapshot(transmit=transmit))
    path.start()
    try:
        for f in (frame(PEER, BOND), VNET + b"E" * 20, frame(BCAST, BOND)):
            tap_kernel.send(f)
        deadline = time.monotonic() + 2
        while len(sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sent == [frame(PEER, BOND), frame(BCAST, BOND)]
        assert path.tx_errors == 1
    finally:
        path.stop()
        tap_ours.close()
        tap_kernel.close()


# -- busy polling ----------------------------------------------------------------

US = 1000


def test_the_poll_window_grows_from_10us_by_doubling_up_to_the_maximum():
    window, seen = 0, []
    for _ in range(7):
        window = next_window(window, 50 * US, 200 * US)
        seen.append(window // US)
    assert POLL_GROW_START_NS == 10 * US
    assert seen == [10, 20, 40, 80, 160, 200, 200]


def test_a_sleep_longer_than_the_maximum_stops_polling_and_zero_never_polls():
    assert next_window(160 * US, 201 * US, 200 * US) == 0
    assert next_window(160 * US, 200 * US, 200 * US) == 200 * US     # caught at the edge: keep growing
    assert next_window(0, 1 * US, 0) == 0
    assert next_window(80 * US, 1 * US, 0) == 0                       # datapath_busy_poll set to 0 live


class SimulatedTime:
    """The busy-poll tests' world on a simulated clock (ns): frames arrive
    in the TAP at set times, a wait that sleeps jumps the clock to the next
    arrival, a poll costs POLL_COST_NS, moving a frame `work_ns`. The loop
    runs on the test's thread: what it decides depends on these times only,
    never on how loaded the machine is."""
    POLL_COST_NS = 1 * US

    def __init__(self, tap_kernel, tap_fd, stop_fd, arrivals, work_ns):
        self.tap_kernel, self.tap_fd, self.stop_fd = tap_kernel, tap_fd, stop_fd
        self.arrivals = list(arrivals)
        self.work_ns = work_ns
        self.now = 0
        self.sent = 0
        self.moved = []
        self.polls = self.caught = self.sleeps = 0

    def clock(self):
        return self.now

    def _arrive(self):
        while self.sent < len(self.arrivals) and self.arrivals[self.sent] <= self.now:
            self.tap_kernel.send(VNET + self.sent.to_bytes(4, "big"))
            self.sent += 1
        return [(self.tap_fd, select.EPOLLIN)]

    def poll(self, timeout=-1):
        pending = self.sent < len(self.arrivals)
        if timeout == 0:
            self.polls += 1
            if pending and self.arrivals[self.sent] <= self.now:
                self.caught += 1
                return self._arrive()
            self.now += self.POLL_COST_NS
            return []
        self.sleeps += 1
        if not pending:
            return [(self.stop_fd, select.EPOLLIN)]
        self.now = max(self.now, self.arrivals[self.sent])
        return self._arrive()

    def transmit(self, view):
        self.now += self.work_ns
        self.moved.append(bytes(view[10:14]))


def run_stream(busy_poll_us, gap_us, work_us, frames=150):
    """`frames` frames into the TAP end, `gap_us` apart; moving each one takes
    `work_us` of the loop's time (as a 64 KB frame's copies and the stack
    behind a member's send do). Returns the simulation with its counts."""
    tap_ours, tap_kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    tap_ours.setblocking(False)
    stop_fd = -1
    world = SimulatedTime(tap_kernel, tap_ours.fileno(), stop_fd, [i * gap_us * US for i in range(frames)],
                          work_us * US)
    source = type("Source", (), {})()
    source.snapshot = Snapshot(transmit=world.transmit, busy_poll_ns=busy_poll_us * US)
    counters = [0] * datapath.COUNTER_SLOTS
    try:
        forward(source, tap_ours.fileno(), world, counters, lambda fd: False, clock=world.clock)
    finally:
        tap_ours.close()
        tap_kernel.close()
    assert world.moved == [i.to_bytes(4, "big") for i in range(frames)]
    assert counters[datapath.C_FRAMES_OUT] == frames
    assert counters[datapath.C_SLEPT] == world.sleeps and counters[datapath.C_POLLED] == world.caught
    return world


def test_frames_close_together_that_keep_the_loop_busy_are_caught_by_polling():
    # Each frame takes 0.4 ms of work and the next comes 0.5 ms after the
    # last: the loop would sleep 0.1 ms between them, within the window.
    # The loop's load builds up over its first tens of milliseconds.
    world = run_stream(busy_poll_us=2000, gap_us=500, work_us=400, frames=300)
    print(f"polls {world.polls}, caught {world.caught}, sleeps {world.sleeps}")
    assert world.caught > 300 // 2, "most frames should have been found by polling"


def test_no_polling_when_switched_off_or_when_the_loop_is_mostly_idle():
    busy_but_off = run_stream(busy_poll_us=0, gap_us=500, work_us=400)
    light = run_stream(busy_poll_us=2000, gap_us=500, work_us=0)
    assert (busy_but_off.polls, light.polls) == (0, 0)
    assert busy_but_off.sleeps == light.sleeps == 150 + 1      # one per frame, one to stop


def test_frames_further_apart_than_the_window_are_waited_for_asleep():
    # Busy enough to poll (2 ms of work every 4 ms), but the loop then
    # sleeps 2 ms, longer than the 1 ms window: polling through it would
    # burn the window for nothing.
    sparse = run_stream(busy_poll_us=1000, gap_us=4000, work_us=2000, frames=40)
    assert sparse.polls == 0 and sparse.sleeps == 40 + 1


def test_the_loop_counters_in_status_and_openapi_agree():
    assert [name for name, _ in datapath.LOOP_COUNTERS] == list(LOOP_COUNTERS)


def test_protocol_counters_off_counts_segments_only():
    counters = [0] * datapath.COUNTER_SLOTS
    sent = []
    send = datapath.counting_send(lambda f, flags: sent.append(f), counters, 5, protocols=False)
    for f in (gso_frame(44), frame(PEER, BOND)):
        send(memoryview(f))
    assert len(sent) == 2 and counters[datapath.tx_segments_slot(5)] == 43 and sum(counters) == 43
