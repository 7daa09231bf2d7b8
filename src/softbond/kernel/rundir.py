"""Per-namespace runtime files under /run/softbond.

Bond names are unique per network namespace, as in the kernel, but /run is
shared by every namespace on the host. So each namespace gets its own
directory, named by the inode of its network namespace: a `softbond`
command run inside a namespace finds that namespace's bonds and no others.
An inode is reused once its namespace is gone, so every state record also
carries the namespace's cookie (SO_NETNS_COOKIE, never reused while the
host runs): a record from a namespace that no longer exists is ignored and
removed, never acted on.

Per bond: BOND.sock (the control socket, root only), BOND.json (the pid
and every member's original state, written before a member is touched, so
that a crash can always be repaired by the next `up`), BOND.lock (held by
the bond's process for its whole life: exactly one `up` of a bond wins) and
BOND.log. Files are opened as runfiles.py says: nobody else's is trusted.
The record of the member an `up --inherit` bond took addresses from also
holds "inherited": {"from", "ifindex", "mtu", "addresses": [...],
"routes": [...]} (see ports/addrmove.capture), written before they move.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import runfiles, staterecord
from .runfiles import RunError

if TYPE_CHECKING:   # pyroute2 costs a CLI call a third of its start-up: only recovery needs it
    from . import links as linkops

RUN_ROOT = os.environ.get("SOFTBOND_RUN_DIR", "/run/softbond")
SO_NETNS_COOKIE = getattr(socket, "SO_NETNS_COOKIE", 71)    # Linux 5.14
log = logging.getLogger("softbond")

__all__ = ["RunError"]


def netns_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def netns_id() -> str:
    return f"netns-{netns_inode()}"


def netns_cookie() -> int | None:
    """This network namespace's cookie: unique for the host's uptime, unlike
    its inode. None on a kernel without SO_NETNS_COOKIE."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            return struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
    except OSError:
        return None


def run_dir(create: bool = False) -> str:
    """This namespace's run directory, checked (root's, private) whenever
    it exists; RunError if it cannot be trusted."""
    path = os.path.join(RUN_ROOT, netns_id())
    try:
        if create:
            os.makedirs(os.path.dirname(RUN_ROOT) or "/", exist_ok=True)
            runfiles.ensure_dir(RUN_ROOT, private=False)
            runfiles.ensure_dir(path, private=True)
        elif os.path.lexists(path):
            runfiles.check_dir(RUN_ROOT, private=False)
            runfiles.check_dir(path, private=True)
    except RunError as exc:
        raise RunError(f"run directory {exc}") from None
    return path


def socket_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.sock")


def state_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.json")


def log_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.log")


def lock_path(bond: str) -> str:
    return os.path.join(run_dir(), f"{bond}.lock")


def write_state(bond: str, pid: int, members: list[linkops.LinkState], *, inherited: dict | None = None) -> None:
    """`inherited`: what the bond took from a member (inherit.py), kept in
    that member's record as "inherited" for crash recovery to give back."""
    path = os.path.join(run_dir(create=True), f"{bond}.json")
    records = [m.to_json() for m in members]
    for record in records:
        if inherited is not None and record["ifindex"] == inherited["ifindex"]:
            record["inherited"] = inherited
    record = {"bond": bond, "pid": pid, "netns_cookie": netns_cookie(), "members": records}
    runfiles.write_atomic(path, json.dumps(record).encode())


def read_state(bond: str) -> dict | None:
    """The bond's state record, or None if there is none of this namespace.

    A record that fails the schema is moved aside (BOND.json.bad-<time>)
    and refused with RunError; one left by an earlier namespace of the same
    inode (another cookie) is removed with its pins and ignored."""
    path = state_path(bond)
    try:
        data = runfiles.read_file(path)
    except RunError as exc:
        raise RunError(f"{bond}: state record {exc}") from None
    if data is None:
        return None
    try:
        record = json.loads(data)
        why = staterecord.problem(record, bond)
    except (ValueError, RecursionError):
        why = "not JSON"
    if why:
        moved = runfiles.quarantine(path)
        raise RunError(f"{bond}: {path}: invalid state record ({why}); moved to {os.path.basename(moved)}")
    # A record without a cookie was written before records had one: it is
    # believed while its live process in this namespace vouches for it.
    legacy = "netns_cookie" not in record and pid_alive(record["pid"])
    if record.get("netns_cookie") != netns_cookie() and not legacy:
        log.info("%s: removed a state record left by an earlier namespace (pid %s)", bond, record["pid"])
        remove_state(bond)
        _unpin(f"{netns_inode()}:{bond.replace('.', ':')}")
        return None
    return record


def remove_state(bond: str) -> None:
    for path in (state_path(bond), socket_path(bond)):
        try:
            os.unlink(path)
        except FileNotFoundError:   # already removed: that is the goal
            pass


