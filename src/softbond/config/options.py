"""Bonding options: validation, the kernel's configuration rules, live changes.

The option table itself is in registry.py; this module is the public face.
"""

import functools
from collections.abc import Iterable
from dataclasses import asdict, replace

from .errors import ConfigError, at
from .registry import (  # noqa: F401  (re-exported)
    ALL_MODES, BOND_DEFAULT_MIIMON, BOND_MAX_ARP_TARGETS, BOND_MAX_NS_TARGETS,
    BOND_MODE_8023AD, BOND_MODE_ACTIVEBACKUP, BOND_MODE_ALB, BOND_MODE_BROADCAST,
    BOND_MODE_ROUNDROBIN, BOND_MODE_TLB, BOND_MODE_XOR, DATAPATHS, IFDOWN, INT_MAX,
    MODE_NAMES, NO_ARP_MODES, NOSLAVES, OPTIONS, SPECS, BondOptions, OptionSpec)
from .rules import DelayRefused, live_effects, mode_label, module_rules
from .values import Invalid, parse_scalar, parse_targets

Pair = tuple[str, object, "str | None"]
_DEFAULTS = asdict(BondOptions())  # immutable values (ints, strs, tuples): copy the dict


class OptionError(ConfigError, ValueError):
    """A refused option, worded like the kernel's netdev_err() lines."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


def lookup(bond: str, name: object, where: str | None = None) -> OptionSpec:
    spec = OPTIONS.get(name.strip()) if isinstance(name, str) else None
    if spec is None:
        raise OptionError(at(where, f"{bond}: option {name}: unknown option"), str(name))
    return spec


def _parse(bond: str, spec: OptionSpec, raw: object, current: object, *,
           strict: bool, where: str | None = None) -> tuple[object, list[str]]:
    try:
        # Cached: max_bonds=1024 validates the same module-wide pairs 2048 times.
        key = tuple(raw) if isinstance(raw, list) else raw
        try:
            value, warns = _parse_value(spec, key, current, strict)
        except TypeError:  # unhashable (a TOML table in the list): not cached
            value, warns = _parse_value.__wrapped__(spec, raw, current, strict)
        return value, [f"{bond}: {w}" for w in warns]
    except Invalid as exc:
        raise OptionError(at(where, f"{bond}: {exc}"), spec.name) from None


@functools.lru_cache(maxsize=512, typed=True)  # typed: 1, 1.0 and True differ
def _parse_value(spec: OptionSpec, raw: object, current: object,
                 strict: bool) -> tuple[object, tuple[str, ...]]:
    if spec.kind in ("ipv4list", "ipv6list"):
        value, warns = parse_targets(spec, raw, current, strict=strict)
        return value, tuple(warns)
    return parse_scalar(spec, raw), ()


def _dependency_failed(bond: str, name: str, mode: int, where: str | None) -> OptionError:
    return OptionError(at(where, f"{bond}: option {name}: mode dependency failed, not "
                                 f"supported in mode {mode_label(mode)}"), name)


def build_options(bond: str, pairs: Iterable[Pair], *,
                  final: bool = True) -> tuple[BondOptions, list[str]]:
    """Validate (name, raw value, where) pairs into BondOptions plus warnings.

    Later pairs win.  Mode dependencies are checked against the final mode, so
    order does not matter.  With final=False (one source of several, e.g. an
    ifcfg directory whose mode lives in modprobe.conf) a missing mode is not an
    error and mode checks wait until merge_configs() builds the final set.
    """
    values = dict(_DEFAULTS)
    given: dict[str, str | None] = {}
    warnings: list[str] = []
    for name, raw, where in pairs:
        spec = lookup(bond, name, where)
        values[spec.attr], warns = _parse(bond, spec, raw, values[spec.attr],
                                          strict=False, where=where)
        warnings += warns
        given.pop(spec.name, None)  # keep the order of the last occurrence
        given[spec.name] = where
    mode = values["mode"]
    mode_known = final or "mode" in given
    if mode_known:
        if "mode" not in given:
            warnings.append(f"{bond}: no mode was configured: using the kernel default, "
                            f"{MODE_NAMES[mode]} ({mode})")
        for name, where in given.items():
            if mode in OPTIONS[name].unsupported:
                raise _dependency_failed(bond, name, mode, where)
    warnings += [f"{bond}: {w}" for w in module_rules(values, set(given),
                                                       mode_known=mode_known)]
    return BondOptions(**values), warnings


def change_option(bond: str, current: BondOptions, name: str, raw: object, *,
                  has_slaves: bool, is_up: bool) -> tuple[BondOptions, list[str]]:
    """Change one option on a live bond, as writing its sysfs file would.

    The kernel's IFDOWN options (lacp_rate, ad_select, ...) are allowed while
    up: softbond can apply them safely.  mode and datapath still need the bond down.
    """
    spec = lookup(bond, name)
    if spec.runtime == "never":
        raise OptionError(f"{bond}: option {spec.name}: module-level option, only set when "
                          "the bonds are created", spec.name)
    if current.mode in spec.unsupported:
        raise _dependency_failed(bond, spec.name, current.mode, None)
    if NOSLAVES in spec.flags and has_slaves:
        raise OptionError(f"{bond}: option {spec.name}: unable to set because the bond "
                          "device has slaves", spec.name)
    if spec.runtime == "down" and is_up:
        raise OptionError(f"{bond}: option {spec.name}: unable to set because the bond "
                          "device is up", spec.name)
    old = asdict(current)
    values = dict(old)
    values[spec.attr], warnings = _parse(bond, spec, raw, old[spec.attr], strict=True)
    try:
        warnings += [f"{bond}: {w}" for w in live_effects(values, old, spec.attr)]
    except DelayRefused as exc:
        raise OptionError(f"{bond}: {exc}", spec.name) from None
    return replace(current, **values), warnings


def option_to_json(name: str, value: object) -> object:
    """JSON form: enums by kernel name, lists as lists, everything else as is."""
    spec = OPTIONS[name]
    if spec.kind == "enum":
        return spec.name_of(value)
    if spec.kind in ("ipv4list", "ipv6list"):
        return list(value)
    return value


def options_to_json(opts: BondOptions) -> dict:
    return {spec.name: option_to_json(spec.name, opts.get(spec.name)) for spec in SPECS}


def option_to_text(name: str, value: object) -> str:
    """sysfs form: "active-backup 1" for enums, space-separated lists."""
    spec = OPTIONS[name]
    if spec.kind == "enum":
        return f"{spec.name_of(value)} {value}"
    if spec.kind in ("ipv4list", "ipv6list"):
        return " ".join(value)
    return str(value)
