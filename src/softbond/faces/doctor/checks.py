"""Checks on a live bond's status (its control socket's `status` reply)."""
from __future__ import annotations

from ...kernel import rundir as runtime
from .findings import Finding
from ...kernel import hostnet

LACP_TIMEOUT = 0x02     # actor/partner state bit: short (fast) timeout
LACP_DEFAULTED = 0x40
# One member carrying this share of the bytes sent, at this total rate (bytes/s) or more.
SKEW_SHARE = 0.9
SKEW_MIN_RATE = 1 << 20


def check_status(st: dict) -> list[Finding]:
    found = monitor(st) + members_differ(st) + managed(st) + datapath(st)
    if st.get("mode") == "802.3ad":
        found += lacp(st)
    return found


def monitor(st: dict) -> list[Finding]:
    opts = st.get("options", {})
    if opts.get("miimon") or opts.get("arp_interval"):
        return []
    bond = st["bond"]
    return [Finding("monitor.none", "warning", bond, "no link monitor configured: softbond still follows "
                    "carrier changes, but the kernel's bonding with these options sees no failure at all, and "
                    "nothing notices a path that fails behind a link that stays up",
                    "miimon=0 and arp_interval=0",
                    f"softbond set {bond} miimon 100 (or arp_interval 1000 with arp_ip_target GATEWAY)")]


def members_differ(st: dict) -> list[Finding]:
    bond = st["bond"]
    slaves = st.get("slaves", [])
    found = []
    off_mtu = [s["name"] for s in slaves if s.get("mtu") and s["mtu"] != st.get("mtu")]
    mtu_fix = "; ".join(f"ip link set {name} mtu {st.get('mtu')}" for name in off_mtu) or "give every member one MTU"
    for key, what, fix in (("mtu", "MTU", mtu_fix),
                           ("speed_mbps", "speed", "check the cabling and the switch port settings (ethtool IFACE)"),
                           ("duplex", "duplex", "set the switch port and the member to full duplex")):
        values = {s["name"]: s.get(key) for s in slaves if s.get(key) is not None}
        if len(set(values.values())) > 1:
            found.append(Finding(f"member.{key.split('_')[0]}_differs", "warning", bond,
                                 f"members have different {what}s",
                                 ", ".join(f"{name} {value}" for name, value in values.items()), fix))
    return found


def managed(st: dict) -> list[Finding]:
    """The same claims `softbond up` warns about (hostnet: the manager runs
    in this namespace and its state file for the member says it manages it)."""
    bond = st["bond"]
    return [Finding("member.managed", "warning", bond, f"{claim.member} is managed by {claim.manager}, "
                    "which may change its addresses, MTU or link behind the bond's back",
                    f"{claim.manager} runs here and lists {claim.member} as managed", claim.command)
            for claim in hostnet.claims([s["name"] for s in st.get("slaves", [])])]


def datapath(st: dict) -> list[Finding]:
    if st.get("options", {}).get("datapath") != "auto" or st.get("datapath") in ("ebpf", None):
        return []
    bond = st["bond"]
    why = _logged_fallback(bond)
    return [Finding("datapath.python_fallback", "warning", bond, "the eBPF data path fell back to Python "
                    "(more CPU per frame, lower rates)",
                    f"datapath=auto runs {st.get('datapath')}" + (f"; the bond logged: {why}" if why else ""),
                    f"fix what stopped eBPF (the bond process needs CAP_BPF and CAP_NET_ADMIN, and libbpf), "
                    f"then softbond set {bond} datapath ebpf; or datapath=python to accept it")]


def _logged_fallback(bond: str) -> str | None:
    """The bond's own line on why it fell back, from its log."""
    try:
        with open(runtime.log_path(bond), errors="replace") as f:
            lines = [line.strip() for line in f if "using the Python data path" in line]
    except OSError:
        return None
    return lines[-1] if lines else None


