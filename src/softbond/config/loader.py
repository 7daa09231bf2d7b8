"""Pick the right reader for a path, and combine bonds read from several sources."""

import os
from typing import Any

from .formats import reader_by_content, reader_by_name
from .model import BondConfig, build_bond_config
from .options import SharedPairs
from .textfile import read_text

# The readers are imported by the path that needs them (see formats._reader).


def load_config(path: str) -> list[BondConfig]:
    """Bonds from one source: a network-scripts directory, a TOML file,
    modprobe.conf, or another tool's files (see formats.py).

    The result may be incomplete (an ifcfg directory often leaves the mode to
    modprobe.conf): pass everything through merge_configs() before using it.
    """
    reader = reader_by_name(path)
    if reader is not None:
        return reader(path)
    if os.path.isdir(path):
        from .ifcfg import load_ifcfg

        return load_ifcfg(path)
    text = read_text(path)
    if path.endswith(".toml") or _looks_like_toml(text):
        from .toml_config import parse_toml

        return parse_toml(text, path)
    reader = reader_by_content(text)
    if reader is not None:
        return reader(path)
    from .modprobe import parse_modprobe

    return parse_modprobe(text, path)


def _looks_like_toml(text: str) -> bool:
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return False
    return any(isinstance(value, dict) for value in data.values())


def merge_configs(configs: list[BondConfig]) -> list[BondConfig]:
    """One final BondConfig per bond, in order of first appearance.

    Options concatenate (later sources win) and are validated again as a
    whole, so the mode from modprobe.conf applies to BONDING_OPTS from ifcfg;
    this is also where a bond with no mode at all is refused.  Members,
    addresses, hwaddr, gateway and mtu come from the last source that has them.
    The first source's options are not parsed again: the mode checks and
    rules run on them as they were parsed, with the later sources' after.
    """
    groups: dict[str, list[BondConfig]] = {}
    for config in configs:
        groups.setdefault(config.name, []).append(config)
    return [_merge(name, group) for name, group in groups.items()]


def _merge(name: str, group: list[BondConfig]) -> BondConfig:
    def last(attr: str) -> Any:
        values = [getattr(c, attr) for c in group if getattr(c, attr)]
        return values[-1] if values else getattr(group[0], attr)

    first = group[0]
    return build_bond_config(
        name,
        slaves=last("slaves"),
        addresses=last("addresses"),
        shared=SharedPairs(first.option_pairs, first.parsed),
        option_pairs=[pair for c in group[1:] for pair in c.option_pairs],
        hwaddr=last("hwaddr"),
        gateway=last("gateway"),
        gateway6=last("gateway6"),
        mtu=last("mtu"),
        onboot=all(c.onboot for c in group),
        source=", ".join(dict.fromkeys(c.source for c in group)),
        source_warnings=list(dict.fromkeys(w for c in group for w in c.source_warnings)),
        implicit=all(c.implicit for c in group),
    )
