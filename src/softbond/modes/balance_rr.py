"""balance-rr (mode 0): frames go to the usable members in turn.

As bond_xmit_roundrobin(): packets_per_slave=1 rotates every frame, N
rotates every N frames, 0 picks a random member per frame. IGMP goes to the
first usable member so a group's reports always leave by one port (the
kernel uses curr_active_slave). A dead member leaves the rotation when the
control plane republishes without it.
"""
from __future__ import annotations

import itertools
import random

from .base import VNET, Runner

_IGMP_OFFSET = VNET + 14 + 9      # IPv4 protocol byte in an untagged frame
_ETHERTYPE = VNET + 12


def _is_igmp(frame) -> bool:
    return (len(frame) > _IGMP_OFFSET and frame[_ETHERTYPE] == 0x08 and frame[_ETHERTYPE + 1] == 0x00
            and frame[_IGMP_OFFSET] == 2)


class RoundRobin(Runner):
    def __init__(self, opts) -> None:
        super().__init__(opts)
        # Shared across republishes so the rotation does not restart at the
        # first member every time the member set changes.
        self._counter = itertools.count()

    def transmit(self, usable, active, bond_mac):
        if not usable:
            return None
        sends = tuple(m.send for m in usable)
        count = len(sends)
        first = sends[0]
        per_slave = self.opts.packets_per_slave
        counter = self._counter
        if count == 1:
            return first
        if per_slave == 0:
            randbelow = random.Random().randrange

            def transmit(frame):
                if _is_igmp(frame):
                    return first(frame)
                return sends[randbelow(count)](frame)
        elif per_slave == 1:
            def transmit(frame):
                if _is_igmp(frame):
                    return first(frame)
                return sends[next(counter) % count](frame)
        else:
            def transmit(frame):
                if _is_igmp(frame):
                    return first(frame)
                return sends[(next(counter) // per_slave) % count](frame)
        return transmit
