"""Member packet counters count frames on the wire (issue 15): a TCP
stream's GSO super-frames count as the segments they are, on every data
path, compared with what the peer saw.

Forward (bond -> peer): the switch port towards the peer has segmentation
offload off, so the bridge segments what it forwards there and the peer's
veth counts wire frames. Reverse (peer -> bond): the peer's veths carry
super-frames, so the reference is the peer's own TCP OutSegs (the kernel
counts a GSO frame's segments there; InSegs would count super-frames)."""
import json
import subprocess
import time

from tests.support.netcheck import status_direct
from tests.support.modes_util import up

ALL_DATAPATHS = True
TOLERANCE = 0.03


def _members(topo):
    total = {"rx_packets": 0, "tx_packets": 0, "nic_rx_packets": 0, "nic_tx_packets": 0}
    for slave in status_direct(topo)["slaves"]:
        for key in total:
            total[key] += slave["counters"][key]
    return total


def _link(topo, ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", dev], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]["stats64"]


def _out_segs(topo, ns):
    lines = [line.split() for line in topo.exec(ns, ["cat", "/proc/net/snmp"]).stdout.splitlines()
             if line.startswith("Tcp:")]
    return int(lines[1][lines[0].index("OutSegs")])


def _stream(topo, reverse):
    server = topo.popen(topo.peer(), ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        topo.exec(topo.host, ["iperf3", "-c", topo.peer_ip(), "-t", "2", "-b", "300M",
                              *(["-R"] if reverse else [])], timeout=20)
    finally:
        server.wait(timeout=10)


def test_a_tcp_stream_counts_the_segments_the_wire_carried(topo):
    up(topo, "active-backup")
    topo.exec(topo.switch_ns, ["ethtool", "-K", "swp0", "tso", "off", "gso", "off"])

    before, peer_before = _members(topo), _link(topo, topo.peer(), "peer0")
    _stream(topo, reverse=False)
    after, peer_after = _members(topo), _link(topo, topo.peer(), "peer0")
    wire = peer_after["rx"]["packets"] - peer_before["rx"]["packets"]
    sent = after["tx_packets"] - before["tx_packets"]
    nic = after["nic_tx_packets"] - before["nic_tx_packets"]
    print(f"bond -> peer: members counted {sent}, the peer's veth {wire}, the member NICs {nic}")
    assert nic < wire / 4, "the stream should have left in GSO super-frames"
    assert abs(sent - wire) <= TOLERANCE * wire

    before, segs_before = _members(topo), _out_segs(topo, topo.peer())
    _stream(topo, reverse=True)
    after, segs_after = _members(topo), _out_segs(topo, topo.peer())
    wire = segs_after - segs_before
    received = after["rx_packets"] - before["rx_packets"]
    nic = after["nic_rx_packets"] - before["nic_rx_packets"]
    print(f"peer -> bond: members counted {received}, the peer's TCP sent {wire} segments, the member NICs {nic}")
    assert nic < wire / 4, "the stream should have arrived in GSO super-frames"
    assert abs(received - wire) <= TOLERANCE * wire
