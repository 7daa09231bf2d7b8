"""One process per bond: runs the Bond on an asyncio loop and answers the
control socket (newline-delimited JSON, root only; its methods and wire
format are control.METHODS).
"""
from __future__ import annotations

from . import asyncio_without_tls  # noqa: F401 - before anything imports asyncio

import asyncio
import ctypes
import errno
import json
import logging
import os
import resource
import signal
import socket
import struct
import sys
import time

from .kernel import proctitle, rundir as runtime
from . import startup
from .faces.metrics_textfile import TextfileWriter
from .core.bond import Bond, BondError
from .config.model import BondConfig
from .control import ControlError, method_of
from .kernel.links import LinkError
from .core.ports import KernelLinks

log = logging.getLogger("softbond")
MAX_REQUEST = 64 * 1024
REQUEST_TIMEOUT = 5.0           # to send the request line (and to take the reply)
MAX_CONNECTIONS = 64
ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX = 0.05, 1.0


class BondLogHandler(logging.StreamHandler):
    """The bond's log on stderr (BOND.log, or the journal under systemd).

    A message repeated within REPEAT_WINDOW seconds is written once and
    counted: the count comes out with the next different message (a flood
    of one error is a few lines, not gigabytes). Past
    runfiles.LOG_MAX_BYTES the file is rotated to BOND.log.1."""

    REPEAT_WINDOW = 10.0

    def __init__(self, bond: str | None) -> None:
        super().__init__(sys.stderr)
        self.bond = bond
        self.last: str | None = None
        self.last_at = 0.0
        self.repeats = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        now = time.monotonic()
        if message == self.last and now - self.last_at < self.REPEAT_WINDOW:
            self.repeats += 1
            return
        if self.repeats:
            super().emit(logging.makeLogRecord({"msg": f"(the previous message repeated {self.repeats} times)"}))
        self.last, self.last_at, self.repeats = message, now, 0
        self.stream = sys.stderr
        super().emit(record)
        if self.bond:
            runtime.rotate_log(self.bond)


def setup_logging(bond: str | None = None) -> None:
    handler = BondLogHandler(bond)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("softbond")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    aio = logging.getLogger("asyncio")    # its accept-loop errors go through the same limit
    aio.handlers[:] = [handler]
    aio.propagate = False


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) we are ready, if it is listening."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), path)
    except OSError as exc:
        # systemd will time the unit out (Type=notify): say why in its journal
        log.warning("cannot tell systemd %r at %s: %s", message, path.lstrip("\0"), exc.strerror or exc)


