"""`softbond import PATH --to toml`: bonds read from any supported format,
written as softbond's TOML (toml_config.py reads it back to the same bonds).

Each warning the readers gave stays in the output as a comment, so a
setting softbond could not carry over is not lost in the conversion.
"""

import json
import re

from .model import BondConfig
from .options import SPECS, option_to_json

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
# One spelling for options that share a value (num_unsol_na is num_grat_arp),
# and none for the module-level max_bonds, which is not a bond's.
_SKIPPED = {"num_unsol_na", "max_bonds"}


def _string(text: str) -> str:
    # TOML basic strings take JSON's escapes, but not a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _value(value: object) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bond_lines(config: BondConfig) -> list[str]:
    lines = [f"[{_key(config.name)}]"]
    fields = (
        ("slaves", list(config.slaves)),
        ("addresses", list(config.addresses)),
        ("gateway", config.gateway),
        ("gateway6", config.gateway6),
        ("hwaddr", config.hwaddr),
        ("mtu", config.mtu),
    )
    lines += [f"{key} = {_value(value)}" for key, value in fields if value]
    if not config.onboot:
        lines.append("onboot = false")
    for spec in SPECS:
        value = config.options.get(spec.name)
        if spec.name in _SKIPPED or (spec.name != "mode" and value == spec.default):
            continue
        lines.append(f"{spec.name} = {_value(option_to_json(spec.name, value))}")
    return lines


def to_toml(configs: list[BondConfig]) -> str:
    """softbond TOML for final (merged) configs."""
    sources = ", ".join(dict.fromkeys(c.source for c in configs))
    lines = [f"# softbond import: from {sources}"]
    lines += [f"# {line}" for c in configs for w in c.warnings for line in w.split("\n")]
    for config in configs:
        lines += [""] + _bond_lines(config)
    return "\n".join(lines) + "\n"
