"""Per-namespace runtime files under /run/softbond.

Bond names are unique per network namespace, as in the kernel, but /run is
shared by every namespace on the host. So each namespace gets its own
directory, named by the inode of its network namespace: a `softbond`
command run inside a namespace finds that namespace's bonds and no others.

Per bond: BOND.sock (the control socket, root only) and BOND.json (the pid
and every member's original state, written before a member is touched, so
that a crash can always be repaired by the next `up`). The record of the
member an `up --inherit` bond took addresses from also holds "inherited":
{"from", "ifindex", "mtu", "addresses": [...], "routes": [...]} (see
ports/addrmove.capture), written before they move.
"""
from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # pyroute2 costs a CLI call a third of its start-up: only recovery needs it
    from .ports import links as linkops

RUN_ROOT = os.environ.get("SOFTBOND_RUN_DIR", "/run/softbond")
log = logging.getLogger("softbond")


def netns_id() -> str:
    return f"netns-{os.stat('/proc/self/ns/net').st_ino}"


def run_dir(create: bool = False) -> str:
    path = os.path.join(RUN_ROOT, netns_id())
    if create:
        os.makedirs(RUN_ROOT, mode=0o755, exist_ok=True)
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    return path


def socket_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.sock")


def state_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.json")


def log_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.log")


def write_state(bond: str, pid: int, members: list[linkops.LinkState], *, inherited: dict | None = None) -> None:
    """`inherited`: what the bond took from a member (inherit.py), kept in
    that member's record as "inherited" for crash recovery to give back."""
    path = state_path(bond)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    records = [m.to_json() for m in members]
    for record in records:
        if inherited is not None and record["ifindex"] == inherited["ifindex"]:
            record["inherited"] = inherited
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"bond": bond, "pid": pid, "members": records}, f)
    os.replace(tmp, path)


def read_state(bond: str) -> dict | None:
    try:
        with open(state_path(bond)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def remove_state(bond: str) -> None:
    for path in (state_path(bond), socket_path(bond)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def pid_alive(pid: int) -> bool:
    """Is `pid` a live softbond process? Zombies (unreaped where PID 1 does
    not reap) and recycled pids of other programs count as dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and b"softbond" in cmdline


def running_bonds() -> list[str]:
    try:
        names = sorted(n[:-5] for n in os.listdir(run_dir()) if n.endswith(".json"))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        state = read_state(name)
        if state and pid_alive(state.get("pid", -1)):
            out.append(name)
    return out


def owner_of(ifname: str, exclude: str | None = None) -> str | None:
    """Which running bond in this namespace holds `ifname` as a member:
    matched by ifindex, since a member keeps it through a rename (and an
    interface that took a member's old name is not that member)."""
    try:
        with open(f"/sys/class/net/{ifname}/ifindex") as f:
            ifindex = int(f.read())
    except (OSError, ValueError):
        return None
    for bond in running_bonds():
        if bond == exclude:
            continue
        state = read_state(bond) or {}
        if any(m.get("ifindex") == ifindex for m in state.get("members", [])):
            return bond
    return None


def recover_leftovers(bond: str, links: linkops.Links, adopt=()) -> dict[str, linkops.LinkState]:
    """Repair what a dead daemon left.

    Members named in `adopt` (the ones the new daemon is about to enslave
    again) are left exactly as they are, still bonded, and their recorded
    original state is returned so that a later release restores the real
    original: traffic resumes the moment the new daemon's sockets open,
    without a link reset. Every other recorded member is restored. The
    persistent TAP is kept (with its addresses and routes): the new daemon
    re-attaches to it.
    """
    from .ports import links as linkops

    state = read_state(bond)
    if state is None:
        return {}
    pid = state.get("pid", -1)
    if pid != os.getpid() and pid_alive(pid):
        raise RuntimeError(f"{bond}: already running (pid {pid})")
    adopted: dict[str, linkops.LinkState] = {}
    wanted = set(adopt)
    records = []
    inherited: dict[int, dict] = {}     # by ifindex: what the bond took from that member
    for data in state.get("members", []):
        try:
            fields = {k: v for k, v in data.items() if k != "inherited"}
            records.append(linkops.LinkState.from_json(fields))
        except (TypeError, AttributeError) as exc:
            log.warning("%s: unreadable member record %r: %s", bond, data, exc)
            continue
        if isinstance(data.get("inherited"), dict):
            inherited[records[-1].ifindex] = data["inherited"]
    # A member is the interface with the recorded ifindex, under whatever
    # name it has now, if it still looks enslaved: a MAC the bond gave it or
    # it had, or softbond's filter on it. Anything else is left alone.
    macs = {r.mac.lower() for r in records} | {linkops.sysfs(bond, "address") or ""}
    for original in records:
        found = links.find(original.ifindex)
        if found is None:
            continue
        name, mac = found
        if mac not in macs and not links.has_our_filter(original.ifindex):
            log.warning("%s: (slave %s): not restored after a crash: ifindex %d is now %s, with MAC %s, "
                        "which the bond never gave it", bond, original.name, original.ifindex, name, mac)
            continue
        if original.ifindex in inherited:   # never adopted: a new `up --inherit` takes them again
            from .inherit import recover_inherited
            recover_inherited(bond, links, original, inherited[original.ifindex], name)
            continue
        if name in wanted:
            adopted[name] = original
            continue
        try:
            links.restore(original)
        except linkops.LinkError as exc:
            log.warning("%s: (slave %s): could not restore after a crash: %s", bond, name, exc)
    log.warning("%s: repaired the leftovers of a previous run (pid %s)%s", bond, pid,
                f", adopting {', '.join(sorted(adopted))}" if adopted else "")
    remove_state(bond)
    return adopted

