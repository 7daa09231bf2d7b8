"""`softbond demo --mode MODE`: what each bonding mode does, with numbers.

Each member is given a 100 Mbit/s line rate (a tbf at both ends of its
cable, Topology.shape) so that one member is the bottleneck and two can
add up; every share below is read from the member NICs' own counters. The
switch is what the mode expects: a static trunk (Open vSwitch, when
installed) for balance-rr, balance-xor and broadcast, an LACP partner
(Open vSwitch) for 802.3ad, a plain Linux bridge for balance-tlb and
balance-alb, which need nothing from the switch. Each demo takes under 30 s.
"""
from __future__ import annotations

import shutil
import socket
import struct
import sys
import time

from .demolab import ADDR, BOND, IPERF_PORT, Cables, DemoError, Lab, deltas, later, pct, say, shares
from ..faces.lacpview import PORT_STATE_LEGEND, lacp_summary, port_state_letters
from .netns import Topology
from ..wire.xmit_hash import hash_layer34

RATE = 100  # Mbit/s per member
TRUNK = dict(switch="ovs", ovs_bond_mode="balance-slb", ovs_lacp="off",
             ovs_other=("other_config:all-members-active=true",))
LACP = dict(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")
FLOW_PORT = 20000  # first client port of the hashed flows
FLOWS = 4
REBALANCE = 10.0  # balance-tlb places flows again this often (seconds)
TLB_RUN = 14.0    # seconds from up to the end of the balance-tlb flows
PHASE = 2         # seconds of each iperf3 run (after its ~0.5 s of start-up)


def run(mode: str) -> bool:
    kwargs, show, what = MODES[mode]
    if kwargs.get("switch") == "ovs" and shutil.which("ovs-vswitchd") is None:
        # the static-trunk modes still show their transmit side on a bridge
        say("(Open vSwitch is not installed: a Linux bridge stands in for the static trunk; "
            "apt-get install openvswitch-switch for the real thing)")
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith(("switch", "ovs_"))}
    with Topology(**kwargs) as topo:
        say(f"== softbond demo --mode {mode}: {what} ==")
        switch = ("Linux bridge" if topo.switch != "ovs" else
                  "Open vSwitch, LACP partner" if topo.ovs_lacp != "off" else "Open vSwitch, static trunk")
        peers = "  ".join(f"{topo.peer(i)} (peer {topo.peer_ip(i)})" for i in range(topo.peers))
        say(f"namespaces: {topo.host} (eth0, eth1, {BOND})  {topo.switch_ns} ({switch})  {peers}")
        lab = Lab(topo)
        try:
            ok = show(lab)
        finally:
            down = lab.down()
            say("namespaces removed.")
        return ok and down


# ------------------------------------------------------------------ pieces
def shape(lab: Lab) -> None:
    for i in range(lab.topo.members):
        lab.topo.shape(i, RATE)
    say(f"each member shaped to {RATE} Mbit/s (tbf at both ends of its cable)")


def mbit(nbytes: int, seconds: float) -> float:
    return nbytes * 8 / seconds / 1e6


def rates_line(grown: dict[str, int], seconds: float, direction: str) -> str:
    """"out: eth0 94 Mbit/s (50%)  eth1 93 Mbit/s (50%)  together 187 Mbit/s"."""
    whole = sum(grown.values())
    parts = [f"{name} {mbit(n, seconds):.0f} Mbit/s ({pct(n, whole)})" for name, n in grown.items()]
    return f"{direction}: " + "  ".join(parts) + f"  together {mbit(whole, seconds):.0f} Mbit/s"


def measured(lab: Lab, action) -> tuple[dict, dict]:
    """Run `action()`; the members' counters before and after it. (Rates
    divide by iperf3's -t, not by the wall time around it, which includes
    starting the server.)"""
    before = lab.counters()
    action()
    return before, lab.counters()


def flow_member(sport: int, dport: int = IPERF_PORT, src: str = ADDR.split("/")[0],
                dst: str = "192.168.100.1") -> int:
    """Which of two members xmit_hash_policy=layer3+4 gives a flow (the
    kernel's bond_xmit_hash; TCP and UDP hash alike)."""
    frame = (b"\0" * 12 + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0,
                                                     socket.inet_aton(src), socket.inet_aton(dst))
             + struct.pack("!HH", sport, dport) + b"\0" * 16)
    return hash_layer34(frame) % 2


def split_ports() -> int:
    """The first of FLOWS consecutive client ports that the hash spreads
    evenly over two members (iperf3 -P numbers its streams' ports up from
    --cport)."""
    for base in range(FLOW_PORT, FLOW_PORT + 1000):
        if sum(flow_member(p) for p in range(base, base + FLOWS)) == FLOWS // 2:
            return base
    return FLOW_PORT


