"""Members that NetworkManager or systemd-networkd manage, and would take
back (re-address, bring down, re-enslave) behind the bond's back.

Each daemon writes its per-link state under /run, keyed by ifindex, for the
network namespace it runs in. An ifindex means nothing in another
namespace, so a daemon's files count only while the daemon runs in this
one (a bond in a container or an `ip netns exec` namespace is not theirs).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

NM = "NetworkManager"
NETWORKD = "systemd-networkd"
# /proc/PID/comm of each (the kernel truncates it to 15 characters).
COMMS = {NM: "NetworkManager", NETWORKD: "systemd-network"}
STATE_FILES = {NM: "/run/NetworkManager/devices/{ifindex}", NETWORKD: "/run/systemd/netif/links/{ifindex}"}


@dataclass(frozen=True)
class Claim:
    manager: str
    member: str

    @property
    def command(self) -> str:
        if self.manager == NM:
            return f"nmcli device set {self.member} managed no"
        return (f"printf '[Match]\\nName={self.member}\\n[Link]\\nUnmanaged=yes\\n' "
                f"> /etc/systemd/network/10-softbond-{self.member}.network && networkctl reload")

    def warning(self, bond: str) -> str:
        return (f"{bond}: warning: {self.member} is managed by {self.manager}, which may take it back; "
                f"make it unmanaged with: {self.command}")


def _netns(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def running_here() -> set[str]:
    """The managers running in this network namespace."""
    wanted = {comm: name for name, comm in COMMS.items()}
    own = _netns("self")
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in wanted and _netns(pid) == own:
            found.add(wanted[comm])
    return found


def _state(path: str) -> dict[str, str]:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def manages(manager: str, ifindex: int, state_files: dict[str, str] = STATE_FILES) -> bool:
    state = _state(state_files[manager].format(ifindex=ifindex))
    if manager == NM:
        return state.get("managed") == "true"
    # "linger": networkd has let go of a link that went away and came back
    return state.get("ADMIN_STATE", "unmanaged") not in ("unmanaged", "linger")


def claims(members) -> list[Claim]:
    managers = running_here()
    if not managers:
        return []
    out = []
    for member in members:
        try:
            with open(f"/sys/class/net/{member}/ifindex") as f:
                ifindex = int(f.read())
        except (OSError, ValueError):
            continue
        out += [Claim(m, member) for m in sorted(managers) if manages(m, ifindex)]
    return out
