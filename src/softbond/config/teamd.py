"""teamd JSON (teamd.conf(5)) mapped onto the nearest bonding mode and options.

The team driver and the bonding driver overlap but do not coincide: each
teamd setting without a bonding equivalent becomes a warning naming its key
path, and each one mapped only approximately says so.
"""

import json
from collections.abc import Callable
from typing import Any

from .errors import ConfigError
from .foreign import BondDraft, line_with_text
from .model import BondConfig
from .textfile import read_text

RUNNER_MODES = {
    "roundrobin": "balance-rr",
    "random": "balance-rr",
    "activebackup": "active-backup",
    "loadbalance": "balance-xor",
    "lacp": "802.3ad",
    "broadcast": "broadcast",
}
_HWADDR_POLICY = {"same_all": "none", "by_active": "active", "only_active": "follow"}
_AGG_SELECT = {"lacp_prio": "stable", "lacp_prio_stable": "stable", "bandwidth": "bandwidth", "count": "count"}
_L4 = {"tcp", "udp", "sctp", "l4"}
_L3 = {"ipv4", "ipv6", "ip", "l3"}
_PRIO_MODES = {"active-backup", "balance-tlb", "balance-alb"}


def key_lines(text: str) -> dict[str, int]:
    """The line of each key path ("runner.name", "link_watch[1]") in valid
    JSON text, and of the top-level object ("").  json reports no positions."""
    lines: dict[str, int] = {}
    stack: list[list[Any]] = []  # [kind "{" or "[", path, key or index, awaiting a key/value]
    index, line = 0, 1
    while index < len(text):
        char = text[index]
        top = stack[-1] if stack else None
        if char == "\n":
            line += 1
        elif char == '"':
            end = index + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if top is not None and top[0] == "{" and top[3]:
                top[2], top[3] = json.loads(text[index : end + 1]), False
                lines.setdefault(_child(top), line)
            elif top is not None and top[0] == "[" and top[3]:
                top[3] = False
                lines.setdefault(_child(top), line)
            index = end
        elif char in "{[":
            if top is not None and top[0] == "[" and top[3]:
                top[3] = False
            path = _child(top) if top is not None else ""
            lines.setdefault(path, line)
            stack.append([char, path, 0 if char == "[" else None, True])
        elif char in "}]":
            stack.pop()
        elif char == "," and top is not None:
            top[3] = True
            if top[0] == "[":
                top[2] += 1
        elif not char.isspace() and char != ":" and top is not None and top[0] == "[" and top[3]:
            top[3] = False
            lines.setdefault(_child(top), line)
        index += 1
    lines.setdefault("", 1)
    return lines


def _child(frame: list[Any]) -> str:
    kind, path, key, _ = frame
    if kind == "[":
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# A JSON object as json.loads gives it.
_Object = dict[str, Any]


