"""Turn one raw option value (str, int, bool or list) into its stored form.

Mirrors the kernel's bond_opt_parse(): all-digit strings are numbers, other
strings are looked up by name in the option's value table, and numbers outside
the table must fall inside [min, max].  Errors are raised as Invalid with the
text after the "bond0: " prefix, which options.py adds.
"""

import ipaddress
import re

from .names import ifname_problem
from .registry import BOND_MAX_ARP_TARGETS, BOND_MAX_NS_TARGETS, DATAPATHS, OptionSpec, accepted_values, did_you_mean


class Invalid(Exception):
    """A value the option does not accept; str() is "option X: ..."."""


_TRUE = {"1", "on", "yes", "true"}
_FALSE = {"0", "off", "no", "false"}
_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
MAC_RE = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}", re.ASCII | re.I)
_USE_CARRIER_GONE = (
    "use_carrier=0 (MII/ethtool ioctl link checks) was removed from the kernel in 2025; "
    "only use_carrier=1 (carrier state) is supported"
)


def show(raw: object) -> str:
    """How a raw value appears inside "invalid value (...)"."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (list, tuple)):
        return ",".join(show(item) for item in raw)
    return str(raw)


def invalid(spec: OptionSpec, raw: object) -> Invalid:
    """The refusal of a value that is not one the option takes: with the
    nearest valid name and the list of valid values, so that one error
    message is enough to fix it."""
    hint = ""
    if spec.kind in ("enum", "bool", "choice", "int"):
        guess = did_you_mean(raw, [label for label, _ in spec.values])
        hint = f": {guess + ' ' if guess else ''}valid values: {accepted_values(spec)}"
    return Invalid(f"option {spec.name}: invalid value ({show(raw)}){hint}")


def integer_of(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _NUMBER.fullmatch(raw.strip()):
        text = raw.strip()
        # Out of range either way; avoids int()'s limit on huge digit strings.
        if len(text) > 24:
            return -(10**24) if text.startswith("-") else 10**24
        return int(text)
    return None


def _by_name(spec: OptionSpec, raw: object) -> int | None:
    """Table lookup for a non-numeric value; None when nothing matches."""
    names = {label for label, _ in spec.values}
    onoff = names == {"on", "off"}
    if isinstance(raw, bool):
        return int(raw) if onoff else None
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    for label, number in spec.values:
        if text == label:
            return number
    if text == "default" and isinstance(spec.default, int):
        return spec.default
    if onoff and text in _TRUE | _FALSE:
        return int(text in _TRUE)
    return None


def parse_scalar(spec: OptionSpec, raw: object) -> object:
    if spec.kind == "int":
        number = integer_of(raw)
        if number is None:
            named = _by_name(spec, raw)
            if named is None:
                raise invalid(spec, raw)
            return named
        assert spec.min is not None and spec.max is not None, spec.name  # every int option has bounds
        if not spec.min <= number <= spec.max:
            raise Invalid(f"option {spec.name}: allowed values {spec.min} - {spec.max}")
        return number
    if spec.kind in ("enum", "bool"):
        number = integer_of(raw)
        if number is None:
            number = _by_name(spec, raw)
        elif spec.name_of(number) is None:
            number = None
        if number is None:
            raise invalid(spec, raw)
        if spec.name == "use_carrier" and number == 0:
            raise Invalid(f"option use_carrier: invalid value ({show(raw)}): {_USE_CARRIER_GONE}")
        return number
    if spec.kind == "choice":
        if isinstance(raw, str) and raw.strip().lower() in DATAPATHS:
            return raw.strip().lower()
        raise invalid(spec, raw)
    if spec.kind == "ifname":
        if not isinstance(raw, str):
            raise invalid(spec, raw)
        name = raw.strip()
        problem = ifname_problem(name) if name else None
        if problem:
            raise Invalid(f"option {spec.name}: invalid value ({raw}): interface name {problem}")
        return name
    if spec.kind == "mac":
        return _parse_mac(spec, raw)
    if spec.kind == "path":
        return _parse_path(spec, raw)
    raise AssertionError(f"no scalar parser for {spec.kind}")


def _parse_mac(spec: OptionSpec, raw: object) -> str:
    if not isinstance(raw, str) or not MAC_RE.fullmatch(raw.strip()):
        raise invalid(spec, raw)
    mac = raw.strip().lower().replace("-", ":")
    # The all-zero address is the "use the bond's MAC" default; multicast never works.
    if int(mac[:2], 16) & 1:
        raise Invalid(f"option {spec.name}: invalid value ({raw}): not a unicast MAC address")
    return mac


def _parse_path(spec: OptionSpec, raw: object) -> str:
    """An absolute path, or "" for none: the bond's process has / as its
    working directory, so a relative path would not mean what it says."""
    if not isinstance(raw, str):
        raise invalid(spec, raw)
    path = raw.strip()
    if path and (not path.startswith("/") or any(c in path for c in "\0\n")):
        shown = raw.encode("unicode_escape").decode()  # one line, even around a newline
        raise Invalid(f"option {spec.name}: invalid value ({shown}): {accepted_values(spec)} expected")
    return path


# --- per-member priorities (prio) ----------------------------------------------

PRIO_MIN, PRIO_MAX = -(2**31), 2**31 - 1  # the kernel's slave->prio is an s32


def _prio_items(spec: OptionSpec, raw: object) -> list[tuple[str, object]]:
    if isinstance(raw, dict):  # TOML: prio = { eth1 = 10 }
        return list(raw.items())
    if isinstance(raw, str):
        parts = [item for item in re.split(r"[,\s]+", raw) if item]
    elif isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
        parts = [part for item in raw for part in re.split(r"[,\s]+", item) if part]
    else:
        raise Invalid(f"option {spec.name}: invalid value ({raw}): expected IFACE:PRIO")
    items = []
    for part in parts:
        name, sep, value = part.rpartition(":")
        if not sep or not name:
            raise Invalid(f"option {spec.name}: invalid value ({part}): expected IFACE:PRIO")
        items.append((name, value))
    return items


def parse_prios(spec: OptionSpec, raw: object, current: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """IFACE:PRIO items (comma- or space-separated, a list of them, or a
    TOML table); each sets that member's prio and leaves the others' as
    they were, like `ip link set IFACE type bond_slave prio PRIO`."""
    prios = dict(current)
    for name, value in _prio_items(spec, raw):
        name = str(name).strip()
        problem = ifname_problem(name)
        if problem:
            raise Invalid(f"option {spec.name}: invalid value ({name}:{value}): interface name {problem}")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise Invalid(f"option {spec.name}: invalid value ({name}:{value}): the prio is an integer")
        try:
            number = int(value.strip()) if isinstance(value, str) else value
        except ValueError:
            raise Invalid(f"option {spec.name}: invalid value ({name}:{value}): the prio is an integer") from None
        if not PRIO_MIN <= number <= PRIO_MAX:
            raise Invalid(f"option {spec.name}: invalid value ({name}:{value}): allowed values {PRIO_MIN} - {PRIO_MAX}")
        prios[name] = number
    return tuple(prios.items())


# --- address lists (arp_ip_target, ns_ip6_target) --------------------------------


def _target_items(spec: OptionSpec, raw: object) -> list[str]:
    if isinstance(raw, str):
        return [item for item in re.split(r"[,\s]+", raw) if item]
    if isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
        return [part for item in raw for part in re.split(r"[,\s]+", item) if part]
    raise invalid(spec, raw)


def _address(spec: OptionSpec, text: str, adding: bool) -> str:
    v6 = spec.kind == "ipv6list"
    try:
        if "%" in text:  # scope ids make no sense for a probe target
            raise ValueError(text)
        addr = ipaddress.IPv6Address(text) if v6 else ipaddress.IPv4Address(text)
    except ValueError:
        raise Invalid(f"option {spec.name}: invalid value ({text})") from None
    if adding:
        if v6:
            unusable = addr.is_unspecified or addr.is_loopback or addr.is_multicast
        else:  # the kernel's bond_is_ip_target_ok(): no 0.0.0.0/8, no limited broadcast
            unusable = addr.packed[0] == 0 or int(addr) == 0xFFFFFFFF
        if unusable:
            raise Invalid(f"option {spec.name}: invalid {_label(spec)} target {addr} specified for addition")
    return str(addr)


def _label(spec: OptionSpec) -> str:
    return "NS" if spec.kind == "ipv6list" else "ARP"


def parse_targets(
    spec: OptionSpec, raw: object, current: tuple[str, ...], *, strict: bool, bad_target: str | None = None
) -> tuple[tuple[str, ...], list[str]]:
    """Apply a target list value; returns (new list, warnings without bond prefix).

    A plain list replaces the current one; "+addr" adds and "-addr" removes, as
    sysfs does.  `strict` (live changes) makes a duplicate an error, as sysfs
    does; configuration files only get the module parameter's warning.
    `bad_target` (a module parameter): an unusable address is skipped with
    this warning ({} is the address) instead of refused.
    """
    items = _target_items(spec, raw)
    label, limit = _label(spec), (BOND_MAX_NS_TARGETS if spec.kind == "ipv6list" else BOND_MAX_ARP_TARGETS)
    replace = all(item[0] not in "+-" for item in items)
    targets = [] if replace else list(current)
    warnings: list[str] = []
    for item in items:
        op, text = (item[0], item[1:]) if item[0] in "+-" else ("+", item)
        try:
            addr = _address(spec, text, adding=op == "+")
        except Invalid:
            if bad_target is None or op != "+":
                raise
            warnings.append(bad_target.format(text))
            continue
        if op == "-":
            if addr not in targets:
                raise Invalid(f"option {spec.name}: unable to remove nonexistent {label} target {addr}")
            targets.remove(addr)
        elif addr in targets:
            if strict:
                raise Invalid(f"option {spec.name}: {label} target {addr} is already present")
            warnings.append(f"Warning: duplicate address {addr} in {spec.name}, skipping")
        elif len(targets) >= limit:
            raise Invalid(f"option {spec.name}: {label} target table is full (at most {limit} targets)")
        else:
            targets.append(addr)
    return tuple(targets), warnings
