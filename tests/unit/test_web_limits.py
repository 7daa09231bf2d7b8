"""softbond web under load from one client (issue 16, findings 6 and 7):
reads come from the sampler's cache, requests are rate-limited per peer,
idle connections time out and are capped per peer, repeated log lines are
collapsed. On a fake bond source that counts the status calls it answers;
connections are real TCP on 127.0.0.1 (an ephemeral port)."""
from __future__ import annotations

import asyncio
import logging
import socket

import aiohttp
from tests.support.webfake import TOKEN, Fake, same_origin, start_client

from softbond.faces.web.limits import Limits, OneLineFormatter, RateLimiter, RepeatFilter
from softbond.faces.web.server import STATE, TOKEN_HEADER, create_app, serve

UNLIMITED = Limits(rate=1e9, burst=10**9)


class CountingFake(Fake):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def source(self):
        self.calls += 1  # one status call into every bond
        return super().source()

    def action(self, bond, payload):
        result = super().action(bond, payload)
        if payload["cmd"] == "set_active":
            self.statuses[0]["active_slave"] = payload["iface"]
        return result


def run_with(test, fake, **kw):
    async def go():
        client = await start_client(fake, **kw)
        try:
            await test(client)
        finally:
            await client.close()
    asyncio.run(go())


def test_a_read_flood_makes_no_status_calls_of_its_own():
    fake = CountingFake()

    async def t(client):
        await client.get("/api/bonds")  # the first sample is in
        state = client.server.app[STATE]
        before_calls, before_samples = fake.calls, state.started
        paths = ["/api/bonds", "/api/bonds/bond0", "/api/bonds/bond1/counters", "/metrics"] * 100
        replies = await asyncio.gather(*(client.get(p) for p in paths))
        assert all(r.status == 200 for r in replies)
        assert await replies[0].json() == fake.statuses
        # 400 reads; the bonds were asked once per sample, as with no reader
        assert fake.calls - before_calls == state.started - before_samples
        assert fake.calls - before_calls < 50, fake.calls - before_calls
    run_with(t, fake, interval=0.5, limits=UNLIMITED)


def test_a_read_after_a_change_shows_it():
    fake = CountingFake()

    async def t(client):
        assert (await (await client.get("/api/bonds/bond0")).json())["active_slave"] == "eth0"
        r = await client.post("/api/bonds/bond0/set-active", json={"iface": "eth1"},
                              headers=same_origin(client, **{TOKEN_HEADER: TOKEN}))
        assert r.status == 200
        assert (await (await client.get("/api/bonds/bond0")).json())["active_slave"] == "eth1"
    run_with(t, fake, interval=60, token=TOKEN, limits=UNLIMITED)  # no periodic sample to help


def test_api_requests_are_rate_limited_per_peer_and_the_page_is_not():
    fake = CountingFake()

    async def t(client):
        statuses = [(await client.get("/api/bonds")).status for _ in range(30)]
        assert statuses[:10] == [200] * 10 and 429 in statuses, statuses
        r = await client.get("/metrics")
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
        assert "too many requests" in (await r.json())["error"]
        assert (await client.get("/")).status == 200
        assert (await client.get("/static/app.js")).status == 200
    run_with(t, fake, interval=60, limits=Limits(rate=0.5, burst=10, refusal_delay=0))


def test_rate_limiter_refills():
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.wait_time("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.wait_time("a") == 0.5
    assert limiter.wait_time("b") == 0  # another peer has its own bucket
    now[0] += 0.5
    assert limiter.wait_time("a") == 0


def _connect(port, source="127.0.0.1"):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def _closed_by_server(s) -> bool:
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return False


def test_idle_connections_are_capped_per_peer_and_time_out():
    async def go():
        fake = Fake()
        limits = Limits(idle_timeout=1.0, per_peer=8, total=20, rate=1e9, burst=10**9)
        app = create_app(fake.source, interval=60, limits=limits)
        runner = await serve(app, "127.0.0.1", 0)
        try:
            port = runner.addresses[0][1]
            guard = app[STATE].guard
            held = [await asyncio.to_thread(_connect, port) for _ in range(40)]  # idle: no request
            await asyncio.sleep(0.2)
            assert len(guard.open) <= 8, len(guard.open)  # one peer: 8 at most
            # ...and a fresh client is still served
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/api/info") as r:
                assert r.status == 200
            # other peer addresses: the total cap
            others = [await asyncio.to_thread(_connect, port, f"127.0.0.{2 + i % 10}") for i in range(40)]
            await asyncio.sleep(0.2)
            assert len(guard.open) <= 20, len(guard.open)
            # the idle timeout closes what is left, without a request ever coming
            closed = await asyncio.to_thread(lambda: [_closed_by_server(s) for s in held + others])
            assert all(closed), closed.count(False)
            assert guard.shed >= 60
            for s in held + others:
                s.close()
        finally:
            await runner.cleanup()
    asyncio.run(go())


def test_repeated_log_lines_are_collapsed_to_one_line():
    now = [0.0]
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))
    handler = Keep()
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(RepeatFilter(window=10, clock=lambda: now[0]))
    logger = logging.getLogger("softbond.test-repeat")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for fd in range(1000):
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                logger.warning("accept failed on fd=%d", fd, exc_info=True)
        assert records == ["accept failed on fd=0: OSError: [Errno 24] Too many open files"]
        now[0] = 11
        logger.warning("accept failed on fd=%d", 5)
        logger.warning("something else")
        assert records[1] == "accept failed on fd=5 (999 more like this in the last 10 s)"
        assert records[2] == "something else" and len(records) == 3
        assert all("\n" not in r and "Traceback" not in r for r in records)
    finally:
        logger.removeHandler(handler)
