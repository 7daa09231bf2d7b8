"""The host's side of lacp_peers.py: softbond over the TAPs behind the
guest's NICs, one namespace per case; both views, traffic, and the timings
of a cable cut and restored, read from here (the guest's /proc text through
the share)."""
from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import lacp_peers as lp
from .scenarios import sh, teardown
from .softbond_side import Softbond

READY_CAP = 300.0        # boot and the guest's setup, on a loaded host
FORM_CAP = 90.0         # a passive softbond waits for the kernel's slow periodic LACPDU (30 s)
SETTLE_CAP = 5.0          # s: both views' port states mirror each other (a LACPDU or two at fast rate)
NEVER_FORMS_WAIT = 8.0   # both passive: long enough for fast LACP to have formed twice over
CUT_CAP = 20.0


def tap_names(prefix: str) -> list[str]:
    return [f"{prefix}t{j}" for j in range(lp.nic_count())]


def kernel_view(share: Path, name: str) -> list[str]:
    """The guest's /proc text of each kernel bond of the case, or [] before the first refresh."""
    path = share / "lacp" / f"{name}.proc"
    return path.read_text().split("\n=====\n") if path.exists() else []


def _poll(until, cap: float) -> float | None:
    """Seconds until until() held, or None after cap seconds."""
    start = time.monotonic()
    while time.monotonic() - start < cap:
        if until():
            return round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return None


def _first_times(conditions, cap: float) -> list[float | None]:
    """For each of the conditions() results, seconds until it first held
    (None: not within cap)."""
    start = time.monotonic()
    times: list[float | None] = [None] * len(conditions())
    while None in times and time.monotonic() - start < cap:
        for i, held in enumerate(conditions()):
            if held and times[i] is None:
                times[i] = round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return times


def one(share: Path, taps: list[str], prefix: str, index: int, name: str) -> dict:
    case = lp.CASES[name]
    groups = lp.nic_ranges()[name]
    mine = [taps[j] for group in groups for j in group]
    ports = len(groups[0])               # the aggregator both sides should settle on: kb0's
    ns = f"{prefix}-l{index}"
    bond = Softbond()
    sh("ip", "netns", "add", ns)
    try:
        for tap in mine:
            sh("ip", "link", "set", tap, "netns", ns)
            sh("ip", "-n", ns, "link", "set", tap, "up")

        def views() -> tuple[str, str]:
            kernel = kernel_view(share, name)
            return (kernel[0] if kernel else ""), bond.status(ns, "bond0")

        def formed(want: int) -> bool:
            kernel, ours = views()
            return lp.in_aggregator(kernel) == want and lp.in_aggregator(ours) == want

        start = time.monotonic()
        bond.create(ns, "bond0", case.softbond, mine, f"{lp.address(index, 2)}/24")
        up_took = time.monotonic() - start
        out: dict = {"members": [[taps[j], lp.nic_mac(j)] for j in groups[0]], "ports": ports}
        if case.forms:
            took = _poll(lambda: formed(ports), FORM_CAP)
            out["formed_s"] = None if took is None else round(took + up_took, 2)
            # The guest writes its /proc text on its own clock and softbond's
            # status is read live: two snapshots a LACPDU apart can show one
            # side's C/D bits before the other's. Compare once they settle.
            _poll(lambda: lp.states_mirror(*views(), out["members"]), SETTLE_CAP)
        else:
            time.sleep(NEVER_FORMS_WAIT)
        out["kernel"], out["softbond"] = views()
        ping = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.3", "-W", "2",
                               lp.address(index, 1)], capture_output=True, text=True)
        out["ping_ok"] = ping.returncode == 0
        if case.cut:
            cut = mine[-1]
            sh("ip", "-n", ns, "link", "set", cut, "down")
            out["cut_kernel_s"], out["cut_softbond_s"] = _first_times(
                lambda: [lp.in_aggregator(text) == ports - 1 for text in views()], CUT_CAP)
            out["cut_kernel"], out["cut_softbond"] = views()
            sh("ip", "-n", ns, "link", "set", cut, "up")
            out["restore_s"] = _poll(lambda: formed(ports), CUT_CAP)
        return out
    finally:
        teardown(bond, ns)


def run(share: Path, prefix: str, qemu: subprocess.Popen) -> dict[str, dict]:
    """Every case of lacp_peers.CASES once the guest is ready (or gone);
    writes lacp/done, which lets the guest go on."""
    taps = tap_names(prefix)
    if _poll(lambda: (share / "lacp" / "ready").exists() or qemu.poll() is not None, READY_CAP) is None \
            or not (share / "lacp" / "ready").exists():
        return {name: {"error": "the guest never said its LACP bonds were ready"} for name in lp.CASES}
    said = (share / "lacp" / "ready").read_text()
    if said.startswith("error"):
        (share / "lacp" / "done").write_text("")
        return {name: {"error": f"the guest: {said}"} for name in lp.CASES}

    def case(item):
        index, name = item
        try:
            return name, one(share, taps, prefix, index, name)
        except Exception as e:  # noqa: BLE001 - the comparing test fails on it
            return name, {"error": f"{type(e).__name__}: {e}"}
    try:
        with ThreadPoolExecutor(len(lp.CASES)) as pool:
            return dict(pool.map(case, enumerate(lp.CASES)))
    finally:
        (share / "lacp" / "done").write_text("")
