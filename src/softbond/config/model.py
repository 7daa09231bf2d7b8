"""The configured bond, independent of where it was read from."""

import ipaddress
from collections.abc import Iterable
from typing import NoReturn
from dataclasses import dataclass, field

from .errors import ConfigError, at
from .names import validate_ifname
from .options import BondOptions, Pair, ParsedPairs, SharedPairs, finish_options, parse_pairs
from .values import MAC_RE

__all__ = [
    "BondConfig",
    "ConfigError",
    "build_bond_config",
    "check_slaves",
    "parse_cidr",
    "parse_ip",
    "parse_mac",
    "parse_mtu",
]

# What a TAP or veth bond device accepts (ETH_MIN_MTU, ETH_MAX_MTU): the
# bounds `ip link set bond0 mtu N` has on the kernel's bond.
MIN_MTU, MAX_MTU = 68, 65535


@dataclass(frozen=True)
class BondConfig:
    name: str
    slaves: tuple[str, ...]
    options: BondOptions
    addresses: tuple[str, ...]  # CIDR strings, e.g. "192.168.100.199/24"
    hwaddr: str | None
    gateway: str | None  # the default route's gateway (IPv4, or IPv6 given alone)
    onboot: bool
    source: str
    warnings: tuple[str, ...]
    # An IPv6 default gateway beside an IPv4 `gateway` (ifcfg's IPV6_DEFAULTGW
    # beside GATEWAY): one default route per address family.
    gateway6: str | None = None
    # The bond device's MTU (ifcfg MTU=, TOML mtu, --mtu); None leaves the
    # device's default. Members take the bond's MTU, as the kernel's do.
    mtu: int | None = None
    # Made only by the kernel's default max_bonds=1 (modprobe.conf names no
    # bond): `up --config` starts it only when named or given members elsewhere.
    implicit: bool = field(default=False, compare=False)
    # Raw (name, value, where) pairs, kept so merge_configs() can re-validate the
    # union with file:line positions intact.
    option_pairs: tuple[Pair, ...] = field(default=(), compare=False, repr=False)
    # Warnings from the reader itself (not from the options); survive merging.
    source_warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # option_pairs as parsed (options.ParsedPairs, parsed.pairs is option_pairs):
    # merge_configs() goes on from here instead of parsing them again.
    parsed: ParsedPairs | None = field(default=None, compare=False, repr=False)


def parse_cidr(text: object) -> str:
    """ "192.168.100.199/24" -> the same, normalised; ValueError with a reason."""
    if not isinstance(text, str) or "/" not in text:
        raise ValueError(f"address {text!s}: expected address/prefix, e.g. 192.168.100.199/24")
    try:
        iface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise ValueError(f"address {text}: not a valid address/prefix") from None
    if iface.ip.is_unspecified or iface.ip.is_multicast or iface.ip.is_loopback:
        raise ValueError(f"address {text}: not usable as an interface address")
    return str(iface)


def parse_ip(text: object, what: str = "gateway") -> str:
    try:
        if not isinstance(text, str) or "%" in text:
            raise ValueError(text)
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{what} {text!s}: not a valid IP address") from None


def parse_gateway6(text: object) -> str:
    ip = parse_ip(text, "gateway6")
    if ":" not in ip:
        raise ValueError(f"gateway6 {ip}: not an IPv6 address")
    return ip


def parse_mtu(text: object) -> int:
    """An MTU in bytes, 68-65535, from a number or its decimal text."""
    value = text.strip() if isinstance(text, str) else text
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())
    ):
        shown = str(text).lower() if isinstance(text, bool) else text  # TOML's spelling
        raise ValueError(f"mtu {shown!s}: not a number of bytes")
    mtu = int(value)
    if not MIN_MTU <= mtu <= MAX_MTU:
        raise ValueError(f"mtu {mtu}: out of range ({MIN_MTU}-{MAX_MTU})")
    return mtu


def parse_mac(text: object, what: str = "hwaddr") -> str:
    """A unicast, non-zero MAC address in lower-case colon form."""
    if not isinstance(text, str) or not MAC_RE.fullmatch(text.strip()):
        raise ValueError(f"{what} {text!s}: not a MAC address (xx:xx:xx:xx:xx:xx)")
    mac = text.strip().lower().replace("-", ":")
    if int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise ValueError(f"{what} {mac}: not a unicast MAC address")
    return mac


def check_slaves(name: str, slaves: Iterable[str]) -> list[str]:
    """Member names as a list; ConfigError for a bad, repeated or self member."""
    members: list[str] = []
    for slave in slaves:
        validate_ifname(slave, f"{name}: member")
        if slave == name:
            raise ConfigError(f"{name}: a bond cannot be its own member")
        if slave in members:
            raise ConfigError(f'{name}: member "{slave}" listed twice')
        members.append(slave)
    return members


def build_bond_config(
    name: str,
    *,
    slaves: Iterable[str] = (),
    addresses: Iterable[str] = (),
    option_pairs: Iterable[Pair] = (),
    hwaddr: str | None = None,
    gateway: str | None = None,
    gateway6: str | None = None,
    mtu: object = None,
    onboot: bool = True,
    source: str = "command line",
    final: bool = True,
    where: str | None = None,
    source_warnings: Iterable[str] = (),
    shared: SharedPairs | None = None,
    implicit: bool = False,
    module: bool = False,
) -> BondConfig:
    """Validate everything about one bond; raises ConfigError (OptionError is one).

    `where` prefixes errors that concern the bond as a whole; option errors
    carry their own positions.  See build_options() for `final`.  `shared`
    holds pairs that come before option_pairs, the ones the source gives
    every bond: they are parsed once, not once per bond (see SharedPairs).
    `module`: option_pairs are module parameters, as `softbond up OPT=VAL`
    takes them (the kernel resets some values that sysfs refuses).
    """

    def fail(message: str) -> NoReturn:
        raise ConfigError(at(where, message))

    try:
        validate_ifname(name, "bond")
        members = check_slaves(name, slaves)
    except ConfigError as exc:
        fail(str(exc))
    cidrs: list[str] = []
    try:
        for address in addresses:
            cidr = parse_cidr(address)
            if cidr in cidrs:
                raise ValueError(f"address {cidr} listed twice")
            cidrs.append(cidr)
        mac = parse_mac(hwaddr) if hwaddr is not None else None
        gw = parse_ip(gateway) if gateway is not None else None
        gw6 = parse_gateway6(gateway6) if gateway6 is not None else None
        mtu_bytes = parse_mtu(mtu) if mtu is not None else None
        if gw6 is not None and gw is not None and ":" in gw:
            raise ValueError(f"gateway {gw} and gateway6 {gw6}: two IPv6 default gateways")
    except ValueError as exc:
        fail(f"{name}: {exc}")
    parsed = parse_pairs(name, option_pairs, shared.parsed(name) if shared is not None else None, module=module)
    options, warnings = finish_options(name, parsed, final=final)
    warnings = list(source_warnings) + warnings
    if final and options.primary and members and options.primary not in members:
        warnings.append(f"{name}: Warning: primary {options.primary} is not a member of {name} ({', '.join(members)})")
    return BondConfig(
        name=name,
        slaves=tuple(members),
        options=options,
        addresses=tuple(cidrs),
        hwaddr=mac,
        gateway=gw,
        gateway6=gw6,
        mtu=mtu_bytes,
        onboot=onboot,
        source=source,
        warnings=tuple(warnings),
        option_pairs=parsed.pairs,
        source_warnings=tuple(source_warnings),
        parsed=parsed,
        implicit=implicit,
    )
