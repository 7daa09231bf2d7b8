"""The CNI protocol, specification 1.0.0 (containernetworking/cni SPEC.md):
the CNI_* environment, the versions this plugin speaks, results in each of
them and the error object. No I/O beyond what main() hands in."""
from __future__ import annotations

import json
import re

CURRENT = "1.0.0"
SUPPORTED = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")

# The spec's well-known error codes (100 and up are the plugin's own).
INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENV = 4
IO_FAILURE = 5
DECODE_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
BOND_FAILED = 100         # softbond could not bring the bond up (or down)
IPAM_FAILED = 101         # the IPAM plugin could not be run or gave no usable result
CHECK_FAILED = 102        # CHECK found the bond unlike its configuration

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION")
# The spec: a container ID is alphanumerics plus underscore, dot and hyphen.
_CONTAINER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class CniError(Exception):
    """Becomes the spec's error object on stdout and exit status 1."""

    def __init__(self, code: int, msg: str, details: str = ""):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def to_json(self, cni_version: str) -> dict:
        error = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            error["details"] = self.details
        return error


def version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def check_version(version: object) -> str:
    if not isinstance(version, str) or version not in SUPPORTED:
        raise CniError(INCOMPATIBLE_VERSION, "incompatible CNI versions",
                       f"config is {json.dumps(version)}, plugin supports {list(SUPPORTED)}")
    return version


def version_info() -> dict:
    return {"cniVersion": CURRENT, "supportedVersions": list(SUPPORTED)}


def read_environment(env: dict[str, str]) -> dict[str, str]:
    """The CNI_* variables the command needs; CniError(4) naming the missing
    or malformed ones. CNI_NETNS may be empty for DEL (the spec allows a DEL
    after the namespace is gone)."""
    command = env.get("CNI_COMMAND", "")
    if command not in COMMANDS:
        raise CniError(INVALID_ENV, f"CNI_COMMAND: {command!r} is not one of {', '.join(COMMANDS)}")
    needed = {"VERSION": (), "DEL": ("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH")}.get(
        command, ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"))
    missing = [name for name in needed if not env.get(name)]
    if missing:
        raise CniError(INVALID_ENV, f"required environment variables missing: {', '.join(missing)}")
    out = {name[4:].lower(): env.get(name, "") for name in
           ("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH", "CNI_ARGS")}
    if out["containerid"] and not _CONTAINER_ID.match(out["containerid"]):
        raise CniError(INVALID_ENV, f"CNI_CONTAINERID: {out['containerid']!r} is not a valid container ID")
    return out


def decode_config(data: bytes) -> dict:
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CniError(DECODE_FAILURE, f"network configuration on stdin is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise CniError(DECODE_FAILURE, "network configuration on stdin is not a JSON object")
    return config


# ------------------------------------------------------------------ results
def normalise_ips(ips: object) -> list[dict]:
    """IPAM or prevResult "ips" of any version as 1.0.0 entries (no
    "version", the interface index kept)."""
    if not isinstance(ips, list):
        raise ValueError("\"ips\" is not a list")
    out = []
    for ip in ips:
        if not isinstance(ip, dict) or not isinstance(ip.get("address"), str):
            raise ValueError("an \"ips\" entry has no address")
        out.append({k: v for k, v in ip.items() if k in ("address", "gateway", "interface")})
    return out


def encode_result(result: dict, cni_version: str) -> dict:
    """A 1.0.0-shaped result in `cni_version`'s shape: before 1.0.0 each IP
    carries "version" ("4" or "6")."""
    out = {"cniVersion": cni_version, **{k: v for k, v in result.items() if k != "cniVersion"}}
    if version_key(cni_version) < (1, 0, 0):
        out["ips"] = [{"version": "6" if ":" in ip["address"] else "4", **ip} for ip in result.get("ips", [])]
    return out
