"""Throwaway test networks in network namespaces, for the demo, the
integration tests and the benchmarks.

    host ns:  eth0, eth1 (the bond's members) ... the bond itself
    switch ns: bridge br0 with sw0, sw1 (facing the members) and swp
    peer ns:  peer0 (a host behind the switch)

Every namespace name starts with a per-run prefix so that concurrent runs
never collide, and `close()` removes everything even after a failure.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

SOFTBOND = [sys.executable, "-m", "softbond"]


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

    @property
    def host(self) -> str:
        return f"{self.prefix}-host"

    @property
    def switch(self) -> str:
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
        for ns in (self.host, self.switch, *(self.peer(i) for i in range(self.peers))):
            self._ns(ns)
        sw = self.switch
        ip("-n", sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
        ip("-n", sw, "link", "set", "br0", "up")
        for i in range(self.members):
            self.add_member_link(i)
        for i in range(self.peers):
            port = f"swp{i}"
            ip("link", "add", port, "netns", sw, "type", "veth", "peer", "name", "peer0", "netns", self.peer(i))
            ip("-n", sw, "link", "set", port, "master", "br0", "up")
            ip("-n", self.peer(i), "addr", "add", f"{self.peer_ip(i)}/24", "dev", "peer0")
            ip("-n", self.peer(i), "link", "set", "peer0", "up")

    def add_member_link(self, i: int) -> None:
        ip("link", "add", self.member(i), "netns", self.host, "type", "veth",
           "peer", "name", self.switch_port(i), "netns", self.switch)
        ip("-n", self.switch, "link", "set", self.switch_port(i), "master", "br0", "up")

    def close(self) -> None:
        for ns in (self.host, self.switch, *(self.peer(i) for i in range(self.peers))):
            if ns in self.created or os.path.exists(f"/run/netns/{ns}"):
                self.stop_softbond(ns)
                ip("netns", "del", ns, check=False)
        self.created.clear()

    def stop_softbond(self, ns: str) -> None:
        """Kill any bond process left in `ns` (a failed test must not leak)."""
        proc = run(["ip", "netns", "pids", ns], check=False)
        for pid in proc.stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        run(["rm", "-rf", f"/run/softbond/netns-{self._ns_inode(ns)}"], check=False)

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
        return self.exec(ns or self.host, [*SOFTBOND, *args], check=check)

    def cut(self, i: int) -> None:
        """Pull member i's cable: its switch-side end goes down."""
        ip("-n", self.switch, "link", "set", self.switch_port(i), "down")

    def plug(self, i: int) -> None:
        ip("-n", self.switch, "link", "set", self.switch_port(i), "up")

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        return predicate()
