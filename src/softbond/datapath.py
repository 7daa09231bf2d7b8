"""The pure-Python data path: TAP <-> member AF_PACKET sockets.

Two threads, one per direction, each draining its sockets until EAGAIN into
one preallocated buffer. The control plane never calls into them: it
publishes an immutable `Snapshot` by plain attribute assignment (atomic under
the GIL) and the loops pick it up at their next frame. Nothing in the loops
logs, builds bytes objects or touches asyncio; the only per-frame objects
are the memoryview slices that socket.send() needs to know the length.
"""
from __future__ import annotations

import os
import select
import socket
import threading
from dataclasses import dataclass, field
from typing import Callable

from .modes.base import RX_DELIVER, RX_DROP, RX_NOT_OWN, VNET

# Offsets in a received frame: the virtio-net header, then Ethernet.
DST, SRC, ETH_END = VNET, VNET + 6, VNET + 12

# A 64 KB GSO super-frame plus the virtio-net header and slack.
FRAME_BUFFER = 65536 + 10 + 256
MSG_DONTWAIT = socket.MSG_DONTWAIT


@dataclass(frozen=True)
class Snapshot:
    """What the data path needs to know, decided by the mode's runner.

    transmit: called with each frame read from the bond device (the frame
      includes the virtio-net header); None drops everything (no usable
      member).
    receive: fd -> (recv_into, policy, member MAC), policy one of
      modes.base.RX_*: drop (the kernel's inactive slave), deliver, deliver
      unless sourced by the bond itself (a switch reflecting our floods),
      or alb's "unicast only, frames to the member's MAC go up as the
      bond's".
    bond_mac: the bond device's MAC, for the last two policies.
    """
    transmit: Callable[[memoryview], object] | None = None
    receive: dict[int, tuple[Callable, int, bytes]] = field(default_factory=dict)
    bond_mac: bytes = bytes(6)


def accept(buf: bytearray, n: int, policy: int, own_mac: bytes, bond_mac: bytes) -> bool:
    """The receive policies other than RX_DELIVER (the hot case, which the
    loops test inline): True to deliver the frame of `n` bytes in `buf`,
    whose destination MAC it may rewrite to the bond's (alb)."""
    if policy == RX_DROP or n < ETH_END:
        return False
    if policy == RX_NOT_OWN:
        return buf.find(bond_mac, SRC, ETH_END) != SRC
    if buf[DST] & 1:                    # RX_UNICAST_OWN_MAC
        return False
    if buf.find(own_mac, DST, SRC) == DST:
        buf[DST:SRC] = bond_mac
    return True


class DataPath:
    def __init__(self, tap_fd: int) -> None:
        self.tap_fd = tap_fd
        self.snapshot = Snapshot()
        self.rx_dropped = 0      # frames read on members and not delivered
        self.tx_errors = 0       # member sends that failed (member going away)
        self._epoll = select.epoll()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._running = False
        self._threads: list[threading.Thread] = []

    # -- control plane side -------------------------------------------------
    def publish(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def watch(self, fd: int) -> None:
        self._epoll.register(fd, select.EPOLLIN)

    def unwatch(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def start(self) -> None:
        self._running = True
        for target, name in ((self._egress, "softbond-egress"), (self._ingress, "softbond-ingress")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._running = False
        os.write(self._wake_w, b"x")
        for thread in self._threads:
            thread.join(timeout=2)
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- the two loops ------------------------------------------------------
    def _egress(self) -> None:
        """bond device -> chosen member."""
        buf = bytearray(FRAME_BUFFER)
        view = memoryview(buf)
        bufs = [buf]
        readv = os.readv
        tap_fd = self.tap_fd
        poller = select.poll()
        poller.register(tap_fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while self._running:
            poller.poll()
            errors = 0
            while True:
                try:
                    n = readv(tap_fd, bufs)
                except BlockingIOError:
                    break
                except OSError:
                    errors += 1
                    break
                transmit = self.snapshot.transmit
                if transmit is None:
                    continue
                try:
                    transmit(view[:n])
                except OSError:
                    errors += 1
            if errors:
                self.tx_errors += errors

    def _ingress(self) -> None:
        """members -> bond device."""
        buf = bytearray(FRAME_BUFFER)
        view = memoryview(buf)
        tap_fd = self.tap_fd
        write = os.write
        wake = self._wake_r
        epoll_wait = self._epoll.poll
        while self._running:
            try:
                ready = epoll_wait()
            except OSError:
                return
            snapshot = self.snapshot
            receive = snapshot.receive
            bond_mac = snapshot.bond_mac
            dropped = 0
            for fd, _events in ready:
                entry = receive.get(fd)
                if entry is None:
                    if fd == wake:
                        continue
                    # A member being released: its fd is unwatched shortly.
                    continue
                recv_into, policy, own_mac = entry
                while True:
                    try:
                        n = recv_into(buf, 0, MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    except OSError:
                        break
                    if policy != RX_DELIVER and not accept(buf, n, policy, own_mac, bond_mac):
                        dropped += 1
                        continue
                    try:
                        write(tap_fd, view[:n])
                    except OSError:
                        dropped += 1
            if dropped:
                self.rx_dropped += dropped
