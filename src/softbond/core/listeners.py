"""Control-plane listeners: packet sockets on the members that bring the
control plane ARP and NDISC replies (the ARP/NS monitor, the path monitor,
alb's receive load balancing) and LACPDUs and Markers (802.3ad); and, for
alb on the eBPF data path, the ARP the bond itself sends. A wakeup reads at
most LISTENER_BATCH frames: a flood must not starve the event loop.

`ControlListeners` owns those sockets (by member ifindex: a rename keeps
it) and says what it needs in its constructor: the links port (which opens
them), the clock, the core (runner, members, active), link health (the
ARP/NS judge and the bond's addresses), a getter for the path probe, the
sender of control frames, the handler of the runner's output and the event
log. The bond sets `loop` at start.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..wire import arp as wire_arp
from ..wire import ndisc as wire_ndisc
from .decide import BondCore
from .health import LinkHealth
from .ports import Clock, LinksPort

if TYPE_CHECKING:  # membership imports the data path; this needs only the types
    from ..datapath.protocols import Device
    from ..modes.base import Port
    from .membership import Member
    from .pathprobe import PathProbe

ETH_P_ARP = 0x0806
ETH_P_SLOW = 0x8809
LISTENER_BATCH = 64  # frames a control-plane listener reads per wakeup
ETH_P_IPV6 = 0x86DD
VNET_NONE = bytes(10)


@dataclass
class MemberSockets:
    arp: socket.socket | None = None  # ARP replies
    ns: socket.socket | None = None  # IPv6: neighbour advertisements
    slow: socket.socket | None = None  # 802.3ad: LACPDUs and Markers


class ControlListeners:
    """Opening and closing the members' listeners, and reading them."""

    def __init__(
        self,
        links: LinksPort,
        clock: Clock,
        core: BondCore,
        health: LinkHealth,
        path: Callable[[], PathProbe | None],
        send: Callable[[Member, bytes], None],
        runner_output: Callable[[Iterable[tuple[Port, bytes]]], None],
        event: Callable[..., None],
    ) -> None:
        self.links = links
        self.clock = clock
        self.core = core
        self.health = health
        self._path = path
        self._send = send
        self._runner_output = runner_output
        self._event = event
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[int, MemberSockets] = {}
        self._bond_arp: socket.socket | None = None

    def sockets(self, member: Member) -> MemberSockets:
        """The member's listeners (none open: all None)."""
        return self._sockets.get(member.ifindex) or MemberSockets()

    # ------------------------------------------------------ the members'
    def open(self, member: Member) -> None:
        assert self.loop is not None
        opts, runner, path = self.core.opts, self.core.runner, self._path()
        arp = self.health.arp
        socks = self._sockets.setdefault(member.ifindex, MemberSockets())
        try:
            if (arp is not None and opts.arp_ip_target) or "arp" in runner.listens_for or path is not None:
                socks.arp = self.links.open_listener(member.name, ETH_P_ARP)
                self.loop.add_reader(socks.arp.fileno(), self._on_arp, member, socks.arp)
                if path is not None:  # [path monitor] replies come to the member's probe MAC
                    path.listen(member, socks.arp)
            if "lacp" in runner.listens_for and socks.slow is None:
                socks.slow = self.links.open_listener(member.name, ETH_P_SLOW)
                self.loop.add_reader(socks.slow.fileno(), self._on_slow, member, socks)
            if (arp is not None and opts.ns_ip6_target) or (path is not None and path.v6):
                socks.ns = self.links.open_listener(member.name, ETH_P_IPV6)
                self.loop.add_reader(socks.ns.fileno(), self._on_na, member, socks.ns)
        except OSError as exc:
            self._event("warning", f"cannot listen for ARP/NS replies: {exc}", member, level=logging.WARNING)

    def close(self, member: Member) -> None:
        socks = self._sockets.pop(member.ifindex, None)
        if socks is None:
            return
        for sock in (socks.arp, socks.ns, socks.slow):
            if sock is not None:
                assert self.loop is not None
                self.loop.remove_reader(sock.fileno())
                sock.close()
        socks.arp = socks.ns = socks.slow = None  # a reader still in its batch stops

    def _on_arp(self, member: Member, sock: socket.socket) -> None:
        ours = self.health.ours_v4
        now = self.clock.now()
        arp, path, runner = self.health.arp, self._path(), self.core.runner
        # At most a batch per wakeup: an ARP flood must not starve the loop.
        for _ in range(LISTENER_BATCH):
            try:
                frame = sock.recv(2048)
            except OSError:
                return
            parsed = wire_arp.parse_arp(frame)
            if parsed is None:
                continue
            if arp is not None:
                arp.saw_reply(member.name, parsed.sender_ip, parsed.target_ip, ours, member is self.core.active, now)
            if path is not None:  # [path monitor]
                path.saw_arp(parsed, now)
            runner.arp_seen(member, parsed.op, parsed.sender_mac, parsed.sender_ip, parsed.target_ip)

    def _on_na(self, member: Member, sock: socket.socket) -> None:
        ours = self.health.ours_v6
        now = self.clock.now()
        arp, path = self.health.arp, self._path()
        for _ in range(LISTENER_BATCH):
            try:
                frame = sock.recv(2048)
            except OSError:
                return
            na = wire_ndisc.parse_na(frame)
            if na is not None and path is not None:  # [path monitor]
                path.saw_na(na, now)
            if na is not None and arp is not None:
                # An NA answering our NS comes from the target itself.
                arp.saw_reply(member.name, na.target, next(iter(ours), b""), ours, member is self.core.active, now)

    def _on_slow(self, member: Member, socks: MemberSockets) -> None:
        """LACPDUs and Marker PDUs from a member, for the 802.3ad runner. The
        protocol object counts, rate-limits and refuses bad frames itself."""
        for _ in range(LISTENER_BATCH):  # a flood must not starve the event loop
            sock = socks.slow
            if sock is None:  # closed by what the last frame set off
                return
            try:
                frame = sock.recv(2048)
            except OSError:
                break
            self._runner_output(self.core.runner.receive_control(member, frame, self.clock.now()))

    # ------------------------------------------------------ the bond's ARP
    def open_bond_arp(self, device: Device) -> None:
        """alb's ARP rewriting stays in the daemon: the eBPF programs or the
        data path workers hand the bond's outgoing ARP to this socket (the
        in-process Python path runs the rlb in its transmit call)."""
        assert self.loop is not None
        sock = device.arp_socket() if "bond-arp" in self.core.runner.listens_for else None
        if sock is not None:
            self._bond_arp = sock
            self.loop.add_reader(sock.fileno(), self._on_bond_arp, sock)

    def close_bond_arp(self) -> None:
        """Stop reading the bond's ARP (the device owns the socket)."""
        if self._bond_arp is not None and self.loop is not None:
            self.loop.remove_reader(self._bond_arp.fileno())
            self._bond_arp = None

    def _on_bond_arp(self, sock: socket.socket) -> None:
        """alb on eBPF: an ARP frame our stack sent, handed over by the
        programs; the rlb picks the member and rewrites it, as in Python."""
        runner, active, members = self.core.runner, self.core.active, self.core.members
        for _ in range(LISTENER_BATCH):
            try:
                frame = sock.recv(2048)
            except OSError:
                return
            buf = bytearray(VNET_NONE + frame)
            member: Any = runner.bond_arp_member(memoryview(buf), self.clock.now())
            if member is None or member is active or member not in members:
                member = active
            elif member is not active:
                buf[16:22] = member.mac_bytes
            if member is not None:
                self._send(member, bytes(buf[10:]))
