"""plan.rescue_targets: where the carrier rescue (ebpf/rescue.bpf.c) sends
the frames of a member that just lost its carrier."""
from softbond.datapath.abi import RX_DELIVER, RX_DROP, RX_NOT_OWN
from softbond.datapath.plan import rescue_targets, stand_ins


def test_each_member_is_rescued_by_the_next_usable_one_in_member_order():
    assert rescue_targets([1, 2, 3], [1, 2, 3]) == {1: 2, 2: 3, 3: 1}
    # A member that is not usable rescues no one; the search wraps round.
    assert rescue_targets([1, 2, 3], [1, 3]) == {1: 3, 2: 3, 3: 1}


def test_a_member_the_plan_sends_by_comes_before_a_merely_usable_one():
    # 802.3ad: 4 is up but outside the active aggregator (2, 3).
    assert rescue_targets([1, 4, 2, 3], [1, 4, 2, 3], [1, 2, 3]) == {1: 2, 4: 2, 2: 3, 3: 1}
    # Active-backup: the plan sends by the active only; its own rescue is a usable backup.
    assert rescue_targets([1, 2, 3], [1, 2, 3], [1]) == {1: 2, 2: 1, 3: 1}
    # A sending member that is no longer usable is no rescue.
    assert rescue_targets([1, 2, 3], [1, 3], [2]) == {1: 3, 2: 3, 3: 1}


def test_no_target_without_another_usable_member():
    assert rescue_targets([1], [1]) == {}
    assert rescue_targets([1, 2], []) == {}
    assert rescue_targets([1, 2], [2]) == {1: 2}


def test_the_backup_stands_in_for_the_active_member_only():
    """active-backup: 1 active, 2 and 3 backups; 1's frames are rescued to
    2, so 2 (whose policy drops) receives for 1; 3 stands in for no one,
    so a flood reaches the bond once."""
    targets = rescue_targets([1, 2, 3], [1, 2, 3])
    assert stand_ins(targets, {1: RX_NOT_OWN, 2: RX_DROP, 3: RX_DROP}) == {2: 1}


def test_members_that_all_receive_need_no_stand_in():
    assert stand_ins(rescue_targets([1, 2], [1, 2]), {1: RX_DELIVER, 2: RX_DELIVER}) == {}


def test_one_member_stands_in_for_the_first_of_two_rescued_to_it():
    # 802.3ad: 1 and 3 in the aggregator (deliver), 2 outside it; both
    # rescued to 2: it receives for 1 only, or a flood would come twice.
    assert stand_ins({1: 2, 3: 2, 2: 3}, {1: RX_DELIVER, 2: RX_DROP, 3: RX_DELIVER}) == {2: 1}


def test_the_python_paths_probe_reads_the_member_of_its_own_ifindex_only():
    """A sysfs mounted for another namespace than the bond's shows another
    device under the member's name: its ifindex differs, and the probe then
    never says the member lost its carrier. Read on this host's lo."""
    from softbond.datapath.inprocess import CarrierProbe

    lo_ifindex = int(open("/sys/class/net/lo/ifindex").read())
    assert CarrierProbe("lo", lo_ifindex, 0).base is not None
    other = CarrierProbe("lo", lo_ifindex + 1000, 0)
    assert other.base is None
    assert other.lost(10**12) is False
    assert CarrierProbe("no-such-member", lo_ifindex, 0).base is None
