"""One process per bond: runs the Bond on an asyncio loop and answers the
control socket (newline-delimited JSON, root only).

Requests:  {"cmd": "status"} | {"cmd": "enslave", "ifaces": [..]} |
           {"cmd": "release", "ifaces": [..]} | {"cmd": "set_active", "iface": ..} |
           {"cmd": "set", "option": .., "value": ..} | {"cmd": "down"}
Replies:   {"ok": true, ...} or {"ok": false, "error": "..."}
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import struct
import sys

from . import proctitle, runtime, startup
from .metrics_textfile import TextfileWriter
from .bond import Bond, BondError
from .config.model import BondConfig
from .ports.links import LinkError, Links

log = logging.getLogger("softbond")
MAX_REQUEST = 64 * 1024


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("softbond")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


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
    except OSError:
        pass


class ControlServer:
    def __init__(self, bond: Bond, stop: asyncio.Event) -> None:
        self.bond = bond
        self.stop = stop
        self.server: asyncio.AbstractServer | None = None
        self.bond_stopped = asyncio.Event()

    async def start(self) -> None:
        path = runtime.socket_path(self.bond.name)
        runtime.run_dir(create=True)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        old = os.umask(0o177)  # the socket is born 0600: no window for others
        try:
            self.server = await asyncio.start_unix_server(self._client, path=path, limit=MAX_REQUEST)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _pid, uid, _gid = struct.unpack("3i", creds)
            if uid != 0:
                reply = {"ok": False, "error": "permission denied: the control socket is root only"}
            else:
                line = await reader.readline()
                reply = await self.handle(line)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def handle(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
            return {"ok": False, "error": "malformed request: expected one JSON object per line"}
        cmd = request.get("cmd")
        bond = self.bond
        try:
            if cmd == "status":
                return {"ok": True, "status": bond.status()}
            if cmd in ("enslave", "release"):
                ifaces = request.get("ifaces")
                if not isinstance(ifaces, list) or not all(isinstance(i, str) for i in ifaces):
                    raise BondError("expected a list of interface names")
                if cmd == "enslave":
                    bond.check_enslaveable(ifaces)     # all of them first: a refused command changes nothing
                else:
                    bond.check_releasable(ifaces)
                for name in ifaces:
                    (bond.enslave if cmd == "enslave" else bond.release)(name)
                return {"ok": True}
            if cmd == "set_active":
                bond.set_active(str(request.get("iface", "")))
                return {"ok": True}
            if cmd == "set":
                warnings = bond.set_option(str(request.get("option", "")), str(request.get("value", "")))
                return {"ok": True, "warnings": warnings}
            if cmd == "down":
                self.stop.set()
                await self.bond_stopped.wait()
                return {"ok": True}
        except (BondError, LinkError) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": False, "error": f"unknown command {cmd!r}"}


async def serve(config: BondConfig, ready_fd: int | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    links = Links()
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
    proctitle.set_title(f"softbond: {config.name} [{bond.device.kind}]")
    warnings = await startup.warnings(bond) if ready_fd is not None else []
    _report(ready_fd, "".join(f"warn {w}\n" for w in warnings) + "ok")
    sd_notify("READY=1")
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


def _report(fd: int | None, message: str) -> None:
    if fd is None:
        return
    try:
        os.write(fd, message.encode() + b"\n")
        os.close(fd)
    except OSError:
        pass


# How long a thread waiting for the GIL lets the holder run before asking
# for it (CPython's default is 5 ms). The data path thread, busy polling,
# takes the GIL back right after each syscall, so the control plane - a
# link event to fail over on - would wait out the whole interval.
GIL_SWITCH_INTERVAL = 0.0001


def run(config: BondConfig, ready_fd: int | None = None) -> int:
    setup_logging()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    return asyncio.run(serve(config, ready_fd))
