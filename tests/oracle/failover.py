"""Failover sequences (issue 19, section 2): the same scripted carrier cuts
and restores on an active-backup bond of the kernel's driver and one of
softbond, both in the guest (one clock, one load), run side by side; each
side's active member over time is recorded for test_failover.py.

One bond per side serves every sequence: the sequences change updelay,
downdelay, primary and primary_reselect live between them (a softbond
`up` costs ~20 s of Python start-up under emulation; a live `set` over the
control socket costs nothing). Each side's thread joins its namespace and
cuts carrier with an ioctl on the far end of the member's veth (an exec
is slow under emulation, and its start-up would blur the step's time).

What each side records: the kernel, its /proc text's "Currently Active
Slave" polled every POLL s; softbond, its own event log (the "active" and
"failover" events and their times), read once a sequence is over.

This file runs in the guest (the host's Python over 9p): stdlib only, but
for softbond's control client.
"""
from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass

try:
    from .scenarios import ip_batch, join_netns, sh
except ImportError:       # in the guest this directory is on sys.path, not a package
    from scenarios import ip_batch, join_netns, sh  # type: ignore[no-redef]

MIIMON = 100                      # ms, both bonds
BASE = f"mode=active-backup miimon={MIIMON}"
POLL = 0.005                      # s between two reads of the kernel's /proc text
RESET = 1.0                       # s with both carriers up before a sequence starts
# Every sequence runs twice: under emulation the guest can starve one side
# for a whole sequence (seen once: softbond heard nothing for 3 s), and the
# host test takes the first attempt in which both sides agree.
ATTEMPTS = 2
TREE_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


@dataclass(frozen=True)
class Sequence:
    options: tuple[tuple[str, str], ...]     # set live, in order, before the sequence
    steps: tuple[tuple[float, str, str], ...]  # (seconds from start, member, "down"/"up")
    length: float                          # seconds recorded after the last step


# In this order: primary is never cleared (`ip link ... type bond` cannot),
# so the sequences without one come first.
SEQUENCES: dict[str, Sequence] = {
    # No primary: the active member changes only when it fails.
    "updelay-downdelay": Sequence((("updelay", "300"), ("downdelay", "200")),
                                  ((0.0, "eth0", "down"), (1.0, "eth0", "up"), (2.0, "eth1", "down"),
                                   (3.0, "eth1", "up")), 0.5),
    # The carrier is back before downdelay ends: no failover at all.
    "flap-within-downdelay": Sequence((("downdelay", "600"),), ((0.0, "eth0", "down"), (0.2, "eth0", "up")), 0.9),
    # primary_reselect=always: the primary is taken back once updelay ends.
    "primary-always": Sequence((("downdelay", "200"), ("primary", "eth1"), ("primary_reselect", "always")),
                               ((0.0, "eth1", "down"), (1.0, "eth1", "up")), 1.0),
    # The primary fails again during its updelay: it is not taken back
    # until a whole updelay passes after its next return.
    "primary-back-aborted": Sequence((("updelay", "600"),),
                                     ((0.0, "eth1", "down"), (1.0, "eth1", "up"), (1.3, "eth1", "down"),
                                      (2.0, "eth1", "up")), 1.3),
    # better (same speed and duplex: not better) and failure: the primary
    # waits until the active member fails.
    "primary-better": Sequence((("updelay", "300"), ("primary_reselect", "better")),
                               ((0.0, "eth1", "down"), (0.8, "eth1", "up"), (1.6, "eth0", "down"),
                                (2.4, "eth0", "up")), 0.5),
    "primary-failure": Sequence((("primary_reselect", "failure"),),
                                ((0.0, "eth1", "down"), (0.8, "eth1", "up"), (1.6, "eth0", "down"),
                                 (2.4, "eth0", "up")), 0.5),
}


def set_carrier(sock: socket.socket, member: str, state: str) -> None:
    """The far end of member's veth (p0 for eth0) up or down: the member's carrier."""
    peer = ("p" + member[-1]).encode()
    ifreq = bytearray(struct.pack("16sH", peer, 0).ljust(40, b"\0"))
    fcntl.ioctl(sock, SIOCGIFFLAGS, ifreq)
    flags = struct.unpack_from("H", ifreq, 16)[0]
    struct.pack_into("H", ifreq, 16, flags | IFF_UP if state == "up" else flags & ~IFF_UP)
    fcntl.ioctl(sock, SIOCSIFFLAGS, ifreq)


def build(ns: str) -> None:
    sh("ip", "netns", "add", ns)
    lines = []
    for i in (0, 1):
        lines += [f"link add eth{i} type veth peer p{i}", f"link set p{i} up"]
    ip_batch(ns, lines)


class KernelSide:
    name = "kernel"

    def __init__(self, ns: str):
        self.ns = ns
        ip_batch(ns, [f"link add bond0 type bond {BASE.replace('=', ' ')}",
                      "link set eth0 master bond0", "link set eth1 master bond0", "link set bond0 up"])

    def set(self, name: str, value: str) -> None:
        sh("ip", "-n", self.ns, "link", "set", "bond0", "type", "bond", name, value)

    def active(self) -> str | None:
        with open("/proc/thread-self/net/bonding/bond0") as f:
            for line in f:
                if line.startswith("Currently Active Slave: "):
                    name = line.split(": ", 1)[1].strip()
                    return None if name == "None" else name
        return None

    def record(self, start: float, over, changes: list, step) -> None:
        """Polls the active member until it is over(), doing the steps when due."""
        last = self.active()
        while not over():
            step(time.time())
            current = self.active()
            if current != last:
                changes.append([round(time.time() - start, 4), current])
                last = current
            time.sleep(POLL)

    def destroy(self) -> None:
        sh("ip", "-n", self.ns, "link", "del", "bond0", check=False)


