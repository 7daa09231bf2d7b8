"""Traffic by protocol (issue 23): the active member's protocol counters
against tcpdump on the switch port facing it, per class and direction, on
every data path. Known traffic: ARP (a flushed neighbour), ICMP (ping),
ICMPv6 (ping -6, neighbour discovery), UDP (iperf3 -u) and a TCP stream.

Segmentation offload is off on the member and on its switch port, so the
capture sees the frames the wire carries: the bond hands the member TCP
super-frames, which the member's stack then segments, and the counters
count them as those segments (and their bytes, headers repeated)."""
import re
import signal
import subprocess
import time

from tests.support.modes_util import up
from tests.support.netcheck import status_direct

ALL_DATAPATHS = True
CLASSES = ("arp", "ipv4_tcp", "ipv4_udp", "ipv4_icmp", "ipv6_icmp")
# tcpdump's filter for each class: the type, through no extension header, as softbond's.
FILTERS = {"arp": "arp", "ipv4_tcp": "ip and tcp", "ipv4_udp": "ip and udp", "ipv4_icmp": "icmp",
           "ipv6_icmp": "icmp6"}
# ARP and neighbour discovery also run on their own timers (a reachability
# probe): one such frame may fall between the last reading and the capture's end.
OWN_TIMERS = ("arp", "ipv6_icmp")
LENGTH = re.compile(r", length (\d+):")


def _captured(topo, pcap, proto_filter):
    """(packets, bytes) of the capture matching the filter."""
    out = topo.exec(topo.switch_ns, ["tcpdump", "-r", pcap, "-nn", "-e", proto_filter]
                    ).stdout
    lengths = [int(m.group(1)) for m in map(LENGTH.search, out.splitlines()) if m]
    return len(lengths), sum(lengths)


def _counted(topo, member):
    slave = next(s for s in status_direct(topo)["slaves"] if s["name"] == member)
    return slave["protocols"]


def _traffic(topo):
    peer = topo.peer_ip()
    topo.exec(topo.host, ["ip", "neigh", "flush", "dev", "bond0"])
    topo.exec(topo.host, ["ping", "-c", "5", "-i", "0.05", peer], timeout=10)
    topo.exec(topo.host, ["ping", "-6", "-c", "4", "-i", "0.05", "fd00:23::2"], timeout=10)
    for argv in (["-u", "-b", "2M", "-l", "400", "-t", "1"], ["-b", "100M", "-t", "1"]):
        server = topo.popen(topo.peer(), ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            topo.exec(topo.host, ["iperf3", "-c", peer, *argv], timeout=20)
        finally:
            server.wait(timeout=10)


def _capture(topo, port, direction, pcap):
    proc = topo.popen(topo.switch_ns, ["tcpdump", "-i", port, "-Q", direction, "-nn", "-U", "--immediate-mode", "-B", "65536", "-s", "128",
                                       "-w", pcap], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # listening once it says so on stderr
    assert b"listening" in proc.stderr.readline()
    return proc


def test_protocol_counters_match_tcpdump_on_the_members_wire(topo, tmp_path):
    up(topo, "active-backup")
    member = status_direct(topo)["active_slave"]
    index = [topo.member(i) for i in range(topo.members)].index(member)
    port = topo.switch_port(index)
    topo.exec(topo.host, ["ethtool", "-K", member, "tso", "off", "gso", "off"])
    topo.exec(topo.switch_ns, ["ethtool", "-K", port, "tso", "off", "gso", "off"])
    topo.exec(topo.host, ["ip", "addr", "add", "fd00:23::1/64", "dev", "bond0", "nodad"])
    topo.exec(topo.peer(), ["ip", "addr", "add", "fd00:23::2/64", "dev", "peer0", "nodad"])
    time.sleep(1)       # the addresses' own multicast reports pass before the capture starts

    # member tx arrives at the switch port (-Q in), member rx leaves it (-Q out)
    pcaps = {"tx": str(tmp_path / "in.pcap"), "rx": str(tmp_path / "out.pcap")}
    captures = [_capture(topo, port, "in", pcaps["tx"]), _capture(topo, port, "out", pcaps["rx"])]
    try:
        before = _counted(topo, member)
        _traffic(topo)
        time.sleep(0.3)
        after = _counted(topo, member)
    finally:
        time.sleep(0.2)     # tcpdump (immediate mode) writes out what it has read
        for proc in captures:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
    for proc in captures:
        # else the reference is short ("received by filter" counts both directions, before -Q)
        dropped = int(re.search(r"^(\d+) packets dropped by kernel", proc.stderr.read().decode(), re.M).group(1))
        assert dropped == 0

    mismatched = []
    for direction, pcap in pcaps.items():
        for name in CLASSES:
            packets = after[direction][name]["packets"] - before[direction][name]["packets"]
            size = after[direction][name]["bytes"] - before[direction][name]["bytes"]
            wire = _captured(topo, pcap, FILTERS[name])
            print(f"{direction} {name}: counted {packets} packets {size} bytes, tcpdump {wire}")
            spare = wire[0] - packets if name in OWN_TIMERS else 0
            if (packets, size) != wire and not (spare == 1 and wire[1] > size):
                mismatched.append(f"{direction} {name}: counted {(packets, size)}, tcpdump {wire}")
    assert after["tx"]["ipv4_tcp"]["packets"] - before["tx"]["ipv4_tcp"]["packets"] > 1000
    assert not mismatched
    total = status_direct(topo)["protocols"]
    assert total["rx"]["ipv4_icmp"]["packets"] >= after["rx"]["ipv4_icmp"]["packets"] >= 5


def test_protocol_counters_off_leaves_the_python_paths_uncounted(topo):
    """protocol_counters=off, set live: the Python paths stop classifying
    (their `protocols` turn null) and traffic still flows; eBPF counts on."""
    up(topo, "active-backup")
    topo.softbond("set", "bond0", "protocol_counters", "off")
    topo.exec(topo.host, ["ping", "-c", "3", "-i", "0.05", topo.peer_ip()], timeout=10)
    status = status_direct(topo)
    counted = [slave["protocols"] for slave in status["slaves"]]
    if topo.datapath == "ebpf":
        assert all(c is not None for c in counted) and status["protocols"]["tx"]["ipv4_icmp"]["packets"] >= 3
    else:
        assert counted == [None, None] and status["protocols"] is None
    topo.softbond("set", "bond0", "protocol_counters", "on")
    topo.exec(topo.host, ["ping", "-c", "3", "-i", "0.05", topo.peer_ip()], timeout=10)
    assert status_direct(topo)["protocols"]["tx"]["ipv4_icmp"]["packets"] >= 3
