"""softbond doctor [BOND]: what is wrong with a bond and what to do.

Findings come from the bond's status (its control socket), sysfs, the
runtime files, and short ARP probes out of each member towards the bond's
ARP targets, its default gateway and any --target (nothing else is ever
probed). Exit status 0 when healthy, 1 with findings.
"""
from __future__ import annotations

import json
import subprocess
import time

from ...kernel import rundir as runtime
from ...control import call
from ...wire.arp import ip4_bytes
from . import checks, probe
from .findings import Finding

STATIC_TRUNK_MODES = ("balance-rr", "balance-xor", "broadcast")


class DoctorError(Exception):
    pass


def bond_states(only: str | None) -> dict[str, dict | None]:
    """bond -> its state record (None: no bond of that name) for `only`, or
    for every bond runtime.list_bonds() knows, running or not."""
    if only:
        return {only: runtime.read_state(only)}
    return {record.name: runtime.read_state(record.name) for record in runtime.list_bonds()}


def examine(bond: str, state: dict | None, targets: list[str]) -> list[Finding]:
    """Every finding for one bond (its status read through the control socket)."""
    if state is not None and not runtime.pid_alive(state.get("pid", -1)):
        return [Finding("bond.not_running", "error", bond, "the bond process is not running: its members "
                        "pass no traffic", f"{runtime.state_path(bond)} names pid {state.get('pid')}, which "
                        f"is gone; its log: {runtime.log_path(bond)}",
                        f"softbond down {bond} && softbond up {bond} ... (or systemctl restart softbond@{bond})")]
    st = call(bond, "status")["status"]
    started = time.monotonic()
    found = checks.check_status(st) + probe_findings(st, targets)
    later = call(bond, "status")["status"]
    return found + checks.skew(st, later, time.monotonic() - started)


def probe_targets(st: dict, extra: list[str]) -> list[str]:
    """The addresses a probe may go to: the bond's arp_ip_target, its default
    gateway and what the user named."""
    targets = list(st.get("options", {}).get("arp_ip_target") or []) + default_gateways(st["bond"]) + extra
    return list(dict.fromkeys(t for t in targets if ":" not in t))


def default_gateways(bond: str) -> list[str]:
    proc = subprocess.run(["ip", "-4", "-j", "route", "show", "default", "dev", bond],
                          capture_output=True, text=True, check=False)
    try:
        return [r["gateway"] for r in json.loads(proc.stdout or "[]") if r.get("gateway")]
    except ValueError:
        return []


def probe_findings(st: dict, extra_targets: list[str]) -> list[Finding]:
    bond = st["bond"]
    # In 802.3ad a member that is not distributing is dropped by its switch
    # port: the LACP findings say why, a probe would only blame the cabling.
    members = [s["name"] for s in st.get("slaves", []) if s.get("carrier")
               and (st.get("mode") != "802.3ad" or (s.get("ad") or {}).get("mux_state") == "COLLECTING_DISTRIBUTING")]
    if not members:
        return []
    targets = probe_targets(st, extra_targets)
    try:
        result = probe.run(members, targets or ["0.0.0.0"])
    except OSError as exc:
        raise DoctorError(f"{bond}: cannot send ARP probes from {', '.join(members)}: {exc.strerror or exc}") from None
    found = []
    if st.get("mode") in STATIC_TRUNK_MODES and result.looped:
        loops = "; ".join(f"a broadcast sent on {m} came back on {', '.join(sorted(back))}"
                          for m, back in sorted(result.looped.items()))
        found.append(Finding("switch.not_a_trunk", "error", bond, f"the switch does not treat the members as "
                             f"one static trunk ({st['mode']} needs one): it floods the bond's frames back to "
                             "it and learns the bond's MAC on one port at a time", loops,
                             f"configure the switch ports facing {', '.join(members)} as one static "
                             "link aggregation (EtherChannel mode on / static LAG), or use mode=active-backup"))
    for target in targets:
        reached = sorted(m for m in members if target in result.reached.get(m, ()))
        missing = sorted(set(members) - set(reached))
        if not missing:
            continue
        if reached:
            found.append(Finding("member.unreachable", "error", bond, f"{', '.join(missing)} cannot reach "
                                 f"{target} (the members are not on the same network)",
                                 f"ARP probes from each member for {probe.LISTEN:g} s: answered on "
                                 f"{', '.join(reached)}, no answer for {', '.join(missing)}",
                                 f"connect {', '.join(missing)} to the switch/VLAN of {', '.join(reached)}"))
        else:
            found.append(Finding("target.unreachable", "error", bond, f"no member reaches {target}",
                                 f"ARP probes from {', '.join(members)} for {probe.LISTEN:g} s: no answer",
                                 f"check that {target} is up and on the bond's network"))
    return found


def validate_targets(targets: list[str]) -> list[str]:
    for t in targets:
        try:
            ip4_bytes(t)
        except ValueError:
            raise DoctorError(f"doctor: --target {t}: not an IPv4 address") from None
    return targets


def render(findings: list[Finding], bonds: list[str]) -> str:
    if not findings:
        return f"{', '.join(bonds)}: no problems found\n"
    return "\n".join(f.render() for f in findings)
