"""The carrier rescue: rescue.bpf.c's sb_rescue on every member's clsact
egress sends a frame for a member whose carrier just went off by the
member named for it here, until the control plane's failover (which
waits for the kernel's netlink message, 3-75 ms later under load) takes
over. See rescue.bpf.c for what the program does and needs.

The targets come from the decisions the control plane publishes anyway
(plan.rescue_targets; the carrier thread names its armed new active for the
active member). Loading may fail (a kernel before 6.2 has no
bpf_cast_to_kern_ctx, one without BTF cannot relocate the field reads):
then `start` says why, in one line, and the bond runs as without it.
"""
from __future__ import annotations

import logging
import os
import struct
from typing import Sequence

from ...kernel.isolate import CLSACT_EGRESS, FILTER_PRIO
from ...kernel.rtnl import NetlinkError, Rtnl
from . import bpfsys, build, loader

MAP_NAMES = ("sb_rescue_to", "sb_rescue_counts")
PROG_NAMES = ("sb_rescue",)
COUNT = struct.Struct("=QQ")    # struct sb_rescue_count: rescued, dropped
U32 = struct.Struct("=I")

log = logging.getLogger("softbond")


def enabled() -> bool:
    """SOFTBOND_CARRIER_RESCUE=0 leaves the members' egress alone (the
    benches measure with and without it in one invocation)."""
    return os.environ.get("SOFTBOND_CARRIER_RESCUE", "1") != "0"


class NoRescue:
    """The rescue when it is off: every call does nothing, so the devices
    call whichever they have the same way."""

    def attach(self, ifindex: int) -> None:
        pass

    def detach(self, ifindex: int) -> None:
        pass

    def set(self, ifindex: int, target: int | None) -> None:
        pass

    def publish(self, targets: dict[int, int], members: Sequence[int]) -> None:
        pass

    def counters(self, ifindex: int) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


class CarrierRescue:
    """The loaded program and its two maps; attach() per member."""

    def __init__(self, rtnl: Rtnl, bond: str) -> None:
        self.rtnl = rtnl
        self.bond = bond
        self.ncpu = bpfsys.num_cpus()
        path = build.object_path(source=build.RESCUE_SOURCE)
        self.obj = loader.load_object(path, MAP_NAMES, PROG_NAMES)
        self.targets: dict[int, int] = {}

    @classmethod
    def start(cls, rtnl: Rtnl, bond: str) -> tuple["CarrierRescue | NoRescue", str]:
        """(the rescue, "on") or (NoRescue(), why it is off, also logged)."""
        if not enabled():
            return NoRescue(), "off (SOFTBOND_CARRIER_RESCUE=0)"
        try:
            return cls(rtnl, bond), "on"
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
            bpfsys.update(self.obj.maps["sb_rescue_counts"], U32.pack(ifindex), b"\0" * (16 * self.ncpu))
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

    def publish(self, targets: dict[int, int], members: Sequence[int]) -> None:
        for ifindex in members:
            self.set(ifindex, targets.get(ifindex))

    def counters(self, ifindex: int) -> dict[str, int]:
        """The member's rescued and dropped frames (status JSON counters),
        summed over the CPUs."""
        raw = bpfsys.lookup(self.obj.maps["sb_rescue_counts"], U32.pack(ifindex), 16 * self.ncpu)
        per_cpu = [COUNT.unpack_from(raw, 16 * i) for i in range(self.ncpu)] if raw else []
        return {"rescued_frames": sum(c[0] for c in per_cpu), "rescue_dropped": sum(c[1] for c in per_cpu)}

    def close(self) -> None:
        """The fds only: attached programs and their maps live on."""
        self.obj.close()
