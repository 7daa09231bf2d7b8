"""What the readers of other tools' files share: netplan, networkd, NetworkManager
keyfiles, ifupdown and teamd each fill a BondDraft, warn about what has no
softbond meaning, and build the BondConfig through build_bond_config().
"""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from .errors import ConfigError
from .model import BondConfig, build_bond_config, parse_cidr, parse_ip, parse_mac, parse_mtu
from .names import validate_ifname
from .options import Pair

_TRUE = {"1", "yes", "y", "true", "t", "on"}
_FALSE = {"0", "no", "n", "false", "f", "off"}
# systemd's time units (parse_time() in src/basic/time-util.c), in microseconds;
# its months and years are left out: no bonding interval reaches them.
_USEC: dict[str, int | Fraction] = {
    "ns": Fraction(1, 1000),
    "nsec": Fraction(1, 1000),
    "us": 1,
    "usec": 1,
    "µs": 1,
    "μs": 1,
    "ms": 1000,
    "msec": 1000,
    "s": 10**6,
    "sec": 10**6,
    "second": 10**6,
    "seconds": 10**6,
    "m": 60 * 10**6,
    "min": 60 * 10**6,
    "minute": 60 * 10**6,
    "minutes": 60 * 10**6,
    "h": 3600 * 10**6,
    "hr": 3600 * 10**6,
    "hour": 3600 * 10**6,
    "hours": 3600 * 10**6,
    "d": 86400 * 10**6,
    "day": 86400 * 10**6,
    "days": 86400 * 10**6,
    "w": 604800 * 10**6,
    "week": 604800 * 10**6,
    "weeks": 604800 * 10**6,
}
_Checked = TypeVar("_Checked")
_SPAN_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zµμ]*)", re.ASCII)


def directory_files(path: str, suffix: str) -> list[str]:
    """Files ending in `suffix` in a directory (or in a file's directory), sorted
    by name as networkd, NetworkManager and netplan order them."""
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot read directory: {exc.strerror or exc}") from None
    return [os.path.join(directory, n) for n in names if n.endswith(suffix)]


def line_with_text(text: str, line: int) -> int:
    """`line`, or the nearest one before it that has text: YAML and JSON parsers
    report a missing token where the next one should be, past blank lines."""
    lines = text.split("\n")
    line = min(line, len(lines))
    while line > 1 and not lines[line - 1].strip():
        line -= 1
    return line


def timespan_ms(text: str, unit: str = "s") -> int:
    """A systemd time span ("100ms", "1s", "1min 30s"; a bare number is in
    `unit`) in whole milliseconds; ValueError otherwise."""
    total, pos, text = Fraction(0), 0, str(text).strip()
    if not text:
        raise ValueError("empty time span")
    while pos < len(text):
        part = _SPAN_PART.match(text, pos)
        if not part or part.end() == pos:
            raise ValueError(f"{text!r}: not a time span (e.g. 100ms, 2s)")
        suffix = part.group(2) or unit
        if suffix not in _USEC:
            raise ValueError(f"{text!r}: unknown time unit {suffix!r}")
        total += Fraction(part.group(1)) * _USEC[suffix]  # exact, however long
        pos = part.end()
    if (total / 1000).denominator != 1:
        raise ValueError(f"{text!r}: bonding counts whole milliseconds")
    return int(total / 1000)


def boolean(text: str) -> bool:
    """systemd's and GKeyFile's yes/no spellings; ValueError otherwise."""
    value = str(text).strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ValueError(f"{text!r}: expected yes or no")


def default_gateways(gateways: list[str]) -> tuple[str | None, str | None]:
    """(gateway, gateway6) for BondConfig from the default routes a file gives:
    the IPv4 one and an IPv6 one beside it, or an IPv6 one alone."""
    v4 = [g for g in gateways if ":" not in g]
    v6 = [g for g in gateways if ":" in g]
    if v4:
        return v4[-1], (v6[-1] if v6 else None)
    return (v6[-1] if v6 else None), None


@dataclass
class BondDraft:
    """One bond as a reader finds it, before validation."""

    name: str
    where: str  # file:line of the bond's definition
    source: str  # the file, as BondConfig.source
    slaves: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)  # kernel option names
    gateways: list[str] = field(default_factory=list)
    hwaddr: str | None = None
    mtu: object = None
    onboot: bool = True
    notes: list[str] = field(default_factory=list)

    def warn(self, where: str, message: str) -> None:
        self.notes.append(f"{where}: {self.name}: Warning: {message}")

    def member_setting(self, where: str, member: str, setting: str) -> None:
        """A member's own setting: softbond sets members up itself (down, the
        bond's MTU and MAC), so it has no place for it."""
        self.warn(where, f"{member}: {setting} ignored: softbond configures its members itself")

    def option(self, name: str, value: object, where: str) -> None:
        self.pairs.append((name, value, where))

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{where}: {self.name}: {message}")

    def checked(self, check: Callable[[object], _Checked], text: object, where: str) -> _Checked:
        try:
            return check(text)
        except (ValueError, ConfigError) as exc:
            raise self.fail(where, str(exc)) from None

    # Each setter validates where the value was written, so errors name its line.
    def member(self, name: str, where: str) -> None:
        self.checked(lambda n: validate_ifname(n, "member"), name, where)
        if name == self.name:
            raise self.fail(where, "a bond cannot be its own member")
        if name in self.slaves:
            raise self.fail(where, f'member "{name}" listed twice')
        self.slaves.append(name)

    def address(self, text: object, where: str) -> None:
        cidr = self.checked(parse_cidr, text, where)
        if cidr in self.addresses:
            raise self.fail(where, f"address {cidr} listed twice")
        self.addresses.append(cidr)

    def gateway(self, text: object, where: str) -> None:
        self.gateways.append(self.checked(parse_ip, text, where))

    def set_hwaddr(self, text: object, where: str) -> None:
        self.hwaddr = self.checked(parse_mac, text, where)

    def set_mtu(self, text: object, where: str) -> None:
        self.mtu = self.checked(parse_mtu, text, where)

    def build(self) -> BondConfig:
        gateway, gateway6 = default_gateways(self.gateways)
        return build_bond_config(
            self.name,
            slaves=self.slaves,
            addresses=self.addresses,
            option_pairs=self.pairs,
            hwaddr=self.hwaddr,
            gateway=gateway,
            gateway6=gateway6,
            mtu=self.mtu,
            onboot=self.onboot,
            source=self.source,
            final=False,
            where=self.where,
            source_warnings=self.notes,
        )
