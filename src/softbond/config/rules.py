"""What the kernel does around a value once it is parsed.

`module_rules` is bond_check_params() (the rules applied when a bond is first
configured), `live_effects` is the side work of the sysfs setters in
bond_options.c.  Both work on a dict of BondOptions fields and return warning
texts without the "bond0: " prefix.
"""

from .registry import (
    BOND_DEFAULT_MIIMON,
    BOND_MODE_ALB,
    INT_MAX,
    MODE_DESCRIPTIONS,
    MODE_NAMES,
    NO_ARP_MODES,
    OPTIONS,
    OptionFields,
)

_DELAYS = ("updelay", "downdelay", "peer_notif_delay")
_DELAY_WORDS = {"updelay": "up delay", "downdelay": "down delay", "peer_notif_delay": "peer notification delay"}


def mode_label(mode: int) -> str:
    return f"{MODE_NAMES[mode]}({mode})"


# bond_check_params() resets a module parameter out of range, with these
# warnings (measured against 6.1 by tests/oracle), where sysfs refuses it.
_RANGE = f"not in range 0-{INT_MAX}, so it was reset to"
_NOTIF = "Warning: num_grat_arp/num_unsol_na ({}) not in range 0-255 so it was reset to 1"
MODULE_RESETS = {
    "miimon": (0, f"Warning: miimon module parameter ({{}}), {_RANGE} 0"),
    "updelay": (0, f"Warning: updelay module parameter ({{}}), {_RANGE} 0"),
    "downdelay": (0, f"Warning: downdelay module parameter ({{}}), {_RANGE} 0"),
    "max_bonds": (1, f"Warning: max_bonds ({{}}) {_RANGE} BOND_DEFAULT_MAX_BONDS (1)"),
    "num_grat_arp": (1, _NOTIF),
    "num_unsol_na": (1, _NOTIF),
    "resend_igmp": (1, "Warning: resend_igmp ({}) should be between 0 and 255, resetting to 1"),
    "lp_interval": (1, f"Warning: ip_interval must be between 1 and {INT_MAX}, so it was reset to 1"),
    "packets_per_slave": (1, "Warning: packets_per_slave ({}) should be between 0 and 65535 resetting to 1"),
}
BAD_ARP_TARGET = "Warning: bad arp_ip_target module parameter ({}), ARP monitoring will not be performed"


def module_ignores(name: str, v: OptionFields, mode: int) -> str | None:
    """A module parameter the kernel ignores (with a message) in a mode that
    does not use it, where sysfs refuses it; None if the kernel refuses it too."""
    if name == "lacp_rate":
        v["lacp_rate"] = 0
        return f"lacp_rate param is irrelevant in mode {MODE_DESCRIPTIONS[mode]}"
    if name == "primary":
        primary, v["primary"] = v["primary"], ""
        return f"Warning: {primary} primary device specified but has no effect in {MODE_DESCRIPTIONS[mode]} mode"
    return None


class ModuleRefused(Exception):
    """A set of module parameters the kernel refuses to load with."""


def module_rules(
    v: OptionFields, given: set[str], *, mode_known: bool, module: bool = False, bad_arp_target: bool = False
) -> list[str]:
    """`module`: the values are module parameters (`softbond up OPT=VAL`),
    which the kernel checks more strictly than config files' sysfs writes."""
    warns: list[str] = []
    if bad_arp_target:
        v["arp_interval"] = 0
    if mode_known and v["mode"] in NO_ARP_MODES and not v["miimon"]:
        warns += [
            "Warning: miimon must be specified, otherwise bonding will not detect "
            "link failure, speed and duplex which are essential for 802.3ad operation",
            "Forcing miimon to 100msec",
        ]
        v["miimon"] = BOND_DEFAULT_MIIMON
    miimon = v["miimon"]
    if not miimon:
        if v["updelay"] or v["downdelay"]:
            warns.append(
                f"Warning: miimon not set and updelay ({v['updelay']}) or downdelay "
                f"({v['downdelay']}) is set; updelay and downdelay have no effect "
                "unless miimon is set"
            )
    else:
        if v["arp_interval"]:
            warns.append(
                f"Warning: miimon ({miimon}) and arp_interval ({v['arp_interval']}) "
                "can't be used simultaneously, disabling ARP monitoring"
            )
            v["arp_interval"] = 0
        for name in _DELAYS:
            if v[name] % miimon:
                rounded = v[name] // miimon * miimon
                warns.append(
                    f"Warning: {name} ({v[name]}) is not a multiple of miimon "
                    f"({miimon}), {name} rounded to {rounded} ms"
                )
                v[name] = rounded
    if v["arp_interval"] and not (v["arp_ip_target"] or v["ns_ip6_target"]):
        warns.append(
            f"Warning: arp_interval module parameter ({v['arp_interval']}) specified without "
            "providing an arp_ip_target parameter, arp_interval was reset to 0"
        )
        v["arp_interval"] = 0
    if v["arp_validate"] and not v["arp_interval"]:
        if module:
            raise ModuleRefused("arp_validate requires arp_interval")
        # sysfs takes it (initscripts, NetworkManager write it so); miimon taking over clears it.
        warns.append("Warning: arp_validate requires arp_interval, arp_validate was reset to none")
        v["arp_validate"] = 0
    if mode_known:
        for name in sorted(given):
            relevant = OPTIONS[name].relevant
            if relevant is not None and v["mode"] not in relevant:
                warns.append(f"Warning: {name} has no effect in mode {mode_label(v['mode'])}")
    if not v["miimon"] and not v["arp_interval"]:
        # Softbond never runs without link monitoring, unlike the kernel.
        warns.append(
            "Warning: miimon and arp_interval are both 0; softbond watches carrier through netlink link events"
        )
    return warns