class ControlServer:
    """The control socket: one request line per connection.

    A connection must send its request within REQUEST_TIMEOUT; at most
    MAX_CONNECTIONS (fewer under a low open-file limit) are open at once,
    and when a new one comes at the cap the oldest that has not sent its
    request yet is dropped (a flood of idle connections cannot lock out
    `softbond status`). Out of file descriptors, it sheds idle connections,
    or pauses accepting (backing off up to a second) instead of spinning."""

    def __init__(self, bond: Bond, stop: asyncio.Event) -> None:
        self.bond = bond
        self.stop = stop
        self.listener: socket.socket | None = None
        self.bond_stopped = asyncio.Event()
        self.clients: set[asyncio.Task] = set()
        self.idle: dict[asyncio.Task, None] = {}     # not yet sent their request, oldest first
        self.backoff = ACCEPT_BACKOFF_MIN
        # A quarter of the open-file limit at most: the cap, not EMFILE, is what a flood meets.
        self.max_connections = max(4, min(MAX_CONNECTIONS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4))
        self.methods = {"status": self._status, "enslave": self._enslave, "release": self._release,
                        "set_active": self._set_active, "set": self._set, "down": self._down}

    async def start(self) -> None:
        path = runtime.socket_path(self.bond.name)
        runtime.run_dir(create=True)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600: no window for others
        try:
            listener.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        listener.listen(128)
        listener.setblocking(False)
        self.listener = listener
        asyncio.get_running_loop().add_reader(listener.fileno(), self._accept)

    async def close(self) -> None:
        if self.listener is not None:
            asyncio.get_running_loop().remove_reader(self.listener.fileno())
            self.listener.close()
            self.listener = None
        for task in list(self.clients):
            task.cancel()

    def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(32):
            try:
                conn, _addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    raise
                log.warning("%s: control socket: cannot accept a connection (%s); pausing", self.bond.name,
                            exc.strerror)
                loop.remove_reader(self.listener.fileno())
                if self._shed_idle(max(1, len(self.idle) // 2)):
                    loop.call_later(ACCEPT_BACKOFF_MIN, self._resume)    # their fds close as they unwind
                else:       # the fds are held elsewhere: back off
                    loop.call_later(self.backoff, self._resume)
                    self.backoff = min(self.backoff * 2, ACCEPT_BACKOFF_MAX)
                return
            self.backoff = ACCEPT_BACKOFF_MIN
            if len(self.clients) >= self.max_connections and not self._shed_idle():
                conn.close()        # every slot is serving a request: this one retries
                continue
            task = loop.create_task(self._client(conn))
            self.clients.add(task)
            self.idle[task] = None
            task.add_done_callback(self._done)

    def _resume(self) -> None:
        if self.listener is not None:
            asyncio.get_running_loop().add_reader(self.listener.fileno(), self._accept)

    def _shed_idle(self, count: int = 1) -> bool:
        """Drop the oldest `count` connections still to send their request."""
        oldest = list(self.idle)[:count]
        for task in oldest:
            task.cancel()
            del self.idle[task]
        return bool(oldest)

    def _done(self, task: asyncio.Task) -> None:
        self.clients.discard(task)
        self.idle.pop(task, None)

    async def _client(self, conn: socket.socket) -> None:
        writer = None
        try:
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _pid, uid, _gid = struct.unpack("3i", creds)
            reader, writer = await asyncio.open_unix_connection(sock=conn, limit=MAX_REQUEST)
            if uid != 0:
                reply = {"ok": False, "error": "permission denied: the control socket is root only"}
            else:
                line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
                self.idle.pop(asyncio.current_task(), None)
                reply = await self.handle(line)
            writer.write(json.dumps(reply).encode() + b"\n")
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT)
        except (ConnectionError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError, OSError):
            pass
        finally:
            if writer is not None:
                writer.close()
            else:
                conn.close()

    async def handle(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
            return {"ok": False, "error": "malformed request: expected one JSON object per line"}
        cmd = request.get("cmd")
        bond = self.bond
        deadline = request.get("deadline")
        if isinstance(deadline, (int, float)) and time.clock_gettime(time.CLOCK_BOOTTIME) > deadline:
            # The client gave up on it (this process was stopped or busy):
            # running it now would surprise whoever ran the command.
            log.warning("%s: dropped a %r request that came after its client had given up", bond.name, cmd)
            return {"ok": False, "error": f"{bond.name}: request expired before the bond process read it"}
        method = method_of(request)
        if method is None:
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        try:
            return await self.methods[method.name](**method.read(request))
        except (ControlError, BondError, LinkError) as exc:
            return {"ok": False, "error": str(exc)}

    # One per control.METHODS entry: the method's fields as keyword arguments.
    async def _status(self) -> dict:
        return {"ok": True, "status": self.bond.status()}

    async def _enslave(self, ifaces: list[str]) -> dict:
        self.bond.check_enslaveable(ifaces)     # all of them first: a refused command changes nothing
        for name in ifaces:
            self.bond.enslave(name)
        return {"ok": True}

    async def _release(self, ifaces: list[str]) -> dict:
        self.bond.check_releasable(ifaces)
        for name in ifaces:
            self.bond.release(name)
        return {"ok": True}

    async def _set_active(self, iface: str) -> dict:
        self.bond.set_active(iface)
        return {"ok": True}

    async def _set(self, option: str, value: str) -> dict:
        return {"ok": True, "warnings": self.bond.set_option(option, value)}

    async def _down(self) -> dict:
        self.stop.set()
        await self.bond_stopped.wait()
        return {"ok": True}


async def serve(config: BondConfig, ready_fd: int | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    links = KernelLinks()
    bond = Bond(config, links)
    server = ControlServer(bond, stop)
    try:
        await bond.start()
        await server.start()
    except Exception as exc:  # report any start failure to the waiting CLI
        message = startup.failure(config.name, exc)
        log.exception("%s", message)
        try:
            await bond.stop()
        except Exception as cleanup_exc:
            log.error("%s: cleanup after failed start: %s", config.name, cleanup_exc)
        _report(ready_fd, "error " + message)
        links.close()
        return 1
    proctitle.set_bond_title(config.name, bond.device.kind)
    warnings = await startup.warnings(bond) if ready_fd is not None else []
    _report(ready_fd, "".join(f"warn {w}\n" for w in warnings) + "ok")
    sd_notify("READY=1")
    _give_back_free_memory()
    textfile = TextfileWriter(bond)     # metrics_textfile=DIR (none: the task only looks)
    textfile.start()
    await stop.wait()
    sd_notify("STOPPING=1")
    textfile.stop()
    await bond.stop()
    log.info("%s: bond removed, members restored", config.name)
    server.bond_stopped.set()
    await asyncio.sleep(0.05)  # let a waiting `down` client read its reply
    await server.close()
    links.close()
    return 0


def _give_back_free_memory() -> None:
    """What the start freed (the CLI's and the config's leftovers, import
    scratch) goes back to the kernel: glibc keeps freed heap for reuse, and
    an idle bond would carry it for its life (0.8 MiB of RSS measured)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):   # not glibc
        pass


def _report(fd: int | None, message: str) -> None:
    if fd is None:
        return
    try:
        os.write(fd, message.encode() + b"\n")
        os.close(fd)
    except OSError:     # the `up` that waits for this line is gone (killed): nobody to tell
        pass


# How long a thread waiting for the GIL lets the holder run before asking
# for it (CPython's default is 5 ms). The data path thread, busy polling,
# takes the GIL back right after each syscall, so the control plane - a
# link event to fail over on - would wait out the whole interval.
GIL_SWITCH_INTERVAL = 0.0001


def preload(config: BondConfig) -> None:
    """Import, in the process that forks the bond, the modules its data path
    will import, and ask once whether eBPF can run: the bonds one `up`
    forks then share them copy-on-write instead of each importing its own
    copy (bench/RESULTS.md "Footprint"). Only the path asked for (auto:
    eBPF), since the first bond's RSS counts all the parent imported; the
    loading of the bond's own object stays in the bond."""
    datapath = config.options.datapath
    if datapath in ("auto", "ebpf"):
        from .datapath import ebpf
        from .datapath.ebpf import device  # noqa: F401  (the package imports it lazily)
        try:
            # Cached, so the bonds forked after this do not each load the
            # object once more to ask (libbpf's churn in a child dirtied
            # 0.2 MiB of the heap pages it shares).
            ebpf.available()
        except Exception:   # the bond asks again, and reports it in its own words
            pass
    else:
        # The Python paths run the carrier rescue too (datapath/ebpf/rescue.py).
        from .datapath.ebpf import rescue  # noqa: F401
        if config.options.datapath_workers > 1:
            from .datapath import workers  # noqa: F401
        else:
            from .datapath import inprocess  # noqa: F401


def run(config: BondConfig, ready_fd: int | None = None) -> int:
    setup_logging(config.name)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    return asyncio.run(serve(config, ready_fd))
