"""`softbond web`: one dashboard for every bond of this network namespace.

    GET  /                           the dashboard (static page, vendored uPlot)
    GET  /api/bonds                  list of status dicts
    GET  /api/bonds/BOND             exactly `softbond status BOND --json`
    GET  /api/bonds/BOND/counters    member counters and the bond's totals
    GET  /api/stream                 Server-Sent Events: samples, rates, events
    GET  /api/info                   read-only or not, units, sampling interval
    GET  /api/openapi.json           OpenAPI 3 description of the above
    GET  /metrics                    Prometheus text format
    POST /api/bonds/BOND/set-active  {"iface": ..}        (only with a token)
    POST /api/bonds/BOND/enslave     {"ifaces": [..]}     (only with a token)
    POST /api/bonds/BOND/release     {"ifaces": [..]}     (only with a token)

The bonds are read through their control sockets by a *source* (see
softbond.faces.sampling); changes go through an *action* function. Both are
injected, so tests run the whole app on made-up status dicts.

Every read is served from the sampler's cache (one status call per bond
per interval, however many clients ask); see web/limits.py for what bounds
connections, request rates and logs.

Writes are refused unless the server was started with a token, and then
need it in the X-Softbond-Token header (compared in constant time). A
custom header cannot be sent cross-site without a CORS preflight, which this
server never grants; on top of that a POST whose Origin is not this server,
or that the browser marks as cross-site, is refused. The Host header must
name the listener on every listener (no DNS rebinding): on loopback one of
its loopback names, elsewhere an IP address or a name given with
--allow-host.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
import time
from typing import Callable

from aiohttp import web

from ... import __version__
from ...control import METHODS, ControlError
from ..sampling import UNITS, BondMonitor, Source, socket_action, totals
from . import metrics, openapi
from .limits import (
    ACCEPT_BACKLOG,
    DEFAULT_LIMITS,
    ConnectionGuard,
    GuardedRunner,
    Limits,
    RateLimiter,
    busy_middleware,
    loop_exception_handler,
    quiet_logging,
)

log = logging.getLogger("softbond")

STATIC = os.path.join(os.path.dirname(__file__), "static")
DEFAULT_LISTEN = "127.0.0.1:8470"
TOKEN_HEADER = "X-Softbond-Token"
MAX_BODY = 16 * 1024

Action = Callable[[str, dict], dict]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# aiohttp 3.9 added AppKey and moved shutdown_timeout from the site to the
# runner; Debian 12 (the .deb's python3-aiohttp) has 3.8.
AIOHTTP_39 = hasattr(web, "AppKey")
STATE = web.AppKey("softbond_state", object) if AIOHTTP_39 else "softbond_state"
SHUTDOWN = {"shutdown_timeout": 1.0}


class HostRule:
    """Which Host headers name this listener: `exact` (lower case) when the
    listener is loopback; otherwise HOST:PORT where HOST is an IP address
    (DNS rebinding needs a name) or one of `names`."""

    def __init__(self, port: int, exact: set[str] | None = None, names: set[str] = frozenset()) -> None:
        self.port = port
        self.exact = {h.lower() for h in exact} if exact is not None else None
        self.names = {n.lower() for n in names}

    def allows(self, header: str) -> bool:
        header = header.lower()
        if self.exact is not None:
            return header in self.exact
        host, sep, port = header.rpartition(":")
        if not sep or port != str(self.port):
            return False
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if host in self.names:
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True


class WebState:
    def __init__(self, source: Source, action: Action, token: str | None, interval: float,
                 hosts: HostRule | None, limits: Limits) -> None:
        self.source = source
        self.action = action
        self.token = token
        self.interval = interval
        self.hosts = hosts
        self.limits = limits
        self.guard = ConnectionGuard(limits)
        self.rate_limiter = RateLimiter(limits.rate, limits.burst)
        self.monitor = BondMonitor()
        self.seq = 0  # samples done
        self.started = 0  # samples started
        self.latest: dict = {"seq": 0, "time": time.time(), "bonds": [], "unmanaged": []}
        self.cached: list[dict] = []  # the statuses of the last sample: what every read serves
        self.unmanaged: list[dict] = []     # bonds whose process died: {"name", "managed", "pid", "reason"}
        self.sampled = asyncio.Event()  # set once the first sample is in
        self.tick = asyncio.Event()
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.closing = False

    # ---------------------------------------------------------- sampling
    async def read_bonds(self) -> list[dict]:
        """One status call into every bond process: only the sampler does
        this. Status dicts, and {"name", "managed": false, "reason"} for a
        bond whose process died."""
        return [s for s in await asyncio.to_thread(self.source) if isinstance(s, dict)]

    async def statuses(self) -> list[dict]:
        """The bonds as of the last sample (waits for the first one)."""
        await self.sampled.wait()
        return self.cached

    async def next_sample(self) -> None:
        """Sample now (not at the next interval) and wait for a sample that
        started after this call (one under way may predate a change)."""
        want = self.started + 1
        self.wake.set()
        deadline = time.monotonic() + max(5.0, 3 * self.interval)
        while self.seq < want and not self.closing:
            tick = self.tick
            try:
                await asyncio.wait_for(tick.wait(), timeout=deadline - time.monotonic())
            except asyncio.TimeoutError:
                return

    async def sample(self) -> None:
        self.started += 1
        everything = await self.read_bonds()
        statuses = [s for s in everything if s.get("bond")]
        self.unmanaged = [s for s in everything if s.get("managed") is False]
        self.monitor.update(statuses)
        self.cached = statuses
        self.sampled.set()
        self.seq += 1
        self.latest = {"seq": self.seq, "time": time.time(),
                       "bonds": [self._bond_update(name, self.monitor.bonds[name].fresh)
                                 for name in self.monitor.names()],
                       "unmanaged": self.unmanaged}
        old, self.tick = self.tick, asyncio.Event()
        old.set()

    def _bond_update(self, name: str, events: list) -> dict:
        view = self.monitor.bonds[name]
        point = None
        if view.history:
            last = view.history[-1]
            point = {"t": last.time, "bond": _vec(last.rate),
                     "members": {m: _vec(h[-1].rate) for m, h in view.member_history.items() if h},
                     "protocols": {c: _vec(r) for c, r in view.protocol_rates.items()}}
        return {"bond": name, "status": view.status, "point": point, "events": events}

    def full(self) -> dict:
        """Everything a newly connected page needs: statuses, the whole rate
        history and the event timeline kept so far."""
        bonds = []
        for name in self.monitor.names():
            view = self.monitor.bonds[name]
            members = {m: [_vec(p.rate) for p in h] for m, h in view.member_history.items()}
            protocols = {c: [_vec(p.rate) for p in h] for c, h in view.protocol_history.items()}
            bonds.append({
                "bond": name, "status": view.status,
                "history": {"t": [p.time for p in view.history], "bond": [_vec(p.rate) for p in view.history],
                            "members": members, "protocols": protocols},
                "events": list(view.events),
            })
        return {"seq": self.seq, "time": time.time(), "read_only": self.token is None,
                "interval": self.interval, "units": list(UNITS), "bonds": bonds, "unmanaged": self.unmanaged}

    async def run(self) -> None:
        next_at = time.monotonic()
        while True:
            self.wake.clear()  # an action during the sample below asks for another one
            try:
                await self.sample()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep sampling whatever one sample did
                log.warning("softbond web: sampling failed: %s", exc)
                self.sampled.set()  # serve what there is rather than hang the readers
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay < 0:  # fell behind (slow bonds): do not try to catch up
                next_at, delay = time.monotonic(), 0
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=delay)
                next_at = time.monotonic()  # woken by an action: sample now
            except asyncio.TimeoutError:
                pass


def _vec(rate) -> list:
    return [round(rate.rx_Bps, 3), round(rate.tx_Bps, 3), round(rate.rx_pps, 3), round(rate.tx_pps, 3)]


# ------------------------------------------------------------ middleware
def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def guard(request: web.Request, handler):
    state: WebState = request.app[STATE]
    if state.hosts is not None and not state.hosts.allows(request.headers.get("Host", "")):
        return _json_error(421, f"unexpected Host header {request.headers.get('Host', '')!r}")
    if request.path.startswith("/api/") or request.path == "/metrics":
        wait = state.rate_limiter.wait_time(request.remote or "?")
        if wait:
            await asyncio.sleep(state.limits.refusal_delay)
            response = _json_error(429, f"too many requests from {request.remote}: at most "
                                        f"{state.limits.rate:g} per second")
            response.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
            return response
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if request.path.startswith("/api/") and exc.status >= 400:
            return _json_error(exc.status, exc.reason)
        raise


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if request.path.startswith("/api/") or request.path == "/metrics":
        response.headers["Cache-Control"] = "no-store"
    else:
        response.headers.setdefault("Cache-Control", "no-cache")


# -------------------------------------------------------------- handlers
async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(os.path.join(STATIC, "index.html"))


async def api_bonds(request: web.Request) -> web.Response:
    return web.json_response(await request.app[STATE].statuses())


async def _find(request: web.Request) -> dict:
    name = request.match_info["bond"]
    for status in await request.app[STATE].statuses():
        if status.get("bond") == name:
            return status
    raise _NotFound(name)


class _NotFound(Exception):
    def __init__(self, bond: str) -> None:
        super().__init__(bond)
        self.bond = bond


def _not_found(bond: str) -> web.Response:
    return _json_error(404, f"{bond}: no such bond")


async def api_bond(request: web.Request) -> web.Response:
    try:
        return web.json_response(await _find(request))
    except _NotFound as exc:
        return _not_found(exc.bond)


async def api_counters(request: web.Request) -> web.Response:
    try:
        status = await _find(request)
    except _NotFound as exc:
        return _not_found(exc.bond)
    return web.json_response({
        "bond": status["bond"],
        "members": {s["name"]: s.get("counters") or {} for s in status.get("slaves", [])},
        "total": totals(status),
    })


async def api_info(request: web.Request) -> web.Response:
    state: WebState = request.app[STATE]
    return web.json_response({"read_only": state.token is None, "version": __version__,
                              "units": list(UNITS), "interval": state.interval,
                              "token_header": TOKEN_HEADER})


async def api_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi.document(__version__))


async def api_metrics(request: web.Request) -> web.Response:
    state: WebState = request.app[STATE]
    statuses = await state.statuses() + state.unmanaged     # softbond_bond_managed counts both
    body = metrics.render(lambda: statuses)
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def api_stream(request: web.Request) -> web.StreamResponse:
    state: WebState = request.app[STATE]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    if request.method == "HEAD":  # headers only: a body here would be read as the next reply
        return response

    async def send(kind: str, payload: dict) -> None:
        await response.write(f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode())

    try:
        await send("full", state.full())
        seen = state.seq
        while not state.closing:
            tick = state.tick
            try:
                await asyncio.wait_for(tick.wait(), timeout=max(2.0, 2 * state.interval))
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if state.closing:
                break
            latest = state.latest
            if latest["seq"] != seen + 1:  # missed samples: resend everything
                await send("full", state.full())
            else:
                await send("update", latest)
            seen = latest["seq"]
    except ConnectionError:  # the page went away
        pass
    return response


# ---------------------------------------------------------------- writes
def _same_origin(request: web.Request) -> str | None:
    """Why a write looks cross-site, or None when it does not."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
    origin = request.headers.get("Origin")
    if origin is not None:
        host = request.headers.get("Host", "")
        if origin.lower() not in (f"http://{host}".lower(), f"https://{host}".lower()):
            return f"cross-site request refused (Origin {origin} is not this server)"
    return None


