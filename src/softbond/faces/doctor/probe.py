"""Per-member ARP probes: which member reaches which target, and whether
the switch sends a member's broadcast back to another member.

Each member sends an ARP probe (RFC 5227: sender IP 0.0.0.0, so no
neighbour's cache learns anything) from a MAC of its own, made up for this
run. The switch learns that MAC on the member's port, so the reply, sent to
it, identifies the member that asked whichever member it arrives on (as
teamd's per-port arp_ping does, without touching the bond's MAC in the
switch's table). The same broadcast arriving on another member means the
switch does not treat the members as one trunk: it floods back onto the
bond, and learns the bond's MAC on whichever port spoke last.
"""
from __future__ import annotations

import os
import select
import socket
import time
from dataclasses import dataclass, field

from ...kernel.packet import PACKET_ADD_MEMBERSHIP, SOL_PACKET, open_listener
from ...wire.arp import ARPOP_REPLY, ARPOP_REQUEST, build_arp_probe, ip4_bytes, parse_arp
from ...wire.ethernet import ETH_P_ARP

PACKET_MR_PROMISC = 1
ROUNDS = 3              # probes per member and target, ROUND_GAP apart: one lost frame is not a verdict
ROUND_GAP = 0.2
LISTEN = 1.0            # seconds, from the first probe


@dataclass
class ProbeResult:
    macs: dict[str, bytes]                                              # member -> its probe MAC
    reached: dict[str, set[str]] = field(default_factory=dict)         # member -> targets that answered it
    looped: dict[str, set[str]] = field(default_factory=dict)          # member -> members its broadcast reached


def probe_mac(index: int) -> bytes:
    """Locally administered unicast, distinct per run and member."""
    pid = os.getpid()
    return bytes([0x02, 0x5B, (pid >> 16) & 0xFF, (pid >> 8) & 0xFF, pid & 0xFF, index & 0xFF])


def run(members: list[str], targets: list[str]) -> ProbeResult:
    """Probe every target (IPv4, already validated) from every member."""
    result = ProbeResult({m: probe_mac(i) for i, m in enumerate(members)})
    owner = {mac: m for m, mac in result.macs.items()}
    wanted = {ip4_bytes(t): t for t in targets}
    listeners, senders = {}, {}
    try:
        for m in members:
            listeners[m] = _promiscuous(open_listener(m, ETH_P_ARP), m)
            senders[m] = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
            senders[m].bind((m, 0))
        frames = {m: [build_arp_probe(mac, "0.0.0.0", t) for t in targets] for m, mac in result.macs.items()}
        start = time.monotonic()
        sent_rounds = 0
        while time.monotonic() - start < LISTEN:
            if sent_rounds < ROUNDS and time.monotonic() - start >= sent_rounds * ROUND_GAP:
                for m, sock in senders.items():
                    for frame in frames[m]:
                        sock.send(frame)
                sent_rounds += 1
            readable, _, _ = select.select(list(listeners.values()), [], [], ROUND_GAP / 4)
            for sock in readable:
                member = next(m for m, s in listeners.items() if s is sock)
                _read(sock, member, owner, wanted, result)
    finally:
        for sock in (*listeners.values(), *senders.values()):
            sock.close()
    return result


def _promiscuous(sock: socket.socket, ifname: str) -> socket.socket:
    """Replies go to the probe MAC, which is not the member's own: a real NIC
    filters them out unless promiscuous (for as long as the socket lives)."""
    ifindex = socket.if_nametoindex(ifname)
    mreq = ifindex.to_bytes(4, "little") + PACKET_MR_PROMISC.to_bytes(2, "little") + bytes(10)
    sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    return sock


def _read(sock, member: str, owner: dict[bytes, str], wanted: dict[bytes, str], result: ProbeResult) -> None:
    while True:
        try:
            frame = sock.recv(2048)
        except BlockingIOError:
            return
        arp = parse_arp(frame)
        if arp is None:
            continue
        if arp.op == ARPOP_REPLY and arp.eth_dst in owner and arp.sender_ip in wanted:
            result.reached.setdefault(owner[arp.eth_dst], set()).add(wanted[arp.sender_ip])
        elif arp.op == ARPOP_REQUEST and arp.eth_src in owner and owner[arp.eth_src] != member:
            result.looped.setdefault(owner[arp.eth_src], set()).add(member)

