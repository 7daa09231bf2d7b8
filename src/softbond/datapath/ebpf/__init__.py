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
    try:
        obj, _ = loader.load(path)      # in a child: libbpf is never mapped here (loadchild.py)
    except OSError as exc:
        if exc.strerror and exc.strerror.startswith(libbpf.UNUSABLE):
            return False, str(exc)
        return False, f"cannot load {os.path.basename(path)}: {exc}"
    obj.close()
    return True, ""
