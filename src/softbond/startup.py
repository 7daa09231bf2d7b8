"""What `softbond up` hears from a bond process that has just started, on
its ready pipe (see daemon._report): "warn TEXT" lines, then "ok" or
"error TEXT". The warnings are what the start logged (datapath=auto falling
back to the Python path, ...) and, for 802.3ad, a partner that never
answered: both would otherwise be only in the bond's log while `up`
returned 0."""
from __future__ import annotations

import asyncio
import errno
import logging
import os

from .config.errors import ConfigError
from .config.registry import BOND_MODE_8023AD
from .core.errors import BondError
from .kernel.links import LinkError
from .kernel.tap import TapError
from .faces.status_mode import NO_PARTNER, lacp_status

# How long `up` waits for a first LACPDU: our ports speak at once and a
# partner in fast or slow mode answers a changed partner at once too.
LACP_WAIT = 3.0
POLL = 0.05
DEFAULTED_SETTLE = 1.0   # s: how long past LACP_WAIT the individual link may take to start
log = logging.getLogger("softbond")


def start_warnings(bond) -> list[str]:
    return [event["message"] for event in bond.events if event["kind"] == "warning"]


async def lacp_warning(bond, wait: float = LACP_WAIT) -> str | None:
    """None once a partner answered on some member, else (after `wait`
    seconds) the line that tells the operator how traffic passes meanwhile."""
    if bond.opts.mode != BOND_MODE_8023AD:
        return None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        # Only what lacp_status() reads: bond.status() also reads sysfs and
        # netlink, work the LACP exchange being waited for should not share.
        status = {"mode": "802.3ad", "slaves": [{"name": m.name, "ad": bond._port_info(m)} for m in bond.members]}
        if not status["slaves"] or lacp_status(status) != NO_PARTNER:
            return None
        if loop.time() >= deadline:
            break
        await asyncio.sleep(POLL)
    # The individual link starts when the ports' partner information times
    # out (DEFAULTED), 3 s after enslave: about now. Say what will be so.
    settle = loop.time() + DEFAULTED_SETTLE
    while not bond.runner.system.distributing() and loop.time() < settle:
        await asyncio.sleep(POLL)
    ports = ", ".join(slave["name"] for slave in status["slaves"])
    warning = (f"{bond.name}: no LACP partner answered on {ports} within {wait:g} s: is the switch port "
               f"configured for LACP? ({_meanwhile(bond)} until one does)")
    log.warning("%s", warning)
    return warning


def _meanwhile(bond) -> str:
    """How frames pass while no partner answers, as the kernel's 802.3ad
    does: over one member as an individual link (min_links may forbid it)."""
    carrying = bond.runner.system.distributing()
    if carrying:
        return f"traffic passes over {carrying[0]} alone, as an individual link,"
    if bond.opts.lacp_fallback:
        return (f"traffic will not pass before lacp_fallback starts, {bond.opts.lacp_fallback_timeout} s "
                "without a LACPDU, or")
    return "traffic will not pass"


async def warnings(bond) -> list[str]:
    found = start_warnings(bond)
    lacp = await lacp_warning(bond)
    return found + ([lacp] if lacp else [])


def failure(bond: str, exc: Exception) -> str:
    """One line for a failed start. Refusals carry their own words; an
    unexpected error's text can be a bare tuple such as "(17, 'File
    exists')", so it is named by its errno or class instead."""
    text = str(exc)
    if isinstance(exc, (BondError, LinkError, ConfigError)) and text:
        return text if text.startswith(f"{bond}:") else f"{bond}: {text}"
    if isinstance(exc, TapError) and exc.strerror:
        # names the device file; a kernel without the tun module loaded has none
        hint = " (load the tun module: modprobe tun)" if exc.errno == errno.ENOENT and "/dev/net/tun" in exc.strerror else ""
        return f"{bond}: {exc.strerror}{hint}"
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else type(exc).__name__
    return f"{bond}: cannot start: {reason}"
