"""balance-alb (mode 6): tlb for what we send, plus receive load balancing
(RLB) by ARP for what IPv4 clients send us.

How RLB works (bond_alb.c, rlb_* functions), and how it is kept here:
- Each client (a peer IPv4 address) is assigned a member, round robin over
  the usable members. Our ARP replies to it leave by that member and carry
  that member's MAC as sender, so the client sends to that member.
- Our ARP requests are broadcast and teach every host the bond's MAC; so
  after one, every client assigned to another member is sent two unicast
  ARP replies naming its member's MAC again, after a 2 s delay
  (RLB_UPDATE_DELAY) that lets the request's effect settle first.
- ARP replies we receive fill in or refresh a client's MAC.
- When a member joins or comes back, every client is reassigned round
  robin; when one leaves or fails, its clients move to the next member.
  Either way the clients are told (RLB_UPDATE_RETRY rounds of 2 replies).
The table is the kernel's: RLB_HASH_TABLE_SIZE (256) slots indexed by the
XOR of the client IP's bytes, a new client taking over its slot from
whoever held it, so ARP from any number of (spoofed) clients holds at most
256 entries. Unlike the kernel, the client pushed out is not sent ARP
replies (a flood would make us send them), and an entry that no ARP has
refreshed for CLIENT_TTL is forgotten. Telling clients goes at most
UPDATE_BUDGET clients a tick, so a failover sends at most
2 x 256 x (1 + UPDATE_RETRY) ARP replies, spread over ticks. Outgoing ARP
is rare, so the egress thread may take the table's lock for it; bulk
traffic never does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

from ..config.registry import BondOptions
from ..wire.arp import ARPOP_REPLY, ARPOP_REQUEST, build_arp
from .base import RX_DELIVER, RX_UNICAST_OWN_MAC, VNET, Frame, Port, WritableFrame
from .tlb import Tlb, is_nd

TICK = 0.1  # ALB_TIMER_TICKS_PER_SEC = 10
UPDATE_DELAY = 2.0  # RLB_UPDATE_DELAY
ARP_BURST = 2  # RLB_ARP_BURST_SIZE
UPDATE_RETRY = 3  # RLB_UPDATE_RETRY
LEARNING_ETHERTYPE = 0x9000  # ETH_P_LOOPBACK
TABLE_SIZE = 256  # RLB_HASH_TABLE_SIZE
CLIENT_TTL = 300.0  # seconds an entry lives without an ARP refreshing it
UPDATE_BUDGET = 64  # clients told per tick (2 replies each)
EXPIRY_INTERVAL = 10.0  # how often the table is swept for CLIENT_TTL

_ETHERTYPE = VNET + 12
_ARP = VNET + 14
_IPV4_PROTO = VNET + 14 + 9
_IPV4_DST = slice(VNET + 14 + 16, VNET + 14 + 20)
_IPV6_SRC = slice(VNET + 14 + 8, VNET + 14 + 24)
_IPV6_DST = slice(VNET + 14 + 24, VNET + 14 + 40)
_BROADCAST = b"\xff" * 6
_ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")


def alb_bucket(frame: Frame) -> int | None:
    """The bucket for alb's transmit balancing (bond_xmit_alb_slave_get):
    XOR of the destination IP's bytes; None when not balanced. Reads single
    bytes, so a unicast frame costs no slice objects."""
    kind = frame[_ETHERTYPE] << 8 | frame[_ETHERTYPE + 1]
    broadcast = frame[VNET] & 1 and frame[VNET : VNET + 6] == _BROADCAST
    if kind == 0x0800:
        o = _IPV4_DST.start
        if len(frame) < o + 4 or broadcast or frame[_IPV4_PROTO] == 2:
            return None
        a, b, c, d = frame[o], frame[o + 1], frame[o + 2], frame[o + 3]
        if a & b & c & d == 255:
            return None
        return a ^ b ^ c ^ d
    if kind == 0x86DD:
        if len(frame) < _IPV6_DST.stop or broadcast or is_nd(frame):
            return None
        dst = frame[_IPV6_DST]
        if dst == _ALL_NODES or not any(frame[_IPV6_SRC]):
            return None
        x = int.from_bytes(dst, "big")
        x ^= x >> 64
        x ^= x >> 32
        x ^= x >> 16
        x ^= x >> 8
        return x & 0xFF
    return None


@dataclass
class Client:
    """One rx_hashtbl entry."""

    ip: bytes  # the client's address
    our_ip: bytes  # our address it talks to
    mac: bytes | None  # None until an ARP reply tells us
    member: Port | None = None  # the member it sends to
    ntt: bool = False  # needs to be told its member's MAC
    seen: float = 0.0  # when an ARP last refreshed it (monotonic)


def slot_of(ip: bytes) -> int:
    """_simple_hash of the client IP: the XOR of its bytes."""
    return ip[0] ^ ip[1] ^ ip[2] ^ ip[3]


class ReceiveBalancer:
    """The RLB table and its rules; no I/O. The egress thread calls
    `arp_xmit`, the control plane everything else."""

    def __init__(self) -> None:
        self.slots: list[Client | None] = [None] * TABLE_SIZE
        self.lock = threading.Lock()
        self.usable: list[Port] = []
        self.active: Port | None = None
        self._next = 0
        self.update_at = 0.0  # no client update before this time
        self.retries = 0  # extra rounds after a member change
        self.rx_ntt = False
        self._cursor = 0  # the next slot a round of updates looks at

    def clients(self) -> list[Client]:
        return [c for c in self.slots if c is not None]

    # -- members ------------------------------------------------------------
    def set_members(self, usable: list[Port], active: Port | None, now: float) -> None:
        with self.lock:
            old = set(map(id, self.usable))
            self.usable = list(usable)
            self.active = active
            new = set(map(id, self.usable))
            if new - old and old:
                self._rebalance()  # a member joined or came back
            elif old - new:
                self._clear_gone(now)  # a member left or failed

    def _next_member(self) -> Port | None:
        if not self.usable:
            return None
        self._next = (self._next + 1) % len(self.usable)
        return self.usable[self._next]

    def _rebalance(self) -> None:
        for client in self.clients():
            member = self._next_member()
            if member is not None and member is not client.member:
                client.member = member
                if client.mac:
                    client.ntt = self.rx_ntt = True
        self._new_round()

    def _clear_gone(self, now: float) -> None:
        alive = set(map(id, self.usable))
        for client in self.clients():
            if client.member is not None and id(client.member) not in alive:
                client.member = self._next_member()
                if client.mac and client.member is not None:
                    client.ntt = self.rx_ntt = True
        self._new_round()

    def _new_round(self) -> None:
        self.retries = UPDATE_RETRY
        self._cursor = 0

    def member_changed_mac(self, *members: Port) -> None:
        """After a MAC swap (failover) the clients of both members are told
        their member's new MAC."""
        with self.lock:
            for client in self.clients():
                if client.member in members and client.mac:
                    client.ntt = self.rx_ntt = True
            self._new_round()

    # -- outgoing ARP (egress thread) ------------------------------------------
    def arp_xmit(self, frame: WritableFrame, now: float) -> Port | None:
        """rlb_arp_xmit: pick the member for an ARP we send, rewriting the
        sender MAC of replies. Returns the member (None: use the active)."""
        if len(frame) < _ARP + 28 or bytes(frame[_ARP : _ARP + 6]) != b"\x00\x01\x08\x00\x06\x04":
            return None
        op = frame[_ARP + 7]
        sender_ip = bytes(frame[_ARP + 14 : _ARP + 18])
        target_mac = bytes(frame[_ARP + 18 : _ARP + 24])
        target_ip = bytes(frame[_ARP + 24 : _ARP + 28])
        with self.lock:
            member = self._choose(sender_ip, target_ip, target_mac if op == ARPOP_REPLY else None, now)
            if op == ARPOP_REPLY and member is not None:
                frame[_ARP + 8 : _ARP + 14] = member.mac_bytes
            elif op == ARPOP_REQUEST:
                self.update_at = now + UPDATE_DELAY
                # The broadcast just taught every host the bond's MAC.
                for client in self.clients():
                    if (
                        client.our_ip == sender_ip
                        and client.mac
                        and client.member is not None
                        and client.member is not self.active
                    ):
                        client.ntt = self.rx_ntt = True
        return member

    def _choose(self, our_ip: bytes, client_ip: bytes, client_mac: bytes | None, now: float) -> Port | None:
        """rlb_choose_channel: the client's slot, taken over by a new client."""
        index = slot_of(client_ip)
        client = self.slots[index]
        if client is not None and client.ip == client_ip and client.our_ip == our_ip and client.member in self.usable:
            if client_mac and client_mac != _BROADCAST and any(client_mac):
                client.mac = client_mac
            client.seen = now
            return client.member
        member = self._next_member()
        if member is None:
            return None
        valid = client_mac if client_mac and client_mac != _BROADCAST and any(client_mac) else None
        self.slots[index] = Client(ip=client_ip, our_ip=our_ip, mac=valid, member=member, ntt=bool(valid), seen=now)
        if valid:
            self.rx_ntt = True
        return member

    # -- incoming ARP (control plane) ----------------------------------------
    def arp_recv(
        self, op: int, sender_mac: bytes, sender_ip: bytes, target_ip: bytes, now: float | None = None
    ) -> None:
        """rlb_update_entry_from_arp: a reply refreshes the client's MAC."""
        if op != ARPOP_REPLY or len(sender_ip) != 4:
            return
        with self.lock:
            client = self.slots[slot_of(sender_ip)]
            if client is None or client.ip != sender_ip or client.our_ip != target_ip:
                return
            client.seen = time.monotonic() if now is None else now
            if client.mac != sender_mac:
                client.mac = sender_mac
                client.ntt = self.rx_ntt = client.member is not None

    # -- periodic (control plane) --------------------------------------------
    def expire(self, now: float) -> None:
        """Forget clients no ARP has refreshed for CLIENT_TTL."""
        with self.lock:
            for i, client in enumerate(self.slots):
                if client is not None and now - client.seen > CLIENT_TTL:
                    self.slots[i] = None

    def updates(self, now: float) -> list[tuple[Port, bytes]]:
        """rlb_update_rx_clients: ARP_BURST unicast replies per client that
        needs telling, each naming the client's member's MAC; at most
        UPDATE_BUDGET clients a call, the round going on from there next
        call. A round is one pass over the table; after a member change
        UPDATE_RETRY more rounds follow."""
        with self.lock:
            if not self.rx_ntt or now < self.update_at:
                return []
            out: list[tuple[Port, bytes]] = []
            budget = UPDATE_BUDGET
            slots = self.slots
            while self._cursor < TABLE_SIZE and budget:
                client = slots[self._cursor]
                self._cursor += 1
                if client is None or not client.ntt or client.member is None or client.mac is None:
                    continue
                budget -= 1
                mac = client.member.mac_bytes
                frame = build_arp(
                    ARPOP_REPLY, mac, client.our_ip, client.mac, client.ip, eth_src=mac, eth_dst=client.mac
                )
                out.extend((client.member, frame) for _ in range(ARP_BURST))
                if self.retries == 0:
                    client.ntt = False
            if self._cursor >= TABLE_SIZE:  # the round is over
                self._cursor = 0
                if self.retries:
                    self.retries -= 1
                else:
                    self.rx_ntt = False
            return out

    def to_json(self) -> list[dict[str, str | None]]:
        with self.lock:
            return [
                {
                    "client": ".".join(map(str, c.ip)),
                    "ip": ".".join(map(str, c.our_ip)),
                    "mac": c.mac.hex(":") if c.mac else None,
                    "slave": c.member.name if c.member is not None else None,
                }
                for c in self.clients()
            ]


