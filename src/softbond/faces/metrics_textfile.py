"""`metrics_textfile=DIR`: the bond's process keeps DIR/softbond-BOND.prom
for node_exporter's textfile collector (`--collector.textfile.directory=DIR`),
the way into fleets that scrape node_exporter everywhere: its own bonding
collector reads sysfs, which a userspace bond has not got.

The file holds the bond's part of `GET /metrics`, built by the same
collector (web.metrics.BondCollector): node_bonding_slaves and
node_bonding_active as node_exporter names them, and the softbond_* series.
It leaves out softbond_bonds: node_exporter merges every *.prom file in DIR,
and a series without a bond label would be the same series in each bond's
file, which node_exporter refuses (the whole scrape fails).

It is written whole and renamed into place, so a scrape never reads half a
file; only when its text changed or REFRESH_INTERVAL has passed, so that a
stale node_textfile_mtime_seconds means the bond's process is gone. A clean
stop removes it: a bond that was taken down has no series left behind.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time

from ..core.errors import BondError

CHECK_INTERVAL = 1.0      # seconds between looks at the bond (a failover shows within this)
REFRESH_INTERVAL = 15.0   # seconds after which an unchanged file is written again
NOT_PER_BOND = frozenset({"softbond_bonds"})


def file_name(bond: str) -> str:
    return f"softbond-{bond}.prom"


def check_dir(bond: str, directory: str) -> None:
    """Refuse a directory the bond's process could not write its file into
    (up or set with it changes nothing)."""
    if not directory:
        return
    if not os.path.isdir(directory):
        why = "not a directory" if os.path.exists(directory) else "no such directory"
        raise BondError(f"{bond}: option metrics_textfile: {directory}: {why}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BondError(f"{bond}: option metrics_textfile: {directory}: not writable")


def render(status: dict) -> bytes:
    """The text of a bond's .prom file (Prometheus text format 0.0.4)."""
    # Imported here: prometheus_client costs every bond process ~25 ms to
    # import, and most never write a textfile.
    from prometheus_client.core import CollectorRegistry
    from prometheus_client.exposition import generate_latest
    from .web.metrics import BondCollector

    class OneBond:
        def describe(self):
            return []

        def collect(self):
            return (f for f in BondCollector.metrics([status]) if f.name not in NOT_PER_BOND)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(OneBond())
    return generate_latest(registry)


def write_atomically(path: str, body: bytes) -> None:
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.tmp")   # not *.prom: node_exporter skips it
    with open(temporary, "wb") as f:
        f.write(body)
    os.replace(temporary, path)


class TextfileWriter:
    """The bond process's periodic task that keeps its .prom file; it reads
    bond.opts each time, so `softbond set BOND metrics_textfile DIR` moves
    or (with "") removes the file within CHECK_INTERVAL."""

    def __init__(self, bond) -> None:
        self.bond = bond
        self.path: str | None = None    # the file this process keeps now
        self.body: bytes | None = None  # what it holds
        self.written_at = 0.0
        self.error: str | None = None   # the last write error, told once
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self._remove()

    async def _run(self) -> None:
        while True:
            self.update(time.monotonic())
            await asyncio.sleep(CHECK_INTERVAL)

    def update(self, now: float) -> None:
        directory = self.bond.opts.metrics_textfile
        path = os.path.join(directory, file_name(self.bond.name)) if directory else None
        if path != self.path:
            self._remove()
            self.path, self.body = path, None
        if path is None:
            return
        body = render(self.bond.status())
        if body == self.body and now - self.written_at < REFRESH_INTERVAL:
            return
        try:
            write_atomically(path, body)
        except OSError as exc:
            error = f"option metrics_textfile: {path}: {exc.strerror or exc}"
            if error != self.error:
                self.bond._event("warning", error, level=logging.WARNING)
            self.error = error
            return
        self.body, self.written_at, self.error = body, now, None

    def _remove(self) -> None:
        if self.path is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass    # gone already, or a directory no longer ours to write
