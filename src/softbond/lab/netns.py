"""Throwaway test networks in network namespaces, for the demo, the
integration tests and the benchmarks.

    host ns:  eth0, eth1 (the bond's members) ... the bond itself
    switch ns: bridge br0 with sw0, sw1 (facing the members) and swp
    peer ns:  peer0 (a host behind the switch)

The switch is a Linux bridge by default; `Topology(switch="ovs")` makes it a
private Open vSwitch instance in userspace (see ovs_switch.py) whose
member-facing ports sw0.. form one OVS bond "bond0" (a static trunk or an
LACP partner), reachable as `topo.ovs`. `topo.switch` is the kind of switch
("bridge" or "ovs"); `topo.switch_ns` is the name of the switch namespace.

Every namespace name starts with a per-run prefix so that concurrent runs
never collide, and `close()` removes everything even after a failure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from ..kernel import rundir as runtime
from .ovs_switch import OvsSwitch

SOFTBOND = [sys.executable, "-m", "softbond"]
# Topology(datapath="workers"): softbond's Python data path in this many
# processes (datapath=python datapath_workers=N).
TEST_WORKERS = 2


def run(argv: list[str], *, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *args], check=check)


@dataclass
class Topology:
    prefix: str = field(default_factory=lambda: f"sb{os.getpid() % 100000}")
    members: int = 2
    member_names: tuple[str, ...] = ()
    peers: int = 1
    subnet: str = "192.168.100"
    created: list[str] = field(default_factory=list)
    # The kind of switch: "bridge" (a Linux bridge) or "ovs" (Open vSwitch in
    # userspace). The switch namespace's name is switch_ns.
    switch: str = "bridge"
    # The OVS bond over sw0..: Port columns bond_mode and lacp, lacp-time
    # (None: OVS default, slow), and further settings such as
    # "other_config:lacp-fallback-ab=true" or "bond_updelay=100".
    ovs_bond_mode: str = "balance-slb"
    ovs_lacp: str = "off"
    ovs_lacp_time: str | None = None
    ovs_other: tuple[str, ...] = ()
    # Added to every `softbond up` run through softbond() unless the command
    # names one: the tests run whole suites on each data path this way.
    datapath: str | None = None
    ovs: OvsSwitch | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def host(self) -> str:
        return f"{self.prefix}-host"

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}-sw"

    def peer(self, i: int = 0) -> str:
        return f"{self.prefix}-peer{i}"

    def member(self, i: int) -> str:
        return self.member_names[i] if self.member_names else f"eth{i}"

    def switch_port(self, i: int) -> str:
        return f"sw{i}"

    def peer_ip(self, i: int = 0) -> str:
        return f"{self.subnet}.{i + 1}"

    def __enter__(self) -> "Topology":
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ns(self, name: str) -> None:
        ip("netns", "add", name)
        self.created.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def build(self) -> None:
        if self.switch not in ("bridge", "ovs"):
            raise ValueError(f"switch must be 'bridge' or 'ovs', not {self.switch!r}")
        for ns in (self.host, self.switch_ns, *(self.peer(i) for i in range(self.peers))):
            self._ns(ns)
        sw = self.switch_ns
        if self.switch == "ovs":
            self.ovs = OvsSwitch(sw, tempfile.mkdtemp(prefix=f"{self.prefix}-ovs-"))
            self.ovs.start()
            self.ovs.add_bridge("br0")
        else:
            ip("-n", sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
            ip("-n", sw, "link", "set", "br0", "up")
        for i in range(self.members):
            self.add_member_link(i)
        if self.ovs is not None:
            self._add_ovs_bond()
        for i in range(self.peers):
            port = f"swp{i}"
            ip("link", "add", port, "netns", sw, "type", "veth", "peer", "name", "peer0", "netns", self.peer(i))
            if self.ovs is not None:
                ip("-n", sw, "link", "set", port, "up")
                self.ovs.add_port("br0", port)
            else:
                ip("-n", sw, "link", "set", port, "master", "br0", "up")
            ip("-n", self.peer(i), "addr", "add", f"{self.peer_ip(i)}/24", "dev", "peer0")
            ip("-n", self.peer(i), "link", "set", "peer0", "up")

    def add_member_link(self, i: int) -> None:
        ip("link", "add", self.member(i), "netns", self.host, "type", "veth",
           "peer", "name", self.switch_port(i), "netns", self.switch_ns)
        if self.ovs is None:
            ip("-n", self.switch_ns, "link", "set", self.switch_port(i), "master", "br0", "up")
            return
        ip("-n", self.switch_ns, "link", "set", self.switch_port(i), "up")
        if self._ovs_bond_built:
            # A member added after build() joins the OVS bond.
            self.ovs.vsctl("add-bond-iface", "bond0", self.switch_port(i))

    _ovs_bond_built = False

    def _add_ovs_bond(self) -> None:
        ports = [self.switch_port(i) for i in range(self.members)]
        if len(ports) >= 2:
            self.ovs.add_bond("br0", "bond0", ports, bond_mode=self.ovs_bond_mode, lacp=self.ovs_lacp,
                              lacp_time=self.ovs_lacp_time, extra=self.ovs_other)
            self._ovs_bond_built = True
        else:
            for port in ports:
                self.ovs.add_port("br0", port)

    def close(self) -> None:
        """Remove everything this topology made. Each step runs even when an
        earlier one failed (a missing tool, a hung OVS): a failed test must
        never leak a namespace, a process or a run directory."""
        errors: list[str] = []
        if self.ovs is not None:
            # Before the namespaces go (stop_softbond() would kill the
            # daemons too, but leave the run directory behind).
            try:
                self.ovs.stop()
            except Exception as exc:  # teardown goes on; the errors are raised at the end
                errors.append(f"stopping Open vSwitch: {exc}")
            self.ovs = None
            self._ovs_bond_built = False
        for ns in (self.host, self.switch_ns, *(self.peer(i) for i in range(self.peers))):
            if ns in self.created or os.path.exists(f"/run/netns/{ns}"):
                try:
                    self.stop_softbond(ns)
                except Exception as exc:
                    errors.append(f"{ns}: {exc}")
                ip("netns", "del", ns, check=False)
        self.created.clear()
        if errors:
            raise RuntimeError("topology teardown: " + "; ".join(errors))

    def stop_softbond(self, ns: str) -> None:
        """Kill any bond process left in `ns` (a failed test must not leak)."""
        proc = run(["ip", "netns", "pids", ns], check=False)
        for pid in proc.stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):   # already exited, or not a pid line
                pass
        shutil.rmtree(os.path.join(runtime.RUN_ROOT, f"netns-{self._ns_inode(ns)}"), ignore_errors=True)

    def control_socket(self, bond: str = "bond0", ns: str | None = None) -> str:
        """The path of a bond's control socket in namespace `ns` (the host by
        default), for asking it directly (cli.request_at) where spawning
        `softbond status` would cost more than the event being timed."""
        return os.path.join(runtime.RUN_ROOT, f"netns-{self._ns_inode(ns or self.host)}", f"{bond}.sock")

    @staticmethod
    def _ns_inode(ns: str) -> str:
        try:
            return str(os.stat(f"/run/netns/{ns}").st_ino)
        except OSError:
            return "none"

    # -- helpers -------------------------------------------------------------
    def exec(self, ns: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", ns, *argv], **kw)

    def popen(self, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], **kw)

    def softbond(self, *args: str, check: bool = True, ns: str | None = None) -> subprocess.CompletedProcess:
        if args and args[0] == "up" and self.datapath and not any(a.startswith("datapath=") for a in args):
            if self.datapath == "workers":      # the Python path in worker processes
                args = (*args, "datapath=python", f"datapath_workers={TEST_WORKERS}")
            else:
                args = (*args, f"datapath={self.datapath}")
        return self.exec(ns or self.host, [*SOFTBOND, *args], check=check)

    def cut(self, i: int) -> None:
        """Pull member i's cable: its switch-side end goes down."""
        ip("-n", self.switch_ns, "link", "set", self.switch_port(i), "down")

    def plug(self, i: int) -> None:
        ip("-n", self.switch_ns, "link", "set", self.switch_port(i), "up")

    # softbond's own rtnetlink (pyroute2 is only a test dependency): the
    # drop program on the port's tc egress (clsact's egress parent).
    _SILENCE = (
        "from softbond.kernel import isolate\nfrom softbond.kernel.rtnl import Rtnl\n"
        "rtnl = Rtnl(); idx = rtnl.link(name={port!r}).index\n"
        "try:\n    rtnl.add_clsact(idx)\nexcept OSError:\n    pass\n"
        "rtnl.set_bpf_filter(idx, 0xFFFFFFF3, 1, isolate.load_drop_program(), 'silence', replace=False)\n"
    )

    def silence(self, i: int) -> None:
        """The switch stops talking to member i while the cable stays in:
        everything sw{i} would send is dropped at its tc egress (a dead
        partner with link up)."""
        self.exec(self.switch_ns, [sys.executable, "-c", self._SILENCE.format(port=self.switch_port(i))])

    def unsilence(self, i: int) -> None:
        run(["tc", "-n", self.switch_ns, "qdisc", "del", "dev", self.switch_port(i), "clsact"], check=False)

    # shape()'s token bucket. tbf drops a frame longer than its burst unless
    # it is a GSO super-frame, which it first splits into MTU-sized segments
    # (tbf_segment(); measured: with burst 2kb a capture on the shaped veth
    # shows only 1514-byte frames, with 32kb GSO frames up to 30 KB pass
    # whole, and both give the same rate), so the burst only has to hold one
    # full-size frame. It has to cover about 1 ms at the line rate, though:
    # at 1000 Mbit/s a 32 KB burst gave 87%, 128 KB 96%. The queue limit
    # (latency) only matters when the sender is not on the shaped device's
    # own stack (through OVS, through the bond): 20 ms kept retransmits near
    # zero at 100 and 200 Mbit/s and bounds the queueing delay a ping sees
    # on a saturated member. One TCP stream reaches 95-96% of the rate, which
    # is the payload share of a 1514-byte frame (1448/1514): tbf counts
    # whole Ethernet frames.
    SHAPE_MIN_BURST = 32 * 1024
    SHAPE_LATENCY = "20ms"

    def shape(self, i: int, rate_mbit: int, *, both: bool = True) -> None:
        """Give member i a line rate of `rate_mbit` Mbit/s: a tbf on the
        switch-facing end sw{i} (traffic towards the bond) and, with
        both=True, on eth{i} in the host namespace (traffic leaving the bond:
        AF_PACKET sends go through dev_queue_xmit and so through the
        member's root qdisc). Replaces any earlier shape()."""
        burst = max(self.SHAPE_MIN_BURST, rate_mbit * 125)  # 1 ms at the rate, in bytes
        ends = [(self.switch_ns, self.switch_port(i))]
        if both:
            ends.append((self.host, self.member(i)))
        for ns, dev in ends:
            run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{rate_mbit}mbit",
                 "burst", str(burst), "latency", self.SHAPE_LATENCY])
        if not both:
            run(["tc", "-n", self.host, "qdisc", "del", "dev", self.member(i), "root"], check=False)

    def unshape(self, i: int) -> None:
        """Remove shape()'s qdiscs from member i (both ends; no error when
        one was never shaped)."""
        for ns, dev in ((self.switch_ns, self.switch_port(i)), (self.host, self.member(i))):
            run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], check=False)

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        return predicate()
