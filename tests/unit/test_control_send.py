"""A control frame (GARP, LACPDU...) its member's socket refuses is counted
in the member's status, not dropped unseen."""
import socket

from softbond.core.bond import Bond
from softbond.core.membership import Member


def test_refused_control_frame_counted():
    ours, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with ours, peer:
        ours.setblocking(False)
        member = Member(name="m0", ifindex=1, original=None, sock=ours, link=None, carrier=True,
                        send_control=ours.send)
        frame = bytes(60)
        sent = 0
        while True:             # fill the peer's receive queue: the next send is refused
            try:
                ours.send(frame)
                sent += 1
            except BlockingIOError:
                break
        assert sent > 0
        Bond._send_control(None, member, frame)
        Bond._send_control(None, member, frame)
        assert member.control_send_errors == 2
        peer.recv(100)
        Bond._send_control(None, member, frame)   # room again: sent, not counted
        assert member.control_send_errors == 2
