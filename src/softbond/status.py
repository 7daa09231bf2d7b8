"""Bond status rendering: the kernel's /proc/net/bonding/<bond> text, JSON,
a verbose softbond view, and a tolerant parser of /proc/net/bonding text.

The /proc text reproduces drivers/net/bonding/bond_procfs.c (Linux 6.x) line
for line: the same labels, the same conditional lines per mode, the same
number and address formats (``%pM``, ``%*phC``, ``%pI4``, ``%pI6c``).

Input is the status dict produced by the bond daemon (also what
``softbond status --json`` prints).  See ``render_proc`` for the keys used.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

__all__ = [
    "MODE_NAMES",
    "MODE_DESCRIPTIONS",
    "XMIT_HASH_POLICIES",
    "render_proc",
    "render_json",
    "render_verbose",
    "parse_proc",
    "format_mac",
    "format_ipv4",
    "format_ipv6",
    "mode_id_of",
]

# Kernel option names, indexed by BOND_MODE_* value (bond_options.c).
MODE_NAMES = (
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
)

# bond_mode_name() in bond_main.c, indexed by BOND_MODE_* value.
MODE_DESCRIPTIONS = (
    "load balancing (round-robin)",
    "fault-tolerance (active-backup)",
    "load balancing (xor)",
    "fault-tolerance (broadcast)",
    "IEEE 802.3ad Dynamic link aggregation",
    "transmit load balancing",
    "adaptive load balancing",
)

# bond_xmit_hashtype_tbl, indexed by BOND_XMIT_POLICY_* value.
XMIT_HASH_POLICIES = (
    "layer2",
    "layer3+4",
    "layer2+3",
    "encap2+3",
    "encap3+4",
    "vlan+srcmac",
)

_FAIL_OVER_MAC = ("none", "active", "follow")
_PRIMARY_RESELECT = ("always", "better", "failure")
_AD_SELECT = ("stable", "bandwidth", "count", "actor_port_prio")
# bond_3ad_churn_desc(): AD_CHURN_MONITOR, AD_CHURN, AD_NO_CHURN, else unknown.
_CHURN = ("monitoring", "churned", "none")
# bond_slave_link_status(): BOND_LINK_UP, _FAIL, _DOWN, _BACK.
_SLAVE_LINK = ("up", "going down", "down", "going back")

_MODE_AB, _MODE_8023AD, _MODE_XOR, _MODE_TLB, _MODE_ALB = 1, 4, 2, 5, 6

_HEADER_PREFIX = "Ethernet Channel Bonding Driver: v"

# Kernel defaults, used when an option is missing from the status dict.
_OPTION_DEFAULTS: dict[str, Any] = {
    "miimon": 0,
    "updelay": 0,
    "downdelay": 0,
    "peer_notif_delay": 0,
    "arp_interval": 0,
    "arp_missed_max": 2,
    "arp_ip_target": [],
    "ns_ip6_target": [],
    "primary": "",
    "primary_reselect": "always",
    "fail_over_mac": "none",
    "xmit_hash_policy": "layer2",
    "tlb_dynamic_lb": 1,
    "lacp_rate": "slow",
    "lacp_active": "on",
    "ad_select": "stable",
    "min_links": 0,
    "ad_actor_sys_prio": 65535,
}


# ---------------------------------------------------------------------------
# Small formatters (kernel printk formats)
# ---------------------------------------------------------------------------

def format_mac(addr: Any, length: int = 6) -> str:
    """Format a hardware address as the kernel's %pM / %*phC: lowercase hex
    bytes joined by ':'.  Accepts 'AA:BB:..', 'aa-bb-..', 'aabbcc..', bytes,
    or None (all zeros of *length* bytes)."""
    if addr is None:
        return ":".join(["00"] * length)
    if isinstance(addr, (bytes, bytearray)):
        return ":".join(f"{b:02x}" for b in addr)
    text = str(addr).strip()
    parts = re.split(r"[:\-.]", text) if re.search(r"[:\-.]", text) else None
    try:
        if parts is None:
            if len(text) % 2:
                raise ValueError(text)
            octets = [int(text[i:i + 2], 16) for i in range(0, len(text), 2)]
        else:
            if any(len(p) > 2 or not p for p in parts):
                # Cisco-style aabb.ccdd.eeff or other grouping: fall back.
                flat = "".join(parts)
                return format_mac(flat, length)
            octets = [int(p, 16) for p in parts]
    except ValueError:
        return text.lower()
    return ":".join(f"{b:02x}" for b in octets)


def format_ipv4(addr: Any) -> str:
    """%pI4: dotted decimal without leading zeros."""
    return str(ipaddress.IPv4Address(str(addr).strip()))


def format_ipv6(addr: Any) -> str:
    """%pI6c: the kernel's compressed IPv6 form (lib/vsprintf.c
    ip6_compressed_string).  Like RFC 5952, except that IPv4-mapped and
    ISATAP addresses end in dotted decimal."""
    packed = ipaddress.IPv6Address(str(addr).strip()).packed
    words = [int.from_bytes(packed[i:i + 2], "big") for i in range(0, 16, 2)]
    v4mapped = words[:5] == [0, 0, 0, 0, 0] and words[5] == 0xFFFF
    isatap = (words[4] | 0x0200) == 0x0200 and words[5] == 0x5EFE
    use_v4 = v4mapped or isatap
    rng = 6 if use_v4 else 8

    longest, colonpos = 1, -1
    for i in range(rng):
        run = 0
        for j in range(i, rng):
            if words[j]:
                break
            run += 1
        if run > longest:
            longest, colonpos = run, i

    out: list[str] = []
    needcolon = False
    i = 0
    while i < rng:
        if i == colonpos:
            if needcolon or i == 0:
                out.append(":")
            out.append(":")
            needcolon = False
            i += longest
            continue
        if needcolon:
            out.append(":")
        out.append(f"{words[i]:x}")
        needcolon = True
        i += 1
    if use_v4:
        if needcolon:
            out.append(":")
        out.append(".".join(str(b) for b in packed[12:]))
    return "".join(out)


# ---------------------------------------------------------------------------
# Value normalisation helpers
# ---------------------------------------------------------------------------

def _enum_name(value: Any, table: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return table[value] if 0 <= value < len(table) else "unknown"
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("on", "1", "yes", "true", "fast")
    return bool(value)


def _int(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    return int(value)


def mode_id_of(status: dict) -> int:
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
        if mode in MODE_NAMES:
            return MODE_NAMES.index(mode)
        if mode.isdigit():
            return int(mode)
    return -1


def _opt(status: dict, name: str) -> Any:
    options = status.get("options") or {}
    value = options.get(name)
    if value is None:
        return _OPTION_DEFAULTS.get(name)
    return value


def _xmit_policy(value: Any) -> tuple[str, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        name = XMIT_HASH_POLICIES[value] if 0 <= value < len(XMIT_HASH_POLICIES) else "unknown"
        return name, value
    name = str(value)
    if name not in XMIT_HASH_POLICIES:
        raise ValueError(f"unknown xmit_hash_policy {name!r}")
    return name, XMIT_HASH_POLICIES.index(name)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return list(value)


def _churn(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _CHURN[value] if 0 <= value < len(_CHURN) else "unknown"
    return value if value in _CHURN else "unknown"


def _slave_link(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _SLAVE_LINK[value] if 0 <= value < len(_SLAVE_LINK) else "unknown"
    return value if value in _SLAVE_LINK else "unknown"


# ---------------------------------------------------------------------------
# /proc/net/bonding text
# ---------------------------------------------------------------------------

def _header(status: dict) -> str:
    version = status.get("driver_version") or status.get("softbond_version") or ""
    # bond_version already ends in "\n" and is printed with "%s\n".
    return f"{_HEADER_PREFIX}{version}\n\n"


def _master(status: dict, cap_net_admin: bool) -> list[str]:
    mode = mode_id_of(status)
    lines: list[str] = []

    line = "Bonding Mode: " + (
        MODE_DESCRIPTIONS[mode] if 0 <= mode < len(MODE_DESCRIPTIONS) else "unknown")
    fom = _enum_name(_opt(status, "fail_over_mac"), _FAIL_OVER_MAC, "none")
    if mode == _MODE_AB and fom not in ("none", "0"):
        line += f" (fail_over_mac {fom})"
    lines.append(line)

    tlb_dynamic = _truthy(_opt(status, "tlb_dynamic_lb"))
    if mode in (_MODE_8023AD, _MODE_XOR) or (mode in (_MODE_TLB, _MODE_ALB) and not tlb_dynamic):
        name, num = _xmit_policy(_opt(status, "xmit_hash_policy"))
        lines.append(f"Transmit Hash Policy: {name} ({num})")

    if mode in (_MODE_AB, _MODE_TLB, _MODE_ALB):
        primary = _primary_slave(status)
        line = f"Primary Slave: {primary or 'None'}"
        if primary:
            reselect = _enum_name(_opt(status, "primary_reselect"), _PRIMARY_RESELECT, "always")
            line += f" (primary_reselect {reselect})"
        lines.append(line)
        lines.append(f"Currently Active Slave: {status.get('active_slave') or 'None'}")

    lines.append(f"MII Status: {'up' if status.get('mii_status') == 'up' else 'down'}")
    miimon = _int(_opt(status, "miimon"))
    lines.append(f"MII Polling Interval (ms): {miimon}")
    for label, name in (("Up Delay", "updelay"), ("Down Delay", "downdelay"),
                        ("Peer Notification Delay", "peer_notif_delay")):
        value = _int(_opt(status, name)) if miimon else 0
        lines.append(f"{label} (ms): {value}")

    arp_interval = _int(_opt(status, "arp_interval"))
    if arp_interval > 0:
        lines.append(f"ARP Polling Interval (ms): {arp_interval}")
        lines.append(f"ARP Missed Max: {_int(_opt(status, 'arp_missed_max'), 2)}")
        targets = [format_ipv4(t) for t in _as_list(_opt(status, "arp_ip_target"))]
        lines.append("ARP IP target/s (n.n.n.n form):"
                     + ",".join(" " + t for t in targets))
        targets6 = [format_ipv6(t) for t in _as_list(_opt(status, "ns_ip6_target"))]
        lines.append("NS IPv6 target/s (xx::xx form):"
                     + ",".join(" " + t for t in targets6))

    if mode == _MODE_8023AD:
        lines.extend(_ad_info_lines(status, cap_net_admin))
    return lines


def _primary_slave(status: dict) -> str | None:
    """The kernel prints bond->primary_slave, which exists only when the
    primary option names an enslaved interface."""
    if "primary_slave" in status:
        return status["primary_slave"] or None
    primary = _opt(status, "primary") or ""
    if not primary:
        return None
    names = {s.get("name") for s in status.get("slaves") or []}
    return primary if primary in names else None


def _ad_info_lines(status: dict, cap_net_admin: bool) -> list[str]:
    ad = status.get("ad_info") or {}

    def pick(key: str, opt: str) -> Any:
        value = ad.get(key)
        return _opt(status, opt) if value is None else value

    lines = ["", "802.3ad info"]
    lines.append(f"LACP active: {'on' if _truthy(pick('lacp_active', 'lacp_active')) else 'off'}")
    lines.append(f"LACP rate: {'fast' if _truthy(pick('lacp_rate', 'lacp_rate')) else 'slow'}")
    lines.append(f"Min links: {_int(pick('min_links', 'min_links'))}")
    ad_select = _enum_name(pick("ad_select", "ad_select"), _AD_SELECT, "stable")
    lines.append(f"Aggregator selection policy (ad_select): {ad_select}")
    if cap_net_admin:
        sys_prio = ad.get("system_priority")
        if sys_prio is None:
            sys_prio = _opt(status, "ad_actor_sys_prio")
        sys_mac = ad.get("system_mac") or _opt(status, "ad_actor_system") or status.get("hwaddr")
        lines.append(f"System priority: {_int(sys_prio)}")
        lines.append(f"System MAC address: {format_mac(sys_mac)}")
        agg = ad.get("active_aggregator")
        if not agg:
            lines.append(f"bond {status.get('bond', '')} has no active aggregator")
        else:
            lines.append("Active Aggregator Info:")
            lines.append(f"\tAggregator ID: {_int(agg.get('id'))}")
            lines.append(f"\tNumber of ports: {_int(agg.get('num_ports'))}")
            lines.append(f"\tActor Key: {_int(agg.get('actor_key'))}")
            lines.append(f"\tPartner Key: {_int(agg.get('partner_key'))}")
            lines.append(f"\tPartner Mac Address: {format_mac(agg.get('partner_mac'))}")
    return lines


def _slave(status: dict, slave: dict, cap_net_admin: bool) -> list[str]:
    lines = ["", f"Slave Interface: {slave.get('name')}"]
    lines.append(f"MII Status: {_slave_link(slave.get('mii_status'))}")
    speed = slave.get("speed_mbps")
    if speed is None or speed == -1 or speed == "Unknown":
        lines.append("Speed: Unknown")
    else:
        lines.append(f"Speed: {int(speed)} Mbps")
    duplex = slave.get("duplex")
    if duplex is None or str(duplex).lower() in ("unknown", "255"):
        lines.append("Duplex: Unknown")
    else:
        full = str(duplex).lower() in ("full", "1", "true")
        lines.append(f"Duplex: {'full' if full else 'half'}")
    lines.append(f"Link Failure Count: {_int(slave.get('link_failure_count'))}")
    lines.append(f"Permanent HW addr: {format_mac(slave.get('perm_hwaddr'))}")
    lines.append(f"Slave queue ID: {_int(slave.get('queue_id'))}")

    if mode_id_of(status) == _MODE_8023AD:
        ad = slave.get("ad") or {}
        agg_id = ad.get("aggregator_id")
        if agg_id is None:
            lines.append("Aggregator ID: N/A")
            return lines
        lines.append(f"Aggregator ID: {int(agg_id)}")
        lines.append(f"Actor Churn State: {_churn(ad.get('actor_churn_state', 'none'))}")
        lines.append(f"Partner Churn State: {_churn(ad.get('partner_churn_state', 'none'))}")
        lines.append(f"Actor Churned Count: {_int(ad.get('actor_churned_count'))}")
        lines.append(f"Partner Churned Count: {_int(ad.get('partner_churned_count'))}")
        if cap_net_admin:
            actor = ad.get("actor") or {}
            partner = ad.get("partner") or {}
            lines.append("details actor lacp pdu:")
            lines.append(f"    system priority: {_int(actor.get('system_priority'))}")
            lines.append(f"    system mac address: {format_mac(actor.get('system_mac'))}")
            lines.append(f"    port key: {_int(actor.get('port_key'))}")
            lines.append(f"    port priority: {_int(actor.get('port_priority'))}")
            lines.append(f"    port number: {_int(actor.get('port_number'))}")
            lines.append(f"    port state: {_int(actor.get('port_state'))}")
            lines.append("details partner lacp pdu:")
            lines.append(f"    system priority: {_int(partner.get('system_priority'))}")
            lines.append(f"    system mac address: {format_mac(partner.get('system_mac'))}")
            lines.append(f"    oper key: {_int(partner.get('oper_key'))}")
            lines.append(f"    port priority: {_int(partner.get('port_priority'))}")
            lines.append(f"    port number: {_int(partner.get('port_number'))}")
            lines.append(f"    port state: {_int(partner.get('port_state'))}")
    return lines


def render_proc(status: dict, *, cap_net_admin: bool = True) -> str:
    """The exact text the kernel would show in /proc/net/bonding/<bond>.

    Keys read: ``driver_version`` (header "v" + it), ``mode``/``mode_id``,
    ``options`` (missing options take kernel defaults; enums may be names
    or numbers), ``mii_status`` (bond carrier), ``active_slave``,
    ``bond`` (for "bond X has no active aggregator"), ``ad_info`` (falls
    back to options/hwaddr when None) and per slave ``name``,
    ``mii_status``, ``speed_mbps``, ``duplex``, ``link_failure_count``,
    ``perm_hwaddr``, ``queue_id`` and ``ad``.  "Primary Slave" shows
    ``options["primary"]`` only when it names an enslaved interface (the
    kernel prints bond->primary_slave); an explicit top-level
    ``primary_slave`` key overrides that.

    *cap_net_admin* mirrors ``capable(CAP_NET_ADMIN)`` of the reader: without
    it the 802.3ad system/aggregator lines and the per-slave LACPDU details
    are left out, as the kernel does.
    """
    lines = _master(status, cap_net_admin)
    for slave in status.get("slaves") or []:
        lines.extend(_slave(status, slave, cap_net_admin))
    return _header(status) + "".join(line + "\n" for line in lines)


NO_PARTNER = "configured (no partner)"


def lacp_status(status: dict) -> str:
    """softbond's LACP summary, as ovs-appctl bond/show words it (and the
    dashboard): "negotiated" while a partner's information is current on
    some member (its receive machine CURRENT: not EXPIRED, which a port
    also passes through on its way up, nor DEFAULTED), "configured (no
    partner)" when none is (an 802.3ad bond passes no traffic like that),
    "off" for the other modes."""
    if mode_id_of(status) != 4:
        return "off"
    ports = [slave.get("ad") or {} for slave in status.get("slaves") or []]
    if any(port.get("rx_state") == "CURRENT" for port in ports):
        return "negotiated"
    return NO_PARTNER


def lacp_line(status: dict) -> str:
    """The line `softbond status` adds below an 802.3ad bond's kernel text."""
    return f"\nLACP status: {lacp_status(status)}\n" if mode_id_of(status) == 4 else ""


