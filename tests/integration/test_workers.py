"""The Python data path in worker processes (datapath_workers > 1): a
multi-queue TAP, one queue and one PACKET_FANOUT share per worker. The
mode and LACP suites run on it too (ALL_DATAPATHS); these are the parts
only workers have: a worker that dies, live changes of the count, and
traffic spread over the workers."""
import os
import signal
import time

from tests.support.netcheck import Iperf, ping_ok, ping_result, start_ping, status_json

ADDR = "192.168.100.199/24"
UP = ["up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "miimon=100", "datapath=python"]


def tun_flags(topo):
    return int(topo.exec(topo.host, ["cat", "/sys/class/net/bond0/tun_flags"]).stdout, 16)


IFF_MULTI_QUEUE = 0x100


def worker_pids(topo):
    return [w["pid"] for w in status_json(topo)["datapath_workers"] or []]


def test_a_dead_worker_is_replaced_and_forwarding_resumes(topo):
    topo.softbond(*UP, "mode=active-backup", "datapath_workers=2")
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    pids = worker_pids(topo)
    assert len(pids) == 2 and tun_flags(topo) & IFF_MULTI_QUEUE
    os.kill(pids[0], signal.SIGKILL)
    assert topo.wait_for(lambda: len(set(worker_pids(topo)) - set(pids)) == 1, timeout=2), \
        "the dead worker was not replaced"
    st = status_json(topo)
    assert any("data path worker 0 exited" in e["message"] for e in st["events"])
    ping = start_ping(topo, 2.0)
    sent, received = ping_result(ping)
    assert sent > 1000 and sent - received <= 2


def test_worker_count_changes_live_and_keeps_the_address(topo):
    topo.softbond(*UP, "mode=balance-xor")
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    assert status_json(topo)["datapath_workers"] is None
    assert not tun_flags(topo) & IFF_MULTI_QUEUE
    ping = start_ping(topo, 4.0)
    time.sleep(0.5)
    topo.softbond("set", "bond0", "datapath_workers", "3")
    st = status_json(topo)
    assert len(st["datapath_workers"]) == 3 and st["options"]["datapath_workers"] == 3
    assert tun_flags(topo) & IFF_MULTI_QUEUE
    time.sleep(1.0)
    topo.softbond("set", "bond0", "datapath_workers", "1")
    sent, received = ping_result(ping)
    st = status_json(topo)
    print(f"two worker-count switches: {sent - received} of {sent} pings lost")
    assert st["datapath_workers"] is None and not tun_flags(topo) & IFF_MULTI_QUEUE
    assert sent - received <= 100          # the device is rebuilt twice: a short pause each
    assert topo.exec(topo.host, ["ip", "-br", "addr", "show", "bond0"]).stdout.split()[2] == ADDR
    assert ping_ok(topo)


def test_bad_worker_counts_are_refused_and_change_nothing(topo):
    topo.softbond(*UP, "mode=active-backup", "datapath_workers=2")
    for bad in ("0", "65", "two"):
        proc = topo.softbond("set", "bond0", "datapath_workers", bad, check=False)
        assert proc.returncode != 0 and "datapath_workers" in proc.stderr, proc.stderr
    assert len(worker_pids(topo)) == 2


def test_many_flows_spread_over_the_workers(topo):
    topo.softbond(*UP, "mode=active-backup", "datapath_workers=2")
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    before = status_json(topo)["datapath_workers"]
    Iperf(topo, 3, streams=8).result()
    after = status_json(topo)["datapath_workers"]
    out = [a["frames_out"] - b["frames_out"] for a, b in zip(after, before)]
    into = [a["frames_in"] - b["frames_in"] for a, b in zip(after, before)]
    print(f"8 TCP flows over 2 workers: frames out {out}, in {into}")
    # The kernel hashes flows to queues and fanout shares: with 8 flows
    # both workers move frames in both directions.
    assert all(n > 1000 for n in out + into), (out, into)
