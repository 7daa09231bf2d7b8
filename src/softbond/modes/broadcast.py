"""broadcast (mode 3): every frame leaves by every usable member."""
from __future__ import annotations

from .base import Runner


class Broadcast(Runner):
    def transmit(self, usable, active, bond_mac):
        if not usable:
            return None
        sends = tuple(m.send for m in usable)
        if len(sends) == 1:
            return sends[0]

        def transmit(frame):
            for send in sends:
                try:
                    send(frame)
                except OSError:
                    pass  # one member failing must not starve the others
        return transmit