def learning_frame(mac: bytes) -> bytes:
    """alb_send_lp_vid: dst = src = the member's MAC, ETH_P_LOOPBACK, 60 bytes,
    so the switch keeps the member's MAC on its port."""
    return (mac + mac + LEARNING_ETHERTYPE.to_bytes(2, "big")).ljust(60, b"\0")


class Alb(Tlb):
    hash_tick_interval: float = TICK

    def __init__(self, opts: BondOptions) -> None:
        super().__init__(opts)
        self.rlb = ReceiveBalancer()
        self._next_learning = 0.0
        self._next_expiry = 0.0

    def tx_members(self, usable: Sequence[Port], active: Port | None) -> list[Port]:
        self.rlb.set_members(list(usable), active, self.clock())
        return list(usable)

    def rx_policy(self, member: Port, active: Port | None) -> int:
        # Clients send unicast to the member they were given; broadcast and
        # multicast are taken from the active member only, so nothing comes
        # up twice (bond_should_deliver_exact_match).
        if member is active or self.opts.all_slaves_active:
            return RX_DELIVER
        return RX_UNICAST_OWN_MAC

    def tick(self, now: float, members: Sequence[Port]) -> list[tuple[Port, bytes]]:
        if now >= self._next_expiry:
            self._next_expiry = now + EXPIRY_INTERVAL
            self.rlb.expire(now)
        out = self.rlb.updates(now)
        if now >= self._next_learning:
            self._next_learning = now + max(1, self.opts.lp_interval)
            out.extend((m, learning_frame(m.mac_bytes)) for m in members if m.up)
        return out

    # -- runner hooks (base.Runner) ----------------------------------------------
    listens_for = frozenset({"arp", "bond-arp"})

    def arp_seen(self, member: Port, op: int, sender_mac: bytes, sender_ip: bytes, target_ip: bytes) -> None:
        self.rlb.arp_recv(op, sender_mac, sender_ip, target_ip)

    def bond_arp_member(self, frame: WritableFrame, now: float) -> Port | None:
        return self.rlb.arp_xmit(frame, now)

    def macs_moved(self, *members: Port) -> None:
        self.rlb.member_changed_mac(*members)

    def status(self) -> dict[str, Any]:
        return {"alb_clients": self.rlb.to_json()}
