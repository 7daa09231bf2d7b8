"""softbond's native TOML format.

    max_bonds = 1            # optional, like the module parameter
    [bonding]                # optional defaults for every bond (like `options bonding`)
    miimon = 100
    [bond0]
    mode = "active-backup"
    slaves = ["eth0", "eth1"]
    address = "192.168.100.199/24"

tomllib reports no positions for keys, so errors find the key's line by
scanning the text (see _Positions).
"""

import json
import re
import tomllib
from typing import Any

from .errors import ConfigError
from .model import (
    BondConfig,
    build_bond_config,
    check_slaves,
    parse_cidr,
    parse_gateway6,
    parse_ip,
    parse_mac,
    parse_mtu,
)
from .options import OPTIONS, Pair, SharedPairs, build_options
from .registry import unknown_option
from .textfile import numbered_lines
from .modprobe import MAX_BONDS_LIMIT

# A key path: bare, "basic" or 'literal' parts joined by dots (spaces allowed
# around the dots), as in table headers ([bond0], [bond0.x], [[a]]) and keys.
_PART = r"(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[A-Za-z0-9_\-]+)"
_PATH = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"\s*\[\[?\s*({_PATH})\s*\]\]?\s*(#.*)?")
_KEY = re.compile(rf"\s*({_PATH})\s*=")
_BOND_KEYS = {"slaves", "address", "addresses", "hwaddr", "gateway", "gateway6", "mtu", "onboot"}


def _parts(path: str) -> list[str]:
    """'a."b.c".d' -> ['a', 'b.c', 'd']."""
    parts = []
    for part in re.findall(_PART, path):
        if part[0] == '"':
            try:
                part = json.loads(part)  # TOML's escapes are JSON's, bar \U
            except ValueError:
                part = part[1:-1]
        elif part[0] == "'":
            part = part[1:-1]
        parts.append(part)
    return parts


class _Positions:
    """Line numbers of table headers and keys, found by scanning the text."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines: dict[tuple[str, str | None], int] = {}
        table: list[str] = []
        for number, line in numbered_lines(text):
            header = _HEADER.fullmatch(line)
            if header:
                # [bond0.x] locates bond0 and bond0's key x as well as the table bond0.x.
                table = _parts(header.group(1))
                self._add(table, number, 0)
                self.lines.setdefault((".".join(table), None), number)
                continue
            key = _KEY.match(line)
            if key:
                # dotted key: "bond0.mode = 1" locates bond0 and bond0's key mode
                self._add(table + _parts(key.group(1)), number, len(table))

    def _add(self, parts: list[str], number: int, start: int) -> None:
        for i in range(start, len(parts)):
            self.lines.setdefault((".".join(parts[:i]), parts[i]), number)

    def where(self, table: str, key: str | None = None) -> str:
        number = (
            self.lines.get((table, key)) or self.lines.get((table, None)) or self.lines.get(("", table))
        )  # last: inline table, bond0 = { ... }
        return f"{self.path}:{number}" if number else self.path


def parse_toml(text: str, path: str) -> list[BondConfig]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r" \(at line (\d+), column \d+\)$", message)
        if match:
            raise ConfigError(f"{path}:{match.group(1)}: invalid TOML: {message[: match.start()]}") from None
        if message.endswith(" (at end of document)"):  # name the last line that has text
            raise ConfigError(f"{path}:{len(text.rstrip().split(chr(10)))}: invalid TOML: {message}") from None
        raise ConfigError(f"{path}: invalid TOML: {message}") from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    pos = _Positions(path, text)
    defaults: list[Pair] = []
    tables: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key == "max_bonds":
            defaults.append((key, value, pos.where("", key)))
        elif key == "bonding":
            defaults += _defaults(value, pos)
        elif isinstance(value, dict):
            tables[key] = value
        else:
            raise ConfigError(
                f"{pos.where('', key)}: unknown top-level key {key!r} (options go in [bonding] or in a bond's table)"
            )
    names = list(tables)
    max_pairs = [p for p in defaults if p[0] == "max_bonds"]
    if max_pairs:
        count = build_options("bonding", max_pairs, final=False)[0].max_bonds
        if count > MAX_BONDS_LIMIT:
            raise ConfigError(
                f"{max_pairs[-1][2]}: max_bonds={count}: softbond creates at most {MAX_BONDS_LIMIT} bonds"
            )
        names = [f"bond{i}" for i in range(count) if f"bond{i}" not in tables] + names
    shared = SharedPairs(defaults)  # [bonding] applies to every bond: parsed once
    return [_bond(name, tables.get(name, {}), shared, pos) for name in names]


def _defaults(value: object, pos: _Positions) -> list[Pair]:
    if not isinstance(value, dict):
        raise ConfigError(f"{pos.where('', 'bonding')}: bonding must be a table of options")
    pairs: list[Pair] = []
    for key, raw in value.items():
        where = pos.where("bonding", key)
        if key in _BOND_KEYS:
            raise ConfigError(f"{where}: [bonding] holds options for every bond; {key} belongs in a bond's own table")
        if key not in OPTIONS:
            raise ConfigError(f"{where}: bonding: {unknown_option(key)}")
        pairs.append((key, raw, where))
    return pairs


def _bond(name: str, table: dict[str, Any], defaults: SharedPairs, pos: _Positions) -> BondConfig:
    def where(key: str | None = None) -> str:
        return pos.where(name, key)

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where(key)}: {name}: {key} must be a string")
        return value

    slaves = table.get("slaves", [])
    if isinstance(slaves, str):
        slaves = [s for s in re.split(r"[,\s]+", slaves) if s]
    if not isinstance(slaves, list) or not all(isinstance(s, str) for s in slaves):
        raise ConfigError(f"{where('slaves')}: {name}: slaves must be a list of interface names")
    if "address" in table and "addresses" in table:
        raise ConfigError(f"{where('addresses')}: {name}: give address or addresses, not both")
    addresses = table.get("addresses", [text("address")] if "address" in table else [])
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise ConfigError(f"{where('addresses')}: {name}: addresses must be a list of address/prefix strings")
    onboot = table.get("onboot", True)
    if not isinstance(onboot, bool):
        raise ConfigError(f"{where('onboot')}: {name}: onboot must be true or false")
    pairs = [(key, raw, where(key)) for key, raw in table.items() if key not in _BOND_KEYS]
    hwaddr, gateway, gateway6 = text("hwaddr"), text("gateway"), text("gateway6")
    mtu = table.get("mtu")
    # Check the non-option fields here so errors carry the line of their key.
    checks = (
        ("slaves", lambda: check_slaves(name, slaves)),
        ("addresses" if "addresses" in table else "address", lambda: [parse_cidr(a) for a in addresses]),
        ("hwaddr", lambda: hwaddr is None or parse_mac(hwaddr)),
        ("gateway", lambda: gateway is None or parse_ip(gateway)),
        ("gateway6", lambda: gateway6 is None or parse_gateway6(gateway6)),
        ("mtu", lambda: mtu is None or parse_mtu(mtu)),
    )
    for key, check in checks:
        try:
            check()
        except (ConfigError, ValueError) as exc:
            detail = str(exc) if isinstance(exc, ConfigError) else f"{name}: {exc}"
            raise ConfigError(f"{where(key)}: {detail}") from None
    return build_bond_config(
        name,
        slaves=slaves,
        addresses=addresses,
        option_pairs=pairs,
        shared=defaults,
        hwaddr=hwaddr,
        gateway=gateway,
        gateway6=gateway6,
        mtu=mtu,
        onboot=onboot,
        source=pos.path,
        final=False,
        where=where(),
    )
