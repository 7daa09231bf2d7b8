"""`softbond options [NAME]`: the bonding options as the registry knows
them (values, default, the modes that take them, whether a running bond
takes a change), and the short list that `up --help` and `set --help` end
with. Everything here is read from config.registry: no second list."""
from __future__ import annotations

from ..config.registry import EFFECT_DATAPATH, EFFECT_RUNNER, MODE_NAMES, OPTIONS, SPECS, OptionSpec, accepted_values, unknown_option
from ..config.options import option_to_json

# What a live change costs, said to someone at a terminal (by the option's
# effect; every option but the module-level ones changes live).
COST = {EFFECT_DATAPATH: "yes (the bond device is rebuilt: traffic pauses)",
        EFFECT_RUNNER: "yes (the mode runner is rebuilt: a few frames may be lost)"}


def live(spec: OptionSpec) -> str:
    if spec.runtime == "never":
        return "no (module-level)"
    if spec.runtime == "up":
        return "no (acted on at up and down)"
    return COST.get(spec.effect, "yes")


def modes_of(spec: OptionSpec) -> str:
    modes = [name for mode, name in MODE_NAMES.items() if mode not in spec.unsupported]
    return "all" if len(modes) == len(MODE_NAMES) else ", ".join(modes)


def default_of(spec: OptionSpec) -> str:
    if spec.kind == "bool":     # said as the values line lists them (off, on), not 0/1
        return next((label for label, number in spec.values if number == spec.default), str(spec.default))
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
