"""LACP fallback (lacp_fallback=active-backup): an 802.3ad bond whose partner
never speaks runs as active-backup, with no I/O.

The kernel has no such option (Open vSwitch has lacp-fallback-ab, Arista,
Dell and Extreme switches "LACP fallback", Cumulus "LACP bypass"). Once no
LACPDU has arrived on any member for ``timeout`` seconds and no member holds
current partner information, one member with link up carries every frame,
both ways: the current one while it keeps its link, else the one with the
lowest port priority, then port number (the first enslaved), as the
kernel's aggregator selection breaks its ties. min_links does not hold the
carrier down meanwhile (active-backup has none). The LACP machines keep
running and sending, so a partner configured later is heard, and the
first LACPDU it sends ends the fallback.

The silence is counted while some member has link up: a bond whose links
were all down does not fall back the moment one comes up. Once in fallback
it stays there, whatever the links do, until a LACPDU arrives.
"""

from __future__ import annotations

from ..config.registry import LacpFallback
from .params import CURRENT
from .port import Port

OFF, ACTIVE_BACKUP = (mode.label for mode in LacpFallback)
MODES = (OFF, ACTIVE_BACKUP)


class Fallback:
    """The fallback state of one bond; LacpSystem drives it."""

    def __init__(self, mode: str = OFF, timeout: float = 90.0):
        self.mode = mode
        self.timeout = timeout
        self.heard_at: float | None = None  # last LACPDU, or when the silence began
        self.engaged_at: float | None = None
        self.member: Port | None = None  # carries the traffic while engaged

    @property
    def engaged(self) -> bool:
        return self.engaged_at is not None

    def heard(self, now: float) -> float | None:
        """A LACPDU arrived. Returns how long the fallback had lasted when
        this ends it, else None."""
        self.heard_at = now
        if self.engaged_at is None:
            return None
        lasted = now - self.engaged_at
        self.engaged_at = None
        self.member = None
        return lasted

    def deadline(self) -> float | None:
        """When the fallback would start, if nothing is heard before."""
        if self.mode == OFF or self.engaged or self.heard_at is None:
            return None
        return self.heard_at + self.timeout

    def update(self, ports: list[Port], now: float) -> tuple[str, Port | None, Port | None] | None:
        """Start, keep or leave the fallback; returns what changed, as
        ("start", member, None), ("member", new, old) or ("stop", None,
        old), or None."""
        if self.mode == OFF:
            if self.engaged:
                old, self.engaged_at, self.member = self.member, None, None
                return ("stop", None, old)
            return None
        up = [p for p in ports if p.link_up]
        if not self.engaged:
            if not up:
                self.heard_at = None  # the silence starts with a link
                return None
            if self.heard_at is None:
                self.heard_at = now
            if now - self.heard_at < self.timeout or any(p.rx_state == CURRENT for p in ports):
                return None
            self.engaged_at = now
            self.member = _best(up)
            return ("start", self.member, None)
        old = self.member
        if old is None or not old.link_up or old not in ports:
            self.member = _best(up) if up else None
            if self.member is not old:
                return ("member", self.member, old)
        return None

    def info(self, now: float) -> dict[str, object]:
        """What status shows: mode, timeout, whether engaged, the member,
        and the seconds without a LACPDU (None before any member had a
        link)."""
        silent = None if self.heard_at is None else round(max(now - self.heard_at, 0.0), 1)
        return {
            "mode": self.mode,
            "timeout": self.timeout,
            "active": self.engaged,
            "member": self.member.name if self.member is not None else None,
            "silent_for": silent,
        }


def _best(up: list[Port]) -> Port:
    return min(up, key=lambda p: (p.actor_port_priority, p.number))