def _authorize(request: web.Request) -> web.Response | None:
    state: WebState = request.app[STATE]
    why = _same_origin(request)
    if why:
        return _json_error(403, why)
    if state.token is None:
        return _json_error(403, "read-only: start softbond web with --actions (or a token: SOFTBOND_WEB_TOKEN, "
                                "--token -, --token-file) to allow changes")
    given = request.headers.get(TOKEN_HEADER)
    if given is None:
        return _json_error(403, f"missing {TOKEN_HEADER} header")
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), state.token.encode()):
        return _json_error(403, "wrong token")
    return None


def _ifaces(body: dict) -> list[str]:
    ifaces = body.get("ifaces", [body["iface"]] if "iface" in body else None)
    if not isinstance(ifaces, list) or not ifaces or not all(isinstance(i, str) and i for i in ifaces):
        raise ValueError('expected {"ifaces": ["IF", ...]} or {"iface": "IF"}')
    return ifaces


def _iface(body: dict) -> dict:
    iface = body.get("iface")
    if not isinstance(iface, str) or not iface:
        raise ValueError('expected {"iface": "IF"}')
    return {"iface": iface}


# The control methods the dashboard's buttons run: the request body's
# fields (checked, as the HTTP API takes them) for each.
BODY_READERS: dict[str, Callable[[dict], dict]] = {
    "set_active": _iface,
    "enslave": lambda body: {"ifaces": _ifaces(body)},
    "release": lambda body: {"ifaces": _ifaces(body)},
}


