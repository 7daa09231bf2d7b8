"""Control-plane listeners: packet sockets on the members that bring the
control plane ARP and NDISC replies (the ARP/NS monitor, alb's receive load
balancing) and LACPDUs and Markers (802.3ad); and, for alb on the eBPF data
path, the ARP the bond itself sends. A wakeup reads at most LISTENER_BATCH
frames: a flood must not starve the event loop.

`ControlListeners` is one part of `bond.Bond` (mixed in).
"""
from __future__ import annotations

import logging

from .membership import Member
from ..wire import arp as wire_arp
from ..wire import ndisc as wire_ndisc

ETH_P_ARP = 0x0806
ETH_P_SLOW = 0x8809
LISTENER_BATCH = 64   # frames a control-plane listener reads per wakeup
ETH_P_IPV6 = 0x86DD
VNET_NONE = bytes(10)


class ControlListeners:
    """Opening and closing the members' listeners, and reading them."""

    def _on_bond_arp(self) -> None:
        """alb on eBPF: an ARP frame our stack sent, handed over by the
        programs; the rlb picks the member and rewrites it, as in Python."""
        runner = self.runner
        for _ in range(LISTENER_BATCH):
            try:
                frame = self._bond_arp.recv(2048)
            except OSError:
                return
            buf = bytearray(VNET_NONE + frame)
            member = runner.bond_arp_member(memoryview(buf), self.clock.now())
            if member is None or member is self.active or member not in self.members:
                member = self.active
            elif member is not self.active:
                buf[16:22] = member.mac_bytes
            if member is not None:
                self._send_control(member, bytes(buf[10:]))

    def _on_slow(self, member: Member) -> None:
        """LACPDUs and Marker PDUs from a member, for the 802.3ad runner. The
        protocol object counts, rate-limits and refuses bad frames itself."""
        runner = self.runner
        for _ in range(LISTENER_BATCH):   # a flood must not starve the event loop
            if member.slow_listener is None:
                return
            try:
                frame = member.slow_listener.recv(2048)
            except OSError:
                break
            self._runner_output(runner.receive_control(member, frame, self.clock.now()))

    def _open_listeners(self, member: Member) -> None:
        try:
            if (self.health.arp is not None and self.opts.arp_ip_target) or "arp" in self.runner.listens_for \
                    or self._path is not None:
                member.listener = self.links.open_listener(member.name, ETH_P_ARP)
                self.loop.add_reader(member.listener.fileno(), self._on_arp, member)
                if self._path is not None:      # [path monitor] replies come to the member's probe MAC
                    self._path.listen(member)
            if "lacp" in self.runner.listens_for and member.slow_listener is None:
                member.slow_listener = self.links.open_listener(member.name, ETH_P_SLOW)
                self.loop.add_reader(member.slow_listener.fileno(), self._on_slow, member)
            if (self.health.arp is not None and self.opts.ns_ip6_target) or (self._path is not None and self._path.v6):
                member.ns_listener = self.links.open_listener(member.name, ETH_P_IPV6)
                self.loop.add_reader(member.ns_listener.fileno(), self._on_na, member)
        except OSError as exc:
            self._event("warning", f"cannot listen for ARP/NS replies: {exc}", member, level=logging.WARNING)

    def _close_listeners(self, member: Member) -> None:
        for attr in ("listener", "ns_listener", "slow_listener"):
            sock = getattr(member, attr)
            if sock is not None:
                self.loop.remove_reader(sock.fileno())
                sock.close()
                setattr(member, attr, None)

    def _on_arp(self, member: Member) -> None:
        ours = self.health.ours_v4
        now = self.clock.now()
        # At most a batch per wakeup: an ARP flood must not starve the loop.
        for _ in range(LISTENER_BATCH):
            if member.listener is None:
                return
            try:
                frame = member.listener.recv(2048)
            except OSError:
                return
            parsed = wire_arp.parse_arp(frame)
            if parsed is None:
                continue
            if self.health.arp is not None:
                self.health.arp.saw_reply(member.name, parsed.sender_ip, parsed.target_ip, ours,
                                    member is self.active, now)
            if self._path is not None:      # [path monitor]
                self._path.saw_arp(parsed, now)
            self.runner.arp_seen(member, parsed.op, parsed.sender_mac, parsed.sender_ip, parsed.target_ip)

    def _on_na(self, member: Member) -> None:
        ours = self.health.ours_v6
        now = self.clock.now()
        for _ in range(LISTENER_BATCH):
            if member.ns_listener is None:
                return
            try:
                frame = member.ns_listener.recv(2048)
            except OSError:
                return
            na = wire_ndisc.parse_na(frame)
            if na is not None and self._path is not None:      # [path monitor]
                self._path.saw_na(na, now)
            if na is not None and self.health.arp is not None:
                # An NA answering our NS comes from the target itself.
                self.health.arp.saw_reply(member.name, na.target, next(iter(ours), b""), ours,
                                    member is self.active, now)
