"""A stand-in for a bond member's port, for driving the mode runners
(softbond.modes) without sockets: tests/unit/test_mode_runners.py and
tests/integration/test_ebpf_modes.py."""
from dataclasses import dataclass, field


@dataclass(eq=False)
class FakePort:
    name: str
    mac_bytes: bytes
    ifindex: int = 0   # only the eBPF comparisons look at it
    speed: int = 1000
    up: bool = True
    sent: list = field(default_factory=list)   # every frame send() got, as bytes

    def send(self, frame):
        self.sent.append(bytes(frame))
        return len(frame)
