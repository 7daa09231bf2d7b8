"""The load-balancing modes end to end: two members shaped to RATE each,
behind Open vSwitch as a static trunk (rr, xor, broadcast) or a plain Linux
bridge (tlb, alb), with real TCP flows to peers in their own namespaces."""
import os
import re
import subprocess
import threading
import time

import pytest

from tests.support.netcheck import ping_result, start_ping, status_json
from tests.support.modes_util import OVS_TRUNK, RATE, Flows, mean, shape_all, up

from softbond.lab.netns import Topology
from softbond.wire.xmit_hash import hash_layer34

# Every test here runs on every data path (conftest.pytest_generate_tests).
ALL_DATAPATHS = True


def cut_later(topo, member, delay):
    timer = threading.Timer(delay, topo.cut, args=(member,))
    timer.start()
    return timer


def check_aggregate_then_one_member(topo, rates, before, after, floor=1.8):
    """`rates` per second; members cut between `before` and `after`."""
    both = mean(rates[before[0]:before[1]])
    one = mean(rates[after[0]:after[1]])
    print(f"aggregate {both:.0f} Mbit/s with two members, {one:.0f} with one (R={RATE})")
    assert both >= floor * RATE, rates
    assert 0.8 * RATE <= one <= 1.15 * RATE, rates


@pytest.mark.topology(peers=2, **OVS_TRUNK)
@pytest.mark.parametrize("mode,options", [
    ("balance-rr", ()),
    ("balance-xor", ("xmit_hash_policy=layer3+4",)),
])
def test_static_trunk_modes_add_up_and_survive_a_member(topo, mode, options):
    up(topo, mode, *options)
    shape_all(topo)
    flows = Flows(topo, 14, streams=4, cport=20000)
    timer = cut_later(topo, 1, 7.5)
    try:
        rates = flows.per_second()     # the TCP flows survive the cut: iperf3 reports no error
    finally:
        timer.cancel()
    # balance-rr on the Python path: 1.87-1.91 R in bench/rrorder.py since
    # a full member holds the loop (issue 22.2), but a loop starved of CPU
    # refills its members late (1.27 R once, beside a parallel test run),
    # so under CI load its floor stays lower; bench/RESULTS.md has the
    # figures. Every other case must reach 1.8 R.
    floor = 1.7 if (mode == "balance-rr" and topo.datapath in ("python", "workers")) else 1.8
    check_aggregate_then_one_member(topo, rates, (2, 7), (10, 14), floor=floor)
    st = status_json(topo)
    assert [s["mii_status"] for s in st["slaves"]] == ["up", "down"]


@pytest.mark.topology(peers=2)
def test_tlb_spreads_transmit_by_load_and_survives_a_member(topo):
    up(topo, "balance-tlb", "xmit_hash_policy=layer3+4")
    shape_all(topo)
    # The first 10 s place every new flow on the first member (no load known
    # yet, as in the kernel); the rebalance at 10 s spreads them by load.
    flows = Flows(topo, 24, streams=4, cport=21000)
    timer = cut_later(topo, 1, 18.5)
    try:
        rates = flows.per_second()
    finally:
        timer.cancel()
    check_aggregate_then_one_member(topo, rates, (12, 18), (20, 24))


def peer_macs_for_bond(topo):
    """The MAC each peer sends to for the bond's IP."""
    out = []
    for i in range(topo.peers):
        text = topo.exec(topo.peer(i), ["ip", "neigh", "show", "192.168.100.199"]).stdout
        m = re.search(r"lladdr (\S+)", text)
        out.append(m.group(1) if m else None)
    return out


@pytest.mark.topology(peers=2)
def test_alb_receive_balancing_sends_peers_to_different_members(topo):
    up(topo, "balance-alb")
    shape_all(topo)
    members = {s["hwaddr"]: s["name"] for s in status_json(topo)["slaves"]}
    # The client updates go out 2 s after our last ARP request.
    macs = topo.wait_for(lambda: len(set(peer_macs_for_bond(topo))) == 2 and peer_macs_for_bond(topo), timeout=6)
    assert macs, f"peers still share one MAC for the bond: {peer_macs_for_bond(topo)}"
    assert {members.get(m) for m in macs} == {"eth0", "eth1"}, (macs, members)
    clients = {c["client"]: c["slave"] for c in status_json(topo)["alb_clients"]}
    assert {clients["192.168.100.1"], clients["192.168.100.2"]} == {"eth0", "eth1"}

    flows = Flows(topo, 12, streams=2, reverse=True)
    cut_member = 1
    timer = cut_later(topo, cut_member, 6.5)
    try:
        rates = flows.per_second()
    finally:
        timer.cancel()
    check_aggregate_then_one_member(topo, rates, (1, 6), (9, 12))
    # Both peers now send to the member that is left.
    survivor = [s for s in status_json(topo)["slaves"] if s["mii_status"] == "up"]
    assert [s["name"] for s in survivor] == ["eth0"]
    assert set(peer_macs_for_bond(topo)) == {survivor[0]["hwaddr"]}


