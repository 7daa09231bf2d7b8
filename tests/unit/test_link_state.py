"""updelay/downdelay handling, as bond_miimon_inspect/commit."""
from softbond.monitors import link


def test_carrier_loss_without_delay_goes_down_at_once():
    s = link.LinkState(True)
    change = s.observe(False, 10.0, 0, 0)
    assert s.state == link.DOWN and change.settled
    assert change.message == "link status definitely down, disabling slave"
    assert s.failures == 1


def test_downdelay_then_expire():
    s = link.LinkState(True)
    change = s.observe(False, 10.0, 0, 0.2, "active ")
    assert s.state == link.FAIL and not change.settled
    assert change.message == "link status down for active interface, disabling it in 200 ms"
    assert s.usable
    assert s.expire(10.1) is None
    change = s.expire(10.2)
    assert s.state == link.DOWN and change.settled and s.failures == 1


def test_carrier_back_during_downdelay():
    s = link.LinkState(True)
    s.observe(False, 10.0, 0, 0.2)
    change = s.observe(True, 10.05, 0, 0.2)
    assert s.state == link.UP and change.message == "link status up again after 50 ms"
    assert s.failures == 0


def test_updelay_then_up():
    s = link.LinkState(False)
    change = s.observe(True, 5.0, 0.3, 0)
    assert s.state == link.BACK and change.message == "link status up for interface, enabling it in 300 ms"
    assert not s.usable
    change = s.expire(5.3)
    assert s.state == link.UP and change.settled and change.message == "link status definitely up"


def test_carrier_lost_during_updelay():
    s = link.LinkState(False)
    s.observe(True, 5.0, 0.3, 0)
    change = s.observe(False, 5.1, 0.3, 0)
    assert s.state == link.DOWN and change.message == "link status down again after 100 ms"
    assert s.failures == 0


def test_repeated_observation_is_quiet():
    s = link.LinkState(True)
    assert s.observe(True, 1.0, 0, 0) is None
    s.observe(False, 1.0, 0, 0)
    assert s.observe(False, 1.1, 0, 0) is None


def test_promote_early_reports_remaining_time():
    s = link.LinkState(False)
    s.observe(True, 5.0, 1.0, 0)
    assert s.promote_early(5.25) == 750
    assert s.state == link.UP
