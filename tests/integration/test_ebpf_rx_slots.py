"""sb_ingress finds a member's receive entry in sb_rx_slots (an array, by
ifindex % RX_SLOTS) instead of hashing its ifindex (issue 22: the hash
lookup was most of a 64-byte frame's time there), and in sb_rx when
another member holds the slot. The control plane (BondMaps.set_rx/del_rx)
keeps the two equal; sb_ingress runs on the frame with BPF_PROG_TEST_RUN,
which receives it on the loopback device (ifindex 1). Needs root."""
import pytest

from tests.support.bpfrun import TC_ACT_REDIRECT, TC_ACT_SHOT, loaded_bond, run

BOND_IFINDEX = 999
BOND_MAC = bytes.fromhex("02bb00000001")
MAC = bytes.fromhex("02aa00000001")
# to the bond, from a host behind the switch: 64-byte UDP
FRAME = (BOND_MAC + bytes.fromhex("02cc00000001") + b"\x08\x00"
         + bytes.fromhex("4500002e0000400040110000c0a86401c0a864c7") + bytes.fromhex("1451d431001a0000") + bytes(18))


@pytest.fixture
def bpf():
    with loaded_bond(BOND_IFINDEX, BOND_MAC) as loaded:
        yield loaded


def slot_owner(maps, slot):
    from softbond.datapath.abi import RX_SLOT
    from softbond.datapath.ebpf import bpfsys
    return RX_SLOT.unpack(bpfsys.lookup(maps.fd["sb_rx_slots"], slot.to_bytes(4, "little"), RX_SLOT.size))[-1]


def received(bpf):
    obj, maps = bpf
    before = maps.counters(1)["rx_packets"]
    ret = run(obj, "sb_ingress", FRAME)[0]
    return ret, maps.counters(1)["rx_packets"] - before


def test_a_member_is_found_in_its_slot_and_its_policy_changes_there(bpf):
    from softbond.modes.base import RX_DELIVER, RX_DROP
    _, maps = bpf
    assert received(bpf) == (TC_ACT_SHOT, 0)            # not a member
    maps.set_rx(1, RX_DELIVER, 0, MAC)
    assert slot_owner(maps, 1) == 1
    assert received(bpf) == (TC_ACT_REDIRECT, 1)
    maps.set_rx(1, RX_DROP, 0, MAC)
    assert received(bpf) == (TC_ACT_SHOT, 0)
    maps.set_rx(1, RX_DELIVER, 0, MAC)
    assert received(bpf) == (TC_ACT_REDIRECT, 1)
    maps.del_rx(1)
    assert slot_owner(maps, 1) == 0
    assert received(bpf) == (TC_ACT_SHOT, 0)


def test_a_member_whose_slot_another_holds_is_found_in_sb_rx(bpf):
    from softbond.datapath.abi import RX_SLOTS
    from softbond.modes.base import RX_DELIVER, RX_DROP
    _, maps = bpf
    other = 1 + RX_SLOTS                                # the same slot as ifindex 1
    maps.set_rx(other, RX_DROP, 0, MAC)
    maps.set_rx(1, RX_DELIVER, 0, MAC)
    assert slot_owner(maps, 1) == other
    assert received(bpf) == (TC_ACT_REDIRECT, 1)
    maps.set_rx(1, RX_DROP, 0, MAC)
    assert received(bpf) == (TC_ACT_SHOT, 0)
    # the slot freed, the next write of member 1 takes it
    maps.del_rx(other)
    maps.set_rx(1, RX_DELIVER, 0, MAC)
    assert slot_owner(maps, 1) == 1
    assert received(bpf) == (TC_ACT_REDIRECT, 1)


def test_adopted_maps_find_the_slots_their_members_hold(bpf):
    """A new BondMaps over the same maps (a restarted daemon) reads who
    holds which slot: a policy change of a holder stays in its slot."""
    from softbond.datapath.ebpf.state import BondMaps
    from softbond.modes.base import RX_DELIVER, RX_DROP
    obj, maps = bpf
    maps.set_rx(1, RX_DELIVER, 0, MAC)
    again = BondMaps(obj.maps)
    again.set_rx(1, RX_DROP, 0, MAC)
    assert slot_owner(again, 1) == 1
    assert received(bpf) == (TC_ACT_SHOT, 0)
