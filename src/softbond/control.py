"""The control socket seen from both ends: the client (`request`), its
error (`ControlError`) and the method table (`METHODS`) that the bond
process's server dispatches from and the CLI and the web's actions build
their requests with.

It imports nothing of the CLI: monitor, top, web and doctor reach a bond
through here, so no module below the CLI imports the CLI back.

Wire format: one JSON object per line each way. Requests are
{"cmd": METHOD, ...its fields, "deadline": CLOCK_BOOTTIME seconds};
replies {"ok": true, ...} or {"ok": false, "error": "..."}.
"""
from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Callable

from .kernel import rundir as runtime


class ControlError(Exception):
    """A request refused or unanswered: one line naming the bond."""


class NoAnswer(ControlError):
    """The bond process did not answer in time (stopped, or wedged)."""


# ------------------------------------------------------------------ methods
def _no_fields(_request: dict) -> dict:
    return {}


def _iface_list(request: dict) -> dict:
    ifaces = request.get("ifaces")
    if not isinstance(ifaces, list) or not all(isinstance(i, str) for i in ifaces):
        raise ControlError("expected a list of interface names")
    return {"ifaces": ifaces}


def _iface(request: dict) -> dict:
    return {"iface": str(request.get("iface", ""))}


def _option_value(request: dict) -> dict:
    return {"option": str(request.get("option", "")), "value": str(request.get("value", ""))}


@dataclass(frozen=True)
class Method:
    """One verb of the control socket: its name on the wire ("cmd"), the
    fields it carries, and how the server reads them from a request."""
    name: str
    fields: tuple[str, ...]
    read: Callable[[dict], dict]    # request -> checked fields; raises ControlError

    def payload(self, **fields) -> dict:
        """The request for this method (what the client sends, before its deadline)."""
        if set(fields) != set(self.fields):
            raise TypeError(f"{self.name}: takes {', '.join(self.fields) or 'no fields'}, got {', '.join(fields)}")
        return {"cmd": self.name, **fields}


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("status", (), _no_fields),
    Method("enslave", ("ifaces",), _iface_list),
    Method("release", ("ifaces",), _iface_list),
    Method("set_active", ("iface",), _iface),
    Method("set", ("option", "value"), _option_value),
    Method("down", (), _no_fields),
)}


def method_of(request: dict) -> Method | None:
    """The method a request names, or None (unknown, or not a string)."""
    cmd = request.get("cmd")
    return METHODS.get(cmd) if isinstance(cmd, str) else None


# ------------------------------------------------------------------- client
def call(bond: str, method: str, timeout: float = 30.0, **fields) -> dict:
    """Run one method on a bond of this network namespace; its reply."""
    return request(bond, METHODS[method].payload(**fields), timeout)


def request(bond: str, payload: dict, timeout: float = 30.0) -> dict:
    return request_at(runtime.socket_path(bond), payload, timeout, bond=bond)


def request_at(path: str, payload: dict, timeout: float = 30.0, *, bond: str = "bond") -> dict:
    """One request over a control socket named by its path (a bond in
    another namespace is reached this way: its path names the namespace).

    The request carries its deadline (CLOCK_BOOTTIME, the same clock in
    every process): one the bond process reads too late - it was stopped,
    or busy - is dropped, never run after this side has given up on it."""
    deadline = time.clock_gettime(time.CLOCK_BOOTTIME) + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        _connect(sock, path, time.monotonic() + timeout)
        sock.sendall(json.dumps({**payload, "deadline": deadline}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except PermissionError:
        raise ControlError(f"{bond}: permission denied (the control socket is root only; run as root)") from None
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(f"{bond}: no such bond in this network namespace") from None
    except (socket.timeout, BlockingIOError):
        raise NoAnswer(f"{bond}: the bond process did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise ControlError(f"{bond}: control socket: {exc.strerror or exc}") from None
    finally:
        sock.close()
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError(f"{bond}: malformed reply from the bond process") from None
    if not reply.get("ok"):
        error = str(reply.get("error") or "request failed")
        raise ControlError(error if error.startswith(f"{bond}:") else f"{bond}: {error}")
    return reply


def _connect(sock: socket.socket, path: str, until: float) -> None:
    """connect(), retried while the socket's accept queue is full (EAGAIN:
    a flood of connections the bond process is shedding)."""
    while True:
        try:
            sock.connect(path)
            return
        except BlockingIOError:
            if time.monotonic() >= until:
                raise
            time.sleep(0.05)
