"""The peer notifier (core.notify.PeerNotifier) on its own: GARP/NA rounds
from the active member, stopped when another takes over; no links, no
sockets (the bond's addresses come from a fake links port)."""
import asyncio
from dataclasses import replace

from softbond.config.registry import BondOptions
from softbond.core.notify import PeerNotifier
from softbond.wire import arp as wire_arp

BOND_MAC = "02:00:00:00:00:01"


class Links:
    """The bond's addresses, as Links.addresses returns them."""

    def addresses(self, name, scope_global_only=True):
        return ["10.1.0.1/24", "fd00::1/64"]


def notifier(sent, active, **options):
    opts = replace(BondOptions(), **options)
    return PeerNotifier("sbtest0", Links(), lambda: opts, lambda: BOND_MAC, lambda: active[0],
                        lambda member, frame: sent.append((member, frame)))


def rounds(active, then=None, wait=0.2, **options):
    """The frames sent when eth0 becomes active and `wait` seconds pass;
    `then` runs right after the first round (before any await)."""
    sent = []

    async def run():
        n = notifier(sent, active, **options)
        n.loop = asyncio.get_running_loop()
        n.notify("eth0")
        if then:
            then(sent)
        await asyncio.sleep(wait)
        n.stop()

    asyncio.run(run())
    return sent


def test_rounds_go_out_from_the_active_member_first_at_once():
    first = []
    sent = rounds(["eth0"], then=lambda sent: first.append(len(sent)), num_peer_notif=3, peer_notif_delay=1)
    assert first == [2]          # the first round (one GARP, one NA) before any await
    assert [member for member, _ in sent] == ["eth0"] * 6
    garps = [wire_arp.parse_arp(frame) for _, frame in sent if frame[12:14] == b"\x08\x06"]
    assert len(garps) == 3 and all(g.sender_ip == g.target_ip == bytes([10, 1, 0, 1]) for g in garps)


def test_a_new_active_member_ends_the_old_ones_rounds():
    active = ["eth0"]
    # another member takes over before the next round
    sent = rounds(active, then=lambda sent: active.__setitem__(0, "eth1"), wait=0.12,
                  num_peer_notif=5, peer_notif_delay=50)
    assert [member for member, _ in sent] == ["eth0", "eth0"]


def test_no_rounds_when_num_peer_notif_is_0():
    sent = []
    n = notifier(sent, ["eth0"], num_peer_notif=0)
    n.notify("eth0")
    assert sent == []
