"""A tolerant parser of /proc/net/bonding text (the kernel's, any version
from 3.x on, or softbond's), for tests and fuzz harnesses: it checks that
softbond's text reads back as the status it was rendered from, and that
real kernels' texts parse.  The product never reads this text back."""

from __future__ import annotations

import re
from typing import Any

from softbond.config.registry import BondMode
from softbond.faces.status_text import MODE_DESCRIPTIONS

_MODE_BY_DESCRIPTION = {text: mode for mode, text in MODE_DESCRIPTIONS.items()}

# ---------------------------------------------------------------------------

_HEADER_RE = re.compile(r"^Ethernet Channel Bonding Driver:\s*v?(\S+)(?:\s+\((.*)\))?\s*$")
_FOM_RE = re.compile(r"^(.*?) \(fail_over_mac (\S+)\)$")
_RESELECT_RE = re.compile(r"^(.*?) \(primary_reselect (\S+)\)$")
_HASH_RE = re.compile(r"^(\S+) \((\d+)\)$")
_NO_AGG_RE = re.compile(r"^bond (\S*) has no active aggregator$")


def _to_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _targets(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


_MASTER_INT_KEYS = {
    "MII Polling Interval (ms)": "miimon",
    "Up Delay (ms)": "updelay",
    "Down Delay (ms)": "downdelay",
    "Peer Notification Delay (ms)": "peer_notif_delay",
    "ARP Polling Interval (ms)": "arp_interval",
    "ARP Missed Max": "arp_missed_max",
}

_AGG_KEYS = {
    "Aggregator ID": "id",
    "Number of ports": "num_ports",
    "Actor Key": "actor_key",
    "Partner Key": "partner_key",
    "Partner Mac Address": "partner_mac",
}

_LACPDU_KEYS = {
    "system priority": "system_priority",
    "system mac address": "system_mac",
    "port key": "port_key",
    "oper key": "oper_key",
    "port priority": "port_priority",
    "port number": "port_number",
    "port state": "port_state",
}


def parse_proc(text: str) -> dict:
    """Read /proc/net/bonding/<bond> text (the kernel's, any version from
    3.x on, or ours) into a dict shaped like the status schema:

    ``driver_version``, ``driver_date`` (e.g. "April 27, 2011" or None),
    ``mode`` (kernel option name or None), ``mode_id``, ``mode_name``,
    ``mii_status``, ``primary_slave``, ``active_slave`` (None when "None" or
    absent), ``options`` (only what the text shows: miimon, updelay,
    downdelay, peer_notif_delay, fail_over_mac, xmit_hash_policy,
    primary_reselect, arp_interval, arp_missed_max, arp_ip_target,
    ns_ip6_target, lacp_active, lacp_rate, min_links, ad_select),
    ``ad_info`` (None outside 802.3ad; ``active_aggregator`` None for "has
    no active aggregator") and ``slaves``: a list of dicts with name,
    mii_status, speed_mbps, duplex (None for Unknown), link_failure_count,
    perm_hwaddr, queue_id, aggregator_id (None for N/A or non-802.3ad) and
    ``ad`` (None, or churn states/counts and ``actor``/``partner`` LACPDU
    details when shown).

    Unknown lines are ignored, so newer or older kernels still parse.
    """
    result: dict[str, Any] = {
        "driver_version": None,
        "driver_date": None,
        "mode": None,
        "mode_id": None,
        "mode_name": None,
        "mii_status": None,
        "primary_slave": None,
        "active_slave": None,
        "options": {},
        "ad_info": None,
        "slaves": [],
    }
    options: dict[str, Any] = result["options"]
    slave: dict[str, Any] | None = None
    section = "master"          # master | ad | agg
    sub: dict[str, Any] | None = None   # LACPDU details block of a slave

    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped:
            continue
        indented = line[:1] in (" ", "\t")
        if not indented:
            sub = None

        m = _HEADER_RE.match(stripped)
        if m and slave is None:
            result["driver_version"] = m.group(1)
            result["driver_date"] = m.group(2)
            continue

        if stripped.startswith("Slave Interface:"):
            slave = {
                "name": stripped.split(":", 1)[1].strip(),
                "mii_status": None,
                "speed_mbps": None,
                "duplex": None,
                "link_failure_count": None,
                "perm_hwaddr": None,
                "queue_id": None,
                "aggregator_id": None,
                "ad": None,
            }
            result["slaves"].append(slave)
            section = "slave"
            sub = None
            continue

        if slave is None and stripped == "802.3ad info":
            section = "ad"
            if result["ad_info"] is None:
                result["ad_info"] = {}
            continue

        if slave is not None:
            _parse_slave_line(slave, stripped, indented, sub)
            if stripped == "details actor lacp pdu:":
                sub = slave["ad"].setdefault("actor", {})
            elif stripped == "details partner lacp pdu:":
                sub = slave["ad"].setdefault("partner", {})
            continue

        # Master record.
        m = _NO_AGG_RE.match(stripped)
        if m:
            ad_info = result["ad_info"] if result["ad_info"] is not None else {}
            result["ad_info"] = ad_info
            ad_info["active_aggregator"] = None
            section = "ad"  # no aggregator block follows: stray "Aggregator ID" lines are ignored
            continue
        if stripped == "Active Aggregator Info:":
            ad_info = result["ad_info"] if result["ad_info"] is not None else {}
            result["ad_info"] = ad_info
            ad_info["active_aggregator"] = {}
            section = "agg"
            continue
        if stripped.startswith(("ARP IP target/s", "NS IPv6 target/s")):
            # The NS label itself contains "::"; the value follows "):".
            label, _, value = stripped.partition("):")
            name = "arp_ip_target" if label.startswith("ARP") else "ns_ip6_target"
            options[name] = _targets(value)
            continue
        if ":" not in stripped:
            continue
        key, value = (p.strip() for p in stripped.split(":", 1))

        if section == "agg" and key in _AGG_KEYS and (indented or key != "Aggregator ID"):
            agg = result["ad_info"]["active_aggregator"]
            name = _AGG_KEYS[key]
            agg[name] = value.lower() if name == "partner_mac" else _to_int(value)
            continue
        if section == "agg" and not indented:
            section = "ad"

        if key == "Bonding Mode":
            m = _FOM_RE.match(value)
            if m:
                value, options["fail_over_mac"] = m.group(1), m.group(2)
            result["mode_name"] = value
            mode = _MODE_BY_DESCRIPTION.get(value)
            if mode is not None:
                result["mode_id"] = mode.value
                result["mode"] = mode.label
                if mode == BondMode.ACTIVEBACKUP:
                    options.setdefault("fail_over_mac", "none")
        elif key == "Transmit Hash Policy":
            m = _HASH_RE.match(value)
            options["xmit_hash_policy"] = m.group(1) if m else value
        elif key == "Primary Slave":
            m = _RESELECT_RE.match(value)
            if m:
                value, options["primary_reselect"] = m.group(1), m.group(2)
            result["primary_slave"] = None if value in ("None", "") else value
        elif key == "Currently Active Slave":
            result["active_slave"] = None if value in ("None", "") else value
        elif key == "MII Status":
            result["mii_status"] = value
        elif key in _MASTER_INT_KEYS:
            options[_MASTER_INT_KEYS[key]] = _to_int(value)
        elif section == "ad":
            ad_info = result["ad_info"]
            if key == "LACP active":
                ad_info["lacp_active"] = options["lacp_active"] = value
            elif key == "LACP rate":
                ad_info["lacp_rate"] = options["lacp_rate"] = value
            elif key == "Min links":
                ad_info["min_links"] = options["min_links"] = _to_int(value)
            elif key.startswith("Aggregator selection policy"):
                ad_info["ad_select"] = options["ad_select"] = value
            elif key == "System priority":
                ad_info["system_priority"] = _to_int(value)
            elif key == "System MAC address":
                ad_info["system_mac"] = value.lower()
    return result


def _parse_slave_line(slave: dict, stripped: str, indented: bool,
                      sub: dict | None) -> None:
    if ":" not in stripped:
        return
    key, value = (p.strip() for p in stripped.split(":", 1))
    if sub is not None and indented:
        name = _LACPDU_KEYS.get(key)
        if name:
            sub[name] = value.lower() if name == "system_mac" else _to_int(value)
        return
    if key == "MII Status":
        slave["mii_status"] = value
    elif key == "Speed":
        m = re.match(r"^(-?\d+)", value)
        slave["speed_mbps"] = int(m.group(1)) if m else None
    elif key == "Duplex":
        slave["duplex"] = None if value.lower() == "unknown" else value
    elif key == "Link Failure Count":
        slave["link_failure_count"] = _to_int(value)
    elif key == "Permanent HW addr":
        slave["perm_hwaddr"] = value.lower()
    elif key == "Slave queue ID":
        slave["queue_id"] = _to_int(value)
    elif key == "Aggregator ID":
        agg_id = None if value.upper() == "N/A" else _to_int(value)
        slave["aggregator_id"] = agg_id
        if slave["ad"] is None:
            slave["ad"] = {}
        slave["ad"]["aggregator_id"] = agg_id
    elif key in ("Actor Churn State", "Partner Churn State",
                 "Actor Churned Count", "Partner Churned Count"):
        if slave["ad"] is None:
            slave["ad"] = {"aggregator_id": slave["aggregator_id"]}
        name = key.lower().replace(" ", "_")
        slave["ad"][name] = _to_int(value) if name.endswith("count") else value
    elif key in ("details actor lacp pdu", "details partner lacp pdu"):
        if slave["ad"] is None:
            slave["ad"] = {"aggregator_id": slave["aggregator_id"]}
