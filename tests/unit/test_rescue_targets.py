"""plan.rescue_targets: where the carrier rescue (ebpf/rescue.bpf.c) sends
the frames of a member that just lost its carrier."""
from softbond.datapath.plan import rescue_targets


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
