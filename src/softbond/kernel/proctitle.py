"""A bond process's title in ps and top: "softbond: bond0 [ebpf]".

The kernel's comm (ps -o comm, top) is set with prctl(PR_SET_NAME); the
command line (ps -o args, /proc/PID/cmdline) with setproctitle when it is
installed, else by writing over the process's original argv area in place,
as setproctitle does. The title keeps the word "softbond":
runtime.pid_alive() looks for it in /proc/PID/cmdline.
"""
from __future__ import annotations

import ctypes

PR_SET_NAME = 15
COMM_LEN = 15       # TASK_COMM_LEN less the NUL


def set_bond_title(bond: str, datapath: str) -> None:
    """A bond process's title: at start and after a live data path switch."""
    set_title(f"softbond: {bond} [{datapath}]")


def set_title(title: str) -> None:
    _set_comm(title)
    try:
        import setproctitle
    except ImportError:
        _overwrite_argv(title)
    else:
        setproctitle.setproctitle(title)


def _set_comm(title: str) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(title.encode()[:COMM_LEN]), 0, 0, 0)
    except (OSError, AttributeError):
        pass        # a title is a convenience: never a reason to fail


def _overwrite_argv(title: str) -> None:
    """Write `title` over argv[0..] (arg_start to arg_end, fields 48 and 49
    of /proc/self/stat), NUL-padded: the kernel then shows it as the whole
    command line. A shorter area takes a truncated title."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])     # fields 48, 49 (from 3 on)
    except (OSError, IndexError, ValueError):
        return
    if end - start < len("softbond") + 1:
        return
    data = title.encode()[:end - start - 1]
    ctypes.memmove(start, data.ljust(end - start, b"\0"), end - start)
