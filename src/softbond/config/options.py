"""Bonding options: validation, the kernel's configuration rules, live changes.

The option table itself is in registry.py; this module is the public face.
"""

from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import Any, NamedTuple

from .errors import ConfigError as ConfigError  # re-exported: OptionError is one
from .errors import at

# Re-exported ("X as X" says so to mypy): the rest of softbond imports
# the option table's names from here.
from .registry import (
    ALL_MODES as ALL_MODES,
    BOND_DEFAULT_MIIMON as BOND_DEFAULT_MIIMON,
    BOND_MAX_ARP_TARGETS as BOND_MAX_ARP_TARGETS,
    BOND_MAX_NS_TARGETS as BOND_MAX_NS_TARGETS,
    BOND_MODE_8023AD as BOND_MODE_8023AD,
    BOND_MODE_ACTIVEBACKUP as BOND_MODE_ACTIVEBACKUP,
    BOND_MODE_ALB as BOND_MODE_ALB,
    BOND_MODE_BROADCAST as BOND_MODE_BROADCAST,
    BOND_MODE_ROUNDROBIN as BOND_MODE_ROUNDROBIN,
    BOND_MODE_TLB as BOND_MODE_TLB,
    BOND_MODE_XOR as BOND_MODE_XOR,
    DATAPATHS as DATAPATHS,
    EFFECT_CONFIGURE as EFFECT_CONFIGURE,
    EFFECT_DATAPATH as EFFECT_DATAPATH,
    EFFECT_MONITORS as EFFECT_MONITORS,
    EFFECT_PRIOS as EFFECT_PRIOS,
    EFFECT_RESELECT as EFFECT_RESELECT,
    EFFECT_RUNNER as EFFECT_RUNNER,
    IFDOWN as IFDOWN,
    INT_MAX as INT_MAX,
    MODE_NAMES as MODE_NAMES,
    NO_ARP_MODES as NO_ARP_MODES,
    OptionFields as OptionFields,
    NOSLAVES as NOSLAVES,
    OPTIONS as OPTIONS,
    SPECS as SPECS,
    BondOptions as BondOptions,
    OptionSpec as OptionSpec,
    unknown_option as unknown_option,
)
from .rules import (
    BAD_ARP_TARGET,
    MODULE_RESETS,
    DelayRefused,
    ModuleRefused,
    live_effects,
    mode_label,
    module_ignores,
    module_rules,
)
from .values import Invalid, integer_of, parse_prios, parse_scalar, parse_targets

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
        raise OptionError(at(where, f"{bond}: {unknown_option(name)}"), str(name))
    return spec


def _parse(
    bond: str,
    spec: OptionSpec,
    raw: object,
    current: Any,
    *,
    strict: bool,
    where: str | None = None,
    module: bool = False,
) -> tuple[object, list[str]]:
    """One value; warnings come without the "bond0: " prefix. `module`: a
    module parameter, which the kernel resets where sysfs refuses it."""
    try:
        if spec.kind in ("ipv4list", "ipv6list"):
            bad = BAD_ARP_TARGET if module and spec.name == "arp_ip_target" else None
            return parse_targets(spec, raw, current, strict=strict, bad_target=bad)
        if spec.kind == "priolist":
            return parse_prios(spec, raw, current), []
        return parse_scalar(spec, raw), []
    except Invalid as exc:
        if module and spec.name in MODULE_RESETS and integer_of(raw) is not None:
            value, warning = MODULE_RESETS[spec.name]
            return value, [warning.format(integer_of(raw))]
        raise OptionError(at(where, f"{bond}: {exc}"), spec.name) from None


def _dependency_failed(bond: str, name: str, mode: int, where: str | None) -> OptionError:
    return OptionError(
        at(where, f"{bond}: option {name}: mode dependency failed, not supported in mode {mode_label(mode)}"), name
    )


class ParsedPairs(NamedTuple):
    """(name, raw value, where) pairs parsed in order, before the checks that
    need the whole set (mode dependencies, bond_check_params()).

    Nothing here depends on the bond's name, so the pairs a source gives
    every bond (modprobe's `options bonding`, TOML's [bonding]) are parsed
    once and each bond goes on from there: see parse_pairs(start=...).
    Treat it as immutable; parse_pairs() copies before it changes anything.
    """

    pairs: tuple[Pair, ...]  # every pair parsed so far, start's included
    values: OptionFields  # BondOptions fields
    given: dict[str, "str | None"]  # option name -> where, in order of last occurrence
    warnings: tuple[str, ...]  # without the "bond0: " prefix
    module: bool = False  # module parameters (`softbond up OPT=VAL`), not sysfs writes


_NOTHING_PARSED = ParsedPairs((), _DEFAULTS, {}, ())


def parse_pairs(
    bond: str, pairs: Iterable[Pair], start: ParsedPairs | None = None, *, module: bool = False
) -> ParsedPairs:
    """Parse pairs after those of `start` (default: none, all values at their
    defaults).  Later pairs win.  `bond` only names the bond in errors.
    `module`: the pairs are module parameters (bond_check_params() rules)."""
    if start is None:
        start = _NOTHING_PARSED
    module = module or start.module
    pairs = tuple(pairs)
    values = dict(start.values)
    given = dict(start.given)
    warnings = list(start.warnings)
    for name, raw, where in pairs:
        spec = lookup(bond, name, where)
        values[spec.attr], warns = _parse(bond, spec, raw, values[spec.attr], strict=False, where=where, module=module)
        warnings += warns
        given.pop(spec.name, None)  # keep the order of the last occurrence
        given[spec.name] = where
    return ParsedPairs(start.pairs + pairs, values, given, tuple(warnings), module)


