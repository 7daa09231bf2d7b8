"""balance-alb under ARP from spoofed clients: what the wire can make the
bond remember and send is bounded (issue 16.5).

Each spoofed request asks for a second bond address (10.77.255.254/16) from
its own IP and MAC; our stack answers every one, and each answer goes
through the rlb, which used to keep a client per address for ever and tell
all of them on a failover. The clients stay fewer than the kernel's
neighbour table limit (gc_thresh3, shared by every namespace on the
machine) so the flood does not starve other namespaces of ARP entries."""
import json
import subprocess
import sys
import time

from tests.support.netcheck import status_direct
from tests.support.modes_util import up

from softbond.modes.alb import ARP_BURST, TABLE_SIZE, UPDATE_RETRY

ALL_DATAPATHS = True

SPOOFED = 600
OUR_IP = "10.77.255.254"

# Run in the peer namespace: one broadcast ARP request per spoofed client.
FLOOD = f"""
import socket, sys
from softbond.wire.arp import build_arp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("peer0", 0))
for i in range(1, {SPOOFED} + 1):
    mac = bytes([2, 0x77, 0, 0, i >> 8, i & 0xFF])
    s.send(build_arp(1, mac, bytes([10, 77, i >> 8, i & 0xFF]), bytes(6), "{OUR_IP}",
                     eth_src=mac, eth_dst=b"\\xff" * 6))
"""


def _tx_packets(topo, dev):
    out = subprocess.run(["ip", "-n", topo.host, "-s", "-j", "link", "show", dev], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]["stats64"]["tx"]["packets"]


def _quiet(topo, dev):
    """Nothing but the odd learning frame left `dev` in the last half second."""
    before = _tx_packets(topo, dev)
    time.sleep(0.5)
    return _tx_packets(topo, dev) - before <= 2


def test_arp_from_spoofed_clients_fills_at_most_the_table_and_a_failover_sends_a_bounded_burst(topo):
    up(topo, "balance-alb")
    topo.exec(topo.host, ["ip", "addr", "add", f"{OUR_IP}/16", "dev", "bond0"])
    topo.exec(topo.peer(), [sys.executable, "-c", FLOOD])
    assert topo.wait_for(lambda: len(status_direct(topo)["alb_clients"]) >= TABLE_SIZE // 2, timeout=5)
    # The answers' own client updates (UPDATE_BUDGET a tick, 1 + UPDATE_RETRY
    # rounds after the members joined) go out; then eth0 falls quiet.
    assert topo.wait_for(lambda: _quiet(topo, "eth0"), timeout=10, interval=0)
    status = status_direct(topo)
    clients = [c for c in status["alb_clients"] if c["ip"] == OUR_IP]
    assert TABLE_SIZE // 2 <= len(status["alb_clients"]) <= TABLE_SIZE
    size = len(json.dumps(status))
    print(f"{SPOOFED} spoofed clients: {len(clients)} kept, status JSON {size} bytes")
    assert size < 48_000

    # Fail eth1: its clients move to eth0 and are told so, in bounded rounds.
    on_eth1 = sum(c["slave"] == "eth1" for c in clients)
    before = _tx_packets(topo, "eth0")
    topo.cut(1)
    time.sleep(3)
    sent = _tx_packets(topo, "eth0") - before
    print(f"failover: {on_eth1} clients moved, eth0 sent {sent} frames")
    assert on_eth1 > 0
    assert ARP_BURST * on_eth1 <= sent <= ARP_BURST * TABLE_SIZE * (1 + UPDATE_RETRY) + 20
