"""Bond status rendering: the kernel's /proc/net/bonding/<bond> text and a
verbose softbond view.

The /proc text reproduces drivers/net/bonding/bond_procfs.c (Linux 6.x) line
for line: the same labels, the same conditional lines per mode, the same
number and address formats (``%pM``, ``%*phC``, ``%pI4``, ``%pI6c``).

Input is the status dict produced by the bond daemon (also what
``softbond status --json`` prints), typed by ``BondStatus``; enum options
may be given as names or numbers, named through the option registry.
The kernel 6.1 and 6.12 texts softbond mirrors have no coupled_control line,
so neither does this one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping, TypedDict

from .status_mode import NO_PARTNER, lacp_status, mode_id_of  # noqa: F401 (the bond imports them from status_mode)
from ..config.registry import MODE_DESCRIPTIONS, AdSelect, BondMode, FailOverMac, PrimaryReselect, XmitHashPolicy

__all__ = [
    "BondStatus",
    "SlaveStatus",
    "MODE_DESCRIPTIONS",
    "render_proc",
    "render_verbose",
    "format_mac",
    "format_ipv4",
    "format_ipv6",
    "mode_id_of",
]


class Aggregator(TypedDict, total=False):
    id: int
    num_ports: int
    actor_key: int
    partner_key: int
    partner_mac: str


class AdInfo(TypedDict, total=False):
    """The bond's 802.3ad summary; a missing value falls back to options."""
    lacp_active: str | int
    lacp_rate: str | int
    min_links: int
    ad_select: str | int
    system_priority: int
    system_mac: str
    active_aggregator: Aggregator | None


class SlaveStatus(TypedDict, total=False):
    name: str
    mii_status: str | int         # "up", "going down", "down", "going back" (or 0-3)
    speed_mbps: int | None        # None or -1: Unknown
    duplex: str | int | None      # "full", "half"; None: Unknown
    link_failure_count: int
    perm_hwaddr: str
    queue_id: int
    ad: dict | None               # 802.3ad port: aggregator_id, churn, actor/partner LACPDU
    # softbond's own, for the verbose view
    state: str
    hwaddr: str
    mtu: int
    mtu_below_bond: bool
    counters: dict[str, int]
    control_send_errors: int
    path: dict | None             # the path monitor: state, loss_pct, rtt_ms, probes, taken_out, reason, target


class BondStatus(TypedDict, total=False):
    bond: str
    driver_version: str
    softbond_version: str
    mode: str | int               # kernel option name, or its number
    mode_id: int
    options: dict[str, Any]       # missing options take the kernel defaults below
    mii_status: str
    active_slave: str | None
    primary_slave: str | None     # overrides what options["primary"] implies
    hwaddr: str
    mtu: int
    addresses: list[str]
    datapath: str | None
    datapath_workers: list | None
    datapath_loop: dict | None
    carrier_rescue: str | None    # eBPF: "on", or why it is off (datapath/ebpf/rescue.py)
    flowlet: dict | None          # xmit_balance=flowlet: gap_us, interval_ms, moves
    ad_info: AdInfo | None
    slaves: list[SlaveStatus]


# bond_3ad_churn_desc(): AD_CHURN_MONITOR, AD_CHURN, AD_NO_CHURN, else unknown.
_CHURN = ("monitoring", "churned", "none")
# bond_slave_link_status(): BOND_LINK_UP, _FAIL, _DOWN, _BACK.
_SLAVE_LINK = ("up", "going down", "down", "going back")

_MODE_AB, _MODE_8023AD, _MODE_XOR, _MODE_TLB, _MODE_ALB = (
    BondMode.ACTIVEBACKUP, BondMode.MODE_8023AD, BondMode.XOR, BondMode.TLB, BondMode.ALB)

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

def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("on", "1", "yes", "true", "fast")
    return bool(value)


def _mbit(value: object) -> str:
    """A line rate in Mbit/s as an operator writes it: 100, 2.5."""
    return f"{value:g}" if isinstance(value, (int, float)) else "?"