def capture(topo, port, seconds, bpf):
    """tcpdump on a switch port, returned once it is listening: a loaded
    machine can take longer than the test's settle time to open the socket,
    and a capture that starts late misses the first frames."""
    proc = topo.popen(topo.switch_ns, ["timeout", str(seconds), "tcpdump", "-nn", "-l", "-i", port, bpf],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    while not seen or ("listening on" not in seen[-1] and seen[-1]):
        seen.append(proc.stderr.readline())
    assert "listening on" in seen[-1], f"tcpdump on {port} did not start: {seen!r}"
    return proc


def count_lines(proc):
    out, _ = proc.communicate(timeout=30)
    return len([line for line in out.splitlines() if line.strip()])


@pytest.mark.topology(peers=1, **OVS_TRUNK)
def test_broadcast_sends_each_frame_once_per_member(topo):
    up(topo, "broadcast")
    caps = [capture(topo, f"sw{i}", 8, "icmp[icmptype] == icmp-echo") for i in range(2)]
    time.sleep(1)
    proc = topo.exec(topo.host, ["ping", "-n", "-c", "50", "-i", "0.02", "-W", "1", topo.peer_ip()], check=False)
    assert " 0% packet loss" in proc.stdout, proc.stdout
    assert [count_lines(c) for c in caps] == [50, 50]
    flows = Flows(topo, 2, streams=1)
    [data] = flows.results()
    assert data["end"]["sum_received"]["bytes"] > 1_000_000


def predicted_member(sport, dport=5201, src="192.168.100.199", dst="192.168.100.1"):
    """Which of two members the kernel's layer3+4 hash puts this flow on."""
    frame = bytearray(14 + 20 + 20)
    frame[12:14] = b"\x08\x00"
    frame[14], frame[14 + 9] = 0x45, 6
    frame[26:30] = bytes(map(int, src.split(".")))
    frame[30:34] = bytes(map(int, dst.split(".")))
    frame[34:36] = sport.to_bytes(2, "big")
    frame[36:38] = dport.to_bytes(2, "big")
    return hash_layer34(bytes(frame)) % 2


@pytest.mark.topology(peers=1, **OVS_TRUNK)
def test_xor_keeps_each_flow_on_the_member_the_kernel_hash_picks(topo):
    up(topo, "balance-xor", "xmit_hash_policy=layer3+4")
    ports = {}
    for sport in range(22000, 22100):
        ports.setdefault(predicted_member(sport), sport)
        if len(ports) == 2:
            break
    for member, sport in sorted(ports.items()):
        caps = [capture(topo, f"sw{i}", 4, f"tcp and src port {sport}") for i in range(2)]
        time.sleep(1)
        flows = Flows(topo, 1, streams=1, cport=sport)
        flows.results()
        counts = [count_lines(c) for c in caps]
        print(f"flow from port {sport}: frames per member {counts}, predicted member {member}")
        assert counts[member] > 100 and counts[1 - member] == 0, counts


@pytest.mark.parametrize("mode,switch", [
    ("balance-rr", "ovs"), ("balance-xor", "ovs"), ("broadcast", "ovs"),
    ("balance-tlb", "bridge"), ("balance-alb", "bridge"),
])
def test_failover_under_load_loses_little(mode, switch, datapath):
    kwargs = dict(OVS_TRUNK) if switch == "ovs" else {}
    with Topology(prefix=f"sbf{os.getpid() % 10000}{mode[-3:]}", peers=2, datapath=datapath, **kwargs) as topo:
        up(topo, mode, *(("xmit_hash_policy=layer3+4",) if mode in ("balance-xor", "balance-tlb") else ()))
        # Load without congestion: the pings lost are the failover's, not a
        # full queue's.
        flows = Flows(topo, 4, streams=2, bitrate="25M")
        ping = start_ping(topo, 3.0)
        time.sleep(1.0)
        topo.cut(0)
        sent, received = ping_result(ping)
        flows.results()
        lost = sent - received
        print(f"{mode}: {lost} of {sent} pings lost across the failover")
        assert lost <= 20, (sent, received)


@pytest.mark.topology(peers=2, members=3, **OVS_TRUNK)
def test_members_join_and_leave_a_live_xor_bond(topo):
    up(topo, "balance-xor", "xmit_hash_policy=layer3+4")

    def tx_packets():
        return {s["name"]: s["counters"]["tx_packets"] for s in status_json(topo)["slaves"]}

    ping = start_ping(topo, 3.0, interval="0.002")
    time.sleep(0.5)
    topo.softbond("enslave", "bond0", "eth2")
    time.sleep(0.5)
    before = tx_packets()
    Flows(topo, 1, streams=8, cport=23000, bitrate="5M").results()
    after = tx_packets()
    assert after["eth2"] - before["eth2"] > 50, (before, after)   # the new member carries flows
    sent, received = ping_result(ping)
    print(f"enslave: {sent - received} of {sent} pings lost")
    # Enslaving sets the new member's MAC (a link bounce the switch sees)
    # and moves a third of the flows onto it: a ping or two may be in flight.
    assert sent - received <= 5, (sent, received)
    # Taking a member out of a static trunk: neither side can tell the other
    # (no LACP), so the port is shut first -- both stop using it -- and the
    # member released from the bond after that.
    topo.cut(1)
    time.sleep(0.5)
    ping = start_ping(topo, 2.0, interval="0.002")
    time.sleep(0.5)
    topo.softbond("release", "bond0", "eth1")
    sent, received = ping_result(ping)
    print(f"release: {sent - received} of {sent} pings lost")
    assert sent - received <= 2, (sent, received)
    st = status_json(topo)
    assert [s["name"] for s in st["slaves"]] == ["eth0", "eth2"]
    proc = topo.softbond("status", "bond0").stdout
    assert "Bonding Mode: load balancing (xor)\nTransmit Hash Policy: layer3+4 (1)\n" in proc
    assert "Slave Interface: eth1" not in proc
