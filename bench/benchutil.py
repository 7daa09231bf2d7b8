"""Small helpers shared by bench/datapath.py and bench/lacp.py: process CPU
and memory from /proc, medians with their range, the machine's load, the
commit under test."""
from __future__ import annotations

import os
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds; 0 when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def procs_cpu(pids) -> float:
    return sum(proc_cpu(p) for p in pids)


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) in MiB; 0 when gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine_busy(seconds: float = 1.0) -> float:
    """Share of the whole machine (all cores) busy over `seconds`."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(1, t1 - t0)


def commit() -> str:
    """The commit under test (read only)."""
    return subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip() or "unknown"


def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(values, spec: str = ".2f", *, scale: float = 1.0, span: bool = True) -> str:
    """'median (min-max)' of the non-None values, '-' when there are none."""
    values = [v * scale for v in values if v is not None]
    if not values:
        return "-"
    m = format(statistics.median(values), spec)
    if not span or len(values) == 1:
        return m
    return f"{m} ({format(min(values), spec)}-{format(max(values), spec)})"
