"""What keeps one client from taking `softbond web` away from everybody else.

- Connections: an idle timeout from the moment a connection opens (aiohttp's
  keep-alive timer, which also runs before the first request), at most
  `per_peer` connections per peer address and `total` in all, kept below the
  process's open-file limit. A new connection over a cap closes the peer's
  (or anybody's) longest-idle connection; when every one is busy the new one
  is closed instead. So idle sockets, however many, never exhaust the file
  descriptors, and a fresh request is served even while they are held.
- Requests: a token bucket per peer address for the API and /metrics (429
  with Retry-After when empty, sent a second late). Reads are served from
  the sampler's cache anyway; this bounds the server's own work, and the
  flooding clients' too (they share the cores with the data path).
- Logs: the same message repeated (accept() failing with EMFILE, a peer
  resetting) is written once per window, with the count of the ones left
  out, on one line without a traceback.
"""
from __future__ import annotations

import asyncio
import logging
import re
import resource
import time
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger("softbond")

ACCEPT_BACKLOG = 64  # also how many connections asyncio accepts in one go, before the guard sees them
FD_RESERVE = ACCEPT_BACKLOG + 32  # ... plus the control sockets, static files, the sampler


@dataclass(frozen=True)
class Limits:
    idle_timeout: float = 15.0  # seconds a connection may sit without a request in progress
    per_peer: int = 32  # open connections per peer address
    total: int = 0  # open connections in all; 0: from the open-file limit
    rate: float = 20.0  # API requests per second per peer address (sustained)
    burst: int = 40  # ... and in a burst
    # a refused request is answered (429) after this long: a client looping
    # on refusals then waits instead of spinning on this machine's cores
    refusal_delay: float = 1.0

    def connection_cap(self) -> int:
        if self.total:
            return self.total
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 4096
        return max(8, min(4096, soft - FD_RESERVE))


DEFAULT_LIMITS = Limits()


def peer_of(transport) -> str:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, (tuple, list)) and peer else "?"


class ConnectionGuard:
    """Counts open connections per peer and sheds the longest-idle one over a
    cap. Hooked into aiohttp's web.Server (connection_made/connection_lost);
    the busy set is kept by `busy_middleware` (a request in progress, an
    event stream)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cap = limits.connection_cap()
        self.open: dict = {}  # handler -> (peer, transport), oldest first
        self.busy: set = set()
        self.shed = 0

    def made(self, handler, transport) -> None:
        peer = peer_of(transport)
        self.open[handler] = (peer, transport)
        same_peer = [h for h, (p, _t) in self.open.items() if p == peer]
        if len(same_peer) > self.limits.per_peer:
            self._shed(same_peer, handler, f"{peer} has {len(same_peer)} connections open")
        elif len(self.open) > self.cap:
            self._shed(list(self.open), handler, f"{len(self.open)} connections open")

    def lost(self, handler) -> None:
        self.open.pop(handler, None)
        self.busy.discard(handler)

    def _shed(self, pool: list, newest, why: str) -> None:
        victim = next((h for h in pool if h is not newest and h not in self.busy), newest)
        self.shed += 1
        log.warning("softbond web: %s (limit %d per peer, %d in all): closing %s connection",
                    why, self.limits.per_peer, self.cap,
                    "the new" if victim is newest else "an idle")
        _peer, transport = self.open.pop(victim)
        transport.close()


def busy_middleware(guard: ConnectionGuard):
    @web.middleware
    async def track_busy(request: web.Request, handler):
        conn = request.protocol
        guard.busy.add(conn)
        try:
            return await handler(request)
        finally:
            guard.busy.discard(conn)
    return track_busy


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server reports connections to a ConnectionGuard."""

    def __init__(self, app: web.Application, guard: ConnectionGuard, **kwargs) -> None:
        super().__init__(app, keepalive_timeout=guard.limits.idle_timeout, **kwargs)
        self.guard = guard

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        made, lost = server.connection_made, server.connection_lost

        # aiohttp calls these on its Server for every connection; wrapping the
        # two bound methods is the only hook it offers short of a private class
        def connection_made(handler, transport):
            made(handler, transport)
            self.guard.made(handler, transport)

        def connection_lost(handler, exc=None):
            self.guard.lost(handler)
            lost(handler, exc)
        server.connection_made = connection_made
        server.connection_lost = connection_lost
        return server


class RateLimiter:
    """A token bucket per peer address."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # peer -> (tokens, at)

    def wait_time(self, peer: str) -> float:
        """0 when the request may go ahead (and it is counted), else the
        seconds until it may."""
        now = self.clock()
        tokens, at = self.buckets.get(peer, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self.buckets[peer] = (tokens - 1.0, now)
            if len(self.buckets) > 4096:  # forget full buckets (peers gone quiet)
                self.buckets = {p: b for p, b in self.buckets.items() if b[0] < self.burst - 1}
            return 0.0
        self.buckets[peer] = (tokens, now)
        return (1.0 - tokens) / self.rate


class RepeatFilter(logging.Filter):
    """Lets a message through once per `window` seconds (by logger, level and
    format string); the next one that passes says how many were left out."""

    def __init__(self, window: float = 10.0, clock=time.monotonic) -> None:
        super().__init__()
        self.window, self.clock = window, clock
        self.seen: dict[tuple, list] = {}  # key -> [last passed at, left out since]

    def filter(self, record: logging.LogRecord) -> bool:
        # by the text with its numbers blanked: "fd=6" or "33 connections" vary
        key = (record.name, record.levelno, re.sub(r"\d+", "#", record.getMessage()))
        now = self.clock()
        entry = self.seen.get(key)
        if entry is not None and now - entry[0] < self.window:
            entry[1] += 1
            return False
        left_out = entry[1] if entry else 0
        self.seen[key] = [now, 0]
        if len(self.seen) > 1024:
            self.seen = {k: v for k, v in self.seen.items() if now - v[0] < self.window}
        if left_out:
            record.msg = f"{record.getMessage()} ({left_out} more like this in the last {self.window:.0f} s)"
            record.args = None
        return True


class OneLineFormatter(logging.Formatter):
    """No tracebacks on the terminal: the exception's text on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = f"{text}: {type(exc).__name__}: {exc}"
        return text.replace("\n", " ")


def quiet_logging(window: float = 10.0) -> None:
    """One stderr handler, one line per message, repeats collapsed, for the
    loggers `softbond web` runs through (its own, aiohttp's, asyncio's)."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(RepeatFilter(window))
    for name in ("softbond", "aiohttp", "asyncio"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """asyncio's errors (accept() out of file descriptors: asyncio then stops
    accepting for a second) as one collapsed line instead of a traceback."""
    exc = context.get("exception")
    message = context.get("message", "event loop error")
    if exc is not None:
        log.warning("softbond web: %s: %s", message, f"{type(exc).__name__}: {exc}")
    else:
        log.warning("softbond web: %s", message)
