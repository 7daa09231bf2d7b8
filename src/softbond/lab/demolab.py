"""What every `softbond demo` run does with its throwaway network: bring a
bond up, read its status over the control socket, count what each member
carried, run traffic (iperf3, a numbered UDP stream), and print the bond's
events as a timeline around a cut.

The counters are the member NICs' own (the kernel's), so "eth0 carried 51%"
is what went through eth0's cable, not what softbond thinks it sent.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from ..control import ControlError, request_at
from .netns import Topology
from .seqstream import Gap

ADDR = "192.168.100.199/24"
BOND = "bond0"
STREAM_PORT = 47000
IPERF_PORT = 5201


class DemoError(Exception):
    """A step of the demo failed: one line saying which and why."""


def say(text: str = "") -> None:
    print(text, flush=True)


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


class Lab:
    """A bond in `topo`'s host namespace and the peers behind its switch."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo

    # ------------------------------------------------------------- bond
    def up(self, mode: str, *options: str, slaves: str = "eth0,eth1") -> float:
        """`softbond up` (printed as typed); returns how long it took."""
        args = ["up", BOND, "--slaves", slaves, "--address", ADDR, f"mode={mode}", "miimon=100", *options]
        say("$ softbond " + " ".join(args))
        started = time.monotonic()
        proc = self.topo.softbond(*args, check=False)
        took = time.monotonic() - started
        if proc.returncode != 0:
            raise DemoError((proc.stderr or proc.stdout).strip() or "softbond up failed")
        for i in range(self.topo.peers):
            if not self.topo.wait_for(lambda: self.ping(i), timeout=10):
                raise DemoError(f"{BOND}: no answer from peer {self.topo.peer_ip(i)} 10 s after up")
        return took

    def down(self) -> bool:
        """`softbond down`, printed; never raises, so that it can run on the
        way out of a failed step without hiding that step's error (the
        namespaces, and any bond left in them, go with the topology)."""
        say(f"\n$ softbond down {BOND}")
        proc = self.topo.softbond("down", BOND, check=False)
        if proc.returncode != 0:
            say((proc.stderr or proc.stdout).strip())
        return proc.returncode == 0

    def status(self) -> dict:
        try:
            return request_at(self.topo.control_socket(BOND), {"cmd": "status"}, timeout=5, bond=BOND)["status"]
        except ControlError as exc:
            raise DemoError(str(exc)) from None

    def counters(self) -> dict[str, dict]:
        """member -> its NIC counters now."""
        return {s["name"]: dict(s.get("counters") or {}) for s in self.status()["slaves"]}

    def ping(self, i: int = 0) -> bool:
        return self.topo.exec(self.topo.host, ["ping", "-n", "-c", "1", "-W", "1", self.topo.peer_ip(i)],
                              check=False).returncode == 0

    # ----------------------------------------------------------- traffic
    def iperf(self, seconds: float, *, peers=(0,), streams: int = 1, reverse: bool = False,
              cport: int | None = None) -> list[float]:
        """iperf3 TCP from the bond to each of `peers` at once (or back, with
        reverse); Mbit/s that arrived, one figure per peer."""
        servers = [self.topo.popen(self.topo.peer(p), ["iperf3", "-s", "-1", "-p", str(IPERF_PORT + n)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for n, p in enumerate(peers)]
        clients = []
        try:
            time.sleep(0.4)
            for n, p in enumerate(peers):
                argv = ["iperf3", "-c", self.topo.peer_ip(p), "-p", str(IPERF_PORT + n), "-t", str(seconds),
                        "-P", str(streams), "-J"]
                argv += ["-R"] if reverse else []
                argv += ["--cport", str(cport + 100 * n)] if cport is not None else []
                clients.append(self.topo.popen(self.topo.host, argv, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True))
            rates = []
            for client in clients:
                out, _ = client.communicate(timeout=seconds + 30)
                try:
                    data = json.loads(out)
                except ValueError:
                    raise DemoError(f"iperf3: {out.strip()[:200]}") from None
                if "error" in data:
                    raise DemoError(f"iperf3: {data['error']}")
                rates.append(data["end"]["sum_received"]["bits_per_second"] / 1e6)
            return rates
        finally:
            for proc in (*clients, *servers):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    def stream(self, seconds: float, rate: int, *, cut_at: float | None = None, cut=None,
               sport: int = 0, peer: int = 0) -> tuple[Gap, float | None, float | None]:
        """The numbered UDP stream from the bond to a peer for `seconds` at
        `rate` datagrams/s; `cut()` runs `cut_at` seconds in and returns the
        monotonic and wall-clock instants of the cut (Cables.cut). Returns
        what the peer measured and those instants (None without a cut)."""
        receiver = self.topo.popen(self.topo.peer(peer),
                                   [sys.executable, "-m", "softbond.lab.seqstream", "recv", str(STREAM_PORT),
                                    str(seconds + 1.0)], stdout=subprocess.PIPE, text=True)
        try:
            if receiver.stdout.readline().strip() != "ready":
                raise DemoError("the stream receiver did not start")
            sender = self.topo.popen(self.topo.host, [sys.executable, "-m", "softbond.lab.seqstream", "send",
                                                      self.topo.peer_ip(peer), str(STREAM_PORT), str(rate),
                                                      str(seconds), str(sport)])
            cut_mono = cut_wall = None
            if cut is not None:
                time.sleep(cut_at)
                cut_mono, cut_wall = cut()
            sender.wait(timeout=seconds + 30)
            out, _ = receiver.communicate(timeout=30)
            data = json.loads(out)
        finally:
            for proc in (receiver,):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        gap = Gap.measure(int(rate * seconds), data["seq"], data["t"],
                          cut_mono if cut_mono is not None else float("inf"))
        return gap, cut_mono, cut_wall

    # ----------------------------------------------------------- reading
    def first_event_ms(self, cut_wall: float, kind: str) -> float | None:
        """Milliseconds from the cut to the bond's first event of `kind` after it."""
        times = [event.get("time") or 0 for event in self.status().get("events") or []
                 if event.get("kind") == kind and (event.get("time") or 0) >= cut_wall]
        return 1000 * (min(times) - cut_wall) if times else None

    def timeline(self, cut_wall: float, since: float = 2.0) -> list[str]:
        """The bond's events from `since` seconds before the cut on, each
        with its time from the cut."""
        lines = []
        for event in self.status().get("events") or []:
            t = event.get("time") or 0
            if t >= cut_wall - since:
                lines.append(f"  {1000 * (t - cut_wall):+8.1f} ms  {event.get('kind', ''):<8} "
                             f"{event.get('message', '')}")
        return lines


class Cables:
    """Pulls and plugs the members' cables at a known instant: one `ip
    -batch` process already running in the switch namespace takes each
    command from a pipe, so a cut happens within a fraction of a
    millisecond of cut() being called (starting `ip` for each would add
    tens of milliseconds of uncertainty to every figure timed from it)."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.proc = subprocess.Popen(["ip", "-n", topo.switch_ns, "-force", "-batch", "-"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)

    def _send(self, i: int, state: str) -> tuple[float, float]:
        mono, wall = time.monotonic(), time.time()
        self.proc.stdin.write(f"link set {self.topo.switch_port(i)} {state}\n")
        self.proc.stdin.flush()
        return mono, wall

    def cut(self, i: int) -> tuple[float, float]:
        """Member i's cable out; the monotonic and wall-clock instants."""
        return self._send(i, "down")

    def plug(self, i: int) -> tuple[float, float]:
        return self._send(i, "up")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def deltas(before: dict, after: dict, key: str) -> dict[str, int]:
    """member -> how much counter `key` grew between two counters()."""
    return {name: int(after[name].get(key, 0) or 0) - int(before.get(name, {}).get(key, 0) or 0)
            for name in after}


def shares(grown: dict[str, int], unit: str = "frames") -> str:
    """"eth0 1,002 frames (50%)  eth1 998 frames (50%)"."""
    whole = sum(grown.values())
    return "  ".join(f"{name} {count:,} {unit} ({pct(count, whole)})" for name, count in grown.items())


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer

