"""The path monitor's judge (monitors/path.py): loss and round-trip time
per member over a window, taken out at a threshold, back after a run of
answered probes. Time is passed in: no clock, no sockets."""
from softbond.monitors.path import PathJudge

INTERVAL = 0.05


def judge(**kw):
    args = dict(interval=INTERVAL, window=20, loss_pct=10, rtt_multiple=0, recover=5)
    args.update(kw)
    j = PathJudge(**args)
    j.add("eth0")
    j.add("eth1")
    return j


def run(j, start, probes, answers, rtt=0.0002):
    """`probes` rounds from `start`: every member probes; `answers(key, i)`
    says whether its i-th probe is answered. Returns the changes seen and
    the time reached."""
    changes = []
    now = start
    for i in range(probes):
        changes += [(k, ok, i) for k, ok in j.tick(now)]
        for key in list(j.records):
            j.sent(key, now)
            if answers(key, i):
                j.replied(key, now + rtt)
        now += INTERVAL
    return changes, now


def test_a_clean_path_stays_in_service_and_measures_rtt():
    j = judge()
    changes, _ = run(j, 0.0, 60, lambda k, i: True, rtt=0.0003)
    assert changes == []
    q = j.quality("eth0")
    assert q.in_service and q.loss_pct == 0.0 and q.probes == 20
    assert abs(q.rtt_ms - 0.3) < 1e-6


def test_total_loss_takes_the_member_out_after_the_threshold_count():
    j = judge()
    changes, _ = run(j, 0.0, 30, lambda k, i: k == "eth1")
    # 10% of a 20-probe window is 2 losses; a probe is lost once unanswered
    # for the reply timeout (0.25 s = 5 intervals here).
    assert changes[0][:2] == ("eth0", False)
    assert changes[0][2] <= 2 + 6
    assert [c[:2] for c in changes] == [("eth0", False)]
    q = j.quality("eth0")
    assert not q.in_service and q.taken_out == 1 and "lost" in q.reason
    assert j.quality("eth1").in_service


def test_loss_below_the_threshold_keeps_the_member():
    j = judge(loss_pct=20)    # 4 of 20
    changes, _ = run(j, 0.0, 200, lambda k, i: not (k == "eth0" and i % 10 == 0))    # 10% loss
    assert changes == []
    assert 5.0 <= j.quality("eth0").loss_pct <= 15.0


def test_a_few_early_losses_do_not_judge_a_half_empty_window():
    j = judge(loss_pct=25)    # 5 of 20, counted against the whole window
    changes, _ = run(j, 0.0, 12, lambda k, i: not (k == "eth0" and i in (0, 1, 2, 3)))
    assert changes == []      # 4 of 7 judged is 57%, but only 4 of a 20 window


def test_hysteresis_back_after_recover_clean_probes_with_a_fresh_window():
    j = judge(recover=5)
    changes, now = run(j, 0.0, 20, lambda k, i: k != "eth0")
    assert [c[:2] for c in changes] == [("eth0", False)]
    # Loss stops: back after 5 answered in a row (not before), window cleared.
    changes, now = run(j, now, 4, lambda k, i: True)
    # Probes still pending from the lossy phase expire here (lost): no return yet.
    assert changes == []
    changes, now = run(j, now, 12, lambda k, i: True)
    assert [c[:2] for c in changes] == [("eth0", True)]
    assert j.quality("eth0").in_service
    assert j.quality("eth0").loss_pct == 0.0


def test_one_lost_probe_restarts_the_clean_run():
    j = judge(recover=5)
    _, now = run(j, 0.0, 20, lambda k, i: k != "eth0")
    # Every fourth probe lost: never 5 in a row, so never back.
    changes, _ = run(j, now, 60, lambda k, i: k != "eth0" or i % 4 != 3)
    assert changes == []
    assert not j.quality("eth0").in_service


def test_slow_member_out_at_the_rtt_multiple_of_the_best():
    j = judge(rtt_multiple=3)
    j.add("eth2")

    def rounds(start, count, slow_rtt):
        now = start
        out = []
        for _ in range(count):
            out += j.tick(now)
            for key in list(j.records):
                j.sent(key, now)
                j.replied(key, now + (slow_rtt if key == "eth2" else 0.002))
            now += INTERVAL
        return out, now

    changes, now = rounds(0.0, 40, 0.005)    # 2.5x: stays
    assert changes == []
    changes, now = rounds(now, 40, 0.010)    # 5x: out once its window's median is
    assert changes == [("eth2", False)]
    assert "round-trip" in j.quality("eth2").reason


def test_microsecond_rtts_are_not_slow_at_any_multiple():
    j = judge(rtt_multiple=2)
    j.add("eth2")
    now = 0.0
    for _ in range(60):
        assert j.tick(now) == []
        for key in list(j.records):
            j.sent(key, now)
            j.replied(key, now + (0.0004 if key == "eth2" else 0.00005))    # 8x, but under the 1 ms floor
        now += INTERVAL


def test_a_late_reply_is_a_loss_and_an_unknown_member_is_ignored():
    j = judge()
    j.sent("eth0", 0.0)
    j.tick(1.0)                      # past the reply timeout
    j.replied("eth0", 1.0)           # nothing waiting any more
    assert j.quality("eth0").probes == 1 and j.quality("eth0").loss_pct == 100.0
    j.replied("nope", 1.0)
    j.sent("nope", 1.0)
    assert j.quality("nope") is None


def test_detection_bound_is_the_threshold_losses_plus_the_timeout():
    j = PathJudge(interval=0.2, window=50, loss_pct=10, rtt_multiple=0, recover=25)
    assert abs(j.detection_bound() - (5 * 0.2 + 0.4 + 0.2)) < 1e-9
