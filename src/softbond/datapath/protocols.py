"""What the bond asks of a data path device, as one type.

core/bond.py drives whichever device devices.choose() made (PythonDevice,
WorkersDevice or EbpfDevice) through these methods only; a new data path
implements them. The mode's side of the same contract is modes/base.py's
Runner, with the Port protocol for what a runner knows of a member.
`_conforming` below has mypy hold the three devices to this protocol.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from ..modes.base import Port, Runner

if TYPE_CHECKING:  # devices imports the data paths; the check needs only the types
    from .devices import EbpfDevice, PythonDevice, WorkersDevice


class Device(Protocol):
    """A bond's data path: its device (a TAP, or the eBPF programs on a
    veth), the members' data sockets, and the forwarding plan it runs."""

    #: the data path's name in status ("python", "ebpf")
    kind: str

    def start(self) -> None:
        """Frames start moving (the bond has its first member)."""

    def close(self) -> None:
        """Stop forwarding and remove the device."""

    def follow_mtu(self, mtu: int) -> None:
        """The bond's MTU changed; the data path's buffers follow."""

    def set_carrier(self, on: bool) -> None:
        """The bond's carrier, as the core decided it."""

    def open_member(self, name: str, ifindex: int, mac: bytes) -> tuple[socket.socket, object]:
        """The member's data socket and its control-frame sender."""
        ...

    def close_member(self, sock: socket.socket, ifindex: int) -> None:
        """The member left: stop forwarding by it."""

    def publish(
        self, runner: Runner, members: Sequence[Port], usable: Sequence[Port], active: Port | None, bond_mac: bytes
    ) -> None:
        """A new forwarding plan from the runner's decisions (datapath/plan.py)."""

    def tick(self, runner: Runner, now: float) -> bool:
        """tlb/alb: feed the measured bucket bytes to the runner's
        rebalance; True asks for a republish."""
        ...

    def flowlet_moves(self) -> int:
        """Buckets xmit_balance=flowlet moved after a pause (status, /metrics)."""
        ...

    def read_committed(self) -> list[int] | None:
        """xmit_balance=flowlet: the slot each bucket's frames leave by now
        (-1: hash % count), as the data path committed it; None: unknown.
        Read by the control plane once an interval, nothing per frame."""
        ...

    def arp_socket(self) -> socket.socket | None:
        """Where alb's outgoing ARP comes out of the data path, or None."""
        ...

    # Counters and health for status --json (JSON objects: any JSON value).
    def member_counters(self, name: str, ifindex: int, nic: dict[str, Any]) -> dict[str, Any]: ...

    def protocol_counters(self, ifindex: int) -> dict[str, Any] | None: ...

    def rx_dropped(self, members: Sequence[Port]) -> int: ...

    @property
    def carrier_rescue(self) -> str:
        """The carrier rescue (ebpf/rescue.bpf.c): "on", or why frames of a
        member that just lost its carrier are not sent by another."""
        ...

    def workers(self) -> list[dict[str, Any]] | None:
        """The worker processes' state, or None: frames move in the daemon
        (or the kernel)."""
        ...

    def loop(self) -> dict[str, int] | None:
        """The Python forwarding loop's counters, or None (eBPF)."""
        ...

    def check_workers(self) -> list[str]:
        """A line per worker process found dead (and restarted)."""
        ...


if TYPE_CHECKING:

    def _conforming(python: PythonDevice, workers: WorkersDevice, ebpf: EbpfDevice) -> list[Device]:
        return [python, workers, ebpf]
