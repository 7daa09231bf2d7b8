"""LacpSystem instances wired back to back in memory, on a fake clock: the
harness of tests/unit/test_lacp_*.py."""

from __future__ import annotations

from softbond.lacp import LacpSystem


def mac(n: int) -> bytes:
    return bytes([2, 0, 0, 0, n >> 8, n & 0xFF])


class Net:
    """Systems joined by in-memory cables.  Each step ticks every system at
    the current time and delivers what they send (the receiver is ticked
    again right after each receive, as the bond does)."""

    def __init__(self, dt: float = 0.1):
        self.t = 0.0
        self.dt = dt
        self.systems: list[LacpSystem] = []
        self.peer: dict[tuple[int, str], tuple[LacpSystem, str]] = {}
        self.cut: set[tuple[int, str]] = set()  # (id(receiver), port): frames dropped
        self.sent: list[tuple[float, LacpSystem, str, bytes]] = []
        self._next_port: dict[int, int] = {}

    def system(self, n: int, **kw) -> LacpSystem:
        s = LacpSystem(system_mac=mac(n), **kw)
        self.systems.append(s)
        return s

    def add(self, s: LacpSystem, port: str, speed: int = 1000, full: bool = True,
            up: bool = True) -> None:
        number = self._next_port.get(id(s), 0) + 1
        self._next_port[id(s)] = number
        s.add_port(port, port_number=number, mac=mac(0x100 * number + len(self.systems)),
                   speed_mbps=speed, full_duplex=full, link_up=up, now=self.t)

    def cable(self, a: LacpSystem, pa: str, b: LacpSystem, pb: str, speed: int = 1000,
              full: bool = True) -> None:
        for s, p in ((a, pa), (b, pb)):
            if p not in s._ports:
                self.add(s, p, speed, full)
        self.peer[(id(a), pa)] = (b, pb)
        self.peer[(id(b), pb)] = (a, pa)

    def _deliver(self, s: LacpSystem, frames) -> list:
        more = []
        for port, frame in frames:
            self.sent.append((self.t, s, port, frame))
            dst = self.peer.get((id(s), port))
            if dst is None:
                continue
            rs, rp = dst
            if (id(rs), rp) in self.cut:
                continue
            rs.receive(rp, frame, self.t)
            more.append((rs, rs.tick(self.t)))
        return more

    def step(self) -> None:
        queue = [(s, s.tick(self.t)) for s in self.systems]
        while queue:
            s, frames = queue.pop(0)
            queue.extend(self._deliver(s, frames))
        self.t = round(self.t + self.dt, 6)

    def run(self, seconds: float) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.step()

    def run_until(self, cond, limit: float) -> float:
        start = self.t
        while not cond():
            if self.t - start > limit:
                raise AssertionError(f"condition not met within {limit} s")
            self.step()
        return self.t - start

    def silence(self, s: LacpSystem, port: str) -> None:
        """Drop every frame arriving at (s, port)."""
        self.cut.add((id(s), port))

    def restore(self, s: LacpSystem, port: str) -> None:
        self.cut.discard((id(s), port))

    def lacpdus(self, s: LacpSystem, port: str, since: float = 0.0) -> list[float]:
        return [t for t, x, p, f in self.sent
                if x is s and p == port and t >= since and f[14] == 1]


def mux(s: LacpSystem, port: str) -> str:
    return s.port_info(port)["mux_state"]


def pair(**kw):
    net = Net()
    a = net.system(1, **kw.get("a", kw.get("both", {})))
    b = net.system(2, **kw.get("b", kw.get("both", {})))
    return net, a, b
