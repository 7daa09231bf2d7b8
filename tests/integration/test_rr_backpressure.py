"""balance-rr on the Python data path keeps the members' queues short
(issue 22.2): the TAP frees every frame the stack hands it, so TCP Small
Queues cannot hold the senders back, and without a bound of its own the
loop filled both members' qdiscs; rr alternates frames of unequal size, so
two full queues drift apart and one flow's frames arrive out of order. The
loop now stops reading the TAP while the next member's send buffer is full:
the excess waits before the alternation, and a member's queue never holds
much more than that buffer."""
import json
import threading
import time

from tests.support.modes_util import up
from tests.support.netcheck import Iperf

from softbond.datapath.inprocess import RR_SEND_BUFFER
from softbond.lab.netns import TEST_WORKERS

PYTHON_DATAPATHS = True
RATE_MBIT = 100
# A burst above the largest GSO frame (64 KB payload plus its segments'
# headers): tbf splits a frame larger than its burst at enqueue and frees it,
# which would return its charge to the member's socket at once. The limit
# (20 ms at the rate plus the burst) is 350 KB: what an unbounded loop fills.
BURST = "100k"
# What a member may hold from one loop: the socket's buffer (the kernel
# doubles the value set) and the one frame sent while it was just under, 64
# KB and headers. Each worker process has its own socket on every member.
LOOP_BOUND = 2 * RR_SEND_BUFFER + 70_000


def backlog(topo, dev):
    stats = json.loads(topo.exec(topo.host, ["tc", "-s", "-j", "qdisc", "show", "dev", dev]).stdout)
    return sum(q.get("backlog", 0) for q in stats if q.get("kind") == "tbf")


def test_rr_members_queues_stay_within_the_send_buffer(topo):
    up(topo, "balance-rr")
    bound = LOOP_BOUND * (TEST_WORKERS if topo.datapath == "workers" else 1)
    for dev in ("eth0", "eth1"):
        topo.exec(topo.host, ["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{RATE_MBIT}mbit",
                              "burst", BURST, "latency", "20ms"])
    samples: list[int] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.extend(backlog(topo, dev) for dev in ("eth0", "eth1"))
            time.sleep(0.05)
    iperf = Iperf(topo, 4, streams=4)
    sampler = threading.Thread(target=sample)
    time.sleep(1)       # past the streams' start
    sampler.start()
    try:
        received = iperf.result()["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        stop.set()
        sampler.join()
        iperf.close()
    print(f"{received:.0f} Mbit/s; member backlog samples: max {max(samples)} bytes, "
          f"{sum(1 for s in samples if s)} of {len(samples)} nonzero")
    assert received > 1.2 * RATE_MBIT, "the streams did not fill both members"
    assert any(samples), "the members' queues never held a frame: nothing was tested"
    assert max(samples) <= bound, f"a member queued {max(samples)} bytes (bound {bound})"
