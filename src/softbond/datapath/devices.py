"""The bond device and the data path behind it, in two kinds:

- PythonDevice: a persistent TAP, member AF_PACKET sockets with virtio-net
  headers, and datapath.DataPath's thread running the compiled plan.
- WorkersDevice (datapath_workers=N > 1): the same TAP with N queues and N
  worker processes (workers.py) compiling the same plan.
- EbpfDevice: a veth pair whose peer (sbp + a hash of the bond's name,
  see peer_name) the bond keeps to itself (ebpf/), tc programs
  moving every frame in the kernel; the plan is written into BPF maps. Members get a send-only socket for control frames.

All take the same calls from the bond, so the modes, monitors and LACP
run unchanged on any; each `publish` forwards from one plan.build_plan
(plan.py); `kind` is what `softbond status` reports.
"""
from __future__ import annotations

import fcntl
import mmap
import os
import pickle
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

from .sha256 import sha256
from .abi import BUCKETS, protocols
from .plan import ForwardingPlan, build_plan, rescue_enabled
from ..kernel import packet, tap

TUNSETCARRIER = 0x400454E2
VNET_NONE = bytes(10)
PEER_PREFIX = "sbp"

# The Python data path (inprocess.py, workers.py) is imported by its devices
# when they are made: an eBPF bond never imports it (issue 19, footprint).
if TYPE_CHECKING:
    from .ebpf.rescue import CarrierRescue, NoRescue
    from .inprocess import SegmentSlots
    from ..kernel.rtnl import Rtnl


def peer_name(bond: str) -> str:
    """The hidden peer's name: "sbp" and 12 hex digits of a hash of the
    whole bond name (15 characters), so any two bond names get different
    peers (a prefix of the name did not: nubond0123456 and nubond0123457
    shared one)."""
    return PEER_PREFIX + sha256(bond.encode()).hexdigest()[:12]


def legacy_peer_name(bond: str) -> str:
    """The peer's name before peer_name hashed: a bond a crashed daemon of
    an older softbond left still has it."""
    return f"{bond[:11]}.sbp"


def is_peer_name(name: str) -> bool:
    """Named like a hidden peer (either naming)."""
    return name.endswith(".sbp") or (len(name) == 15 and name.startswith(PEER_PREFIX)
                                     and all(c in "0123456789abcdef" for c in name[3:]))

# -- counters --------------------------------------------------------------------
# A member's packet counters count frames on the wire. A virtual NIC (veth,
# tap, virtio_net: no device of its own, or virtio's driver) counts a GSO
# super-frame as one packet however many segments it becomes; a physical
# NIC's driver counts what crossed the wire (its segmentation offload reports
# gso_segs). For the first kind the segments the data path counted beyond
# the first of each super-frame are added; the NIC's own figures stay under
# nic_rx_packets / nic_tx_packets.
WIRE_PACKETS = "wire segments (a GSO super-frame counts as the frames it is on the wire)"


def counts_super_frames_once(name: str) -> bool:
    device = f"/sys/class/net/{name}/device"
    if not os.path.exists(device):
        return True
    try:
        return os.path.basename(os.readlink(f"{device}/driver")) == "virtio_net"
    except OSError:
        return False


def wire_counters(name: str, nic: dict, extra: tuple[int, int]) -> dict:
    """The member's NIC counters `nic` with packets counted on the wire."""
    out = dict(nic, nic_rx_packets=nic.get("rx_packets", 0), nic_tx_packets=nic.get("tx_packets", 0))
    if counts_super_frames_once(name):
        out["rx_packets"] = out["nic_rx_packets"] + extra[0]
        out["tx_packets"] = out["nic_tx_packets"] + extra[1]
    return out


def protocol_counters(block: list[int] | None) -> dict | None:
    """A member's protocol counters as status JSON (None: not counted)."""
    return protocols(block) if block is not None else None


def protocol_totals(per_member) -> dict | None:
    """The bond's protocol counters: its members' summed (None: none counted)."""
    total = None
    for counted in per_member:
        if counted is None:
            continue
        if total is None:
            total = {d: {c: dict(v) for c, v in classes.items()} for d, classes in counted.items()}
            continue
        for d, classes in counted.items():
            for c, v in classes.items():
                total[d][c]["packets"] += v["packets"]
                total[d][c]["bytes"] += v["bytes"]
    return total