class SoftbondSide:
    """softbond's bond, started by its own CLI; then spoken to over its
    control socket by softbond's client from this thread (the socket's path
    names the namespace's inode: this process is in another namespace)."""
    name = "softbond"

    def __init__(self, ns: str):
        self.ns = ns
        self.socket = f"/run/softbond/netns-{os.stat(f'/run/netns/{ns}').st_ino}/bond0.sock"
        self.cli = ["ip", "netns", "exec", ns, "/usr/bin/python3", "-m", "softbond"]
        env = {**os.environ, "PYTHONPATH": TREE_SRC}
        self.up = subprocess.Popen([*self.cli, "up", "bond0", "--slaves", "eth0,eth1", *BASE.split(),
                                    "datapath=python"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)

    def started(self) -> None:
        out = self.up.communicate(timeout=300)[0]
        if self.up.returncode != 0:
            raise RuntimeError(f"softbond up: {out.strip()}")

    def call(self, payload: dict) -> dict:
        # softbond's own client, from this tree (run.sh's PYTHONPATH; its imports cost a second here, once)
        from softbond.control import request_at
        return request_at(self.socket, payload, bond="bond0")

    def set(self, name: str, value: str) -> None:
        self.call({"cmd": "set", "option": name, "value": value})

    def active(self) -> str | None:
        return self.call({"cmd": "status"})["status"]["active_slave"]

    def record(self, start: float, over, changes: list, step) -> None:
        """Does the steps when due; the changes come from the bond's events."""
        while not over():
            step(time.time())
            time.sleep(POLL)
        events = self.call({"cmd": "status"})["status"]["events"]
        if events and events[0]["time"] >= start:
            raise RuntimeError("softbond's event log no longer reaches back to the sequence's start")
        changes += [[round(e["time"] - start, 4), e["slave"]] for e in events
                    if e["time"] >= start and e["kind"] in ("active", "failover")]

    def destroy(self) -> None:
        subprocess.run([*self.cli, "down", "bond0"], env={**os.environ, "PYTHONPATH": TREE_SRC},
                       capture_output=True, timeout=300, check=False)


def side_thread(side, sequences: dict[str, Sequence], barrier: threading.Barrier, out: dict) -> None:
    """Runs every sequence on one side, meeting the other side at each start."""
    join_netns(side.ns)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)    # in side.ns: this thread is there now
    try:
        for name, seq in sequences.items():
            for _attempt in range(ATTEMPTS):
                for member in ("eth0", "eth1"):
                    set_carrier(sock, member, "up")
                for option, value in seq.options:
                    side.set(option, value)
                time.sleep(RESET)
                result = {"start": side.active(), "changes": [], "steps": [], "lag": 0.0}
                barrier.wait(timeout=120)
                start = time.time()
                pending = list(seq.steps)
                last = {"step": (start, 0.0), "call": start}

                def step(now: float) -> None:
                    """Called every POLL s: does the step that is due. A step is due
                    its interval after the previous step was done, so a late step
                    never shortens the next interval (a flap shorter than the
                    downdelay would be another sequence). Keeps the longest
                    lateness of these calls: how starved this thread was."""
                    result["lag"] = max(result["lag"], round(now - last["call"] - POLL, 4))
                    last["call"] = now
                    done, at = last["step"]
                    if pending and now - done >= pending[0][0] - at:
                        at, member, state = pending.pop(0)
                        set_carrier(sock, member, state)
                        done = time.time()
                        last["step"] = (done, at)
                        result["steps"].append(round(done - start, 4))

                side.record(start, lambda: not pending and time.time() - last["step"][0] >= seq.length,
                            result["changes"], step)
                out.setdefault(name, []).append(result)
    except Exception as e:  # noqa: BLE001 - reported to the host test, which fails on it
        out["error"] = f"{type(e).__name__}: {e}"
        barrier.abort()
    finally:
        sock.close()


class Run:
    """Both sides through every sequence. Made before the scenarios, so
    softbond's slow start runs beside them; started() before the module
    cases (their `dmesg -c` must not read this start's link messages);
    finish() once bonding is loaded again. A failure at any point is kept
    and finish() returns it as {"error": TEXT} (the host test fails on it)."""

    def __init__(self, prefix: str = "fo"):
        self.namespaces = {"kernel": f"{prefix}-k", "softbond": f"{prefix}-s"}
        self.sides: list = []
        self.error: str | None = None
        self._guarded(self._start)

    def _guarded(self, call) -> None:
        if self.error is None:
            try:
                call()
            except Exception as e:  # noqa: BLE001 - reported to the host test, which fails on it
                self.error = f"{type(e).__name__}: {e}"

    def _start(self) -> None:
        sh("modprobe", "tun")        # softbond's Python data path; no udev loads it here
        for ns in self.namespaces.values():
            build(ns)
        self.sides.append(SoftbondSide(self.namespaces["softbond"]))

    def started(self) -> None:
        self._guarded(lambda: self.sides[0].started())

    def _sequences(self) -> dict:
        self.sides.append(KernelSide(self.namespaces["kernel"]))
        barrier = threading.Barrier(2)
        results: dict[str, dict] = {side.name: {} for side in self.sides}
        threads = [threading.Thread(target=side_thread, args=(side, SEQUENCES, barrier, results[side.name]))
                   for side in self.sides]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def finish(self) -> dict:
        """{"kernel": {SEQ: result}, "softbond": {SEQ: result}}; a side that
        failed has {"error": TEXT} instead."""
        results: dict = {}
        self._guarded(lambda: results.update(self._sequences()))
        for side in self.sides:
            side.destroy()
        for ns in self.namespaces.values():
            sh("ip", "netns", "del", ns, check=False)
        return {"error": self.error} if self.error else results