class SharedPairs:
    """Pairs every bond of a source starts with (modprobe's `options bonding`,
    TOML's [bonding]), parsed once: by the first bond that gets to its options.

    Parsing them there and not up front keeps errors as they were when each
    bond parsed them itself: named after the first bond, and raised only
    once that bond's own earlier checks (a TOML bond's members, say) passed.
    A failure leaves nothing cached; the reader stops at it anyway.
    `parsed` may hand in these very pairs already parsed (merge_configs()
    does, from BondConfig.parsed); it is used only if parsed.pairs is the
    same tuple, so a config whose option_pairs were replaced is parsed again.
    """

    def __init__(self, pairs: Iterable[Pair] = (), parsed: ParsedPairs | None = None):
        self.pairs = tuple(pairs)  # the same object when pairs is a tuple
        self._parsed = parsed if parsed is not None and parsed.pairs is self.pairs else None

    def parsed(self, bond: str) -> ParsedPairs:
        if self._parsed is None:
            self._parsed = parse_pairs(bond, self.pairs)
        return self._parsed


def finish_options(bond: str, parsed: ParsedPairs, *, final: bool = True) -> tuple[BondOptions, list[str]]:
    """The rest of build_options(): mode dependencies and the kernel's rules
    on parsed pairs.  `parsed` is not changed."""
    values: OptionFields = dict(parsed.values)
    given = parsed.given
    warnings = list(parsed.warnings)
    mode = values["mode"]
    mode_known = final or "mode" in given
    if mode_known:
        if "mode" not in given:
            warnings.append(f"no mode was configured: using the kernel default, {MODE_NAMES[mode]} ({mode})")
        for name, where in given.items():
            if mode in OPTIONS[name].unsupported:
                ignored = module_ignores(name, values, mode) if parsed.module else None
                if ignored is None:
                    raise _dependency_failed(bond, name, mode, where)
                warnings.append(ignored)
    bad_target = parsed.module and any(w.startswith(BAD_ARP_TARGET.split("(")[0]) for w in warnings)
    try:
        warnings += module_rules(
            values, set(given), mode_known=mode_known, module=parsed.module, bad_arp_target=bad_target
        )
    except ModuleRefused as exc:
        raise OptionError(f"{bond}: {exc}") from None
    return BondOptions(**values), [f"{bond}: {w}" for w in warnings]


def build_options(bond: str, pairs: Iterable[Pair], *, final: bool = True) -> tuple[BondOptions, list[str]]:
    """Validate (name, raw value, where) pairs into BondOptions plus warnings.

    Later pairs win.  Mode dependencies are checked against the final mode, so
    order does not matter.  With final=False (one source of several, e.g. an
    ifcfg directory whose mode lives in modprobe.conf) a missing mode is not an
    error and mode checks wait until merge_configs() builds the final set.
    """
    return finish_options(bond, parse_pairs(bond, pairs), final=final)


def change_option(bond: str, current: BondOptions, name: str, raw: object) -> tuple[BondOptions, list[str]]:
    """Change one option on a live bond, as writing its sysfs file would.

    The kernel refuses its NOSLAVES and IFDOWN options (mode, fail_over_mac,
    lacp_rate, ...) on a bond that has slaves or is up; softbond applies
    them live (OptionSpec.effect says how), so only module-level options
    and the kernel's mode dependencies are refused here.
    """
    spec = lookup(bond, name)
    if spec.runtime == "never":
        raise OptionError(
            f"{bond}: option {spec.name}: module-level option, only set when the bonds are created", spec.name
        )
    if spec.runtime == "up":
        raise OptionError(
            f"{bond}: option {spec.name}: acted on at up and down only (softbond down {bond}, then up with it)",
            spec.name,
        )
    if current.mode in spec.unsupported:
        raise _dependency_failed(bond, spec.name, current.mode, None)
    old = asdict(current)
    values = dict(old)
    values[spec.attr], warnings = _parse(bond, spec, raw, old[spec.attr], strict=True)
    try:
        warnings += live_effects(values, old, spec.attr)
    except DelayRefused as exc:
        raise OptionError(f"{bond}: {exc}", spec.name) from None
    return replace(current, **values), [f"{bond}: {w}" for w in warnings]


def option_to_json(name: str, value: Any) -> object:
    """JSON form: enums by kernel name, lists as lists, everything else as is."""
    spec = OPTIONS[name]
    if spec.kind == "enum":
        return spec.name_of(value)
    if spec.kind in ("ipv4list", "ipv6list"):
        return list(value)
    if spec.kind == "priolist":
        return dict(value)
    return value


def options_to_json(opts: BondOptions) -> dict[str, object]:
    return {spec.name: option_to_json(spec.name, opts.get(spec.name)) for spec in SPECS}


def option_to_text(name: str, value: Any) -> str:
    """sysfs form: "active-backup 1" for enums, space-separated lists."""
    spec = OPTIONS[name]
    if spec.kind == "enum":
        return f"{spec.name_of(value)} {value}"
    if spec.kind in ("ipv4list", "ipv6list"):
        return " ".join(value)
    if spec.kind == "priolist":
        return " ".join(f"{name}:{prio}" for name, prio in value)
    return str(value)