def render_several(texts: list[tuple[str, str]]) -> str:
    """Several bonds' texts, (name, text) pairs: each under its name, as
    `head /proc/net/bonding/*` shows them; one bond's text as it is."""
    if len(texts) == 1:
        return texts[0][1]
    return "\n".join(f"==> {name} <==\n{text}" for name, text in texts)


# ---------------------------------------------------------------------------
# JSON and verbose views
# ---------------------------------------------------------------------------

def render_json(status: dict) -> str:
    """The status dict as JSON (indent 2, keys in insertion order), with a
    trailing newline: the output of ``softbond status --json``."""
    return json.dumps(status, indent=2) + "\n"


_COUNTER_KEYS = ("packets", "bytes", "dropped")


def render_verbose(status: dict, *, cap_net_admin: bool = True) -> str:
    """``render_proc`` text, unchanged, followed by a softbond section:
    version, datapath (with the Python path's loop counters), bond MAC and
    addresses, and per-slave state and traffic counters."""
    out = [render_proc(status, cap_net_admin=cap_net_admin)]
    lines = ["", "softbond info"]
    lines.append(f"softbond version: {status.get('softbond_version') or 'unknown'}")
    lines.append(f"Datapath: {status.get('datapath') or 'unknown'}")
    workers = status.get("datapath_workers")
    if workers:
        lines.append(f"Datapath workers: {len(workers)}")
    loop = status.get("datapath_loop")
    if loop:        # the Python path's forwarding loop (eBPF: none)
        lines.append(f"Datapath loop: {_int(loop.get('frames_out'))} frames out, {_int(loop.get('frames_in'))} in, "
                     f"{_int(loop.get('rx_dropped'))} dropped, {_int(loop.get('tx_errors'))} send errors; "
                     f"{_int(loop.get('slept'))} wakeups from sleep, {_int(loop.get('polled'))} by busy polling")
    lines.append(f"HW addr: {format_mac(status.get('hwaddr')) if status.get('hwaddr') else 'None'}")
    addresses = _as_list(status.get("addresses"))
    lines.append("Addresses:" + ("".join(" " + str(a) for a in addresses) if addresses else " None"))
    for slave in status.get("slaves") or []:
        lines.append("")
        lines.append(f"Slave Interface: {slave.get('name')}")
        lines.append(f"State: {slave.get('state') or 'unknown'}")
        if slave.get("hwaddr"):        # the member's MAC and MTU now (older bonds did not say)
            lines.append(f"HW addr: {format_mac(slave['hwaddr'])}")
        if slave.get("mtu"):
            below = f" (below {status.get('bond')}'s {status.get('mtu')})" if slave.get("mtu_below_bond") else ""
            lines.append(f"MTU: {slave['mtu']}{below}")
        counters = slave.get("counters") or {}
        for direction in ("rx", "tx"):
            values = [_int(counters.get(f"{direction}_{k}")) for k in _COUNTER_KEYS]
            lines.append(f"{direction.upper()}: {values[0]} packets, {values[1]} bytes, "
                         f"{values[2]} dropped")
    out.append("".join(line + "\n" for line in lines))
    return "".join(out)


# ---------------------------------------------------------------------------
# Parser
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
            if value in MODE_DESCRIPTIONS:
                result["mode_id"] = MODE_DESCRIPTIONS.index(value)
                result["mode"] = MODE_NAMES[result["mode_id"]]
                if result["mode_id"] == _MODE_AB:
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
