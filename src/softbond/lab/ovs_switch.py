"""A private Open vSwitch instance inside one network namespace, as a
third-party switch (static trunk or LACP partner) for the integration tests
and benchmarks.

The kernel on the test machines has no openvswitch module, so OVS runs fully
in userspace: bridges use ``datapath_type=netdev`` and ovs-vswitchd moves the
frames itself (AF_PACKET on the ports, a tap device per bridge).

Every instance has its own run directory D holding the database, the pid
files, the control sockets and the logs; OVS_RUNDIR, OVS_LOGDIR, OVS_DBDIR and
OVS_SYSCONFDIR all point at D so nothing lands in /var/run/openvswitch, and
every command runs as ``ip netns exec NS ...`` so the tap devices that the
netdev datapath creates (``ovs-netdev`` and one per bridge) live in the
namespace and never clash with another instance.

    sw = OvsSwitch("t1-sw", "/tmp/x/ovs")
    sw.start()
    sw.add_bridge("br0")
    sw.add_bond("br0", "bond0", ["sw0", "sw1"], bond_mode="balance-tcp", lacp="active", lacp_time="fast")
    print(sw.lacp_show("bond0"))
    sw.stop()
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DAEMONS = ("ovs-vswitchd", "ovsdb-server")  # stop order: the switch first


class OvsError(RuntimeError):
    pass


class OvsSwitch:
    """One private ovsdb-server + ovs-vswitchd pair in namespace `ns`.

    `stop()` always cleans up (daemons killed by their pid files, or failing
    that by their command line naming the run directory; the run directory
    removed) and may be called any number of times, also after a failed or
    partial `start()`.
    """

    def __init__(self, ns: str, rundir: str, *, userspace_tso: bool = True):
        self.ns = ns
        self.rundir = os.path.abspath(rundir)
        # Userspace TSO is the default: it is the only way TCP runs through
        # the netdev datapath with the veths as they are, and the faster one.
        # Without it, frames that a sender's veth hands over with a partial
        # checksum (tx checksum offload on) leave OVS with a wrong one: ping
        # works, TCP never connects. The alternative, tx offload off, has to
        # be set on the *sending* ends (eth*, peer0: the bond's members
        # themselves), not on the OVS side (off on sw*/swp* alone: still no
        # TCP); then every segment is a checksummed 1514-byte frame that
        # ovs-vswitchd copies one by one. With
        # other_config:userspace-tso-enable=true ovs-vswitchd reads and
        # writes virtio-net headers on its AF_PACKET sockets, so partial
        # checksums and 64 KB GSO frames pass untouched and the bond under
        # test sees the same frames as behind a Linux bridge. One iperf3 TCP
        # stream through an OVS active-backup bond on this 2-core machine:
        # userspace TSO 11.5-12.1 Gbit/s; tx off everywhere 1.6-1.75; tx off
        # on the members and the peer only 1.15-1.5; tx off on OVS's ends
        # only, or neither: no TCP at all.
        self.userspace_tso = userspace_tso
        self.started = False
        self._children: dict[str, subprocess.Popen] = {}
        self._bridges: list[str] = []
        digest = hashlib.sha1(f"{ns}\0{self.rundir}".encode()).digest()
        # Locally administered unicast MAC, stable for a given ns and rundir:
        # the LACP system id every bond of this switch announces.
        self.system_id = "02:" + ":".join(f"{b:02x}" for b in digest[:5])

    # -- paths and environment ----------------------------------------------
    def path(self, name: str) -> str:
        return os.path.join(self.rundir, name)

    @property
    def db(self) -> str:
        return f"unix:{self.path('db.sock')}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"):
            env[var] = self.rundir
        return env

    def _run(self, argv: Sequence[str], *, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        full = ["ip", "netns", "exec", self.ns, *argv]
        try:
            proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=self.env)
        except subprocess.TimeoutExpired as exc:
            raise OvsError(f"{' '.join(argv)} timed out after {timeout} s") from exc
        if check and proc.returncode != 0:
            raise OvsError(f"{' '.join(argv)} failed ({proc.returncode}): "
                           f"{proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    # -- life cycle ---------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        """Create the database and start ovsdb-server and ovs-vswitchd.

        The daemons are started in the foreground as children of this
        process rather than with --detach: a detached daemon is re-parented
        to PID 1, which on the test machines does not reap, so every stopped
        switch would leave two zombies behind. As children, stop() reaps
        them."""
        if self.started:
            return
        try:
            os.makedirs(self.rundir, exist_ok=True)
            self.started = True  # from here on stop() has something to undo
            self._run(["ovsdb-tool", "create", self.path("conf.db"), SCHEMA])
            self._spawn("ovsdb-server", [self.path("conf.db"), f"--remote=punix:{self.path('db.sock')}"])
            self._wait_ready("ovsdb-server", lambda: os.path.exists(self.path("db.sock")), timeout)
            self.vsctl("--no-wait", "init")
            if self.userspace_tso:
                # Read only when ovs-vswitchd starts: set it first.
                self.vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true")
            self._spawn("ovs-vswitchd", [self.db])
            self._wait_ready("ovs-vswitchd", lambda: self._run(
                ["ovs-appctl", "-t", self.path("ovs-vswitchd.ctl"), "version"], check=False).returncode == 0,
                timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, daemon: str, args: list[str]) -> None:
        argv = ["ip", "netns", "exec", self.ns, daemon, *args,
                f"--pidfile={self.path(daemon + '.pid')}",
                f"--unixctl={self.path(daemon + '.ctl')}",
                f"--log-file={self.path(daemon + '.log')}",
                "--no-chdir"]
        # `ip netns exec` execs the daemon: the child's pid is the daemon's.
        self._children[daemon] = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                  start_new_session=True)

    def _wait_ready(self, daemon: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            child = self._children[daemon]
            if child.poll() is not None:
                raise OvsError(f"{daemon} exited with status {child.returncode} at start: {self._log_tail(daemon)}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise OvsError(f"{daemon} not ready after {timeout} s: {self._log_tail(daemon)}")
            time.sleep(0.02)

    def _log_tail(self, daemon: str, lines: int = 5) -> str:
        try:
            with open(self.path(daemon + ".log")) as f:
                return " | ".join(f.read().strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 5.0) -> None:
        """Kill both daemons (SIGTERM, then SIGKILL after `timeout`), wait
        for them, remove the run directory. Idempotent.

        ovs-vswitchd is first asked to `exit --cleanup`: the netdev datapath's
        tap devices (ovs-netdev and one per bridge) are persistent and would
        outlive a plain SIGTERM in the namespace."""
        # Read before `exit`: ovs-vswitchd removes its pidfile while it is
        # still exiting, and that exit must be waited for too.
        pids = self.pids()
        if os.path.exists(self.path("ovs-vswitchd.ctl")):
            try:
                self._run(["ovs-appctl", "-t", self.path("ovs-vswitchd.ctl"), "--timeout=5", "exit", "--cleanup"],
                          check=False, timeout=10)
            except OvsError:    # it did not answer: the signals below stop it anyway
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:   # already exited: what the signal was for
                    pass
            deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 2.0)
            while time.monotonic() < deadline:
                self._reap()
                # A child that is a zombie but not yet reapable (a thread of
                # it still exiting) counts as running: waited for, not left.
                unreaped = {c.pid for c in self._children.values()}
                pids = [p for p in pids if _alive(p) or p in unreaped]
                if not pids:
                    break
                time.sleep(0.02)
            if not pids:
                break
        self._reap()
        # exit --cleanup removes the bridges' tap devices but not the
        # datapath's own ovs-netdev; after a SIGKILL both are left.
        if os.path.exists(f"/run/netns/{self.ns}"):
            for dev in ("ovs-netdev", *self._bridges):
                self._run(["ip", "link", "del", dev], check=False)
        self._bridges.clear()
        shutil.rmtree(self.rundir, ignore_errors=True)
        self.started = False

    def _reap(self) -> None:
        for daemon, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[daemon]

    def pids(self) -> list[int]:
        """Live daemon processes of this instance: from the pid files, and
        from the command lines naming the run directory (a start that failed
        half-way may have left a daemon whose pid file is missing)."""
        found: list[int] = [c.pid for c in self._children.values() if c.poll() is None]
        for daemon in DAEMONS:
            try:
                with open(self.path(f"{daemon}.pid")) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            if pid not in found and _alive(pid) and self.rundir in _cmdline(pid):
                found.append(pid)
        marker = self.rundir + "/"
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            cmd = _cmdline(pid)
            if pid not in found and cmd and os.path.basename(cmd.split("\0", 1)[0]) in DAEMONS and marker in cmd:
                found.append(pid)
        return found

    def __enter__(self) -> "OvsSwitch":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- commands -----------------------------------------------------------
    def vsctl(self, *args: str) -> str:
        return self._run(["ovs-vsctl", f"--db={self.db}", "--timeout=20", *args]).stdout

    def appctl(self, *args: str) -> str:
        return self._run(["ovs-appctl", "-t", self.path("ovs-vswitchd.ctl"), *args]).stdout

    def add_bridge(self, name: str) -> None:
        self._bridges.append(name)
        self.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")
        self._run(["ip", "link", "set", name, "up"])

    def add_port(self, bridge: str, port: str) -> None:
        self.vsctl("add-port", bridge, port)

    def add_bond(self, bridge: str, bond: str, ports: Sequence[str], *, bond_mode: str = "balance-slb",
                 lacp: str = "off", lacp_time: str | None = None, extra: Iterable[str] = ()) -> None:
        """`extra`: further Port column settings such as
        ``other_config:lacp-fallback-ab=true`` or ``bond_updelay=100``."""
        if len(ports) < 2:
            raise ValueError("an OVS bond needs at least two ports")
        settings = [f"bond_mode={bond_mode}", f"lacp={lacp}", f"other_config:lacp-system-id={self.system_id}"]
        if lacp_time is not None:
            settings.append(f"other_config:lacp-time={lacp_time}")
        settings.extend(extra)
        self.vsctl("add-bond", bridge, bond, *ports, *settings)

    def bond_show(self, bond: str) -> str:
        return self.appctl("bond/show", bond)

    def lacp_show(self, bond: str) -> str:
        return self.appctl("lacp/show", bond)

    def lacp_show_stats(self, bond: str) -> str:
        return self.appctl("lacp/show-stats", bond)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""
