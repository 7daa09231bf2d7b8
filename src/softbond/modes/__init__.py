"""One runner per bonding mode: which member sends each frame, which
members' frames go up, and the mode's periodic work."""

from __future__ import annotations

from ..config.registry import (
    BondOptions,
    BOND_MODE_8023AD,
    BOND_MODE_ACTIVEBACKUP,
    BOND_MODE_ALB,
    BOND_MODE_BROADCAST,
    BOND_MODE_ROUNDROBIN,
    BOND_MODE_TLB,
    BOND_MODE_XOR,
)
from .active_backup import ActiveBackup
from .alb import Alb
from .balance_rr import RoundRobin
from .balance_xor import Xor
from .base import Runner
from .broadcast import Broadcast
from .tlb import Tlb

RUNNERS: dict[int, type[Runner]] = {
    BOND_MODE_ROUNDROBIN: RoundRobin,
    BOND_MODE_ACTIVEBACKUP: ActiveBackup,
    BOND_MODE_XOR: Xor,
    BOND_MODE_BROADCAST: Broadcast,
    BOND_MODE_TLB: Tlb,
    BOND_MODE_ALB: Alb,
}


def make_runner(opts: BondOptions) -> Runner:
    if opts.mode == BOND_MODE_8023AD:
        # Imported by the bonds that run it: LACP's state machines are the
        # largest mode (0.6 MiB of every other bond's memory).
        from .ieee8023ad import Ieee8023ad

        return Ieee8023ad(opts)
    return RUNNERS[opts.mode](opts)
