"""The carrier thread: an active-backup bond on the eBPF data path switches
to its backup the moment the active member's carrier goes, without
waiting for the control plane's loop.

The failover's tail (issue 22) was the wait between the kernel sending
the carrier message and the bond's process running its handler: a loop
thread of an ordinary (CFS) process on two busy cores. This thread
sleeps in poll() on its own link monitor socket at SCHED_FIFO priority,
so the scheduler runs it as soon as the message is queued, ahead of every
ordinary task.

The control plane stays the only one deciding. After each publish it
writes what it would publish if the active member failed now into the
eBPF maps' spare bank (BondMaps.arm); all the thread does on that
member's carrier loss is select that bank (BondMaps.fire: one map store,
and the receive entries the new plan opens). It then tells the loop,
whose core observes the carrier loss, decides the same member, publishes
the same plan and sends the gratuitous ARPs as it always did. Whatever
it decides is what the data path ends up with (its publish disarms first).

The loop hears the same message on its own socket, and on two busy cores
it can take the GIL first. So the loop, too, selects the armed bank before
it weighs the loss (`fire_first`): the bank is selected by whichever hears
first, never skipped because the other was quicker, and the failover
event says which one it was ("thread_heard" only when it was the thread).

Armed only when the core's decision is certain to follow at once: mode
active-backup, downdelay 0, fail_over_mac none, no member inside an
updelay or downdelay, an active member and another one up.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config.options import BOND_MODE_ACTIVEBACKUP
from ..datapath.devices import EbpfDevice
from ..datapath.plan import build_plan
from ..kernel import netlink
from ..modes.active_backup import choose_active
from ..monitors import link as linkmon
from .failover import FAIL_OVER_MAC_NONE
from .membership import Member

if TYPE_CHECKING:
    import asyncio

    from ..datapath.ebpf.state import BondMaps
    from .bond import Bond

log = logging.getLogger("softbond")

FIFO_PRIORITY = 10
# The thread needs the GIL the moment it wakes: the loop hands it over
# after this long at most (CPython's default is 5 ms).
SWITCH_INTERVAL = 0.0005


@dataclass
class _View:
    """A member as choose_active weighs it, with `up` as it would be."""

    member: Member
    name: str
    up: bool
    prio: int
    speed: int
    duplex: int


def enabled() -> bool:
    """SOFTBOND_FAST_FAILOVER=0 leaves failover to the loop alone
    (bench/failover.py measures the two side by side)."""
    return os.environ.get("SOFTBOND_FAST_FAILOVER", "1") != "0"


def next_active(bond: "Bond") -> tuple[Member, Member] | None:
    """(the active member, the one the core makes active when it loses its
    carrier), or None when that is not certain or there is none."""
    opts, active = bond.opts, bond.active
    if (
        opts.mode != BOND_MODE_ACTIVEBACKUP
        or opts.downdelay
        or opts.fail_over_mac != FAIL_OVER_MAC_NONE
        or active is None
        or not active.up
    ):
        return None
    if any(m.link.state in (linkmon.FAIL, linkmon.BACK) for m in bond.members):
        return None
    views = [_View(m, m.name, m.up and m is not active, m.prio, m.speed, m.duplex) for m in bond.members]
    current = next(v for v in views if v.member is active)
    primary = next((v for v in views if v.name == opts.primary), None)
    chosen = choose_active(views, current, primary, opts.primary_reselect)
    return (active, chosen.member) if chosen is not None else None


class CarrierThread:
    """One per bond with the eBPF data path; `rearm` after every publish."""

    def __init__(self, bond: "Bond", loop: "asyncio.AbstractEventLoop") -> None:
        self.bond = bond
        self.loop = loop
        # The last flip: the member it made active and wall-clock stamps
        # (heard, flipped), for the failover event bench/failover.py reads.
        self.last: tuple[int, dict[str, float]] = (0, {})
        self._armed_new = 0  # the member the armed bank makes active
        self._sock = netlink.open_link_monitor()
        self._sock.setblocking(False)
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._rearm_pending = False
        self._maps: "BondMaps | None" = None
        self._thread = threading.Thread(target=self._watch, name=f"{bond.name}-carrier", daemon=True)

    @classmethod
    def start_for(cls, bond: "Bond") -> "CarrierThread | None":
        if not enabled() or not isinstance(bond.device, EbpfDevice) or bond.loop is None:
            return None
        thread = cls(bond, bond.loop)
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        thread._thread.start()
        return thread

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)
        if self._maps is not None:
            self._maps.disarm()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._sock.close()

    # -- on the loop ---------------------------------------------------------------
    def schedule_rearm(self) -> None:
        """After a publish: arm again once the current handler is done (the
        gratuitous ARPs that follow a failover's publish go first)."""
        if not self._rearm_pending:
            self._rearm_pending = True
            self.loop.call_soon(self.rearm)

    def rearm(self) -> None:
        self._rearm_pending = False
        bond, device = self.bond, self.bond.device
        maps = device.dev.maps if isinstance(device, EbpfDevice) else None
        if maps is not self._maps and self._maps is not None:
            self._maps.disarm()
        self._maps = maps
        if maps is None or not isinstance(device, EbpfDevice):
            return
        netlink.set_link_filter(self._sock, [m.ifindex for m in bond.members])
        pair = next_active(bond)
        if pair is None:
            maps.disarm()
            return
        failing, new = pair
        plan = build_plan(bond.runner, bond.members, bond.usable(failing), new, bond.mac_bytes())
        self._armed_new = new.ifindex
        maps.arm(failing.ifindex, plan, bond_ifindex=device.dev.ifindex)
        # The frames sent between the carrier loss and this thread hearing
        # of it go where the armed bank sends them (ebpf/rescue.bpf.c).
        device.dev.rescue_to(failing.ifindex, new.ifindex)

    def stamps_for(self, member: Member | None) -> dict[str, float]:
        """The stamps of a flip that made `member` active within the last
        second (the loop may have handled the carrier loss first)."""
        ifindex, stamps = self.last
        if not stamps or member is None or ifindex != member.ifindex or time.time() - stamps["flipped"] > 1:
            return {}
        return dict(stamps)

    def fire_first(self, events: list[netlink.LinkEvent]) -> None:
        """On the loop, before it handles these messages: a loss of the
        armed member selects the armed bank here if the thread has not yet."""
        for event in events:
            self._fire(event, {})

    def _fire(self, event: netlink.LinkEvent, stamps: dict[str, float]) -> bool:
        """A loss of the armed member selects the armed bank (once, whoever
        asks first); `last` then holds `stamps` and when it flipped."""
        if event.ifindex == 0 or (event.admin_up and event.carrier and not event.deleted):
            return False
        maps, new = self._maps, self._armed_new
        if maps is None or not maps.fire(event.ifindex):
            return False
        self.last = (new, {**stamps, "flipped": time.time()})
        return True

    def _flipped(self, ifindex: int) -> None:
        """The loop learns of the flip: the core observes the carrier now
        (its own netlink message may still be queued) and decides, and its
        plan is published whatever it decided. The loss may be over by now
        (a flap: the loop's batch then holds only the link's return, and
        the core sees no change), and the maps must not keep the thread's
        choice when the core's differs."""
        bond = self.bond
        member = next((m for m in bond.members if m.ifindex == ifindex), None)
        bond.stamps = {}
        try:
            with bond._logs_after():
                if member is not None:
                    bond.health.observe(member, bond.links.carrier(member.name), bond.clock.now())
                bond._publish()
        finally:
            bond.stamps = None

    # -- the thread ------------------------------------------------------------------
    def _watch(self) -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(FIFO_PRIORITY))
        except (OSError, AttributeError) as exc:
            log.info("%s: carrier thread at normal priority (%s)", self.bond.name, exc)
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            ready = poller.poll()
            if any(fd == self._wake_r for fd, _ in ready):
                return
            heard = time.time()
            for event in netlink.read_link_events(self._sock):
                if self._fire(event, {"thread_heard": heard}):
                    self.loop.call_soon_threadsafe(self._flipped, event.ifindex)