def probe_flows(lab: Lab, base: int) -> bool:
    """Send a short UDP burst from each client port in turn and say which
    member carried it, next to what the hash predicts."""
    say(f"\nwhich member carries which flow (a 400-datagram UDP burst from each client port to "
        f"{lab.topo.peer_ip()}:{IPERF_PORT}, one after another):")
    agree = True
    for sport in range(base, base + FLOWS):
        before, after = measured(lab, lambda: lab.topo.exec(lab.topo.host, [
            sys.executable, "-m", "softbond.lab.seqstream", "send", lab.topo.peer_ip(), str(IPERF_PORT),
            "2000", "0.2", str(sport)]))
        grown = deltas(before, after, "tx_packets")
        carrier = max(grown, key=grown.get)
        predicted = lab.topo.member(flow_member(sport))
        agree &= carrier == predicted
        say(f"  port {sport}: {shares(grown)}  -> {carrier} (the layer3+4 hash says {predicted})")
    return agree


def aggregate_vs_one(lab: Lab, base: int) -> bool:
    """One TCP flow, then FLOWS flows at once: what one member gives and
    what the bond gives."""
    say(f"\none TCP flow, then {FLOWS} TCP flows (the ports above), {PHASE} s each:")
    before, after = measured(lab, lambda: lab.iperf(PHASE, cport=base))
    say("  1 flow:  " + rates_line(deltas(before, after, "tx_bytes"), PHASE, "out"))
    before, after = measured(lab, lambda: lab.iperf(PHASE, streams=FLOWS, cport=base))
    grown = deltas(before, after, "tx_bytes")
    say(f"  {FLOWS} flows: " + rates_line(grown, PHASE, "out"))
    return all(n > 0 for n in grown.values())


# ------------------------------------------------------------------- modes
def _balance_rr(lab: Lab) -> bool:
    lab.up("balance-rr")
    shape(lab)
    say(f"\none TCP flow for {PHASE} s: round robin sends its frames out eth0, eth1, eth0, ...")
    rates: list[float] = []
    before, after = measured(lab, lambda: rates.extend(lab.iperf(PHASE)))
    say(f"  frames of the one flow: {shares(deltas(before, after, 'tx_packets'))}")
    say(f"  it got {rates[0]:.0f} Mbit/s (its frames arrive out of order now and then, and TCP "
        "backs off when they do)")
    say(f"\n{FLOWS} TCP flows for {PHASE} s:")
    before, after = measured(lab, lambda: rates.extend(lab.iperf(PHASE, streams=FLOWS)))
    say("  " + rates_line(deltas(before, after, "tx_bytes"), PHASE, "out"))
    lab.topo.cut(1)
    say(f"\neth1's cable pulled; the {FLOWS} flows again for {PHASE} s:")
    before, after = measured(lab, lambda: rates.extend(lab.iperf(PHASE, streams=FLOWS)))
    say("  " + rates_line(deltas(before, after, "tx_bytes"), PHASE, "out") + "  (one member's worth)")
    return rates[1] > rates[2]


def _balance_xor(lab: Lab) -> bool:
    lab.up("balance-xor", "xmit_hash_policy=layer3+4")
    shape(lab)
    base = split_ports()
    agree = probe_flows(lab, base)
    say("  a flow stays on one member (its frames in order); different flows spread")
    return aggregate_vs_one(lab, base) and agree


def _broadcast(lab: Lab) -> bool:
    lab.up("broadcast")
    say("\n2000 numbered UDP datagrams (2 s at 1000/s) to the peer; 1 s in, eth0's cable is pulled:")
    cables = Cables(lab.topo)
    try:
        before = lab.counters()
        gap, _, _ = lab.stream(2.0, 1000, cut_at=1.0, cut=lambda: cables.cut(0))
        after = lab.counters()
    finally:
        cables.close()
    say(f"  sent out each member: {shares(deltas(before, after, 'tx_packets'))} (eth0 until its cable went)")
    say(f"  the peer got {gap.arrivals:,} copies of {gap.received} different datagrams "
        f"(each frame goes out every member, so the peer sees duplicates)")
    say(f"  lost when eth0's cable went: {gap.lost} of {gap.sent} (eth1 had a copy of every one)")
    return gap.lost == 0


