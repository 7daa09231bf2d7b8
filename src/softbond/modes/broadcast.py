"""broadcast (mode 3): every frame leaves by every usable member (the
data path sends it on each: datapath/plan.compile_transmit, bond.bpf.c)."""

from __future__ import annotations

from .base import Runner


class Broadcast(Runner):
    pass