def choose(name: str, datapath: str, *, mac: str | None,
           workers: int = 1) -> tuple["PythonDevice | WorkersDevice | EbpfDevice", str | None]:
    """The device for `datapath` (auto|ebpf|python), and a one-line notice
    when auto fell back to Python. Raises RuntimeError when ebpf was asked
    for and cannot run here. `workers` > 1 runs the Python path in that
    many processes (the eBPF path needs none)."""
    if datapath in ("auto", "ebpf"):
        from . import ebpf
        ok, why = ebpf.available()
        if ok:
            return EbpfDevice(name, mac=mac), None
        if datapath == "ebpf":
            raise RuntimeError(f"{name}: datapath=ebpf: the eBPF data path cannot run here: {why}")
        return python_device(name, workers), (f"{name}: datapath=auto: using the Python data path (eBPF "
                                              f"unavailable: {why}; datapath=python silences this)")
    return python_device(name, workers), None


def python_device(name: str, workers: int) -> "PythonDevice | WorkersDevice":
    return WorkersDevice(name, workers) if workers > 1 else PythonDevice(name)


class SegmentCounted:
    """The Python paths' member counters: the NIC's own plus the segments
    and protocol classes the forwarding loop counted (`segments`, a
    SegmentSlots; `_protocols`, protocol_counters as last published), and
    their carrier rescue: the loop's AF_PACKET sends pass the members' tc
    egress (no PACKET_QDISC_BYPASS), so ebpf/rescue.bpf.c serves them as it
    serves the eBPF path."""

    segments: SegmentSlots
    _protocols: bool
    _rescue: CarrierRescue | NoRescue          # set by _start_rescue in the constructor
    _rescue_rtnl: Rtnl
    carrier_rescue = "off"

    def _start_rescue(self, name: str) -> None:
        from .ebpf.rescue import CarrierRescue
        from ..kernel.rtnl import Rtnl
        self._rescue_rtnl = Rtnl()
        self._rescue, self.carrier_rescue = CarrierRescue.start(self._rescue_rtnl, name)

    def _publish_rescue(self, plan: ForwardingPlan, members, usable) -> None:
        # The loops' receive side reads plan.stand_ins themselves: the
        # object's stand-ins serve only the eBPF bond's sb_ingress.
        self._rescue.publish(plan.rescue_to, [m.ifindex for m in members], {})

    def _close_rescue(self) -> None:
        self._rescue.close()
        self._rescue_rtnl.close()

    def member_counters(self, name: str, ifindex: int, nic: dict) -> dict:
        rescued_in = {"rescued_in": self.segments.rescued_in(ifindex)} if rescue_enabled() else {}
        return {**wire_counters(name, nic, self.segments.extra(ifindex)), **self._rescue.counters(ifindex),
                **rescued_in}

    def protocol_counters(self, ifindex: int) -> dict | None:
        return protocol_counters(self.segments.protocols(ifindex)) if self._protocols else None


