"""`softbond options [NAME]`: the bonding options as the registry knows
them (values, default, the modes that take them, whether a running bond
takes a change), and the short list that `up --help` and `set --help` end
with. Everything here is read from config.registry: no second list."""
from __future__ import annotations

from .config.registry import (MODE_NAMES, OPTIONS, SPECS, OptionSpec, accepted_values,
                              unknown_option)
from .config.options import option_to_json

# What `runtime` means to someone at a terminal.
LIVE = {"always": "yes", "down": "no (softbond down, then up)", "never": "no (module-level)"}
REBUILT = "yes (the bond device is rebuilt: traffic pauses)"


def live(spec: OptionSpec) -> str:
    return REBUILT if spec.rebuilt_live else LIVE[spec.runtime]


def modes_of(spec: OptionSpec) -> str:
    modes = [name for mode, name in MODE_NAMES.items() if mode not in spec.unsupported]
    return "all" if len(modes) == len(MODE_NAMES) else ", ".join(modes)


def default_of(spec: OptionSpec) -> str:
    value = option_to_json(spec.name, spec.default)
    if isinstance(value, (list, tuple, dict)):
        return "(none)" if not value else str(value)
    return "(none)" if value == "" else str(value)


def describe(name: str) -> str:
    """Everything about one option, one fact a line."""
    spec = OPTIONS.get(name)
    if spec is None:
        raise LookupError(unknown_option(name))
    return "".join(f"{label:<9} {value}\n" for label, value in (
        ("name:", spec.name), ("meaning:", spec.desc), ("values:", accepted_values(spec)),
        ("default:", default_of(spec)), ("modes:", modes_of(spec)),
        ("live:", live(spec))))


def table() -> str:
    """Every option, one a line: name, default, live-changeable, values."""
    rows = [("OPTION", "DEFAULT", "LIVE", "VALUES")]
    rows += [(s.name, default_of(s), live(s).split()[0], accepted_values(s))
             for s in SPECS]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}\n"
                   for r in rows)


def help_listing() -> str:
    """The options with their values, for the end of `up --help` and `set --help`."""
    lines = ["bonding options (softbond options NAME tells more):"]
    lines += [f"  {s.name}: {accepted_values(s)}" for s in SPECS]
    return "\n".join(lines)
