"""Active member selection, against the kernel's bond_choose_primary_or_current."""
from dataclasses import dataclass

from softbond.modes.active_backup import (
    RESELECT_ALWAYS, RESELECT_BETTER, RESELECT_FAILURE, choose_active,
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


def test_current_stays_without_primary():
    a, b = M("eth0"), M("eth1")
    assert choose_active([a, b], b, None, RESELECT_ALWAYS) is b


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
