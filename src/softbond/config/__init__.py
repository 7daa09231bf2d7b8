"""Bond configuration: the option registry and the readers for ifcfg, modprobe.conf and TOML.

Typical use (the CLI):

    configs = merge_configs([c for path in paths for c in load_config(path)])
"""

from .errors import ConfigError
from .loader import load_config, merge_configs
from .model import BondConfig, build_bond_config
from .names import validate_ifname
from .options import (MODE_NAMES, BondOptions, OptionError, build_options, change_option,
                      option_to_json, option_to_text, options_to_json)

__all__ = ["BondConfig", "BondOptions", "ConfigError", "MODE_NAMES",
           "OptionError", "build_bond_config", "build_options", "change_option",
           "load_config", "merge_configs", "option_to_json", "option_to_text",
           "options_to_json", "validate_ifname"]
