"""Is an interface managed by NetworkManager or systemd-networkd? Either
would fight softbond over the member (addresses, MTU, link state).

Both daemons only manage the host's initial network namespace, and keep a
runtime file per managed link named by its ifindex (an ifindex is only
unique inside one namespace: elsewhere the answer is always None)."""
from __future__ import annotations

import os

NM_DEVICES = "/run/NetworkManager/devices"
NETWORKD_LINKS = "/run/systemd/netif/links"


def in_initial_netns() -> bool:
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino
    except OSError:
        return False


def managed_by(ifname: str, *, nm_dir: str = NM_DEVICES, networkd_dir: str = NETWORKD_LINKS,
               check_netns: bool = True) -> str | None:
    """"NetworkManager", "systemd-networkd" or None for interface `ifname`."""
    if check_netns and not in_initial_netns():
        return None
    try:
        with open(f"/sys/class/net/{ifname}/ifindex") as f:
            ifindex = f.read().strip()
    except OSError:
        return None
    nm = _keys(os.path.join(nm_dir, ifindex))
    if nm is not None and nm.get("managed", "true") != "false":
        return "NetworkManager"
    networkd = _keys(os.path.join(networkd_dir, ifindex))
    if networkd is not None and networkd.get("ADMIN_STATE", "unmanaged") not in ("unmanaged", "linger"):
        return "systemd-networkd"
    return None


def _keys(path: str) -> dict[str, str] | None:
    """KEY=VALUE lines of a runtime state file (sections ignored), or None."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
