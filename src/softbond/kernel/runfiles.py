"""Files under /run/softbond, opened so that no one else's file is trusted.

Everything here is root's: the directories must be owned by us (root) and
writable by no one else, and a file is opened without following a symlink
(O_NOFOLLOW), must be a regular file we own, and a temporary is created
fresh (O_EXCL). A directory or file that fails a check is refused with one
line naming it: whoever planted it gets nothing written through it.
"""
from __future__ import annotations

import os
import stat
import time

from ..core.errors import BondError

LOG_MAX_BYTES = 1 << 20     # BOND.log is rotated to BOND.log.1 past this
READ_LIMIT = 1 << 20        # no state record is anywhere near this


class RunError(BondError):
    """A run directory, state record or lock that cannot be trusted or used;
    the message is one line naming the path or the bond."""


def check_dir(path: str, *, private: bool) -> None:
    """`path` must be a real directory owned by us, writable by no one else
    (`private`: not even readable)."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise RunError(f"{path}: not a directory (refusing to use it)")
    if st.st_uid not in (0, os.geteuid()):
        raise RunError(f"{path}: owned by uid {st.st_uid}, not root (refusing to use it)")
    bad = 0o077 if private else 0o022
    if st.st_mode & bad:
        raise RunError(f"{path}: mode {stat.S_IMODE(st.st_mode):04o} lets other users in (refusing to use it)")


def ensure_dir(path: str, *, private: bool) -> None:
    try:
        os.mkdir(path, 0o700 if private else 0o755)
    except FileExistsError:     # check_dir() below judges the one that is there
        pass
    except PermissionError:
        raise RunError(f"{path}: permission denied (root only; run as root)") from None
    check_dir(path, private=private)


def open_file(path: str, flags: int, mode: int = 0o600) -> int:
    """os.open without following a symlink; the result must be a regular
    file of ours."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except PermissionError:
        raise RunError(f"{path}: permission denied (root only; run as root)") from None
    except OSError as exc:
        if exc.errno == 40:     # ELOOP: the last component is a symlink
            raise RunError(f"{path}: is a symlink (refusing to follow it)") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid not in (0, os.geteuid()):
        os.close(fd)
        raise RunError(f"{path}: not a regular file owned by root (refusing to use it)")
    return fd


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None if there is no such file."""
    try:
        fd = open_file(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, READ_LIMIT)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes) -> None:
    """Replace `path` with `data` through a temporary created fresh."""
    tmp = path + ".tmp"
    try:
        os.unlink(tmp)          # a leftover, or a planted symlink: unlinked, never followed
    except FileNotFoundError:   # the usual case: no leftover
        pass
    fd = open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def quarantine(path: str) -> str:
    """Move a refused file aside (PATH.bad-<UTC time>) for whoever looks into it."""
    target = f"{path}.bad-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    os.replace(path, target)
    return target


def open_log(path: str) -> int:
    return open_file(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def rotate_log(path: str, fds=(1, 2), max_bytes: int = LOG_MAX_BYTES) -> bool:
    """If the log at `path` has grown past `max_bytes`, move it to PATH.1
    (replacing the previous one) and point `fds` at a fresh PATH; with
    `fds` given, only when they do write to `path` (not to systemd's
    journal)."""
    try:
        on_disk = os.lstat(path)
        if on_disk.st_size <= max_bytes:
            return False
        if fds:
            st = os.fstat(fds[0])
            if (st.st_dev, st.st_ino) != (on_disk.st_dev, on_disk.st_ino):
                return False
    except OSError:
        return False
    os.replace(path, path + ".1")
    if fds:
        fd = open_log(path)
        for target in fds:
            os.dup2(fd, target)
        os.close(fd)
    return True


def remove_tree(path: str) -> None:
    """Remove a run directory of plain files (never following a link).
    Two `up`s may collect the same stale directory at once: one that finds
    it gone already has nothing to do."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(path, name))
        except (IsADirectoryError, PermissionError, FileNotFoundError):
            pass        # not ours to remove (a directory, another owner's), or gone already
    try:
        os.rmdir(path)
    except OSError:     # not empty: what was left above stays, and so does its directory
        pass
