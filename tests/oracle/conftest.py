"""The kernel oracle: one QEMU boot per session runs every kernel case
(guest_kernel.py) while the host runs the same cases on softbond. Missing
QEMU, kernel or busybox is an error, never a skip: CI must not go green
without having asked the kernel."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from . import lacp_host, lacp_peers, softbond_side, vm
from .scenarios import SCENARIOS

HERE = Path(__file__).resolve().parent
GUEST_TIMEOUT = 900


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.oracle)


class OracleRun:
    def __init__(self, kernel: dict, softbond: dict, lacp: dict, seconds: float):
        self.kernel = kernel
        self.softbond = softbond
        self.lacp = lacp            # lacp_host.run(): both sides' views of each LACP peer case
        self.seconds = seconds


def _wait(qemu: subprocess.Popen) -> None:
    try:
        qemu.wait(timeout=GUEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        qemu.kill()
        qemu.wait()


@pytest.fixture(scope="session")
def oracle() -> OracleRun:
    if os.geteuid() != 0:
        pytest.fail("the kernel oracle needs root (namespaces on the host)", pytrace=False)
    if any(HERE.is_relative_to(d) for d in ("/tmp", "/run")):
        # the guest mounts its own tmpfs there (vm.INIT): it would not see this tree
        pytest.fail(f"the kernel oracle cannot run a tree under /tmp or /run (this one: {HERE.parent.parent}): "
                    "the guest mounts its own /tmp and /run; use a checkout elsewhere", pytrace=False)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="softbond-oracle-") as share:
        share_path = Path(share)
        out = share_path / "kernel.json"
        # The guest runs the host's /usr/bin/python3 (stdlib only) on this tree's files;
        # failover.py imports this tree's softbond (its control client).
        (share_path / "run.sh").write_text(f"export PYTHONPATH={HERE.parent.parent / 'src'}\n"
                                           f"exec /usr/bin/python3 {HERE / 'guest_kernel.py'} /oracle/kernel.json\n")
        console = share_path / "console.log"
        try:
            vm.kernel_release()
            vm.check_tools()
        except vm.OracleUnavailable as e:
            unavailable = str(e)
        else:
            unavailable = None
        if unavailable:
            pytest.fail(f"kernel oracle: {unavailable}", pytrace=False)
        prefix = softbond_side.prefix()
        taps = tuple(zip(lacp_host.tap_names(prefix), map(lacp_peers.nic_mac, range(lacp_peers.nic_count()))))
        qemu = vm.start(share_path, console, taps)
        try:
            # The LACP peer cases first, alone on both sides (their timings
            # mean something only on a quiet guest), then everything else.
            lacp = lacp_host.run(share_path, prefix, qemu)
            if qemu.poll() is not None and "oracle-init: running" not in console.read_text(errors="replace"):
                shutil.rmtree(share_path / "lacp", ignore_errors=True)
                qemu = vm.start(share_path, console, taps)     # the kernel died booting: once more
                lacp = lacp_host.run(share_path, prefix, qemu)
            softbond = softbond_side.run_all(list(SCENARIOS))
            _wait(qemu)
        finally:                                         # interrupted: no QEMU left behind
            if qemu.poll() is None:
                qemu.kill()
                qemu.wait()
        if not out.exists():
            console = console.read_text(errors="replace")[-3000:]
            guest = (share_path / "guest.log").read_text(errors="replace")[-3000:] \
                if (share_path / "guest.log").exists() else ""
            pytest.fail(f"the guest left no results (QEMU exit {qemu.returncode}).\n"
                        f"console:\n{console}\nguest:\n{guest}", pytrace=False)
        kernel = json.loads(out.read_text())
        timings = (share_path / "guest.log").read_text(errors="replace").strip().replace("\n", "; ")
    run = OracleRun(kernel, softbond, lacp, time.monotonic() - start)
    if os.environ.get("SOFTBOND_ORACLE_DUMP"):      # both sides' raw results, to read a difference
        Path(os.environ["SOFTBOND_ORACLE_DUMP"]).write_text(json.dumps(
            {"kernel": kernel, "softbond": softbond, "lacp": lacp}, indent=1))
    print(f"\nkernel oracle: {kernel['kernel']} booted and compared in {run.seconds:.0f} s "
          f"(guest: {timings})", file=sys.stderr)
    return run
