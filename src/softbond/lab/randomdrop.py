"""Random loss on a switch port, for the path monitor's tests and bench:
randomdrop.bpf.c, built with clang for a given loss (per thousand frames)
and attached with tc on the port's ingress, egress or both (its clsact
hooks, filter preference RANDOM_DROP_PREF), so the member behind the port
sees a gray failure: carrier up, part of its frames gone.
"""
from __future__ import annotations

import os
import subprocess
import tempfile

from ..datapath.ebpf.build import compile_command

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "randomdrop.bpf.c")
RANDOM_DROP_PREF = "49"     # its own tc filter preference, so detach() removes only it
_built: dict[int, str] = {}


def build(permille: int) -> str:
    """The object file dropping `permille` frames per thousand (built once per value)."""
    if permille not in _built:
        out = os.path.join(tempfile.gettempdir(), f"softbond-randomdrop-{os.getpid()}-{permille}.o")
        # The data path's flags and include paths (asm/types.h lives under the arch triplet).
        subprocess.run(compile_command(SOURCE, out) + [f"-DPERMILLE={permille}"],
                       check=True, capture_output=True, text=True)
        _built[permille] = out
    return _built[permille]


def attach(ns: str, dev: str, permille: int, directions=("ingress", "egress")) -> None:
    """Drop `permille` per thousand of the frames `dev` (in namespace `ns`)
    receives and/or sends; replaces an earlier attach."""
    obj = build(permille)
    subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "clsact"], capture_output=True)
    for direction in directions:
        subprocess.run(["tc", "-n", ns, "filter", "replace", "dev", dev, direction, "pref", RANDOM_DROP_PREF,
                        "handle", "1", "bpf", "da", "obj", obj, "sec", "tc"],
                       check=True, capture_output=True, text=True)


def detach(ns: str, dev: str) -> None:
    for direction in ("ingress", "egress"):
        subprocess.run(["tc", "-n", ns, "filter", "del", "dev", dev, direction, "pref", RANDOM_DROP_PREF],
                       capture_output=True)
