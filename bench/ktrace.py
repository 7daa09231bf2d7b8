"""Kernel timestamps of carrier events, for bench/datapath.py's failover
figures.

A member's carrier goes off inside the kernel (veth_close calls
netif_carrier_off on both ends) and the kernel queues its linkwatch work
at that instant; the work, once it has the RTNL lock, tells netdev
notifiers and rtnetlink listeners (the softbond daemon among them). The
`workqueue:workqueue_queue_work` tracepoint for linkwatch_event therefore
stamps the carrier event itself, on the kernel's CLOCK_MONOTONIC, with no
process of ours in the way - a listener process would only stamp when the
scheduler ran it, which on two busy cores is late and erratic.

Uses its own tracefs instance, so other tracing is left alone; mounts
tracefs if nothing has. Without tracefs or the tracepoint, `available()`
says why and the figures that need it are left out.
"""
from __future__ import annotations

import os
import re

TRACEFS = "/sys/kernel/tracing"
EVENT = "events/workqueue/workqueue_queue_work"
_LINE = re.compile(r"\s(\d+\.\d+): workqueue_queue_work: .*function=linkwatch_event\b")


def _symbol(name: str) -> int | None:
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                addr, _kind, sym = line.split()[:3]
                if sym == name:
                    value = int(addr, 16)
                    return value or None       # kptr_restrict hides addresses as zero
    except OSError:
        return None
    return None


class CarrierEvents:
    """Collects the instants at which the kernel queued linkwatch work."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.why = ""
        if not os.path.exists(os.path.join(TRACEFS, "instances")):
            os.system(f"mount -t tracefs nodev {TRACEFS} 2>/dev/null")
        if not os.path.exists(os.path.join(TRACEFS, "instances")):
            self.why = f"no tracefs at {TRACEFS}"
            return
        if not os.path.exists(os.path.join(TRACEFS, EVENT)):
            self.why = "no workqueue_queue_work tracepoint"
            return
        path = os.path.join(TRACEFS, "instances", f"softbond-bench-{os.getpid()}")
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError as exc:
            self.why = f"cannot make a tracefs instance: {exc}"
            return
        self.path = path
        try:
            self._write("tracing_on", "0")
            self._write("trace_clock", "mono")
            self._write("buffer_size_kb", "1024")
            address = _symbol("linkwatch_event")
            if address is not None:
                # Only linkwatch's work: the buffer then holds a handful of
                # lines per failover rather than every work item queued.
                self._write(f"{EVENT}/filter", f"function == {address:#x}")
            self._write(f"{EVENT}/enable", "1")
        except OSError as exc:
            self.why = f"cannot set up the tracepoint: {exc}"
            self.close()

    def available(self) -> bool:
        return self.path is not None

    def _write(self, name: str, value: str) -> None:
        with open(os.path.join(self.path, name), "w") as f:
            f.write(value)

    def start(self) -> None:
        """Forget earlier events and record from now."""
        if self.path:
            self._write("trace", "")
            self._write("tracing_on", "1")

    def stop(self) -> list[float]:
        """Stop recording; the carrier events seen, time.monotonic() seconds."""
        if not self.path:
            return []
        self._write("tracing_on", "0")
        with open(os.path.join(self.path, "trace")) as f:
            return sorted(float(m.group(1)) for m in map(_LINE.search, f) if m)

    def close(self) -> None:
        if self.path is None:
            return
        try:
            self._write("tracing_on", "0")
            self._write(f"{EVENT}/enable", "0")
        except OSError:
            pass
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        self.path = None
