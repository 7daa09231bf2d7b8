"""The data path's two loops on socketpairs: no root, no TAP, the same code."""
import socket
import time

from softbond.datapath import DataPath, Snapshot
from softbond.modes.base import RX_DELIVER, RX_DROP, RX_NOT_OWN, RX_UNICAST_OWN_MAC

VNET = bytes(10)
BOND = bytes.fromhex("020000000001")
MEMBER = bytes.fromhex("020000000002")
PEER = bytes.fromhex("0200000000aa")
BCAST = b"\xff" * 6


def frame(dst, src, payload=b"x" * 50):
    return VNET + dst + src + b"\x08\x00" + payload


def run_ingress(policy, frames):
    tap_ours, tap_kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    member_ours, member_wire = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    tap_kernel.settimeout(0.3)
    tap_ours.setblocking(False)       # as the TAP is
    member_ours.setblocking(False)
    path = DataPath(tap_ours.fileno())
    path.publish(Snapshot(receive={member_ours.fileno(): (member_ours.recv_into, policy, MEMBER)}, bond_mac=BOND))
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
        return got, path.rx_dropped
    finally:
        path.stop()
        for s in (tap_ours, tap_kernel, member_ours, member_wire):
            s.close()


def test_deliver_and_drop():
    frames = [frame(BOND, PEER), frame(BCAST, PEER)]
    assert run_ingress(RX_DELIVER, frames) == (frames, 0)
    assert run_ingress(RX_DROP, frames) == ([], 2)


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
