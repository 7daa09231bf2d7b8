"""The option table: one OptionSpec per bonding option, after the kernel's bond_opts[].

Values, ranges, flags and unsupported modes follow drivers/net/bonding/bond_options.c.
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, Self

INT_MAX = 2**31 - 1


class OptionEnum(IntEnum):
    """The numbers of an enum option, each with the kernel's name for it
    (its bond_opt_value string), defined here once: the option table, the
    status text and the code that acts on a value all use these."""

    label: str  # set by __new__, one per member

    def __new__(cls, number: int, label: str) -> Self:
        member = int.__new__(cls, number)
        member._value_ = number
        member.label = label
        return member

    @classmethod
    def pairs(cls) -> tuple[tuple[str, int], ...]:
        """(name, number) pairs, as OptionSpec.values holds them."""
        return tuple((m.label, m.value) for m in cls)

    @classmethod
    def from_label(cls, label: str) -> Self | None:
        """The member the kernel calls *label*, or None."""
        return next((m for m in cls if m.label == label), None)

    @classmethod
    def label_of(cls, value: object, default: str) -> str:
        """The name of a value given as a number or a name (None: *default*;
        a number out of range: "unknown", as the kernel's tables print)."""
        if value is None:
            return default
        if isinstance(value, int):  # bool too: True is 1
            member = cls._value2member_map_.get(int(value))
            return member.label if isinstance(member, OptionEnum) else "unknown"
        return str(value)


class BondMode(OptionEnum):  # BOND_MODE_* in <net/bonding.h>
    ROUNDROBIN = 0, "balance-rr"
    ACTIVEBACKUP = 1, "active-backup"
    XOR = 2, "balance-xor"
    BROADCAST = 3, "broadcast"
    MODE_8023AD = 4, "802.3ad"
    TLB = 5, "balance-tlb"
    ALB = 6, "balance-alb"


# bond_mode_name() in bond_main.c: how /proc and the kernel's messages name a mode.
MODE_DESCRIPTIONS: dict[int, str] = {
    BondMode.ROUNDROBIN: "load balancing (round-robin)",
    BondMode.ACTIVEBACKUP: "fault-tolerance (active-backup)",
    BondMode.XOR: "load balancing (xor)",
    BondMode.BROADCAST: "fault-tolerance (broadcast)",
    BondMode.MODE_8023AD: "IEEE 802.3ad Dynamic link aggregation",
    BondMode.TLB: "transmit load balancing",
    BondMode.ALB: "adaptive load balancing",
}


class XmitHashPolicy(OptionEnum):  # BOND_XMIT_POLICY_*
    LAYER2 = 0, "layer2"
    LAYER34 = 1, "layer3+4"
    LAYER23 = 2, "layer2+3"
    ENCAP23 = 3, "encap2+3"
    ENCAP34 = 4, "encap3+4"
    VLAN_SRCMAC = 5, "vlan+srcmac"


class FailOverMac(OptionEnum):  # BOND_FOM_*
    NONE = 0, "none"
    ACTIVE = 1, "active"
    FOLLOW = 2, "follow"


class PrimaryReselect(OptionEnum):  # BOND_PRI_RESELECT_*
    ALWAYS = 0, "always"
    BETTER = 1, "better"
    FAILURE = 2, "failure"


class AdSelect(OptionEnum):  # BOND_AD_STABLE, _BANDWIDTH, _COUNT
    STABLE = 0, "stable"
    BANDWIDTH = 1, "bandwidth"
    COUNT = 2, "count"


class XmitBalance(OptionEnum):  # softbond's own: how xor, 802.3ad and tlb place flows
    HASH = 0, "hash"
    FLOWLET = 1, "flowlet"


class LacpFallback(OptionEnum):  # softbond's own (the kernel has no LACP fallback)
    OFF = 0, "off"
    ACTIVE_BACKUP = 1, "active-backup"


BOND_MODE_ROUNDROBIN = BondMode.ROUNDROBIN
BOND_MODE_ACTIVEBACKUP = BondMode.ACTIVEBACKUP
BOND_MODE_XOR = BondMode.XOR
BOND_MODE_BROADCAST = BondMode.BROADCAST
BOND_MODE_8023AD = BondMode.MODE_8023AD
BOND_MODE_TLB = BondMode.TLB
BOND_MODE_ALB = BondMode.ALB

# BondOptions fields by name, as the parsers and the kernel's rules pass
# them around: each value's type follows its option's kind (int, str, a
# tuple of targets, a tuple of (member, prio)), which no type says per key.
OptionFields = dict[str, Any]

MODE_NAMES: dict[int, str] = {m.value: m.label for m in BondMode}
ALL_MODES = frozenset(MODE_NAMES)
# Modes that cannot run the ARP monitor (the kernel's BOND_NO_USES_ARP).
NO_ARP_MODES = frozenset({BOND_MODE_8023AD, BOND_MODE_TLB, BOND_MODE_ALB})
BOND_DEFAULT_MIIMON = 100
BOND_MAX_ARP_TARGETS = 16
BOND_MAX_NS_TARGETS = 16

DATAPATHS = ("auto", "ebpf", "python")
MAX_DATAPATH_WORKERS = 64

NOSLAVES = "NOSLAVES"
IFDOWN = "IFDOWN"

# What a running bond does after `softbond set` changes an option (OptionSpec.effect).
# The kernel needs the bond down or without slaves for its NOSLAVES and IFDOWN
# options; softbond applies every one of them live.
EFFECT_CONFIGURE = "configure"  # the runner takes the new values; the data path is republished
EFFECT_MONITORS = "monitors"  # the link monitors (miimon, ARP/NS) start over
EFFECT_RESELECT = "reselect"  # the active member is chosen again
EFFECT_PRIOS = "prios"  # the members' prios change, then reselect
EFFECT_RUNNER = "runner"  # a new mode runner takes every member (MACs, listeners, LACP)
EFFECT_DATAPATH = "datapath"  # the bond device is rebuilt on another data path


def only(*modes: int) -> frozenset[int]:
    """Unsupported-mode set for an option valid only in `modes` (BOND_MODE_ALL_EX)."""
    return ALL_MODES - frozenset(modes)


@dataclass(frozen=True)
class OptionSpec:
    name: str
    kind: str  # int | enum | bool | ipv4list | ipv6list | priolist | ifname | mac | choice
    default: object
    desc: str
    # Named values: enum members, or the kernel's names for numbers ("off", "maxval").
    values: tuple[tuple[str, int], ...] = ()
    min: int | None = None
    max: int | None = None
    flags: frozenset[str] = frozenset()  # the kernel's flags, for reference: softbond sets all live
    unsupported: frozenset[int] = frozenset()  # modes where the kernel refuses it
    relevant: frozenset[int] | None = None  # modes where it has an effect (warn otherwise)
    # "always": live changes allowed; "never": module-level, fixed once the bonds exist;
    # "up": acted on when the bond comes up (and goes down), so not changed live.
    runtime: str = "always"
    effect: str = EFFECT_CONFIGURE  # how a running bond applies a change
    field: str = ""

    @property
    def attr(self) -> str:
        return self.field or self.name

    def name_of(self, value: int) -> str | None:
        for label, number in self.values:
            if number == value:
                return label
        return None


_INTMAX = (("off", 0), ("maxval", INT_MAX))
_ONOFF = (("off", 0), ("on", 1))
_PEER_NOTIF = (("off", 0), ("maxval", 255), ("default", 1))


def _spec(name: str, kind: str, default: object, desc: str, **kw: Any) -> OptionSpec:
    return OptionSpec(name, kind, default, desc, **kw)


_NOT_ARP = NO_ARP_MODES
_PRIMARY_MODES = (BOND_MODE_ACTIVEBACKUP, BOND_MODE_TLB, BOND_MODE_ALB)
_FLOWLET_MODES = (BOND_MODE_XOR, BOND_MODE_8023AD, BOND_MODE_TLB)

# One option a line or two, as the kernel's bond_opts table: kept as written.
# fmt: off
SPECS: tuple[OptionSpec, ...] = (
    _spec("mode", "enum", BOND_MODE_ROUNDROBIN, "bonding policy",
          values=BondMode.pairs(),
          flags=frozenset({NOSLAVES, IFDOWN}), effect=EFFECT_RUNNER),
    _spec("miimon", "int", 0, "link check interval in milliseconds",
          values=_INTMAX, min=0, max=INT_MAX, effect=EFFECT_MONITORS),
    _spec("updelay", "int", 0, "delay before considering link up, in milliseconds",
          values=_INTMAX, min=0, max=INT_MAX),
    _spec("downdelay", "int", 0, "delay before considering link down, in milliseconds",
          values=_INTMAX, min=0, max=INT_MAX),
    _spec("use_carrier", "bool", 1, "use carrier state (netif_carrier_ok) in miimon",
          values=_ONOFF),
    _spec("arp_interval", "int", 0, "ARP monitor interval in milliseconds",
          values=_INTMAX, min=0, max=INT_MAX, unsupported=_NOT_ARP, effect=EFFECT_MONITORS),
    _spec("arp_ip_target", "ipv4list", (), "IPv4 ARP monitor targets", effect=EFFECT_MONITORS),
    _spec("arp_validate", "enum", 0, "validate source/destination of ARP probes",
          values=(("none", 0), ("active", 1), ("backup", 2), ("all", 3), ("filter", 4),
                  ("filter_active", 5), ("filter_backup", 6)),
          unsupported=_NOT_ARP, effect=EFFECT_MONITORS),
    _spec("arp_all_targets", "enum", 0, "fail on any/all ARP targets timing out",
          values=(("any", 0), ("all", 1)), relevant=frozenset({BOND_MODE_ACTIVEBACKUP}),
          effect=EFFECT_MONITORS),
    _spec("arp_missed_max", "int", 2, "missed ARP intervals before a link is down",
          values=(("minval", 1), ("maxval", 255), ("default", 2)), min=1, max=255,
          unsupported=_NOT_ARP, effect=EFFECT_MONITORS),
    _spec("ns_ip6_target", "ipv6list", (), "IPv6 NS monitor targets", effect=EFFECT_MONITORS),
    _spec("primary", "ifname", "", "preferred member",
          unsupported=only(*_PRIMARY_MODES), effect=EFFECT_RESELECT),
    _spec("prio", "priolist", (), "per-member failover priority, IFACE:PRIO (higher wins)",
          unsupported=only(*_PRIMARY_MODES), effect=EFFECT_PRIOS),
    _spec("primary_reselect", "enum", 0, "when the primary takes back the active role",
          values=PrimaryReselect.pairs(),
          relevant=frozenset(_PRIMARY_MODES), effect=EFFECT_RESELECT),
    _spec("fail_over_mac", "enum", 0, "MAC address handling on failover",
          values=FailOverMac.pairs(), flags=frozenset({NOSLAVES}),
          relevant=frozenset({BOND_MODE_ACTIVEBACKUP}), effect=EFFECT_RUNNER),
    _spec("xmit_hash_policy", "enum", 0, "transmit hash for xor, 802.3ad and tlb",
          values=XmitHashPolicy.pairs(),
          relevant=frozenset({BOND_MODE_XOR, BOND_MODE_8023AD, BOND_MODE_TLB})),
    _spec("lacp_rate", "enum", 0, "LACPDU rate asked of the 802.3ad partner",
          values=(("slow", 0), ("fast", 1)), flags=frozenset({IFDOWN}),
          unsupported=only(BOND_MODE_8023AD)),
    _spec("lacp_active", "enum", 1, "send LACPDUs periodically (on) or only when spoken to",
          values=_ONOFF, flags=frozenset({IFDOWN}), unsupported=only(BOND_MODE_8023AD)),
    _spec("ad_select", "enum", 0, "802.3ad aggregator selection logic",
          values=AdSelect.pairs(), flags=frozenset({IFDOWN}),
          relevant=frozenset({BOND_MODE_8023AD})),
    _spec("ad_actor_sys_prio", "int", 65535, "LACP system priority",
          values=(("minval", 1), ("maxval", 65535)), min=1, max=65535,
          unsupported=only(BOND_MODE_8023AD)),
    _spec("ad_user_port_key", "int", 0, "upper 10 bits of the LACP port key",
          values=(("minval", 0), ("maxval", 1023)), min=0, max=1023,
          flags=frozenset({IFDOWN}), unsupported=only(BOND_MODE_8023AD)),
    _spec("ad_actor_system", "mac", "00:00:00:00:00:00",
          "LACP system MAC (all zeros: use the bond's MAC)",
          unsupported=only(BOND_MODE_8023AD)),
    _spec("min_links", "int", 0, "active links needed before asserting carrier",
          values=_INTMAX, min=0, max=INT_MAX, relevant=frozenset({BOND_MODE_8023AD})),
    _spec("num_grat_arp", "int", 1, "peer notifications after a failover",
          values=_PEER_NOTIF, min=0, max=255, field="num_peer_notif"),
    _spec("num_unsol_na", "int", 1, "peer notifications after a failover",
          values=_PEER_NOTIF, min=0, max=255, field="num_peer_notif"),
    _spec("peer_notif_delay", "int", 0, "delay between peer notifications, in milliseconds",
          values=(("off", 0), ("maxval", 300000)), min=0, max=300000),
    _spec("all_slaves_active", "bool", 0, "deliver duplicate frames received on inactive members",
          values=_ONOFF),
    _spec("resend_igmp", "int", 1, "IGMP membership reports sent after a failover",
          values=_PEER_NOTIF, min=0, max=255),
    _spec("lp_interval", "int", 1, "seconds between learning packets",
          values=(("minval", 1), ("maxval", INT_MAX)), min=1, max=INT_MAX,
          relevant=frozenset({BOND_MODE_TLB, BOND_MODE_ALB})),
    _spec("packets_per_slave", "int", 1, "packets per member in balance-rr (0: random)",
          values=(("default", 1), ("maxval", 65535)), min=0, max=65535,
          unsupported=only(BOND_MODE_ROUNDROBIN)),
    _spec("tlb_dynamic_lb", "bool", 1, "balance-tlb/alb: shuffle flows by load",
          values=_ONOFF, flags=frozenset({IFDOWN}),
          unsupported=only(BOND_MODE_TLB, BOND_MODE_ALB)),
    _spec("coupled_control", "bool", 1, "802.3ad coupled collecting/distributing mux",
          values=_ONOFF, flags=frozenset({IFDOWN}), unsupported=only(BOND_MODE_8023AD)),
    _spec("max_bonds", "int", 1, "bonds created when the module loads (module-level)",
          values=_INTMAX, min=0, max=INT_MAX, runtime="never"),
    _spec("datapath", "choice", "auto", "softbond packet path: auto, ebpf or python",
          values=tuple((n, i) for i, n in enumerate(DATAPATHS)), effect=EFFECT_DATAPATH),
    _spec("datapath_workers", "int", 1, "processes moving frames on the Python data path (a multi-queue "
          "TAP and one PACKET_FANOUT group per member when above 1)",
          min=1, max=MAX_DATAPATH_WORKERS, effect=EFFECT_DATAPATH),
    _spec("datapath_busy_poll", "int", 200, "microseconds the Python data path polls before sleeping while "
          "frames arrive that close together (adaptive, like KVM halt polling; 0: always sleep)",
          values=(("off", 0), ("maxval", 100000)), min=0, max=100000),
    _spec("protocol_counters", "bool", 1, "the Python data paths count traffic by protocol class (status "
          "protocols, /metrics softbond_protocol_*); off saves them classifying each frame (the eBPF "
          "path counts in any case)", values=_ONOFF),
    _spec("metrics_textfile", "path", "", "directory where the bond's process keeps softbond-BOND.prom for "
          "node_exporter's textfile collector (empty: none)"),
    _spec("inherit", "bool", 0, "the bond takes over its first member's addresses, routes, MTU and MAC "
          "(softbond down gives them back)", values=_ONOFF, runtime="up"),
    # The path monitor (gray failures): softbond's own, see monitors/path.py.
    _spec("path_monitor", "bool", 0, "probe each member's own path to arp_ip_target (or the default gateway) "
          "and take a member with too much loss or delay out of service", values=_ONOFF, effect=EFFECT_MONITORS),
    _spec("path_monitor_interval", "int", 200, "path monitor: milliseconds between probes on each member",
          values=(("minval", 10), ("maxval", 60000)), min=10, max=60000, effect=EFFECT_MONITORS),
    _spec("path_monitor_window", "int", 50, "path monitor: probes over which loss and round-trip time are measured",
          values=(("minval", 4), ("maxval", 10000)), min=4, max=10000, effect=EFFECT_MONITORS),
    _spec("path_monitor_loss", "int", 10, "path monitor: loss, in % of the window, that takes a member out",
          values=(("minval", 1), ("maxval", 100)), min=1, max=100, effect=EFFECT_MONITORS),
    _spec("path_monitor_rtt", "int", 0, "path monitor: median round-trip time, as a multiple of the best "
          "member's, that takes a member out (0: off)",
          values=(("off", 0), ("maxval", 1000)), min=0, max=1000, effect=EFFECT_MONITORS),
    _spec("path_monitor_recover", "int", 25, "path monitor: consecutive answered probes that bring a member "
          "back", values=(("minval", 1), ("maxval", 10000)), min=1, max=10000, effect=EFFECT_MONITORS),
    _spec("lacp_fallback", "enum", 0, "802.3ad with no LACPDU on any member for lacp_fallback_timeout: run as "
          "active-backup over the members with link (min_links aside) until a partner speaks; off: as the "
          "kernel, one member as an individual link", values=LacpFallback.pairs(),
          unsupported=only(BOND_MODE_8023AD)),
    _spec("lacp_fallback_timeout", "int", 90, "seconds without a LACPDU before lacp_fallback starts (the "
          "kernel's slow-rate partner timeout, Arista's default)", min=0, max=3600,
          unsupported=only(BOND_MODE_8023AD)),
    # Flowlet balancing: softbond's own, see modes/flowlet.py.
    _spec("xmit_balance", "enum", 0, "how balance-xor, 802.3ad and balance-tlb place flows: hash (the kernel's "
          "xmit_hash_policy placement, tlb's 10 s rebalance) or flowlet (start from the hash, move a bucket of "
          "flows to the least loaded member only after it was idle flowlet_gap)", values=XmitBalance.pairs(),
          unsupported=only(*_FLOWLET_MODES), effect=EFFECT_RUNNER),
    _spec("flowlet_gap", "int", 2000, "flowlet balancing: microseconds a bucket of flows must be idle before it "
          "may move to another member (with flowlet_gap_auto=on, plus the members' measured queueing delay difference)",
          values=(("minval", 1), ("maxval", 10000000)), min=1, max=10000000, unsupported=only(*_FLOWLET_MODES)),
    _spec("flowlet_interval", "int", 200, "flowlet balancing: milliseconds between load measurements (each may "
          "ask buckets to move)", values=(("minval", 10), ("maxval", 60000)), min=10, max=60000,
          unsupported=only(*_FLOWLET_MODES)),
    _spec("flowlet_gap_auto", "bool", 1, "flowlet balancing: on: the data path models each member's queue at "
          "its line rate (a tbf root's rate, else the driver's speed) and moves a flow only once its frames on the "
          "new member cannot overtake those still queued (plus flowlet_gap); with a member's rate unknown, the gap "
          "is flowlet_gap plus the largest difference in the members' measured qdisc delays; off: flowlet_gap alone",
          values=_ONOFF, unsupported=only(*_FLOWLET_MODES)),
)
# fmt: on

OPTIONS: dict[str, OptionSpec] = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class BondOptions:
    """Validated option values: enums as ints, lists as tuples, primary "" when unset."""

    mode: int = BOND_MODE_ROUNDROBIN
    miimon: int = 0
    updelay: int = 0  # milliseconds, a multiple of miimon once rules have run
    downdelay: int = 0
    use_carrier: int = 1
    arp_interval: int = 0
    arp_ip_target: tuple[str, ...] = ()
    arp_validate: int = 0
    arp_all_targets: int = 0
    arp_missed_max: int = 2
    ns_ip6_target: tuple[str, ...] = ()
    primary: str = ""
    prio: tuple[tuple[str, int], ...] = ()  # (member, prio): the kernel's per-slave prio
    primary_reselect: int = 0
    fail_over_mac: int = 0
    xmit_hash_policy: int = 0
    lacp_rate: int = 0
    lacp_active: int = 1
    ad_select: int = 0
    ad_actor_sys_prio: int = 65535
    ad_user_port_key: int = 0
    ad_actor_system: str = "00:00:00:00:00:00"
    min_links: int = 0
    num_peer_notif: int = 1
    peer_notif_delay: int = 0
    all_slaves_active: int = 0
    resend_igmp: int = 1
    lp_interval: int = 1
    packets_per_slave: int = 1
    tlb_dynamic_lb: int = 1
    max_bonds: int = 1
    coupled_control: int = 1
    datapath: str = "auto"
    datapath_workers: int = 1
    datapath_busy_poll: int = 200  # microseconds
    protocol_counters: int = 1
    metrics_textfile: str = ""  # a directory; "" writes no textfile
    inherit: int = 0
    path_monitor: int = 0
    path_monitor_interval: int = 200  # milliseconds
    path_monitor_window: int = 50  # probes
    path_monitor_loss: int = 10  # % of the window
    path_monitor_rtt: int = 0  # multiple of the best member's median RTT (0: off)
    path_monitor_recover: int = 25  # consecutive answered probes
    lacp_fallback: int = 0  # LacpFallback
    lacp_fallback_timeout: int = 90  # seconds
    xmit_balance: int = 0  # XmitBalance
    flowlet_gap: int = 2000  # microseconds
    flowlet_interval: int = 200  # milliseconds
    flowlet_gap_auto: int = 1  # the gap follows the members' qdisc delays

    @property
    def num_grat_arp(self) -> int:
        return self.num_peer_notif

    @property
    def num_unsol_na(self) -> int:
        return self.num_peer_notif

    @property
    def mode_name(self) -> str:
        return MODE_NAMES[self.mode]

    def get(self, name: str) -> Any:
        """Value of an option by its option name (num_grat_arp works too)."""
        return getattr(self, OPTIONS[name].attr)


def _check_table() -> None:
    # Keep the table and the dataclass from drifting apart.
    attrs = {f.name for f in fields(BondOptions)}
    assert attrs == {s.attr for s in SPECS}, attrs ^ {s.attr for s in SPECS}
    for s in SPECS:
        assert BondOptions.__dataclass_fields__[s.attr].default == s.default, s.name


_check_table()


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """ "did you mean miimon?" when `word` is a near miss of one of
    `choices`, else "": the hint after an unknown option or value."""
    import difflib  # only on an error: not on every CLI start

    if not isinstance(word, str) or not word.strip():
        return ""
    close = difflib.get_close_matches(word.strip().lower(), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else ""


def unknown_option(name: object) -> str:
    """ "option X: unknown option" with the nearest option name, if any."""
    return f"option {name}: unknown option ({did_you_mean(name, OPTIONS) or 'softbond options lists them'})"


def accepted_values(spec: OptionSpec) -> str:
    """What an option takes, in words: "layer2, layer3+4, ..." for named
    values, "0-2147483647 (off, maxval)" for numbers; "" when the value is
    free-form (addresses, interface names)."""
    names = [label for label, _ in spec.values]
    if spec.kind in ("enum", "bool", "choice"):
        return ", ".join(names)
    if spec.kind == "int":
        named = f" ({', '.join(names)})" if names else ""
        return f"{spec.min}-{spec.max}{named}"
    return {
        "ipv4list": "IPv4 addresses; +ADDR adds, -ADDR removes",
        "ipv6list": "IPv6 addresses; +ADDR adds, -ADDR removes",
        "priolist": "IFACE:PRIO items",
        "ifname": "an interface name",
        "mac": "a MAC address",
        "path": "an absolute directory path (empty: off)",
    }.get(spec.kind, "")