class DelayRefused(Exception):
    """The kernel's -EPERM for delays while MII monitoring is off."""


def live_effects(v: OptionFields, old: OptionFields, name: str) -> list[str]:
    """Side effects of setting option `name` live; `v` already holds the new value."""
    warns: list[str] = []
    if name == "mode":
        mode = v["mode"]
        if mode in NO_ARP_MODES:
            if v["arp_interval"]:
                warns.append(f"{MODE_NAMES[mode]} mode is incompatible with arp monitoring, start mii monitoring")
                v["arp_interval"] = 0
            if not v["miimon"]:
                v["miimon"] = BOND_DEFAULT_MIIMON
                warns.append(f"Setting MII monitoring interval to {BOND_DEFAULT_MIIMON}")
        if mode == BOND_MODE_ALB:
            v["tlb_dynamic_lb"] = 1
        v["arp_validate"] = 0  # the kernel does not carry it across modes
    elif name == "miimon":
        warns += _rescale_delays(v, old["miimon"])
        if v["miimon"] and v["arp_interval"]:
            warns.append("MII monitoring cannot be used with ARP monitoring - disabling ARP monitoring...")
            v["arp_interval"] = 0
            v["arp_validate"] = 0
    elif name == "arp_interval" and v["arp_interval"]:
        if v["miimon"]:
            warns.append("ARP monitoring cannot be used with MII monitoring. Disabling MII monitoring")
            v["miimon"] = 0
        if not (v["arp_ip_target"] or v["ns_ip6_target"]):
            warns.append("ARP monitoring has been set up, but no ARP targets have been specified")
    elif name in _DELAYS:
        miimon = v["miimon"]
        if not miimon:
            raise DelayRefused(f"Unable to set {_DELAY_WORDS[name]} as MII monitoring is disabled")
        warns.extend(_round_to_miimon(v, name, miimon))
    elif name == "arp_ip_target":
        if old["arp_ip_target"] and not v["arp_ip_target"] and v["arp_interval"]:
            warns.append("Removing last arp target with arp_interval on")
    return warns


def _rescale_delays(v: OptionFields, old_miimon: int) -> list[str]:
    # The kernel stores delays as multiples of miimon, so they follow a new miimon.
    new = v["miimon"]
    warns: list[str] = []
    if not new:
        return warns
    for name in _DELAYS:
        if not v[name]:
            continue
        if old_miimon:
            v[name] = v[name] // old_miimon * new
            warns.append(f"Note: Updating {name} (to {v[name]}) since it is a multiple of the miimon value")
        else:
            warns.extend(_round_to_miimon(v, name, new))
    return warns


def _round_to_miimon(v: OptionFields, name: str, miimon: int) -> list[str]:
    """Delays are whole miimon ticks in the kernel: round down, and say so."""
    if not v[name] % miimon:
        return []
    rounded = v[name] // miimon * miimon
    message = f"{_DELAY_WORDS[name]} ({v[name]}) is not a multiple of miimon ({miimon}), value rounded to {rounded} ms"
    v[name] = rounded
    return [message]
