"""The two Python data paths' view of a ForwardingPlan, without sockets:
the plan a bond would publish (datapath/plan.build_plan) compiled the way
the in-process loop compiles it (counters in lists) and the way a worker
process does (after the trip through its control socket, counters in
shared memory). Members are tests.support.fakeport.FakePort, whose send
records the frames. Used by tests/unit/test_worker_plans.py,
test_mode_runners.py and tests/integration/test_ebpf_modes.py (which adds
the eBPF program as the third path)."""
import pickle

from softbond.datapath import workers
from softbond.datapath.abi import BUCKETS
from softbond.datapath.plan import build_plan, compile_transmit

VNET = bytes(10)


def plan_of(runner, ports, active, bond_mac, usable=None):
    """What the bond publishes with `usable` (default: every port) up."""
    return build_plan(runner, ports, ports if usable is None else usable, active, bond_mac)


def inprocess_transmit(plan, ports, to_daemon=None, flowlet=None):
    """(transmit, bucket byte counters) as the in-process loop compiles
    `plan`; `flowlet`: the loop's FlowletState (kept across plans)."""
    buckets = [0] * BUCKETS
    return compile_transmit(plan, {p.ifindex: p.send for p in ports}, buckets, to_daemon or _nowhere,
                            flowlet=flowlet), buckets


def worker_counters():
    """A worker's counters, in memory as the shared mapping holds them."""
    return memoryview(bytearray(8 * workers.COUNTER_SLOTS)).cast("Q")


def worker_transmit(plan, ports, to_daemon=None, flowlet=None):
    """(transmit, bucket byte counters) as a worker compiles `plan`;
    `flowlet`: a FlowletState over worker_counters() (kept across plans)."""
    plan = pickle.loads(pickle.dumps(plan))          # as it travels to a worker
    counters = flowlet.moves if flowlet is not None else worker_counters()
    buckets = counters[workers.C_BUCKETS:workers.C_BUCKETS + BUCKETS]
    return compile_transmit(plan, {p.ifindex: p.send for p in ports}, buckets, to_daemon or _nowhere,
                            flowlet=flowlet), buckets


def _nowhere(frame):
    return False


def choice(transmit, ports, frame):
    """[(ifindex, bytes on the wire without the virtio-net header)], one per
    send `frame` (without the header) caused."""
    for p in ports:
        p.sent.clear()
    if transmit is not None:
        transmit(memoryview(bytearray(VNET + frame)))
    return [(p.ifindex, f[10:]) for p in ports for f in p.sent]