class PythonDevice(SegmentCounted):
    kind = "python"

    def __init__(self, name: str) -> None:
        self.name = name
        remove_leftover(name, keep_tap=True, multi_queue=False)
        self.tap_fd = tap.open_tap(name)
        from .inprocess import BucketBytes, DataPath, SegmentSlots
        self.datapath = DataPath(self.tap_fd)
        self.segments = SegmentSlots(self.datapath.counters.__getitem__)
        self.bucket_bytes = BucketBytes(lambda: list(self.datapath.bucket_bytes))
        self._socks: dict[int, socket.socket] = {}     # ifindex -> member data socket
        self._watched: set[int] = set()
        # alb's outgoing ARP, from the loop to the daemon's rlb (as on the
        # other paths: the loop never takes the rlb's lock)
        self._arp_rx, self._arp_tx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._arp_rx.setblocking(False)
        self._arp_tx.setblocking(False)
        self._protocols = True       # protocol_counters as last published
        self._start_rescue(name)

    def start(self) -> None:
        self.datapath.start()

    def follow_mtu(self, mtu: int) -> None:
        pass                 # the TAP is the whole device; its buffers hold any MTU

    def set_carrier(self, on: bool) -> None:
        try:
            fcntl.ioctl(self.tap_fd, TUNSETCARRIER, (1 if on else 0).to_bytes(4, "little"))
        except OSError:
            pass  # kernels before 5.0: the TAP keeps its carrier

    def open_member(self, name: str, ifindex: int, mac: bytes) -> tuple[socket.socket, object]:
        """The member's socket and its control-frame sender."""
        sock = packet.open_data_socket(name, ifindex)
        send = sock.send
        self.segments.assign(ifindex)
        self._socks[ifindex] = sock
        self._rescue.attach(ifindex)

        def send_control(frame: bytes) -> None:
            send(VNET_NONE + frame)
        return sock, send_control

    def close_member(self, sock: socket.socket, ifindex: int) -> None:
        self.segments.release(ifindex)
        self._socks.pop(ifindex, None)
        self._rescue.detach(ifindex)
        fd = sock.fileno()
        if fd in self._watched:
            self.datapath.unwatch(fd)
            self._watched.discard(fd)

    def publish(self, runner, members, usable, active, bond_mac: bytes) -> None:
        plan = build_plan(runner, members, usable, active, bond_mac)
        self._protocols = plan.protocol_counters
        socks = {ifindex: sock for ifindex, sock in self._socks.items() if ifindex in plan.names}
        from .inprocess import compile_snapshot
        snapshot = compile_snapshot(plan, socks, self.segments.slots(), self.datapath.counters,
                                    self.datapath.bucket_bytes, self._to_daemon, self.datapath.rotation,
                                    self.datapath.flowlet)
        self.datapath.publish(snapshot)
        self._publish_rescue(plan, members, usable)
        for fd in snapshot.receive:
            if fd not in self._watched:
                self.datapath.watch(fd)
                self._watched.add(fd)

    def _to_daemon(self, frame) -> bool:
        try:
            self._arp_tx.send(frame)
            return True
        except OSError:
            return False     # the daemon is behind: ARP is retried by whoever asked

    def rx_dropped(self, members) -> int:
        return self.datapath.rx_dropped

    def tick(self, runner, now: float) -> bool:
        """tlb/alb: the buckets' measured bytes feed the runner's
        rebalance; True asks for a republish."""
        return runner.rebalance(self.bucket_bytes, now)

    def flowlet_moves(self) -> int:
        """Buckets xmit_balance=flowlet moved after a pause, since the data path started."""
        return self.datapath.flowlet.moves[0]

    def read_committed(self) -> list[int] | None:
        """xmit_balance=flowlet: each bucket's slot where its frames leave now (-1: hash % count)."""
        return self.datapath.flowlet.committed()

    def arp_socket(self) -> socket.socket | None:
        return self._arp_rx

    def workers(self) -> list[dict] | None:
        return None          # no worker processes: frames move in this one

    def loop(self) -> dict[str, int]:
        """The forwarding loop's counters (status JSON `datapath_loop`)."""
        return self.datapath.loop_counters()

    def check_workers(self) -> list[str]:
        return []

    def close(self) -> None:
        self.datapath.stop()
        self._close_rescue()
        self._arp_rx.close()
        self._arp_tx.close()
        os.close(self.tap_fd)
        tap.destroy_tap(self.name)


class EbpfDevice:
    kind = "ebpf"

    def __init__(self, name: str, *, mac: str | None) -> None:
        from . import ebpf
        self.name = name
        remove_leftover(name, keep_ebpf=True)
        self.dev = ebpf.EbpfBond(name, mac=mac)

    def start(self) -> None:
        pass

    def follow_mtu(self, mtu: int) -> None:
        """The hidden peer takes the bond's MTU too: a frame the programs
        leave to the kernel must not be too big for it."""
        self.dev.set_peer_mtu(mtu)

    def set_carrier(self, on: bool) -> None:
        self.dev.set_carrier(on)

    @property
    def carrier_rescue(self) -> str:
        return self.dev.rescue_state

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
        except OSError:     # the member is gone already, and its filters with it
            pass

    def publish(self, runner, members, usable, active, bond_mac: bytes) -> None:
        plan = build_plan(runner, members, usable, active, bond_mac)
        self.dev.publish(plan)
        self.dev.set_rescue(plan)

    def member_counters(self, name: str, ifindex: int, nic: dict) -> dict:
        try:
            stats = self.dev.member_counters(ifindex)
        except (OSError, KeyError):
            stats = {}
        counters = wire_counters(name, nic, (stats.get("rx_gso_extra", 0), stats.get("tx_gso_extra", 0)))
        for key in ("rescued_frames", "rescue_dropped", "rescued_in"):
            if key in stats:
                counters[key] = stats[key]
        return counters

    def protocol_counters(self, ifindex: int) -> dict | None:
        try:
            return protocol_counters(self.dev.maps.protocol_block(ifindex))
        except (OSError, KeyError):
            return None

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
        return runner.rebalance(self.dev.bucket_bytes, now)

    def flowlet_moves(self) -> int:
        """Buckets xmit_balance=flowlet moved after a pause, since the data path started."""
        return self.dev.maps.flowlet_moves()

    def read_committed(self) -> list[int] | None:
        """xmit_balance=flowlet: each bucket's slot where its frames leave
        now (sb_flowlet; -1 or past the members: hash % count); None when
        the map cannot be read."""
        try:
            return self.dev.maps.flowlet_slots()
        except OSError:
            return None

    def arp_socket(self) -> socket.socket | None:
        return self.dev.arp_socket()

    def workers(self) -> list[dict] | None:
        return None          # the kernel moves the frames

    def loop(self) -> None:
        return None          # no forwarding loop: the programs' counters are per member

    def check_workers(self) -> list[str]:
        return []

    def close(self) -> None:
        self.dev.close(keep=False)


