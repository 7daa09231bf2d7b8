"""Busy polling on the Python data path (datapath_busy_poll): the loop
polls instead of sleeping while a bulk stream keeps it busy, and goes back
to sleeping when traffic stops or thins out - an idle or lightly loaded
bond must not spin a core. Seen through the loop's own counters in
`softbond status --json` (datapath_loop) and the daemon's CPU time."""
import os
import time

from tests.support.netcheck import Iperf, ping_ok, start_ping, ping_result, status_json

PYTHON_DATAPATHS = True
UP = ["up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24", "mode=active-backup",
      "miimon=100"]


def loop(topo):
    return status_json(topo)["datapath_loop"]


def cpu_seconds(topo):
    """The daemon's and its workers' CPU time."""
    st = status_json(topo)
    pids = [st["pid"]] + [w["pid"] for w in st["datapath_workers"] or []]
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def bulk(topo, seconds=2):
    iperf = Iperf(topo, seconds)
    try:
        return iperf.result()["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        iperf.close()


def test_a_bulk_stream_is_polled_for_and_the_loop_sleeps_again_after(topo):
    topo.softbond(*UP)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    assert status_json(topo)["options"]["datapath_busy_poll"] == 200
    before = loop(topo)
    gbit = bulk(topo)
    during = loop(topo)
    print(f"{gbit:.1f} Gbit/s; loop {before} -> {during}")
    assert during["polled"] - before["polled"] > 1000, "a bulk stream should be caught by polling"
    assert during["frames_out"] > before["frames_out"] and during["frames_in"] > before["frames_in"]
    verbose = topo.softbond("status", "bond0", "--verbose").stdout
    assert "Datapath: python\n" in verbose and " by busy polling\n" in verbose
    # Idle: back to sleeping, and no more CPU than the monitors need.
    time.sleep(0.5)
    cpu0, idle0 = cpu_seconds(topo), loop(topo)
    time.sleep(2)
    cpu1, idle1 = cpu_seconds(topo), loop(topo)
    print(f"idle: {(cpu1 - cpu0) / 2:.1%} of a core; loop {idle1}")
    assert idle1["polled"] == idle0["polled"]
    assert (cpu1 - cpu0) / 2 < 0.05
    # A ping every 10 ms keeps the loop far from a third busy: no polling.
    sent, received = ping_result(start_ping(topo, 2, interval="0.01"))
    light = loop(topo)
    assert received >= sent - 2 and light["slept"] > idle1["slept"] + sent
    assert light["polled"] == idle1["polled"]


def test_busy_poll_set_to_0_live_never_polls(topo):
    topo.softbond(*UP)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
    topo.softbond("set", "bond0", "datapath_busy_poll", "0")
    assert status_json(topo)["options"]["datapath_busy_poll"] == 0
    before = loop(topo)
    bulk(topo)
    after = loop(topo)
    assert after["polled"] == before["polled"] and after["frames_out"] > before["frames_out"]
    bad = topo.softbond("set", "bond0", "datapath_busy_poll", "100001", check=False)
    assert bad.returncode != 0 and "datapath_busy_poll" in bad.stderr
    print(bad.stderr.strip())
    assert status_json(topo)["options"]["datapath_busy_poll"] == 0
