"""LACP in words for the live views: a bond's one-line LACP summary and
a port state byte decoded into letters.

The port state is the IEEE 802.1AX actor/partner state octet, bit 0 first:
Activity (active LACP), Timeout (short), aGgregation (aggregatable),
Synchronization, Collecting, Distributing, deFaulted, Expired. Each is
shown as its letter when set and "." when not, so a healthy fast-rate
active port reads "ATGSCD.." and one with no partner "ATG...F.".
"""
from __future__ import annotations

from .status import _truthy

PORT_STATE_LETTERS = "ATGSCDFE"
PORT_STATE_WORDS = ("Activity", "Timeout", "Aggregation", "Synchronization", "Collecting",
                    "Distributing", "Defaulted", "Expired")
PORT_STATE_LEGEND = "  ".join(f"{letter} {word}" for letter, word in zip(PORT_STATE_LETTERS, PORT_STATE_WORDS))
NO_PARTNER = ("", "00:00:00:00:00:00")


def port_state_letters(state: int | None) -> str:
    """ "ATGSCD.." for 63; "-" when the state is unknown."""
    if state is None:
        return "-"
    return "".join(letter if int(state) >> bit & 1 else "." for bit, letter in enumerate(PORT_STATE_LETTERS))


def lacp_summary(status: dict) -> str | None:
    """One line on the bond's LACP: "negotiated ...", "configured (no
    partner) ..." or "off ..."; None outside 802.3ad."""
    ad = status.get("ad_info")
    if ad is None:
        return None
    agg = ad.get("active_aggregator") or {}
    partner = (agg.get("partner_mac") or "").lower()
    lacp_active = ad.get("lacp_active")
    if lacp_active is None:
        lacp_active = (status.get("options") or {}).get("lacp_active", "on")
    rate = "fast" if _truthy(ad.get("lacp_rate")) else "slow"
    if partner not in NO_PARTNER:
        return (f"negotiated: partner {partner} key {agg.get('partner_key', '?')}, aggregator "
                f"{agg.get('id', '?')} with {agg.get('num_ports', '?')} port(s), rate {rate}")
    if _truthy(lacp_active):
        return f"configured (no partner): sending LACPDUs at the {rate} rate, none answered"
    return "off: lacp_active=off and no partner speaks first (the bond aggregates alone)"