class WorkersDevice(SegmentCounted):
    """The Python data path in `count` worker processes (workers.py): a
    multi-queue TAP, one queue per worker, members read through one
    PACKET_FANOUT group each. The daemon keeps the queue fds, so a worker
    that dies is replaced on the same queue; the workers die with the
    daemon (PR_SET_PDEATHSIG and their control socket's EOF)."""
    kind = "python"

    def __init__(self, name: str, count: int) -> None:
        from . import workers
        from .inprocess import BucketBytes, SegmentSlots
        self.name = name
        self.count = count
        remove_leftover(name, keep_tap=True, multi_queue=True)
        self.queue_fds = tap.open_queues(name, count)
        self.tap_fd = self.queue_fds[0]
        self._mem_fd = os.memfd_create(f"softbond-{name}-counters", os.MFD_CLOEXEC)
        os.ftruncate(self._mem_fd, workers.COUNTER_STRIDE * count)
        self._mem = mmap.mmap(self._mem_fd, workers.COUNTER_STRIDE * count)
        self._counters = [workers.counter_view(self._mem, i) for i in range(count)]
        self.segments = SegmentSlots(lambda index: sum(c[index] for c in self._counters))
        # alb's outgoing ARP, from every worker to the daemon's rlb
        self._arp_rx, self._arp_tx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._arp_rx.setblocking(False)
        self._controls: list[socket.socket | None] = [None] * count
        self._procs: list[subprocess.Popen | None] = [None] * count
        self._plan: bytes | None = None
        self._behind: set[int] = set()      # workers whose control socket was full
        self.bucket_bytes = BucketBytes(
            lambda: [sum(c[workers.C_BUCKETS + b] for c in self._counters) for b in range(BUCKETS)])
        self._protocols = True       # protocol_counters as last published
        self._start_rescue(name)

    # -- workers --------------------------------------------------------------
    def start(self) -> None:
        for i in range(self.count):
            self._spawn(i)

    def _spawn(self, i: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = (self.queue_fds[i], theirs.fileno(), self._arp_tx.fileno(), self._mem_fd)
        argv = [sys.executable, "-m", "softbond.datapath.workers", "--index", str(i), "--tap-fd", str(fds[0]),
                "--control-fd", str(fds[1]), "--arp-fd", str(fds[2]), "--counters-fd", str(fds[3])]
        try:
            self._procs[i] = subprocess.Popen(argv, pass_fds=fds, stdin=subprocess.DEVNULL,
                                              start_new_session=False)
        finally:
            theirs.close()
        ours.setblocking(False)
        self._controls[i] = ours
        if self._plan is not None:
            self._send(i, self._plan)

    def _send(self, i: int, message: bytes) -> None:
        control = self._controls[i]
        if control is None:
            return
        try:
            control.send(message)
            self._behind.discard(i)
        except BlockingIOError:
            # The worker is behind on plans (it only applies the newest
            # anyway): check_workers sends it the latest one shortly.
            self._behind.add(i)
        except OSError:
            self._replace(i)

    def _replace(self, i: int) -> None:
        proc = self._procs[i]
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()
        if self._controls[i] is not None:
            self._controls[i].close()
        self._spawn(i)

    def check_workers(self) -> list[str]:
        """Replace workers that died; what happened, for the bond's events."""
        out = []
        for i, proc in enumerate(self._procs):
            if proc is not None and proc.poll() is not None:
                out.append(f"data path worker {i} exited with status {proc.returncode}: restarted")
                self._replace(i)
        for i in list(self._behind):
            if self._plan is not None:
                self._send(i, self._plan)
        return out

    # -- the bond's calls ---------------------------------------------------------
    def follow_mtu(self, mtu: int) -> None:
        pass                 # one multi-queue TAP; the workers' buffers hold any MTU

    def set_carrier(self, on: bool) -> None:
        try:
            fcntl.ioctl(self.tap_fd, TUNSETCARRIER, (1 if on else 0).to_bytes(4, "little"))
        except OSError:
            pass  # kernels before 5.0: the TAP keeps its carrier

    def open_member(self, name: str, ifindex: int, mac: bytes) -> tuple[socket.socket, object]:
        # Send-only (protocol 0): the workers' fanout sockets take the data.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        sock.bind((name, 0))
        self.segments.assign(ifindex)
        self._rescue.attach(ifindex)
        return sock, sock.send

    def close_member(self, sock: socket.socket, ifindex: int) -> None:
        # the next plan leaves the member out; the workers close their sockets
        self.segments.release(ifindex)
        self._rescue.detach(ifindex)

    def publish(self, runner, members, usable, active, bond_mac: bytes) -> None:
        plan = build_plan(runner, members, usable, active, bond_mac)
        self._protocols = plan.protocol_counters
        self._plan = pickle.dumps((plan, self.segments.slots()), protocol=pickle.HIGHEST_PROTOCOL)
        for i in range(self.count):
            self._send(i, self._plan)
        self._publish_rescue(plan, members, usable)

    def rx_dropped(self, members) -> int:
        from .inprocess import C_RX_DROPPED
        return sum(c[C_RX_DROPPED] for c in self._counters)

    def workers(self) -> list[dict]:
        """Per worker process: its pid and counters (status JSON)."""
        from .inprocess import LOOP_COUNTERS
        return [{"pid": p.pid if p else None, **{name: c[i] for name, i in LOOP_COUNTERS}}
                for p, c in zip(self._procs, self._counters)]

    def loop(self) -> dict[str, int]:
        """The forwarding loops' counters, summed over the workers."""
        from .inprocess import LOOP_COUNTERS
        return {name: sum(c[i] for c in self._counters) for name, i in LOOP_COUNTERS}

    def tick(self, runner, now: float) -> bool:
        return runner.rebalance(self.bucket_bytes, now)

    def flowlet_moves(self) -> int:
        """Buckets xmit_balance=flowlet moved after a pause, since the data path started."""
        from .workers import C_FLOWLET_MOVES
        return sum(c[C_FLOWLET_MOVES] for c in self._counters)

    def read_committed(self) -> list[int]:
        """xmit_balance=flowlet: each bucket's slot where its frames leave
        now (-1: hash % count). Each worker commits its own; a bucket whose
        flows span workers counts where the worker that carried most of its
        bytes (since it started) sends it."""
        from .workers import C_BUCKETS, C_FLOWLET_SLOTS
        out = []
        for b in range(BUCKETS):
            carried = [c[C_BUCKETS + b] for c in self._counters]
            out.append(self._counters[carried.index(max(carried))][C_FLOWLET_SLOTS + b] - 1)
        return out

    def arp_socket(self) -> socket.socket | None:
        return self._arp_rx

    def close(self) -> None:
        for control in self._controls:
            if control is not None:
                control.close()      # EOF: the worker returns
        for proc in self._procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for fd in self.queue_fds:
            os.close(fd)
        self._close_rescue()
        self._arp_rx.close()
        self._arp_tx.close()
        del self._counters
        self._mem.close()
        os.close(self._mem_fd)
        tap.destroy_tap(self.name)


def remove_leftover(name: str, *, keep_tap: bool = False, keep_ebpf: bool = False,
                    multi_queue: bool | None = None) -> None:
    """Remove a bond device a dead daemon left, unless it is of the kind
    about to be re-attached (a TAP for the Python path, of the queue kind
    `multi_queue` when given, the veth pair for eBPF): re-attaching keeps
    addresses, routes and forwarding alive."""
    sysfs = f"/sys/class/net/{name}"
    if not os.path.exists(sysfs):
        return
    if os.path.exists(f"{sysfs}/tun_flags"):
        if multi_queue is not None and tap.is_multi_queue(name) != multi_queue:
            keep_tap = False        # a TAP re-attaches only as the kind it was made
        if not keep_tap:
            try:
                tap.destroy_tap(name)
            except OSError:     # removed meanwhile (its owner exited): what was wanted
                pass
        return
    peers = (peer_name(name), legacy_peer_name(name))   # a crash of an older softbond left the second
    if any(os.path.exists(f"/sys/class/net/{peer}") for peer in peers) and not keep_ebpf:
        from . import ebpf
        try:
            ebpf.EbpfBond(name).close(keep=False)
        except (OSError, RuntimeError):
            pass