def _write(name: str):
    method, read_body = METHODS[name], BODY_READERS[name]

    async def handler(request: web.Request) -> web.Response:
        refused = _authorize(request)
        if refused is not None:
            return refused
        state: WebState = request.app[STATE]
        try:
            raw = await request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                return _json_error(413, "request body too large")
            try:
                body = json.loads(raw or b"{}")
            except RecursionError:  # "[[[[...": nested deeper than the interpreter's stack
                raise ValueError("JSON nested too deeply") from None
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            payload = method.payload(**read_body(body))
        except ValueError as exc:
            return _json_error(400, f"bad request: {exc}")
        try:
            await _find(request)
        except _NotFound as exc:
            return _not_found(exc.bond)
        bond = request.match_info["bond"]
        try:
            reply = await asyncio.to_thread(state.action, bond, payload)
        except ControlError as exc:
            return _json_error(409, str(exc))
        await state.next_sample()  # reads made after this answer (and the pages) show the change
        return web.json_response({"ok": True, **{k: v for k, v in (reply or {}).items() if k != "ok"}})
    return handler


# ------------------------------------------------------------------- app
def create_app(source: Source, *, token: str | None = None, action: Action = socket_action,
               interval: float = 1.0, allowed_hosts: set[str] | HostRule | None = None,
               limits: Limits = DEFAULT_LIMITS) -> web.Application:
    """The dashboard app. `source()` returns the status dicts of every bond;
    `action(bond, payload)` sends a control request (raises ControlError).
    `allowed_hosts`: the exact Host headers to accept, or a HostRule."""
    if token is not None and not token:
        raise ValueError("the token must not be empty")
    if isinstance(allowed_hosts, (set, frozenset)):
        allowed_hosts = HostRule(0, exact=allowed_hosts)
    state = WebState(source, action, token, interval, allowed_hosts, limits)
    app = web.Application(middlewares=[busy_middleware(state.guard), guard], client_max_size=MAX_BODY)
    app[STATE] = state
    app.on_response_prepare.append(_security_headers)

    async def sampler(app: web.Application):
        state: WebState = app[STATE]
        state.task = asyncio.create_task(state.run())
        yield
        state.task.cancel()
        try:
            await state.task
        except asyncio.CancelledError:
            pass
    app.cleanup_ctx.append(sampler)

    async def end_streams(app: web.Application) -> None:
        state: WebState = app[STATE]
        state.closing = True  # open event streams end now, not at the shutdown timeout
        state.tick.set()
    app.on_shutdown.append(end_streams)

    r = app.router
    r.add_get("/", index)
    r.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    r.add_get("/api/bonds", api_bonds)
    r.add_get("/api/bonds/{bond}", api_bond)
    r.add_get("/api/bonds/{bond}/counters", api_counters)
    r.add_get("/api/stream", api_stream)
    r.add_get("/api/info", api_info)
    r.add_get("/api/openapi.json", api_openapi)
    r.add_get("/metrics", api_metrics)
    r.add_post("/api/bonds/{bond}/set-active", _write("set_active"))
    r.add_post("/api/bonds/{bond}/enslave", _write("enslave"))
    r.add_post("/api/bonds/{bond}/release", _write("release"))
    return app


