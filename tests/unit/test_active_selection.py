"""Active member selection, against the kernel's bond_choose_primary_or_current."""
from dataclasses import dataclass

from softbond.modes.active_backup import (
    RESELECT_ALWAYS, RESELECT_BETTER, RESELECT_FAILURE, choose_active, link_change_reselects,
)


@dataclass(eq=False)
class M:
    name: str
    up: bool = True
    speed: int = 1000
    duplex: int = 1
    prio: int = 0


def test_first_up_member_when_nothing_active():
    a, b = M("eth0"), M("eth1")
    assert choose_active([a, b], None, None, RESELECT_ALWAYS) is a


def test_skips_down_members():
    a, b = M("eth0", up=False), M("eth1")
    assert choose_active([a, b], None, None, RESELECT_ALWAYS) is b


def test_without_primary_the_first_of_the_highest_prio_is_the_candidate():
    """Linux 6.0's bond_choose_primary_or_current: with no primary up, the
    up member of highest prio (the first of equals) stands in for it, and
    primary_reselect decides against a current active that is up. (When
    the bond chooses at all is link_change_reselects's business: equal
    prio coming up does not make it choose.)"""
    a, b = M("eth0"), M("eth1")
    assert choose_active([a, b], b, None, RESELECT_ALWAYS) is a
    assert choose_active([a, b], b, None, RESELECT_BETTER) is b      # same speed and duplex
    assert choose_active([a, b], b, None, RESELECT_FAILURE) is b
    assert choose_active([a, b], a, None, RESELECT_ALWAYS) is a
    fast = M("eth0", speed=10000)
    assert choose_active([fast, b], b, None, RESELECT_BETTER) is fast


def test_the_kernels_prio_selftest_sequence():
    """tools/testing/selftests/drivers/net/bonding/option_prio.sh: prio
    veth0=0, veth1=10 (the primary), veth2=11, for each primary_reselect."""
    for reselect, after_veth2_up, after_primary_up in ((RESELECT_ALWAYS, "veth2", "veth1"),
                                                       (RESELECT_BETTER, "veth0", "veth0"),
                                                       (RESELECT_FAILURE, "veth0", "veth0")):
        v0, v1, v2 = M("veth0", prio=0), M("veth1", prio=10), M("veth2", prio=11)
        members = [v0, v1, v2]
        active = choose_active(members, None, v1, reselect)
        assert active is v1
        for down, expect in ((v1, "veth2"), (v2, "veth0")):
            down.up = False
            assert link_change_reselects(down, False, active, v1)
            active = choose_active(members, active, v1, reselect)
            assert active.name == expect
        v2.up = True
        if link_change_reselects(v2, True, active, v1):        # prio 11 > 0: choose
            active = choose_active(members, active, v1, reselect)
        assert active.name == after_veth2_up
        v1.up = True
        if link_change_reselects(v1, True, active, v1):        # the primary: choose
            active = choose_active(members, active, v1, reselect)
        assert active.name == after_primary_up
        if reselect == RESELECT_ALWAYS:
            # Changing prio changes nothing by itself; the next failover uses it.
            v0.prio, v1.prio, v2.prio = 1000000, 0, -50
            v1.up = False
            assert link_change_reselects(v1, False, active, v1)
            assert choose_active(members, active, v1, reselect) is v0


def test_which_link_changes_make_the_bond_choose():
    a, b, p = M("eth0"), M("eth1", prio=5), M("eth2")
    assert link_change_reselects(a, False, a, None)             # the active went down
    assert not link_change_reselects(b, False, a, None)         # a backup went down
    assert link_change_reselects(a, True, None, None)           # nothing active
    assert link_change_reselects(p, True, a, p)                 # the primary came up
    assert link_change_reselects(b, True, a, None)              # higher prio came up
    assert not link_change_reselects(a, True, b, None)          # equal or lower: stay
    assert not link_change_reselects(M("eth3"), True, a, None)


def test_nothing_up_gives_none():
    a, b = M("eth0", up=False), M("eth1", up=False)
    assert choose_active([a, b], a, None, RESELECT_ALWAYS) is None


def test_primary_always_takes_back():
    a, b = M("eth0"), M("eth1")
    assert choose_active([a, b], b, a, RESELECT_ALWAYS) is a


def test_primary_failure_keeps_current():
    a, b = M("eth0"), M("eth1")
    assert choose_active([a, b], b, a, RESELECT_FAILURE) is b
    # ...unless the current one fails.
    b.up = False
    assert choose_active([a, b], b, a, RESELECT_FAILURE) is a


def test_primary_better_needs_more_speed():
    a, b = M("eth0", speed=1000), M("eth1", speed=1000)
    assert choose_active([a, b], b, a, RESELECT_BETTER) is b       # equal: stay
    a.speed = 10000
    assert choose_active([a, b], b, a, RESELECT_BETTER) is a       # faster: take back
    a.speed, a.duplex, b.duplex = 1000, 1, 0
    assert choose_active([a, b], b, a, RESELECT_BETTER) is a       # same speed, better duplex


def test_force_primary_overrides_reselect():
    a, b = M("eth0"), M("eth1")
    assert choose_active([a, b], b, a, RESELECT_FAILURE, force_primary=True) is a


def test_down_primary_is_ignored():
    a, b = M("eth0", up=False), M("eth1")
    assert choose_active([a, b], None, a, RESELECT_ALWAYS) is b


def test_higher_prio_wins_when_choosing_fresh():
    a, b = M("eth0", prio=0), M("eth1", prio=5)
    assert choose_active([a, b], None, None, RESELECT_ALWAYS) is b
