"""Per-member link state with updelay/downdelay, as bond_miimon_inspect/commit.

Pure logic: fed carrier observations and the time, it returns what happened
so the bond can log and reselect. States are the kernel's BOND_LINK_*.
"""

from __future__ import annotations

from dataclasses import dataclass

UP = "up"
FAIL = "going down"  # carrier lost, downdelay running
DOWN = "down"
BACK = "going back"  # carrier back, updelay running


@dataclass
class Change:
    """A transition worth logging; `settled` ones need a reselect."""

    message: str
    settled: bool


class LinkState:
    def __init__(self, carrier: bool) -> None:
        self.state = UP if carrier else DOWN
        self.deadline = 0.0  # when the running delay ends
        self.since = 0.0  # when the delay started
        self.failures = 0

    @property
    def usable(self) -> bool:
        """Counts as up for transmitting: UP, and FAIL until downdelay ends."""
        return self.state in (UP, FAIL)

    def observe(self, carrier: bool, now: float, updelay: float, downdelay: float, role: str = "") -> Change | None:
        state = self.state
        if carrier:
            if state == FAIL:
                self.state = UP
                return Change(f"link status up again after {self._elapsed_ms(now)} ms", False)
            if state == DOWN:
                if updelay > 0:
                    self.state, self.since, self.deadline = BACK, now, now + updelay
                    return Change(f"link status up for interface, enabling it in {int(updelay * 1000)} ms", False)
                self.state = UP
                return Change("link status definitely up", True)
        else:
            if state == UP:
                if downdelay > 0:
                    self.state, self.since, self.deadline = FAIL, now, now + downdelay
                    return Change(
                        f"link status down for {role}interface, disabling it in {int(downdelay * 1000)} ms", False
                    )
                return self._go_down()
            if state == BACK:
                self.state = DOWN
                return Change(f"link status down again after {self._elapsed_ms(now)} ms", False)
        return None

    def expire(self, now: float) -> Change | None:
        """Finish a delay whose time has come."""
        if self.state == FAIL and now >= self.deadline:
            return self._go_down()
        if self.state == BACK and now >= self.deadline:
            self.state = UP
            return Change("link status definitely up", True)
        return None

    def promote_early(self, now: float) -> int:
        """No member is up: the kernel takes a going-back member at once."""
        remaining = max(0, round((self.deadline - now) * 1000))
        self.state = UP
        return remaining

    def _go_down(self) -> Change:
        self.state = DOWN
        self.failures += 1
        return Change("link status definitely down, disabling slave", True)

    def _elapsed_ms(self, now: float) -> int:
        return round((now - self.since) * 1000)
