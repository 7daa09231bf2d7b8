"""flowlet_gap_auto on real qdiscs: the queue model (modes/flowlet.py,
bond.bpf.c's flowlet_queued) needs each member's line rate, which the bond
reads every flowlet_interval: a tbf root qdisc's rate and limit, else the
speed the driver reports (a veth's 10000 Mb/s). Member 0 shaped to 10
Mbit/s (tbf, queue up to 20 ms) shows that rate and its queue's length at
once, and goes back to the driver's speed when the tbf goes; the gap the
plan carries stays flowlet_gap, the floor (the data path adds each
member's queue itself). With flowlet_gap_auto=off the model is off."""
import pytest

from tests.support.modes_util import up
from tests.support.netcheck import status_json

GAP_US = 2000


def flowlet(topo) -> dict:
    return status_json(topo)["flowlet"]


def driver_speed(topo, name: str) -> float:
    out = topo.exec(topo.host, ["cat", f"/sys/class/net/{name}/speed"]).stdout
    return float(out.strip())


@pytest.mark.topology(peers=1)
def test_the_model_follows_each_members_line_rate(topo):
    up(topo, "balance-xor", "xmit_hash_policy=layer3+4", "xmit_balance=flowlet", f"flowlet_gap={GAP_US}")
    members = [topo.member(i) for i in range(2)]
    speeds = {name: driver_speed(topo, name) for name in members}
    # the first plan may come before the members run (a veth has no speed
    # until then): the first interval's reading turns the model on
    assert topo.wait_for(lambda: flowlet(topo)["queue_model"], timeout=5), flowlet(topo)
    status = flowlet(topo)
    assert status["queue_model"] is True and status["gap_now_us"] == GAP_US, status
    assert {name: r["mbit"] for name, r in status["line_rates"].items()} == speeds, status
    topo.shape(0, 10)
    assert topo.wait_for(lambda: flowlet(topo)["line_rates"][members[0]]["mbit"] == 10.0, timeout=5), flowlet(topo)
    status = flowlet(topo)
    # the tbf's limit is its latency (20 ms) plus its burst, at 10 Mbit/s (tc shows `lat`, limit - burst)
    limit_us = 20_000 + topo.SHAPE_MIN_BURST * 1_000_000 / 1_250_000
    assert abs(status["line_rates"][members[0]]["queue_cap_us"] - limit_us) < 100, (status, limit_us)
    assert status["line_rates"][members[1]]["mbit"] == speeds[members[1]]
    assert status["queue_model"] is True and status["gap_now_us"] == GAP_US
    text = topo.softbond("status", "bond0", "--verbose").stdout
    assert f"modeled at its line rate: {members[0]} 10 Mbit/s" in text, text
    topo.unshape(0)
    assert topo.wait_for(lambda: flowlet(topo)["line_rates"][members[0]]["mbit"] == speeds[members[0]], timeout=5)
    assert topo.softbond("set", "bond0", "flowlet_gap_auto", "off").returncode == 0
    assert flowlet(topo)["queue_model"] is False