def pid_alive(pid: int) -> bool:
    """Is `pid` a live softbond process of this namespace? Zombies (unreaped
    where PID 1 does not reap) and recycled pids of other programs count as
    dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
        same_netns = os.stat(f"/proc/{pid}/ns/net").st_ino == netns_inode()
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and b"softbond" in cmdline and same_netns


# --------------------------------------------------------------- bond list
@dataclass(frozen=True)
class BondRecord:
    """A bond known in this namespace: its process alive (managed) or not."""
    name: str
    pid: int
    alive: bool

    @property
    def reason(self) -> str | None:
        return None if self.alive else unmanaged_reason(self.name)

    def to_json(self) -> dict:
        return {"name": self.name, "managed": self.alive, "pid": self.pid, "reason": self.reason}


def unmanaged_reason(bond: str) -> str:
    """What a bond whose process died is still doing, from its device."""
    sysfs = f"/sys/class/net/{bond}"
    if os.path.exists(f"{sysfs}/tun_flags"):
        doing = "forwarding stopped (python)"
    elif os.path.exists(sysfs):
        doing = "forwarding continues unmanaged (eBPF)"
    else:
        doing = "its device is gone"
    return f"{bond}: process not running; {doing}; run `softbond up` to adopt it"


def list_bonds(problems: list[str] | None = None) -> list[BondRecord]:
    """Every bond with a state record in this namespace, alive or not: the
    one definition of which bonds exist. A refused record is left out and
    its one-line error appended to `problems` (or raised without it)."""
    try:
        names = sorted(n[:-5] for n in os.listdir(run_dir()) if n.endswith(".json"))
    except FileNotFoundError:
        return []
    except PermissionError:
        raise RunError(f"{run_dir()}: permission denied (root only; run as root)") from None
    out = []
    for name in names:
        try:
            state = read_state(name)
        except RunError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        if state:
            out.append(BondRecord(name, state["pid"], pid_alive(state["pid"])))
    return out


def running_bonds() -> list[str]:
    return [b.name for b in list_bonds() if b.alive]


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


# -------------------------------------------------------------------- lock
def lock_bond(bond: str, doing: str = "being brought up", wait: float = 0.0) -> int:
    """Take the bond's lock (an flock on BOND.lock) before anything is
    touched; returns its fd. The lock goes with the open file, so a forked
    bond process holds it as long as it lives: a second `up` (or a `down`
    repairing a dead one) fails while it does, with the holder's pid. The
    file is never removed: a new one would be a second lock."""
    run_dir(create=True)
    fd = runfiles.open_file(lock_path(bond), os.O_RDWR | os.O_CREAT)
    until = time.monotonic() + wait     # `wait`: for a process on its way out
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < until:
                time.sleep(0.01)
                continue
            holder = _lock_holder(fd)
            os.close(fd)
            raise RunError(f"{bond}: already {doing} (pid {holder})") from None
    set_lock_owner(fd, os.getpid())
    return fd


def set_lock_owner(fd: int, pid: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{pid}\n".encode(), 0)


def _lock_holder(fd: int) -> str:
    """The pid the holder wrote (it writes it right after taking the lock)."""
    for _ in range(50):
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text.isdigit():
            return text
        time.sleep(0.01)
    return "unknown"


# --------------------------------------------------------- garbage, pins
def collect_garbage() -> list[str]:
    """Remove the run directories and pinned maps of namespaces that no
    longer exist (no process in them, no /run/netns name), as `up` does;
    returns what was removed."""
    live = _live_netns_inodes()
    removed = []
    try:
        entries = os.listdir(RUN_ROOT)
    except FileNotFoundError:
        entries = []
    for entry in entries:
        if entry.startswith("netns-") and entry[6:].isdigit() and int(entry[6:]) not in live:
            runfiles.remove_tree(os.path.join(RUN_ROOT, entry))
            removed.append(entry)
    for pin in _pins():
        ino = pin.split(":", 1)[0]
        if ino.isdigit() and int(ino) not in live:
            _unpin(pin)
            removed.append(pin)
    return removed


def _live_netns_inodes() -> set[int]:
    live = {netns_inode()}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                live.add(os.stat(f"/proc/{pid}/ns/net").st_ino)
            except OSError:     # the process exited meanwhile: its namespace is not kept alive by it
                pass
    for base in ("/run/netns", "/var/run/netns"):
        try:
            for name in os.listdir(base):
                live.add(os.stat(os.path.join(base, name)).st_ino)
        except OSError:         # no such directory (no named namespaces) or one removed meanwhile
            pass
    return live


def _pin_root() -> str | None:
    # The loader (and the eBPF package it imports) costs `up` a tenth of a
    # second: only where a pin directory exists at all.
    bases = [os.environ["SOFTBOND_BPF_PIN_BASE"]] if os.environ.get("SOFTBOND_BPF_PIN_BASE") else \
        ["/sys/fs/bpf", "/run/softbond/bpf"]
    if not any(os.path.isdir(os.path.join(b, "softbond")) for b in bases):
        return None
    from ..datapath.ebpf import loader
    base = loader.pin_base(create=False)
    return os.path.join(base, "softbond") if base else None


def _pins() -> list[str]:
    root = _pin_root()
    try:
        return os.listdir(root) if root else []
    except OSError:
        return []


def _unpin(name: str) -> None:
    root = _pin_root()
    if root and os.path.isdir(os.path.join(root, name)):
        from ..datapath.ebpf import loader
        loader.unpin(os.path.join(root, name))


def rotate_log(bond: str, fds=(1, 2)) -> bool:
    """Rotate BOND.log past runfiles.LOG_MAX_BYTES (see runfiles.rotate_log)."""
    try:
        return runfiles.rotate_log(log_path(bond), fds)
    except (OSError, RunError):
        return False


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
    from . import links as linkops

    state = read_state(bond)
    if state is None:
        return {}
    pid = state.get("pid", -1)
    if pid != os.getpid() and pid_alive(pid):
        raise RunError(f"{bond}: already running (pid {pid})")
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
            from ..core.inherit import recover_inherited
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

