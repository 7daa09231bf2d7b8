"""A bond member without sockets or links, for driving the pure core
(softbond.core.decide.BondCore) on a fake clock: tests/unit/test_core_*.py.
It has what the core and the mode runners read of core.membership.Member."""
from dataclasses import dataclass, field

from softbond.monitors import link as linkmon


@dataclass(eq=False)
class FakeMember:
    name: str
    carrier: bool = True
    speed: int = 1000
    duplex: int = 1
    prio: int = 0
    mac_bytes: bytes = bytes(6)
    judged_down: set = field(default_factory=set)
    sent: list = field(default_factory=list)     # every frame send() got

    def __post_init__(self):
        self.link = linkmon.LinkState(self.carrier)

    @property
    def up(self) -> bool:
        return self.link.state == linkmon.UP

    @property
    def lacp_mac(self) -> bytes:
        return self.mac_bytes

    def send(self, frame):
        self.sent.append(bytes(frame))
        return len(frame)
