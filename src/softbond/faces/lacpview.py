"""LACP in words for the live views: a bond's one-line LACP summary and
a port state byte decoded into letters.

The port state is the IEEE 802.1AX actor/partner state octet, bit 0 first:
Activity (active LACP), Timeout (short), aGgregation (aggregatable),
Synchronization, Collecting, Distributing, deFaulted, Expired. Each is
shown as its letter when set and "." when not, so a healthy fast-rate
active port reads "ATGSCD.." and one with no partner "ATG...F.".
"""
from __future__ import annotations

from .status_text import _truthy, lacp_fallback, lacp_fallback_text

PORT_STATE_LETTERS = "ATGSCDFE"
PORT_STATE_WORDS = ("Activity", "Timeout", "Aggregation", "Synchronization", "Collecting",
                    "Distributing", "Defaulted", "Expired")
PORT_STATE_LEGEND = "  ".join(f"{letter} {word}" for letter, word in zip(PORT_STATE_LETTERS, PORT_STATE_WORDS))


def port_state_letters(state: int | None) -> str:
    """ "ATGSCD.." for 63; "-" when the state is unknown."""
    if state is None:
        return "-"
    return "".join(letter if int(state) >> bit & 1 else "." for bit, letter in enumerate(PORT_STATE_LETTERS))


def port_state_change(old: int | None, new: int) -> str:
    """63 -> 71 as "ATGSCD.. -> ATG...F. (lost Synchronization, Collecting,
    Distributing; gained Defaulted)": the letters, then the words of the
    bits that changed."""
    before = 0 if old is None else int(old)
    lost = [w for bit, w in enumerate(PORT_STATE_WORDS) if before >> bit & 1 and not new >> bit & 1]
    gained = [w for bit, w in enumerate(PORT_STATE_WORDS) if new >> bit & 1 and not before >> bit & 1]
    words = "; ".join(f"{what} {', '.join(bits)}" for what, bits in (("lost", lost), ("gained", gained)) if bits)
    return f"{port_state_letters(old)} -> {port_state_letters(new)}" + (f" ({words})" if words else "")


def distributing_count(status: dict) -> tuple[int, int]:
    """(members whose actor state has Distributing, members)."""
    slaves = status.get("slaves") or []
    busy = sum(1 for s in slaves if ((s.get("ad") or {}).get("actor") or {}).get("port_state", 0) >> 5 & 1)
    return busy, len(slaves)


def lacp_summary(status: dict) -> str | None:
    """One line on the bond's LACP, led by the status JSON's lacp_status
    (the daemon's one definition: status.lacp_status), e.g. "negotiated:
    partner ... key 9, aggregator 1 with 2 port(s), 2/2 members
    distributing, rate fast", and the LACP fallback while it runs; None where
    lacp_status is off (not 802.3ad)."""
    state = status.get("lacp_status")
    if state in (None, "off"):
        return None
    ad = status.get("ad_info") or {}
    agg = ad.get("active_aggregator") or {}
    lacp_active = ad.get("lacp_active")
    if lacp_active is None:
        lacp_active = (status.get("options") or {}).get("lacp_active", "on")
    rate = "fast" if _truthy(ad.get("lacp_rate")) else "slow"
    busy, members = distributing_count(status)
    if state == "negotiated":
        partner = (agg.get("partner_mac") or "-").lower()
        return (f"negotiated: partner {partner} key {agg.get('partner_key', '?')}, aggregator "
                f"{agg.get('id', '?')} with {agg.get('num_ports', '?')} port(s), "
                f"{busy}/{members} members distributing, rate {rate}")
    if _truthy(lacp_active):
        summary = f"{state}: sending LACPDUs at the {rate} rate, none answered"
    else:
        summary = f"{state}: lacp_active=off, waiting for a partner to speak first"
    fallback = lacp_fallback(status)
    if fallback:
        summary += f"; LACP fallback: {lacp_fallback_text(fallback)}, {fallback.get('member') or 'no member'} active"
    return summary
