"""Bond configuration: the option registry and the readers for ifcfg, modprobe.conf and TOML.

Typical use (the CLI):

    configs = merge_configs([c for path in paths for c in load_config(path)])

The names below are imported from their modules when first used: importing
one submodule (the bond process needs config.model and config.names) must
not import every reader.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ConfigError": "errors",
    "load_config": "loader",
    "merge_configs": "loader",
    "BondConfig": "model",
    "build_bond_config": "model",
    "validate_ifname": "names",
    **{
        name: "options"
        for name in (
            "MODE_NAMES",
            "BondOptions",
            "OptionError",
            "build_options",
            "change_option",
            "option_to_json",
            "option_to_text",
            "options_to_json",
        )
    },
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
