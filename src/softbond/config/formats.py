"""Which other tool's format a path holds: by file name first, then by content.

A directory is read by the format of the files in it (ifcfg-* files leave
it to the ifcfg reader); a file by its extension, or by its first words.
"""

import os
import re
from collections.abc import Callable

from .ifupdown import load_ifupdown
from .model import BondConfig
from .netplan import load_netplan
from .networkd import load_networkd
from .nmkeyfile import load_nmkeyfile
from .teamd import load_teamd

# A reader takes a path and gives the bonds configured there.
Reader = Callable[[str], list[BondConfig]]

_BY_EXTENSION: tuple[tuple[str, Reader], ...] = ((".yaml", load_netplan), (".yml", load_netplan), (".netdev", load_networkd),
                 (".network", load_networkd), (".nmconnection", load_nmkeyfile),
                 (".json", load_teamd))
_BY_CONTENT: tuple[tuple[re.Pattern[str], Reader], ...] = ((re.compile(r"^\s*network\s*:", re.M), load_netplan),
               (re.compile(r"^\s*\[NetDev\]", re.M), load_networkd),
               (re.compile(r"^\s*\[connection\]", re.M), load_nmkeyfile),
               (re.compile(r"^\s*(?:iface|auto|allow-[a-z]+|source|source-directory)\s+[^\s=]",
                           re.M), load_ifupdown),
               (re.compile(r"\A\s*\{"), load_teamd))


def reader_by_name(path: str) -> Reader | None:
    """The reader for another tool's files by their names: a directory of
    them, or a file's extension; None when the name does not tell."""
    if os.path.isdir(path):
        try:
            names = os.listdir(path)
        except OSError:
            return None         # the ifcfg reader reports it
        if any(n.startswith("ifcfg-") for n in names):
            return None
        if os.path.isfile(os.path.join(path, "interfaces")):
            return lambda _: load_ifupdown(os.path.join(path, "interfaces"))
        for suffix, reader in _BY_EXTENSION[:-1]:    # teamd is one file per team
            if any(n.endswith(suffix) for n in names):
                return reader
        return None
    return next((reader for suffix, reader in _BY_EXTENSION if path.endswith(suffix)), None)


def reader_by_content(text: str) -> Reader | None:
    """The reader for a file whose name does not tell, by its first words.
    Ask after TOML: none of these formats is valid TOML, so a TOML file
    with a key that looks like one of theirs stays TOML."""
    return next((reader for pattern, reader in _BY_CONTENT if pattern.search(text)), None)
