"""balance-rr's backpressure in the Python loop (issue 22.2), on socketpairs:
a member whose send buffer is full keeps the frame that is its turn, the
loop reads no more from the TAP meanwhile (the other member does not run
ahead), and once the member has room the frame leaves by it: every frame
leaves by the member rr gave it, in order, none dropped."""
import itertools
import socket
import time

from softbond.datapath.abi import MODE_RR, MODE_XOR
from softbond.datapath.inprocess import COUNTER_SLOTS, RR_SEND_BUFFER, DataPath, compile_snapshot
from softbond.datapath.plan import FlowletState, ForwardingPlan
from softbond.kernel.packet import BUFFER_BYTES, SO_SNDBUFFORCE

VNET = bytes(10)
BOND = bytes.fromhex("020000000001")
PEER = bytes.fromhex("0200000000aa")
FRAMES = 40
ROOMY = 1 << 20


def frame(i: int) -> bytes:
    return VNET + PEER + BOND + b"\x08\x00" + i.to_bytes(4, "big") + bytes(996)


def plan(mode: int) -> ForwardingPlan:
    return ForwardingPlan(mode=mode, xmit_hash_policy=0, packets_per_slave=1, tx_members=((1, PEER), (2, PEER)),
                          active=0, rx_policy={}, buckets=None, bond_mac=BOND)


def pairs(n):
    return [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(n)]


def drain(sock) -> list[int]:
    got = []
    while True:
        try:
            got.append(int.from_bytes(sock.recv(2048, socket.MSG_DONTWAIT)[24:28], "big"))
        except BlockingIOError:
            return got


def test_a_full_member_holds_its_frame_and_the_tap_until_it_has_room():
    (tap_ours, tap_kernel), (m0, m0_wire), (m1, m1_wire) = pairs(3)
    for s in (tap_ours, m0, m1):
        s.setblocking(False)
    tap_kernel.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, ROOMY)
    tap_ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, ROOMY)
    path = DataPath(tap_ours.fileno())
    counters = path.counters
    snapshot = compile_snapshot(plan(MODE_RR), {1: m0, 2: m1}, {1: 0, 2: 1}, counters, [0] * 256,
                                lambda f: False, itertools.count(), FlowletState())
    # the socketpair's peer counts what waits unread against the sender:
    # member 1 gets room for everything, member 0 keeps RR_SEND_BUFFER's
    m1.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, ROOMY)
    path.publish(snapshot)
    path.start()
    try:
        for i in range(FRAMES):
            tap_kernel.send(frame(i))
        time.sleep(0.5)
        # member 0 is full and nobody reads it: the loop waits on it
        ahead = drain(m1_wire)
        assert ahead and len(ahead) < FRAMES // 2, ahead
        got0, got1 = [], ahead
        deadline = time.monotonic() + 10
        while (len(got0) < FRAMES // 2 or len(got1) < FRAMES // 2) and time.monotonic() < deadline:
            got0 += drain(m0_wire)
            got1 += drain(m1_wire)
            time.sleep(0.01)
        assert got0 == list(range(0, FRAMES, 2))
        assert got1 == list(range(1, FRAMES, 2))
        assert path.tx_errors == 0
    finally:
        path.stop()
        for s in (tap_ours, tap_kernel, m0, m0_wire, m1, m1_wire):
            s.close()


def test_only_balance_rr_bounds_its_members_send_buffers():
    (a, _a), (b, _b) = pairs(2)
    try:
        args = ([0] * COUNTER_SLOTS, [0] * 256, lambda f: False, itertools.count(), FlowletState())
        compile_snapshot(plan(MODE_RR), {1: a, 2: b}, {}, *args)
        assert a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * RR_SEND_BUFFER
        compile_snapshot(plan(MODE_XOR), {1: a, 2: b}, {}, *args)
        assert b.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * BUFFER_BYTES
    finally:
        for s in (a, _a, b, _b):
            s.close()
