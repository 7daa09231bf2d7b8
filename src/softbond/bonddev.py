"""The bond device and the data path behind it, in two kinds:

- PythonDevice: a persistent TAP, member AF_PACKET sockets with virtio-net
  headers, and datapath.DataPath's two threads running the runner's
  transmit callable.
- EbpfDevice: a veth pair whose peer stays hidden (ebpf/), tc programs
  moving every frame in the kernel; the runner's decisions are written
  into BPF maps. Members get a send-only socket for control frames.

Both take the same calls from the bond, so the modes, monitors and LACP
run unchanged on either; `kind` is what `softbond status` reports.
"""
from __future__ import annotations

import fcntl
import os
import socket

from .datapath import DataPath, Snapshot
from .ports import packet, tap

TUNSETCARRIER = 0x400454E2
VNET_NONE = bytes(10)


def choose(name: str, datapath: str, *, mac: str | None) -> tuple["PythonDevice | EbpfDevice", str | None]:
    """The device for `datapath` (auto|ebpf|python), and a one-line notice
    when auto fell back to Python. Raises RuntimeError when ebpf was asked
    for and cannot run here."""
    if datapath in ("auto", "ebpf"):
        from . import ebpf
        ok, why = ebpf.available()
        if ok:
            return EbpfDevice(name, mac=mac), None
        if datapath == "ebpf":
            raise RuntimeError(f"{name}: datapath=ebpf: the eBPF data path cannot run here: {why}")
        return PythonDevice(name), f"{name}: using the Python data path (eBPF unavailable: {why})"
    return PythonDevice(name), None


class PythonDevice:
    kind = "python"

    def __init__(self, name: str) -> None:
        self.name = name
        remove_leftover(name, keep_tap=True)
        self.tap_fd = tap.open_tap(name)
        self.datapath = DataPath(self.tap_fd)
        self._watched: set[int] = set()

    def start(self) -> None:
        self.datapath.start()

    def set_carrier(self, on: bool) -> None:
        try:
            fcntl.ioctl(self.tap_fd, TUNSETCARRIER, (1 if on else 0).to_bytes(4, "little"))
        except OSError:
            pass  # kernels before 5.0: the TAP keeps its carrier

    def open_member(self, name: str, ifindex: int, mac: bytes) -> tuple[socket.socket, object]:
        """The member's socket and its control-frame sender."""
        sock = packet.open_data_socket(name, ifindex)
        send = sock.send

        def send_control(frame: bytes) -> None:
            send(VNET_NONE + frame)
        return sock, send_control

    def close_member(self, sock: socket.socket, ifindex: int) -> None:
        fd = sock.fileno()
        if fd in self._watched:
            self.datapath.unwatch(fd)
            self._watched.discard(fd)

    def publish(self, runner, members, usable, active, bond_mac: bytes) -> None:
        receive = {m.sock.fileno(): (m.sock.recv_into, runner.rx_policy(m, active), m.mac_bytes)
                   for m in members}
        self.datapath.publish(Snapshot(transmit=runner.transmit(usable, active, bond_mac),
                                       receive=receive, bond_mac=bond_mac))
        for fd in receive:
            if fd not in self._watched:
                self.datapath.watch(fd)
                self._watched.add(fd)

    def rx_dropped(self, members) -> int:
        return self.datapath.rx_dropped

    def tick(self, runner, now: float) -> bool:
        return False

    def close(self) -> None:
        self.datapath.stop()
        os.close(self.tap_fd)
        tap.destroy_tap(self.name)


class EbpfDevice:
    kind = "ebpf"

    def __init__(self, name: str, *, mac: str | None) -> None:
        from . import ebpf
        self.name = name
        remove_leftover(name, keep_ebpf=True)
        self.dev = ebpf.EbpfBond(name, mac=mac)
        self.arp_sock: socket.socket | None = None

    def start(self) -> None:
        pass

    def set_carrier(self, on: bool) -> None:
        self.dev.set_carrier(on)

    def open_member(self, name: str, ifindex: int, mac: bytes) -> tuple[socket.socket, object]:
        # Send-only (protocol 0): the programs move the data; a socket that
        # listened would be handed a copy of every frame for nothing.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        sock.bind((name, 0))
        self.dev.attach_member(name, ifindex, mac)
        return sock, sock.send

    def close_member(self, sock: socket.socket, ifindex: int) -> None:
        try:
            self.dev.detach_member(ifindex)
        except OSError:
            pass

    def publish(self, runner, members, usable, active, bond_mac: bytes) -> None:
        from .ebpf import EbpfSnapshot
        tx = runner.tx_members(usable, active)
        self.dev.publish(EbpfSnapshot(
            mode=runner.opts.mode, xmit_hash_policy=runner.opts.xmit_hash_policy,
            packets_per_slave=runner.opts.packets_per_slave,
            tx_members=tuple((m.ifindex, m.mac_bytes) for m in tx),
            active=active.ifindex if active is not None else 0,
            rx_policy={m.ifindex: runner.rx_policy(m, active) for m in members},
            buckets=runner.ebpf_buckets(tx), bond_mac=bond_mac))

    def rx_dropped(self, members) -> int:
        total = 0
        for m in members:
            try:
                total += self.dev.member_counters(m.ifindex).get("rx_drops", 0)
            except (OSError, KeyError):
                pass
        return total

    def tick(self, runner, now: float) -> bool:
        """tlb/alb on eBPF: the buckets' measured bytes feed the runner's
        rebalance; True asks for a republish."""
        return runner.ebpf_rebalance(self.dev.bucket_bytes, now)

    def close(self) -> None:
        if self.arp_sock is not None:
            self.arp_sock = None
        self.dev.close(keep=False)


def remove_leftover(name: str, *, keep_tap: bool = False, keep_ebpf: bool = False) -> None:
    """Remove a bond device a dead daemon left, unless it is of the kind
    about to be re-attached (a TAP for the Python path, the veth pair for
    eBPF): re-attaching keeps addresses, routes and forwarding alive."""
    sysfs = f"/sys/class/net/{name}"
    if not os.path.exists(sysfs):
        return
    if os.path.exists(f"{sysfs}/tun_flags"):
        if not keep_tap:
            try:
                tap.destroy_tap(name)
            except OSError:
                pass
        return
    from .ebpf import peer_name
    if os.path.exists(f"/sys/class/net/{peer_name(name)}") and not keep_ebpf:
        from . import ebpf
        try:
            ebpf.EbpfBond(name).close(keep=False)
        except (OSError, RuntimeError):
            pass