def lacp(st: dict) -> list[Finding]:
    bond = st["bond"]
    ports = [(s["name"], s["ad"]) for s in st.get("slaves", []) if s.get("ad") and s.get("carrier", True)]
    found = []
    for name, ad in ports:
        if ad["counters"]["lacpdu_rx"] == 0:
            found.append(Finding("lacp.partner_silent", "error", bond, f"{name}: no LACPDU ever received",
                                 f"{name}: lacpdu_rx 0, lacpdu_tx {ad['counters']['lacpdu_tx']}",
                                 "enable LACP (active) on the switch port facing " + name))
        elif ad["actor"]["port_state"] & LACP_DEFAULTED or not ad.get("current", True):
            found.append(Finding("lacp.partner_defaulted", "error", bond,
                                 f"{name}: the partner stopped sending LACPDUs (defaulted)",
                                 f"{name}: receive machine {ad.get('rx_state')}, "
                                 f"{ad['counters']['lacpdu_rx']} LACPDUs received before",
                                 f"check the switch's LACP on the port facing {name}"))
    live = [(n, ad) for n, ad in ports if ad["counters"]["lacpdu_rx"] and ad.get("current", True)]
    found += _differ(bond, live, "aggregator_id", lambda ad: ad.get("aggregator_id"), "lacp.aggregators_split",
                     "members are in different aggregators (the switch ports are in different LAGs): "
                     "only one aggregator carries traffic",
                     "put the switch ports facing {names} into one LAG (port-channel)")
    found += _differ(bond, live, "partner system", lambda ad: ad["partner"]["system_mac"],
                     "lacp.partner_system_differs", "members reach different partner systems (different "
                     "switches without MLAG)", "connect {names} to one switch, or configure MLAG on the switches")
    found += _differ(bond, live, "partner key", lambda ad: ad["partner"]["oper_key"], "lacp.partner_key_differs",
                     "the partner gives members different keys (its ports are in different LAGs)",
                     "put the switch ports facing {names} into one LAG (port-channel)")
    fast = st.get("options", {}).get("lacp_rate") == "fast"
    mismatched = [(n, ad) for n, ad in live if bool(ad["partner"]["port_state"] & LACP_TIMEOUT) != fast]
    if mismatched:
        here, there = ("fast", "slow") if fast else ("slow", "fast")
        found.append(Finding("lacp.rate_mismatch", "warning", bond, f"lacp_rate is {here} here and {there} on "
                             "the switch: a failure is detected at the slower side's pace",
                             ", ".join(f"{n}: partner state {ad['partner']['port_state']:#04x} ({there} timeout)"
                                       for n, ad in mismatched),
                             f"set lacp rate {here} on the switch ports (or softbond set {bond} lacp_rate {there})"))
    return found


def _differ(bond, ports, label, value, fid, what, fix) -> list[Finding]:
    values = {name: value(ad) for name, ad in ports}
    if len(set(values.values())) < 2:
        return []
    evidence = ", ".join(f"{name}: {label} {v}" for name, v in values.items())
    return [Finding(fid, "error", bond, what, evidence, fix.format(names=", ".join(values)))]


def skew(before: dict, after: dict, seconds: float) -> list[Finding]:
    """Bytes sent per member between two statuses `seconds` apart (while the
    probes ran): a member carrying nearly all of a real load."""
    if after.get("mode") not in ("802.3ad", "balance-xor"):
        return []
    bond = after["bond"]
    start = {s["name"]: s.get("counters", {}).get("tx_bytes", 0) for s in before.get("slaves", [])}
    sent = {s["name"]: s.get("counters", {}).get("tx_bytes", 0) - start[s["name"]]
            for s in after.get("slaves", []) if s.get("mii_status") == "up" and s["name"] in start}
    total = sum(sent.values())
    if len(sent) < 2 or total < SKEW_MIN_RATE * seconds:
        return []
    busiest = max(sent, key=sent.get)
    if sent[busiest] < SKEW_SHARE * total:
        return []
    policy = after.get("options", {}).get("xmit_hash_policy", "layer2")
    fix = (f"softbond set {bond} xmit_hash_policy layer3+4" if policy in ("layer2", "layer2+3", "vlan+srcmac")
           else "few flows hash to one member: spread the load over more connections (or flows)")
    return [Finding("balance.one_member_busy", "warning", bond, f"{busiest} carries almost all the traffic sent "
                    f"(xmit_hash_policy {policy})",
                    f"bytes sent in {seconds:.1f} s: " + ", ".join(f"{n} {b}" for n, b in sent.items()), fix)]
