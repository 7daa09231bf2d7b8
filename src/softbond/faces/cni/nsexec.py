"""The container's network namespace, entered as `ip netns exec` does it.

A CNI_NETNS is a path (/var/run/netns/cni-..., /proc/PID/ns/net), not
always a name under /run/netns, so `ip netns exec` cannot be used. A child
runs in the namespace with a mount namespace of its own whose /sys is that
network namespace's sysfs (softbond reads /sys/class/net); /run stays
shared, so the bond's run directory is where every softbond looks for it.
`ip` needs no sysfs: it only enters the network namespace."""
from __future__ import annotations

import ctypes
import os
import subprocess

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def open_netns(path: str) -> int:
    """An fd of the network namespace at `path` (setns refuses anything else)."""
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _enter_for_exec(fd: int) -> None:
    """In the child, before exec: the network namespace, a private mount
    namespace, that namespace's sysfs on /sys (iproute2's netns_switch())."""
    setns(fd)
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _check(_libc.mount(b"", b"/", b"none", MS_SLAVE | MS_REC, None), "mount --make-rslave /")
    _libc.umount2(b"/sys", MNT_DETACH)
    _check(_libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount sysfs")


def run_in(fd: int | None, argv: list[str], *, sysfs: bool = True, input: str = "",
           timeout: float = 60) -> subprocess.CompletedProcess:
    """Run argv in the namespace `fd` (None: this process's own), its output
    captured; `input` on its stdin, never the runtime's network
    configuration. sysfs=False: the network namespace only (`ip` needs no
    /sys, and a mount namespace costs)."""
    if fd is None:
        enter = None
    elif sysfs:
        def enter():
            _enter_for_exec(fd)
    else:
        def enter():
            setns(fd)
    return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                          pass_fds=(fd,) if fd is not None else (), preexec_fn=enter)
