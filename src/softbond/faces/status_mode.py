"""A status dict's bonding mode and softbond's LACP summary: the part of
status_text.py the bond process itself uses (its status carries
lacp_status). The rest of status_text, the /proc/net/bonding text, is
rendered by `softbond status`, so the bond does not import it (issue 19,
footprint: 0.1 MiB of every bond)."""
from __future__ import annotations

from typing import Any, Mapping

from ..config.registry import BondMode

NO_PARTNER = "configured (no partner)"
_MODE_8023AD = BondMode.MODE_8023AD


def mode_id_of(status: Mapping[str, Any]) -> int:
    """The BOND_MODE_* number of a status dict (-1 if unknown)."""
    mode_id = status.get("mode_id")
    if isinstance(mode_id, int) and not isinstance(mode_id, bool):
        return mode_id
    mode = status.get("mode")
    if mode is None:
        mode = (status.get("options") or {}).get("mode")
    if isinstance(mode, int) and not isinstance(mode, bool):
        return mode
    if isinstance(mode, str):
        named = BondMode.from_label(mode)
        if named is not None:
            return named.value
        if mode.isdigit():
            return int(mode)
    return -1


def lacp_status(status: Mapping[str, Any]) -> str:
    """softbond's LACP summary, as ovs-appctl bond/show words it (and the
    dashboard): "negotiated" while a partner's information is current on
    some member (its receive machine CURRENT: not EXPIRED, which a port
    also passes through on its way up, nor DEFAULTED), "configured (no
    partner)" when none is (the bond then runs over one member, as an
    individual link or in LACP fallback), "off" for the other modes."""
    if mode_id_of(status) != _MODE_8023AD:
        return "off"
    ports = [slave.get("ad") or {} for slave in status.get("slaves") or []]
    if any(port.get("rx_state") == "CURRENT" for port in ports):
        return "negotiated"
    return NO_PARTNER
