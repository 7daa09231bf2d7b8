"""Which other tool's format a path holds: by file name first, then by content.

A directory is read by the format of the files in it (ifcfg-* files leave
it to the ifcfg reader); a file by its extension, or by its first words.
"""

import importlib
import os
import re
from collections.abc import Callable

from .model import BondConfig

# A reader takes a path and gives the bonds configured there.
Reader = Callable[[str], list[BondConfig]]


def _reader(module: str) -> Reader:
    """The reader load_<module> in .<module>, imported when first called:
    the bond process `up` forks keeps every module `up` imported, so each
    reader it did not need would cost every bond its memory (netplan's yaml
    alone 1.3 MiB)."""

    def read(path: str) -> list[BondConfig]:
        load: Reader = getattr(importlib.import_module(f".{module}", __package__), f"load_{module}")
        return load(path)

    return read


load_ifupdown, load_netplan, load_networkd, load_nmkeyfile, load_teamd = (
    _reader(m) for m in ("ifupdown", "netplan", "networkd", "nmkeyfile", "teamd")
)

_BY_EXTENSION: tuple[tuple[str, Reader], ...] = (
    (".yaml", load_netplan),
    (".yml", load_netplan),
    (".netdev", load_networkd),
    (".network", load_networkd),
    (".nmconnection", load_nmkeyfile),
    (".json", load_teamd),
)
_BY_CONTENT: tuple[tuple[re.Pattern[str], Reader], ...] = (
    (re.compile(r"^\s*network\s*:", re.M), load_netplan),
    (re.compile(r"^\s*\[NetDev\]", re.M), load_networkd),
    (re.compile(r"^\s*\[connection\]", re.M), load_nmkeyfile),
    (re.compile(r"^\s*(?:iface|auto|allow-[a-z]+|source|source-directory)\s+[^\s=]", re.M), load_ifupdown),
    (re.compile(r"\A\s*\{"), load_teamd),
)


def reader_by_name(path: str) -> Reader | None:
    """The reader for another tool's files by their names: a directory of
    them, or a file's extension; None when the name does not tell."""
    if os.path.isdir(path):
        try:
            names = os.listdir(path)
        except OSError:
            return None  # the ifcfg reader reports it
        if any(n.startswith("ifcfg-") for n in names):
            return None
        if os.path.isfile(os.path.join(path, "interfaces")):
            return lambda _: load_ifupdown(os.path.join(path, "interfaces"))
        for suffix, reader in _BY_EXTENSION[:-1]:  # teamd is one file per team
            if any(n.endswith(suffix) for n in names):
                return reader
        return None
    return next((reader for suffix, reader in _BY_EXTENSION if path.endswith(suffix)), None)


def reader_by_content(text: str) -> Reader | None:
    """The reader for a file whose name does not tell, by its first words.
    Ask after TOML: none of these formats is valid TOML, so a TOML file
    with a key that looks like one of theirs stays TOML."""
    return next((reader for pattern, reader in _BY_CONTENT if pattern.search(text)), None)