class _Reader:
    def __init__(self, path: str, draft: BondDraft, lines: dict[str, int]):
        self.path, self.draft, self.lines = path, draft, lines

    def at(self, keypath: str) -> str:
        """file:line of the key, or of the nearest enclosing one given."""
        probe = keypath
        while probe not in self.lines:
            probe = probe.rpartition(".")[0] if "." in probe else ""
        return f"{self.path}:{self.lines[probe]}: {keypath}"

    def fail(self, keypath: str, message: str) -> ConfigError:
        return ConfigError(f"{self.at(keypath)}: {message}")

    def warn(self, keypath: str, message: str) -> None:
        self.draft.warn(self.at(keypath), message)

    def option(self, name: str, value: object, keypath: str) -> None:
        self.draft.option(name, value, self.at(keypath))

    def table(self, value: object, keypath: str) -> _Object:
        if not isinstance(value, dict):
            raise self.fail(keypath, "expected an object")
        return value

    def text(self, table: _Object, key: str, default: str, keypath: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(keypath, f"{json.dumps(value)[:40]}: expected a string")
        return value

    def rest(self, table: _Object, keypath: str, known: set[str]) -> None:
        for key in table:
            if key not in known:
                self.warn(f"{keypath}.{key}" if keypath else key, "ignored: no bonding equivalent")


def parse_teamd(text: str, path: str) -> list[BondConfig]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{line_with_text(text, exc.lineno)}: invalid JSON: {exc.msg}") from None
    except RecursionError:  # where it gave up is not known: the end, as TOML's reader says
        raise ConfigError(
            f"{path}:{line_with_text(text, text.count(chr(10)) + 1)}: invalid JSON: nested too deeply"
        ) from None
    lines = key_lines(text)
    where = f"{path}:{lines.get('device', lines[''])}: device"
    if not isinstance(data, dict) or not isinstance(data.get("device"), str):
        raise ConfigError(f'{where}: a teamd config names its device ("device": "team0")')
    reader = _Reader(path, BondDraft(data["device"], where, path), lines)
    reader.rest(
        data, "", {"device", "runner", "link_watch", "ports", "hwaddr", "notify_peers", "mcast_rejoin", "debug_level"}
    )
    if "hwaddr" in data:
        reader.draft.set_hwaddr(data["hwaddr"], reader.at("hwaddr"))
    mode = _runner(reader, reader.table(data.get("runner", {"name": "roundrobin"}), "runner"))
    _link_watch(reader, data.get("link_watch", {"name": "ethtool"}), "link_watch")
    for key, option in (("notify_peers", "num_grat_arp"), ("mcast_rejoin", "resend_igmp")):
        if key in data:
            table = reader.table(data[key], key)
            if "count" in table:
                reader.option(option, table["count"], f"{key}.count")
            if key == "notify_peers" and "interval" in table:
                reader.option("peer_notif_delay", table["interval"], f"{key}.interval")
            reader.rest(table, key, {"count"} | ({"interval"} if key == "notify_peers" else set()))
    _ports(reader, reader.table(data.get("ports", {}), "ports"), mode)
    return [reader.draft.build()]


def _runner(reader: _Reader, runner: _Object) -> str:
    name = reader.text(runner, "name", "roundrobin", "runner.name")
    if name not in RUNNER_MODES:
        raise reader.fail("runner.name", f"{name!r}: not a teamd runner ({', '.join(RUNNER_MODES)})")
    mode = RUNNER_MODES[name]
    reader.option("mode", mode, "runner.name")
    if name == "random":
        reader.warn("runner.name", "random: the nearest bonding mode is balance-rr (ports in turn, not at random)")
    known = {"name"}
    if name == "activebackup":
        known.add("hwaddr_policy")
        policy = reader.text(runner, "hwaddr_policy", "same_all", "runner.hwaddr_policy")
        if policy not in _HWADDR_POLICY:
            raise reader.fail("runner.hwaddr_policy", f"{policy!r}: expected one of {', '.join(_HWADDR_POLICY)}")
        reader.option("fail_over_mac", _HWADDR_POLICY[policy], "runner.hwaddr_policy")
    if name in ("loadbalance", "lacp"):
        known.add("tx_hash")
        reader.option(
            "xmit_hash_policy", _tx_hash(reader, runner.get("tx_hash", ["eth", "ipv4", "ipv6"])), "runner.tx_hash"
        )
    if name == "lacp":
        known |= {"active", "fast_rate", "sys_prio", "min_ports", "agg_select_policy"}
        conversions: tuple[tuple[str, str, Callable[[object], object]], ...] = (
            ("active", "lacp_active", lambda v: "on" if v is True else "off" if v is False else v),
            ("fast_rate", "lacp_rate", lambda v: "fast" if v is True else "slow" if v is False else v),
            ("sys_prio", "ad_actor_sys_prio", lambda v: v),
            ("min_ports", "min_links", lambda v: v),
        )
        for key, option, convert in conversions:
            if key in runner:
                reader.option(option, convert(runner[key]), f"runner.{key}")
        policy = reader.text(runner, "agg_select_policy", "lacp_prio", "runner.agg_select_policy")
        if policy not in _AGG_SELECT:
            reader.warn(
                "runner.agg_select_policy", f"{policy!r} ignored: no bonding equivalent (ad_select stays stable)"
            )
        else:
            reader.option("ad_select", _AGG_SELECT[policy], "runner.agg_select_policy")
    reader.rest(runner, "runner", known)
    return mode


def _tx_hash(reader: _Reader, fields: object) -> str:
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise reader.fail("runner.tx_hash", "expected a list of header names")
    given = set(fields)
    policy = "layer3+4" if given & _L4 else "layer2+3" if given & _L3 else "layer2"
    hashed = {"layer3+4": _L3 | _L4, "layer2+3": {"eth"} | _L3, "layer2": {"eth"}}[policy]
    left = sorted(given - hashed)
    if left:
        reader.warn("runner.tx_hash", f"{', '.join(left)} not hashed: the nearest bonding policy is {policy}")
    return policy


def _link_watch(reader: _Reader, watch: object, keypath: str) -> None:
    watches = watch if isinstance(watch, list) else [watch]
    for index in range(1, len(watches)):
        reader.warn(f"{keypath}[{index}]", "ignored: a bond runs one link monitor (the first one given)")
    if not watches:
        return
    if isinstance(watch, list):
        keypath = f"{keypath}[0]"
    first = reader.table(watches[0], keypath)
    name = first.get("name")
    if name == "ethtool":
        reader.option("miimon", 100, f"{keypath}.name")  # ethtool watches carrier events
        for key, option in (("delay_up", "updelay"), ("delay_down", "downdelay")):
            if key in first:
                reader.option(option, first[key], f"{keypath}.{key}")
        reader.rest(first, keypath, {"name", "delay_up", "delay_down"})
    elif name in ("arp_ping", "nsna_ping"):
        _ping(reader, first, keypath, name)
    else:
        reader.warn(f"{keypath}.name", f"{name!r} ignored: no bonding link monitor like it")


def _ping(reader: _Reader, watch: _Object, keypath: str, name: str) -> None:
    reader.option("arp_interval", watch.get("interval", 0), f"{keypath}.interval")
    if "target_host" not in watch:
        raise reader.fail(f"{keypath}.target_host", f"{name} without a target_host")
    target = "arp_ip_target" if name == "arp_ping" else "ns_ip6_target"
    reader.option(target, watch["target_host"], f"{keypath}.target_host")
    missed = watch.get("missed_max", 3)
    if missed == 0:
        reader.warn(f"{keypath}.missed_max", "0 ignored: the kernel's arp_missed_max is at least 1")
    else:
        reader.option("arp_missed_max", missed, f"{keypath}.missed_max")
    active, inactive = watch.get("validate_active"), watch.get("validate_inactive")
    if active or inactive:
        reader.option(
            "arp_validate",
            "all" if active and inactive else "active" if active else "backup",
            f"{keypath}.validate_active",
        )
    reader.rest(
        watch, keypath, {"name", "interval", "target_host", "missed_max", "validate_active", "validate_inactive"}
    )


def _ports(reader: _Reader, ports: _Object, mode: str) -> None:
    for port, settings in ports.items():
        keypath = f"ports.{port}"
        reader.draft.member(port, reader.at(keypath))
        settings = reader.table(settings if settings is not None else {}, keypath)
        if "prio" in settings:
            if mode in _PRIO_MODES:
                reader.option("prio", f"{port}:{settings['prio']}", f"{keypath}.prio")
            else:
                reader.warn(f"{keypath}.prio", f"ignored: {mode} has no member priority")
        if settings.get("sticky") is True:
            reader.option("primary_reselect", "failure", f"{keypath}.sticky")
            reader.warn(
                f"{keypath}.sticky",
                "mapped to primary_reselect=failure, which holds for every member, not this one alone",
            )
        reader.rest(settings, keypath, {"prio", "sticky"})


def load_teamd(path: str) -> list[BondConfig]:
    return parse_teamd(read_text(path), path)