def _int(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    return int(value)


def _opt(status: BondStatus, name: str) -> Any:
    options = status.get("options") or {}
    value = options.get(name)
    if value is None:
        return _OPTION_DEFAULTS.get(name)
    return value


def _xmit_policy(value: Any) -> tuple[str, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return XmitHashPolicy.label_of(value, "layer2"), value
    policy = XmitHashPolicy.from_label(str(value))
    if policy is None:
        raise ValueError(f"unknown xmit_hash_policy {str(value)!r}")
    return policy.label, policy.value


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

def _header(status: BondStatus) -> str:
    version = status.get("driver_version") or status.get("softbond_version") or ""
    # bond_version already ends in "\n" and is printed with "%s\n".
    return f"{_HEADER_PREFIX}{version}\n\n"


def _master(status: BondStatus, cap_net_admin: bool) -> list[str]:
    mode = mode_id_of(status)
    lines: list[str] = []

    line = "Bonding Mode: " + (
        MODE_DESCRIPTIONS.get(mode, "unknown"))
    fom = FailOverMac.label_of(_opt(status, "fail_over_mac"), "none")
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
            reselect = PrimaryReselect.label_of(_opt(status, "primary_reselect"), "always")
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


def _primary_slave(status: BondStatus) -> str | None:
    """The kernel prints bond->primary_slave, which exists only when the
    primary option names an enslaved interface."""
    if "primary_slave" in status:
        return status["primary_slave"] or None
    primary = _opt(status, "primary") or ""
    if not primary:
        return None
    names = {s.get("name") for s in status.get("slaves") or []}
    return primary if primary in names else None


def _ad_info_lines(status: BondStatus, cap_net_admin: bool) -> list[str]:
    ad = status.get("ad_info") or {}

    def pick(key: str, opt: str) -> Any:
        value = ad.get(key)
        return _opt(status, opt) if value is None else value

    lines = ["", "802.3ad info"]
    lines.append(f"LACP active: {'on' if _truthy(pick('lacp_active', 'lacp_active')) else 'off'}")
    lines.append(f"LACP rate: {'fast' if _truthy(pick('lacp_rate', 'lacp_rate')) else 'slow'}")
    lines.append(f"Min links: {_int(pick('min_links', 'min_links'))}")
    ad_select = AdSelect.label_of(pick("ad_select", "ad_select"), "stable")
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


def _slave(status: BondStatus, slave: SlaveStatus, cap_net_admin: bool) -> list[str]:
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


def render_proc(status: BondStatus, *, cap_net_admin: bool = True) -> str:
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


def lacp_fallback(status: BondStatus | Mapping[str, Any]) -> dict | None:
    """The bond's LACP fallback (ad_info's lacp_fallback) while it runs,
    else None."""
    fallback = (status.get("ad_info") or {}).get("lacp_fallback") or {}
    return fallback if fallback.get("active") else None


def lacp_fallback_text(fallback: dict) -> str:
    """ "active-backup (no LACPDU for 95 s)" """
    return f"{fallback.get('mode')} (no LACPDU for {_int(fallback.get('silent_for'))} s)"


def lacp_line(status: BondStatus) -> str:
    """The lines `softbond status` adds below an 802.3ad bond's kernel text:
    the LACP status, and the LACP fallback while it runs."""
    if mode_id_of(status) != _MODE_8023AD:
        return ""
    fallback = lacp_fallback(status)
    more = f"LACP fallback: {lacp_fallback_text(fallback)}\n" if fallback else ""
    return f"\nLACP status: {lacp_status(status)}\n{more}"


def path_block(status: BondStatus) -> str:
    """The lines `softbond status` adds below the kernel text when the path
    monitor runs (path_monitor=on): its settings, then per member whether
    it is in service, its loss over the window and median round-trip time."""
    slaves = [s for s in status.get("slaves") or [] if s.get("path")]
    if not slaves:
        return ""
    opts = status.get("options") or {}
    rtt = _int(opts.get("path_monitor_rtt"))
    lines = ["", f"Path monitor: target {slaves[0]['path'].get('target')}, "
             f"probe every {_int(opts.get('path_monitor_interval'))} ms, "
             f"window {_int(opts.get('path_monitor_window'))} probes, "
             f"out at {_int(opts.get('path_monitor_loss'))}% loss"
             + (f" or {rtt}x the best RTT" if rtt else "")
             + f", back after {_int(opts.get('path_monitor_recover'))} answered"]
    for slave in slaves:
        path = slave["path"]
        rtt_ms = path.get("rtt_ms")
        why = f" ({path['reason']})" if path.get("reason") else ""
        lines.append(f"Path {slave.get('name')}: {path.get('state')}{why}, loss {path.get('loss_pct')}% "
                     f"of {path.get('probes')} probes, RTT {f'{rtt_ms:.3f} ms' if rtt_ms is not None else 'none'}, "
                     f"taken out {path.get('taken_out')} times")
    return "".join(line + "\n" for line in lines)


def render_several(texts: list[tuple[str, str]]) -> str:
    """Several bonds' texts, (name, text) pairs: each under its name, as
    `head /proc/net/bonding/*` shows them; one bond's text as it is."""
    if len(texts) == 1:
        return texts[0][1]
    return "\n".join(f"==> {name} <==\n{text}" for name, text in texts)


# ---------------------------------------------------------------------------
# Verbose view
# ---------------------------------------------------------------------------

_COUNTER_KEYS = ("packets", "bytes", "dropped")


def render_verbose(status: BondStatus, *, cap_net_admin: bool = True) -> str:
    """``render_proc`` text, unchanged, followed by a softbond section:
    version, datapath (with the Python path's loop counters), bond MAC and
    addresses, and per-slave state and traffic counters."""
    out = [render_proc(status, cap_net_admin=cap_net_admin)]
    lines = ["", "softbond info"]
    lines.append(f"softbond version: {status.get('softbond_version') or 'unknown'}")
    lines.append(f"Datapath: {status.get('datapath') or 'unknown'}")
    if status.get("carrier_rescue"):
        lines.append(f"Carrier rescue: {status['carrier_rescue']}")
    workers = status.get("datapath_workers")
    if workers:
        lines.append(f"Datapath workers: {len(workers)}")
    loop = status.get("datapath_loop")
    if loop:        # the Python path's forwarding loop (eBPF: none)
        lines.append(f"Datapath loop: {_int(loop.get('frames_out'))} frames out, {_int(loop.get('frames_in'))} in, "
                     f"{_int(loop.get('rx_dropped'))} dropped, {_int(loop.get('tx_errors'))} send errors; "
                     f"{_int(loop.get('slept'))} wakeups from sleep, {_int(loop.get('polled'))} by busy polling")
    flowlet = status.get("flowlet")
    if flowlet:
        if flowlet.get("queue_model"):
            rates = ", ".join(f"{name} {_mbit(r.get('mbit'))} Mbit/s"
                              for name, r in sorted((flowlet.get("line_rates") or {}).items()))
            now = f" (plus each member's queue, modeled at its line rate: {rates})"
        elif flowlet.get("gap_auto"):
            now = f" (now {_int(flowlet.get('gap_now_us'))} us with the queues)"
        else:
            now = ""
        lines.append(f"Flowlet balancing: gap {_int(flowlet.get('gap_us'))} us{now}, measured every "
                     f"{_int(flowlet.get('interval_ms'))} ms, {_int(flowlet.get('moves'))} bucket moves")
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
        if slave.get("control_send_errors"):     # GARPs, LACPDUs its socket refused
            lines.append(f"Control frames lost: {slave['control_send_errors']}")
        counters = slave.get("counters") or {}
        for direction in ("rx", "tx"):
            values = [_int(counters.get(f"{direction}_{k}")) for k in _COUNTER_KEYS]
            lines.append(f"{direction.upper()}: {values[0]} packets, {values[1]} bytes, "
                         f"{values[2]} dropped")
        if "rescued_frames" in counters:
            lines.append(f"Rescued after carrier loss: {_int(counters['rescued_frames'])} frames sent by another "
                         f"member, {_int(counters.get('rescue_dropped'))} dropped (no carrier there either)")
        if "rescued_in" in counters:
            lines.append(f"Received standing in for a member without carrier: {_int(counters['rescued_in'])} frames")
    out.append("".join(line + "\n" for line in lines))
    return "".join(out)
