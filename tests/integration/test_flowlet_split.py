"""xmit_balance=flowlet end to end: two members shaped to RATE behind a
Linux bridge, two TCP flows whose client ports the kernel's layer3+4 hash
puts on the same member. Static balance-xor leaves them sharing one member
(about R together); with flowlet balancing one bucket moves to the idle
member at a pause and the two flows add up. Flowlet balancing is turned on
with `softbond set` on the running bond, with a fixed gap
(flowlet_gap_auto=off)."""
import pytest

from tests.support.framegen import ports_sharing_a_member
from tests.support.modes_util import ADDR, RATE, Flows, mean, shape_all, up
from tests.support.netcheck import status_json

# on the eBPF path, the in-process Python loop and the worker processes
ALL_DATAPATHS = True
SECONDS = 10


@pytest.mark.topology(peers=1)
def test_two_flows_on_one_member_are_split_at_a_pause(topo):
    up(topo, "balance-xor", "xmit_hash_policy=layer3+4")
    assert status_json(topo)["flowlet"] is None
    # turned on live, as a new runner (the kernel's mode switch, without the bond going down)
    topo.softbond("set", "bond0", "xmit_balance", "flowlet")
    # the fixed 2 ms gap: with the gap following the 20 ms tbf queue two
    # lone elephants seldom pause long enough (test_flowlet_queues.py)
    topo.softbond("set", "bond0", "flowlet_gap_auto", "off")
    shape_all(topo)
    cport = ports_sharing_a_member(ADDR.split("/")[0], topo.peer_ip(0), 5201, first=22000)
    flows = Flows(topo, SECONDS, streams=2, cport=cport)
    rates = flows.per_second()
    st = status_json(topo)
    aggregate = mean(rates[4:])
    out = {s["name"]: s["counters"]["tx_bytes"] for s in st["slaves"]}
    print(f"flowlet: {aggregate:.0f} Mbit/s over seconds 4-{SECONDS} (R={RATE}), per second {rates}, "
          f"moves {st['flowlet']['moves']}, bytes out {out}")
    assert st["flowlet"]["moves"] >= 1
    assert min(out.values()) > 0.25 * max(out.values()), out
    assert aggregate > 1.5 * RATE, rates
