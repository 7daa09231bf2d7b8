"""balance-rr (mode 0): frames go to the usable members in turn.

As bond_xmit_roundrobin(): packets_per_slave=1 rotates every frame, N
rotates every N frames, 0 picks a random member per frame. IGMP goes to the
first usable member so a group's reports always leave by one port (the
kernel uses curr_active_slave). A dead member leaves the rotation when the
control plane republishes without it. The rotation itself is the data
path's (datapath/plan.compile_transmit, bond.bpf.c's sb_rr counter): the
runner's decisions are the base runner's, every usable member equal.
"""

from __future__ import annotations

from .base import Runner


class RoundRobin(Runner):
    pass
