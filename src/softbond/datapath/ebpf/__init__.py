"""eBPF fast path for softbond: the bond device is a veth pair, tc programs
move the frames, the Python control plane only writes BPF maps.

    ok, why = available()
    bond = EbpfBond("bond0", mac="02:...", mtu=1500)
    bond.attach_member("eth0", 3, mac)         # per member
    bond.publish(plan.build_plan(...))         # whenever the runner's view changes
    bond.set_carrier(True)
    bond.close(keep=True)                      # daemon restart: forwarding goes on

See bond.bpf.c for the data path, state.py for the maps, device.py for the
devices and filters, loader.py for loading, pinning and adoption.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..devices import is_peer_name, legacy_peer_name, peer_name
from ..abi import BUCKETS, MAX_MEMBERS

if TYPE_CHECKING:
    from .device import EbpfBond


def __getattr__(name: str):
    # EbpfBond when first asked for: the Python data path imports this
    # package for the carrier rescue (rescue.py) and has no use for the
    # eBPF bond's device code (issue 19, footprint).
    if name == "EbpfBond":
        from .device import EbpfBond
        return EbpfBond
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["available", "EbpfBond", "peer_name", "legacy_peer_name", "is_peer_name", "BUCKETS",
           "MAX_MEMBERS"]

_available: tuple[bool, str] | None = None


def available() -> tuple[bool, str]:
    """Whether the eBPF data path can run here: (True, "") or (False, one
    line saying why). Loads the object once (compiling it if needed), so
    the answer covers the verifier too; the result is cached."""
    global _available
    if _available is not None:
        return _available
    _available = _probe()
    return _available


def _probe() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "needs root (CAP_BPF and CAP_NET_ADMIN)"
    from . import build, libbpf, loader
    try:
        path = build.object_path()
    except FileNotFoundError as exc:
        return False, str(exc)
    mark = verified_mark(path)
    if mark is not None and _marked(mark):
        return True, ""
    try:
        obj, _ = loader.load(path)      # in a child: libbpf is never mapped here (loadchild.py)
    except OSError as exc:
        if exc.strerror and exc.strerror.startswith(libbpf.UNUSABLE):
            return False, str(exc)
        return False, f"cannot load {os.path.basename(path)}: {exc}"
    obj.close()
    if mark is not None:
        _mark(mark)
    return True, ""


def verified_mark(path: str) -> str | None:
    """The file that says the object at `path` passed this kernel's
    verifier since it booted, loaded by a process like this one: named by
    the object file's identity (inode, size, modification time in ns: a
    rebuild or reinstall is a new file; no hash, which would import
    OpenSSL into the bond), the boot's id, and this process's effective
    capabilities and user namespace (root without CAP_BPF, or in a
    container's namespace, is refused what full root is allowed), in the
    run directory (root's). A later `up` then skips the probe's load: the
    verifier runs over the whole object, 0.3 s on this project's machine,
    and the bond loads the object once more for itself anyway. None when
    any of it cannot be read (the probe loads, as before)."""
    from ...kernel import rundir
    try:
        st = os.stat(path)
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        with open("/proc/self/status") as f:
            caps = next(line.split()[1] for line in f if line.startswith("CapEff:"))
        userns = os.stat("/proc/self/ns/user").st_ino
    except (OSError, StopIteration, IndexError):
        return None
    name = f"bond.bpf-{st.st_ino}-{st.st_size}-{st.st_mtime_ns}-{boot}-{caps}-{userns}"
    return os.path.join(rundir.RUN_ROOT, "verified", name)


def _marked(mark: str) -> bool:
    from ...kernel import runfiles
    try:
        return runfiles.read_file(mark) is not None     # root's own regular file only, never a symlink
    except (OSError, runfiles.RunError):                # unreadable, or refused: probe, as if unmarked
        return False


def _mark(mark: str) -> None:
    from ...kernel import runfiles
    try:
        runfiles.ensure_dir(os.path.dirname(os.path.dirname(mark)), private=False)
        runfiles.ensure_dir(os.path.dirname(mark), private=True)
        runfiles.write_atomic(mark, b"verified\n")
        for name in os.listdir(os.path.dirname(mark)):  # an earlier build's or boot's: never asked for again
            if name.startswith("bond.bpf-") and name != os.path.basename(mark):
                os.unlink(os.path.join(os.path.dirname(mark), name))
    except (OSError, runfiles.RunError):                # no run directory here: the next `up` probes again
        pass