def _8023ad(lab: Lab) -> bool:
    started = time.monotonic()
    lab.up("802.3ad", "lacp_rate=fast", "xmit_hash_policy=layer3+4")

    def distributing() -> bool:
        return all((s.get("ad") or {}).get("mux_state") == "COLLECTING_DISTRIBUTING"
                   for s in lab.status()["slaves"])
    agreed = lab.topo.wait_for(distributing, timeout=10, interval=0.02)
    st = lab.status()
    say(f"\nLACP with Open vSwitch: both members distributing {time.monotonic() - started:.1f} s after "
        "`softbond up`" if agreed else "\nLACP: the members are not distributing after 10 s")
    say(f"  LACP {lacp_summary(st)}")
    for s in st["slaves"]:
        ad = s.get("ad") or {}
        say(f"  {s['name']}: actor {port_state_letters((ad.get('actor') or {}).get('port_state'))} "
            f"partner {port_state_letters((ad.get('partner') or {}).get('port_state'))}  "
            f"{str(ad.get('mux_state', '')).lower()}")
    say(f"  (port state letters: {PORT_STATE_LEGEND}; . not set)")
    shape(lab)
    base = split_ports()
    agree = probe_flows(lab, base)
    return bool(agreed) and aggregate_vs_one(lab, base) and agree


def _balance_tlb(lab: Lab) -> bool:
    # The Python data path: it rebalances 10 s after up as the kernel does;
    # the eBPF path's first rebalance comes one interval later (20 s).
    started = time.monotonic()
    lab.up("balance-tlb", "xmit_hash_policy=layer3+4", "datapath=python")
    shape(lab)
    say(f"\n2 TCP flows to each peer until {TLB_RUN:.0f} s after up. New flows go out the least loaded "
        f"member, and every {REBALANCE:.0f} s all are placed again by what they carried (as in the kernel):")
    snapshots: list[tuple[dict, float]] = []

    def snapshot() -> None:
        snapshots.append((lab.counters(), time.monotonic()))
    snapshot()
    timers = [later(started + at - time.monotonic(), snapshot) for at in (REBALANCE - 0.3, REBALANCE + 0.7)]
    try:
        lab.iperf(round(started + TLB_RUN - time.monotonic()), peers=(0, 1), streams=2, cport=FLOW_PORT)
    finally:
        for timer in timers:
            timer.cancel()
    snapshot()
    if len(snapshots) != 4:
        raise DemoError("balance-tlb: the counters were not read around the rebalance")
    (c0, t0), (c1, t1), (c2, t2), (c3, t3) = snapshots
    say(f"  before the rebalance ({t0 - started:.0f}-{t1 - started:.0f} s) " +
        rates_line(deltas(c0, c1, "tx_bytes"), t1 - t0, "out"))
    say(f"  after it ({t2 - started:.0f}-{t3 - started:.0f} s)        " +
        rates_line(deltas(c2, c3, "tx_bytes"), t3 - t2, "out"))
    say(f"  the acks come in on the active member only: {shares(deltas(c0, c3, 'rx_packets'))}")
    spread = deltas(c2, c3, "tx_bytes")
    return min(spread.values()) > 0.2 * sum(spread.values())


def _balance_alb(lab: Lab) -> bool:
    lab.up("balance-alb")
    shape(lab)
    say("\nreceive load balancing: each peer is told (by ARP) a different member's MAC for the bond's address")
    clients = lab.topo.wait_for(lambda: _alb_clients(lab) if len(set(_alb_clients(lab).values())) > 1 else None,
                                timeout=8)
    for ip_addr, member in sorted((clients or _alb_clients(lab)).items()):
        say(f"  peer {ip_addr} sends to {member}")
    # Longer than PHASE: the second peer's flows take a second or two to
    # reach their share.
    say(f"\nboth peers send to the bond (iperf3 -R, 2 flows each) for {2 * PHASE} s:")
    before, after = measured(lab, lambda: lab.iperf(2 * PHASE, peers=(0, 1), streams=2, reverse=True))
    grown = deltas(before, after, "rx_bytes")
    say("  " + rates_line(grown, 2 * PHASE, "in"))
    say(f"  (one member's line is {RATE} Mbit/s: the two peers together get more only because "
        "their traffic comes in on different members)")
    return bool(clients) and min(grown.values()) > 0.2 * sum(grown.values())


def _alb_clients(lab: Lab) -> dict[str, str]:
    return {c["client"]: c["slave"] for c in lab.status().get("alb_clients") or []}


MODES = {
    "balance-rr": (dict(peers=1, **TRUNK), _balance_rr,
                   "round robin: every frame out the next member, so even one flow uses all of them"),
    "balance-xor": (dict(peers=1, **TRUNK), _balance_xor,
                    "a hash of each flow picks its member: flows spread, each stays in order"),
    "broadcast": (dict(peers=1, **TRUNK), _broadcast,
                  "every frame out every member: nothing lost when one goes"),
    "802.3ad": (dict(peers=1, **LACP), _8023ad,
                "LACP with the switch, then flows spread by hash over the members it agreed on"),
    "balance-tlb": (dict(peers=2), _balance_tlb,
                    "transmit spread by load, receive on one member; no switch support needed"),
    "balance-alb": (dict(peers=2), _balance_alb,
                    "balance-tlb plus receive balancing: peers learn different members' MACs"),
}
