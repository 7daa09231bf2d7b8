"""Load BPF objects in a throwaway child process; keep only their fds.

libbpf parses the object's ELF and, for the CO-RE field reads and the
kfunc of rescue.bpf.c, the kernel's whole BTF (several MiB). Done in the
bond's process, that churn stayed in its heap for life (glibc keeps what
was freed; fragments remain after malloc_trim) and copied pages the bonds
of one `up` share: with the rescue loaded in the bond, a first Python bond
grew from 19.6 to 20.5 MiB RSS and each further eBPF bond of one `up` from
8.1 to 8.4 MiB PSS (bench/RESULTS.md "Footprint"). A forked child does
the loading, hands the fds over a socketpair (SCM_RIGHTS) and exits with
its heap; the bond never maps libbpf at all.

The child runs only the load and os._exit(): no atexit handler, no
buffered output of the parent's, nothing of the parent's event loop.
"""
from __future__ import annotations

import json
import os
import socket
import warnings
from typing import Callable

#: the most fds one object hands over (bond.bpf.c has about 20 maps and programs)
MAX_FDS = 64
HEADER_MAX = 1 << 16

#: what a load hands back: map name -> fd, program name -> fd, and one
#: JSON-able value of the loader's own (load(): whether maps were reused)
Loaded = tuple[dict[str, int], dict[str, int], object]


def in_child(load: Callable[[], Loaded], what: str) -> Loaded:
    """Run `load` in a forked child and return its maps' and programs'
    fds, now this process's own. An OSError in the child is raised here
    with its errno and text; any other failure as an OSError naming `what`."""
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (a live
        # datapath switch has them): the child only loads and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        parent_end.close()
        _child(load, child_end)
    child_end.close()
    try:
        header, fds, _flags, _addr = socket.recv_fds(parent_end, HEADER_MAX, MAX_FDS)
    finally:
        parent_end.close()
        os.waitpid(pid, 0)
    try:
        reply: dict = json.loads(header) if header else {"error": f"{what}: the loading process died"}
        if "error" in reply:
            raise OSError(reply["errno"], reply["error"]) if reply.get("errno") else OSError(reply["error"])
        map_names: list[str] = reply["maps"]
        prog_names: list[str] = reply["progs"]
        if len(map_names) + len(prog_names) != len(fds):
            raise OSError(f"{what}: {len(fds)} fds handed over for {len(map_names) + len(prog_names)} objects")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    count = len(map_names)
    return dict(zip(map_names, fds[:count])), dict(zip(prog_names, fds[count:])), reply.get("extra")


def _child(load: Callable[[], Loaded], sock: socket.socket) -> None:
    code = 1
    try:
        try:
            maps, progs, extra = load()
            reply = {"maps": list(maps), "progs": list(progs), "extra": extra}
            fds = list(maps.values()) + list(progs.values())
        except OSError as exc:
            reply, fds = {"error": exc.strerror if exc.errno and exc.strerror else str(exc),
                          "errno": exc.errno or 0}, []
        socket.send_fds(sock, [json.dumps(reply).encode()], fds)
        code = 0
    except BaseException:   # nothing to tell: the parent reads an empty reply and says so
        pass
    finally:
        os._exit(code)
