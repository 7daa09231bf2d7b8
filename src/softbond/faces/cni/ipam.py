"""Delegating addresses to the IPAM plugin, as the spec says a plugin does:
the executable named by ipam.type, found on CNI_PATH, run with this
command's environment and the same network configuration on stdin."""
from __future__ import annotations

import json
import os
import subprocess

from .spec import IPAM_FAILED, CniError, normalise_ips

IPAM_TIMEOUT = 60.0


def find_plugin(name: str, cni_path: str) -> str:
    for directory in cni_path.split(":"):
        path = os.path.join(directory, name)
        if directory and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise CniError(IPAM_FAILED, f"ipam: no plugin {name!r} in CNI_PATH ({cni_path})")


def run(command: str, ipam_type: str, env: dict[str, str], stdin: bytes) -> dict | None:
    """The IPAM plugin's result for ADD (as 1.0.0 "ips", "routes", "dns"),
    None for DEL and CHECK. Its own error object is passed on as it is."""
    plugin = find_plugin(ipam_type, env.get("CNI_PATH", ""))
    try:
        proc = subprocess.run([plugin], input=stdin, capture_output=True, timeout=IPAM_TIMEOUT,
                              env={**env, "CNI_COMMAND": command})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CniError(IPAM_FAILED, f"ipam: {plugin} {command}: {exc}") from None
    try:
        answer = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        answer = None
    if proc.returncode != 0:
        if isinstance(answer, dict) and isinstance(answer.get("code"), int):
            raise CniError(answer["code"], f"ipam: {ipam_type}: {answer.get('msg', '')}",
                           str(answer.get("details", "")))
        why = proc.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {proc.returncode}"]
        raise CniError(IPAM_FAILED, f"ipam: {ipam_type} {command} failed: {why[-1]}")
    if command != "ADD":
        return None
    if not isinstance(answer, dict):
        raise CniError(IPAM_FAILED, f"ipam: {ipam_type} ADD printed no JSON result")
    try:
        ips = normalise_ips(answer.get("ips", []))
    except ValueError as exc:
        raise CniError(IPAM_FAILED, f"ipam: {ipam_type}: {exc}") from None
    if not ips:
        raise CniError(IPAM_FAILED, f"ipam: {ipam_type} returned no IP address")
    routes = answer.get("routes") or []
    return {"ips": ips, "routes": routes if isinstance(routes, list) else [], "dns": answer.get("dns") or {}}