def parse_listen(text: str) -> tuple[str, int]:
    """ADDR:PORT, [IPv6]:PORT or :PORT (all addresses)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text}: expected ADDR:PORT, e.g. {DEFAULT_LISTEN}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host and host != "localhost":
        ipaddress.ip_address(host)  # ValueError for anything else
    return host or "0.0.0.0", int(port)


def loopback_hosts(host: str, port: int) -> set[str] | None:
    """The Host headers to accept on a loopback listener: only the names of
    this listener (a page on another site that rebinds its DNS name to
    127.0.0.1 gets no answer). None for any other listener (see HostRule)."""
    if is_loopback(host):
        return {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"}
    return None


def is_loopback(host: str) -> bool:
    return host == "localhost" or bool(host and ipaddress.ip_address(host).is_loopback)


async def serve(app: web.Application, host: str, port: int, ssl_context=None) -> GuardedRunner:
    """Start listening; the caller cleans the returned runner up."""
    asyncio.get_running_loop().set_exception_handler(loop_exception_handler)
    runner = GuardedRunner(app, app[STATE].guard, access_log=None, handle_signals=True,
                           **(SHUTDOWN if AIOHTTP_39 else {}))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl_context, backlog=ACCEPT_BACKLOG,
                          **({} if AIOHTTP_39 else SHUTDOWN)).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def run(listen: str = DEFAULT_LISTEN, token: str | None = None, source: Source | None = None, *,
        ssl_context=None, allow_hosts: tuple[str, ...] = (), limits: Limits = DEFAULT_LIMITS,
        on_start: Callable[[], None] | None = None) -> int:
    """Serve until SIGINT/SIGTERM. `on_start` runs once the socket is bound
    (OSError from binding propagates before it)."""
    from ..sampling import socket_source
    quiet_logging()
    host, port = parse_listen(listen)
    rule = HostRule(port, exact=loopback_hosts(host, port), names=set(allow_hosts))
    app = create_app(source or socket_source(), token=token, allowed_hosts=rule, limits=limits)
    shown = f"[{host}]" if ":" in host else host
    mode = "changes allowed with the token" if token else "read-only"
    scheme = "https" if ssl_context is not None else "http"

    async def main() -> None:
        runner = await serve(app, host, port, ssl_context)
        try:
            print(f"softbond web: {scheme}://{shown}:{port}/ ({mode}); metrics at /metrics", flush=True)
            if on_start is not None:
                on_start()
            await asyncio.Event().wait()  # until a signal
        finally:
            await runner.cleanup()

    loop = asyncio.new_event_loop()
    task = loop.create_task(main())
    try:
        loop.run_until_complete(task)
    except (web.GracefulExit, KeyboardInterrupt):
        task.cancel()  # runs main()'s cleanup
        with contextlib.suppress(asyncio.CancelledError, web.GracefulExit, KeyboardInterrupt):
            loop.run_until_complete(task)
    finally:
        loop.close()
    return 0
