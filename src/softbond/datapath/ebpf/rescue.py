"""The carrier rescue: rescue.bpf.c's sb_rescue on every member's clsact
egress sends a frame for a member whose carrier just went off by the
member named for it here, until the control plane's failover (which
waits for the kernel's netlink message, 3-75 ms later under load) takes
over. See rescue.bpf.c for what the program does and needs.

Its receive side, sb_rescue_in, goes into the eBPF bond's sb_rx_rescue
(bond.bpf.c tail-calls it for frames a member's policy drops): a member
that stands in for another (plan.stand_ins) delivers while that one has
no carrier. The Python paths do the same in their loops (inprocess.py,
CarrierProbe).

The targets come from the decisions the control plane publishes anyway
(plan.rescue_targets; the carrier thread names its armed new active for the
active member). Loading may fail (a kernel before 6.2 has no
bpf_cast_to_kern_ctx, one without BTF cannot relocate the field reads):
then `start` says why, in one line, and the bond runs as without it.
"""
from __future__ import annotations

import logging
import struct
from typing import Sequence

from ..abi import RESCUE_IN_CHECK
from ..plan import rescue_enabled as enabled

from ...kernel.isolate import CLSACT_EGRESS, FILTER_PRIO
from ...kernel.rtnl import NetlinkError, Rtnl
from . import bpfsys, build, loader

MAP_NAMES = ("sb_rescue_to", "sb_rescue_counts", "sb_stand_in", "sb_rx_rescue")
PROG_NAMES = ("sb_rescue", "sb_rescue_in")
COUNT = struct.Struct("=QQQ")   # struct sb_rescue_count: rescued, dropped, rescued_in
U32 = struct.Struct("=I")

log = logging.getLogger("softbond")


class NoRescue:
    """The rescue when it is off: every call does nothing, so the devices
    call whichever they have the same way."""

    def attach(self, ifindex: int) -> None:
        pass

    def detach(self, ifindex: int) -> None:
        pass

    def set(self, ifindex: int, target: int | None) -> None:
        pass

    def publish(self, targets: dict[int, int], members: Sequence[int], stand_ins: dict[int, int]) -> None:
        pass

    def counters(self, ifindex: int) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


class CarrierRescue:
    """The loaded program and its two maps; attach() per member."""

    def __init__(self, rtnl: Rtnl, bond: str, rx_rescue: int | None = None) -> None:
        self.rtnl = rtnl
        self.bond = bond
        self.ncpu = bpfsys.num_cpus()
        path = build.object_path(source=build.RESCUE_SOURCE)
        reuse = {"sb_rx_rescue": rx_rescue} if rx_rescue is not None else None
        self.obj = loader.load_object(path, MAP_NAMES, PROG_NAMES, reuse)
        self.targets: dict[int, int] = {}
        self.stand_ins: dict[int, int] = {}
        if rx_rescue is not None:
            # The receive side goes live here (its stand-ins come with the plan).
            bpfsys.update(rx_rescue, U32.pack(RESCUE_IN_CHECK), U32.pack(self.obj.progs["sb_rescue_in"]))

    @classmethod
    def start(cls, rtnl: Rtnl, bond: str, rx_rescue: int | None = None) -> tuple["CarrierRescue | NoRescue", str]:
        """(the rescue, "on") or (NoRescue(), why it is off, also logged).
        `rx_rescue`: the eBPF bond's sb_rx_rescue, for the receive side."""
        if not enabled():
            return NoRescue(), "off (SOFTBOND_CARRIER_RESCUE=0)"
        try:
            return cls(rtnl, bond, rx_rescue), "on"
        except OSError as exc:
            # No object (and none can be built), or the kernel refused it.
            why = (exc.strerror if exc.errno else None) or str(exc)
            hint = "; it needs kernel >= 6.2 with BTF" if why.startswith("load ") else ""
            state = f"off: {why}{hint}"
        log.warning("%s: carrier rescue %s", bond, state)
        return NoRescue(), state

    def attach(self, ifindex: int) -> None:
        """On the member's egress (its clsact is there: the bond's ingress
        program's, or isolate's); a member it cannot go on runs as without."""
        try:
            bpfsys.update(self.obj.maps["sb_rescue_counts"], U32.pack(ifindex), bytes(COUNT.size * self.ncpu))
            self.rtnl.set_bpf_filter(ifindex, CLSACT_EGRESS, FILTER_PRIO, self.obj.progs["sb_rescue"],
                                     "sb_rescue", replace=True)
        except (OSError, NetlinkError) as exc:
            log.warning("%s: carrier rescue off for ifindex %d: %s", self.bond, ifindex, exc)

    def detach(self, ifindex: int) -> None:
        try:
            self.rtnl.del_filter(ifindex, CLSACT_EGRESS, FILTER_PRIO)
        except NetlinkError:        # gone with the member or its clsact
            pass
        bpfsys.delete(self.obj.maps["sb_rescue_counts"], U32.pack(ifindex))
        self.set(ifindex, None)

    def set(self, ifindex: int, target: int | None) -> None:
        if self.targets.get(ifindex) == target:
            return
        fd = self.obj.maps["sb_rescue_to"]
        if target is None:
            bpfsys.delete(fd, U32.pack(ifindex))
            self.targets.pop(ifindex, None)
        else:
            bpfsys.update(fd, U32.pack(ifindex), U32.pack(target))
            self.targets[ifindex] = target

    def publish(self, targets: dict[int, int], members: Sequence[int], stand_ins: dict[int, int]) -> None:
        """`targets` for the egress (plan.rescue_to), `stand_ins` for the
        receive side (plan.stand_ins)."""
        for ifindex in members:
            self.set(ifindex, targets.get(ifindex))
        fd = self.obj.maps["sb_stand_in"]
        for ifindex in self.stand_ins.keys() - stand_ins.keys():
            bpfsys.delete(fd, U32.pack(ifindex))
        for ifindex, lost in stand_ins.items():
            if self.stand_ins.get(ifindex) != lost:
                bpfsys.update(fd, U32.pack(ifindex), U32.pack(lost))
        self.stand_ins = dict(stand_ins)

    def counters(self, ifindex: int) -> dict[str, int]:
        """The member's rescued and dropped frames, and those it received
        standing in (status JSON counters), summed over the CPUs."""
        raw = bpfsys.lookup(self.obj.maps["sb_rescue_counts"], U32.pack(ifindex), COUNT.size * self.ncpu)
        per_cpu = [COUNT.unpack_from(raw, COUNT.size * i) for i in range(self.ncpu)] if raw else []
        return {"rescued_frames": sum(c[0] for c in per_cpu), "rescue_dropped": sum(c[1] for c in per_cpu),
                "rescued_in": sum(c[2] for c in per_cpu)}

    def close(self) -> None:
        """The fds only: attached programs and their maps live on."""
        self.obj.close()
