"""RHEL/CentOS network-scripts: ifcfg-bondN plus ifcfg-ethX members (MASTER=, SLAVE=yes)."""

import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import overload

from .errors import ConfigError
from .model import BondConfig, build_bond_config, parse_cidr, parse_ip, parse_mac, parse_mtu
from .names import ifname_problem
from .textfile import numbered_lines, read_text

_ASSIGN = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.ASCII)
_IGNORED_SUFFIXES = (".bak", "~", ".orig", ".rpmnew", ".rpmsave", ".swp")
_TRUE = {"yes", "y", "true", "on", "1"}
_FALSE = {"no", "n", "false", "off", "0"}
_UNSUPPORTED_SHELL = set(";&|<>()`")


@dataclass
class IfcfgFile:
    path: str
    values: dict[str, tuple[str, int]] = field(default_factory=dict)  # KEY -> (value, line)

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values[key][0] if key in self.values else default

    def where(self, key: str | None = None) -> str:
        return f"{self.path}:{self.values[key][1]}" if key in self.values else self.path

    def error(self, key: str | None, message: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {message}")

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None or value == "":
            return default
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise self.error(key, f"{key}={value}: expected yes or no")


def shell_value(text: str) -> str:
    """The value a POSIX shell would assign for `KEY=<text>` (no expansions)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            rest = text[i:].strip()
            if rest and not rest.startswith("#"):
                raise ValueError("unquoted whitespace in the value (quote it)")
            break
        if c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ValueError("unterminated ' quote")
            out.append(text[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\$`':
                    i += 1
                out.append(text[i])
                i += 1
            if i >= n:
                raise ValueError('unterminated " quote')
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError("line continuation is not supported")
            out.append(text[i + 1])
            i += 2
        elif c in _UNSUPPORTED_SHELL:
            raise ValueError(f"shell syntax {c!r} is not supported")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_ifcfg(path: str) -> IfcfgFile:
    record = IfcfgFile(path)
    for number, line in numbered_lines(read_text(path)):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ASSIGN.fullmatch(line)
        if not match:
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE, got {stripped!r}")
        try:
            value = shell_value(match.group(2))
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: {match.group(1)}: {exc}") from None
        record.values[match.group(1)] = (value, number)
    return record


def _device(record: IfcfgFile) -> str:
    name = record.get("DEVICE") or os.path.basename(record.path)[len("ifcfg-") :]
    problem = ifname_problem(name)
    if problem:
        raise record.error("DEVICE", f'device name "{name}": {problem}')
    return name


def _is_bond(record: IfcfgFile) -> bool:
    return (
        "BONDING_OPTS" in record.values
        or record.flag("BONDING_MASTER", False)
        or (record.get("TYPE") or "").lower() == "bond"
    )


def load_ifcfg(path: str) -> list[BondConfig]:
    """Every bond defined in a network-scripts directory, in file-name order."""
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read directory: {exc.strerror or exc}") from None
    records: dict[str, IfcfgFile] = {}
    for name in names:
        if not name.startswith("ifcfg-") or name.endswith(_IGNORED_SUFFIXES):
            continue
        record = read_ifcfg(os.path.join(path, name))
        device = _device(record)
        if device in records:
            raise record.error("DEVICE", f"{device} is already defined in {records[device].path}")
        records[device] = record
    members: dict[str, list[str]] = {}
    for device, record in records.items():
        master = record.get("MASTER")
        if master and record.flag("SLAVE", False):
            if master not in records:
                raise record.error("MASTER", f"MASTER={master}: no ifcfg file defines {master}")
            if master == device:  # else build_bond_config refuses it with no line
                raise record.error("MASTER", f"{device}: a bond cannot be its own member")
            members.setdefault(master, []).append(device)
    return [
        _bond(device, record, members.get(device, []))
        for device, record in records.items()
        if device in members or _is_bond(record)
    ]


def _bond(name: str, record: IfcfgFile, slaves: list[str]) -> BondConfig:
    bootproto = (record.get("BOOTPROTO") or "none").lower()
    if bootproto in ("dhcp", "bootp"):
        raise record.error(
            "BOOTPROTO",
            f"BOOTPROTO={bootproto} is not supported: softbond "
            "sets static addresses only (use BOOTPROTO=none "
            "with IPADDR)",
        )
    if bootproto not in ("none", "static"):
        raise record.error("BOOTPROTO", f"BOOTPROTO={bootproto}: expected none, static, dhcp or bootp")
    for key in ("USERCTL", "PEERDNS"):
        record.flag(key, True)
    notes: list[str] = []
    addresses = _addresses(name, record, notes)
    addresses += _ipv6_addresses(name, record, addresses, notes)
    gateway = _gateway(name, record, "GATEWAY", addresses, notes)
    gateway6 = _gateway(name, record, "IPV6_DEFAULTGW", addresses, notes) if record.flag("IPV6INIT", False) else None
    hwaddr_key = "MACADDR" if "MACADDR" in record.values else "HWADDR"
    hwaddr = record.get(hwaddr_key) or None
    if hwaddr is not None:
        try:
            hwaddr = parse_mac(hwaddr, hwaddr_key)
        except ValueError as exc:
            raise record.error(hwaddr_key, str(exc)) from None
    mtu_text = record.get("MTU") or None
    mtu = None
    if mtu_text is not None:
        try:
            mtu = parse_mtu(mtu_text)
        except ValueError as exc:
            raise record.error("MTU", str(exc).replace("mtu ", "MTU=", 1)) from None
    return build_bond_config(
        name,
        slaves=slaves,
        addresses=addresses,
        option_pairs=_option_pairs(name, record),
        hwaddr=hwaddr,
        gateway=gateway,
        gateway6=gateway6,
        mtu=mtu,
        onboot=record.flag("ONBOOT", True),
        source=record.path,
        final=False,
        where=record.path,
        source_warnings=notes,
    )


def _option_pairs(name: str, record: IfcfgFile) -> list[tuple[str, str, str]]:
    if "BONDING_OPTS" not in record.values:
        return []
    where = record.where("BONDING_OPTS")
    pairs = []
    for item in record.get("BONDING_OPTS", "").split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f'{where}: {name}: BONDING_OPTS item "{item}" is not name=value')
        pairs.append((key, value, where))
    return pairs


def _prefix_from_mask(mask: str) -> int:
    try:
        bits = int(ipaddress.IPv4Address(mask))
    except ValueError:
        raise ValueError(f"NETMASK={mask}: not a netmask") from None
    prefix = 32 - (~bits & 0xFFFFFFFF).bit_length()
    if bits != (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF:
        raise ValueError(f"NETMASK={mask}: not a contiguous netmask")
    return prefix


def _classful(ip: str) -> int | None:
    first = int(ip.split(".")[0])
    return 8 if first < 128 else 16 if first < 192 else 24 if first < 224 else None


def _addresses(name: str, record: IfcfgFile, notes: list[str]) -> list[str]:
    suffixes = sorted(
        (m.group(1) for key in record.values if (m := re.fullmatch(r"IPADDR([0-9]*)", key, re.ASCII))),
        key=lambda s: -1 if s == "" else int(s),
    )
    addresses = []
    for suffix in suffixes:
        ip_key, prefix_key, mask_key = (f"IPADDR{suffix}", f"PREFIX{suffix}", f"NETMASK{suffix}")
        ip = record.get(ip_key)
        if not ip:
            continue
        try:
            ip = parse_ip(ip, ip_key)
            if ":" in ip:
                raise ValueError(f"{ip_key}={ip}: IPv6 addresses belong in IPV6ADDR")
        except ValueError as exc:
            raise record.error(ip_key, str(exc)) from None
        prefix = None
        if record.get(mask_key):
            try:
                prefix = _prefix_from_mask(record.get(mask_key, ""))
            except ValueError as exc:
                raise record.error(mask_key, str(exc)) from None
        if record.get(prefix_key):
            text = record.get(prefix_key, "")
            if not re.fullmatch(r"[0-9]{1,2}", text, re.ASCII) or int(text) > 32:
                raise record.error(prefix_key, f"{prefix_key}={text}: expected 0 to 32")
            if prefix is not None and prefix != int(text):
                raise record.error(prefix_key, f"{prefix_key}={text} disagrees with {mask_key}={record.get(mask_key)}")
            prefix = int(text)
        if prefix is None:
            prefix = _classful(ip)
            if prefix is None:
                raise record.error(ip_key, f"{ip_key}={ip}: no NETMASK or PREFIX given")
            notes.append(
                f"{record.where(ip_key)}: {name}: Warning: no NETMASK or PREFIX for {ip}, using the classful /{prefix}"
            )
        try:
            cidr = parse_cidr(f"{ip}/{prefix}")
        except ValueError as exc:
            raise record.error(ip_key, str(exc)) from None
        if cidr in addresses:  # else build_bond_config refuses it with no line
            raise record.error(ip_key, f"{name}: address {cidr} listed twice")
        addresses.append(cidr)
    _check_network(record, addresses[0] if addresses else None)
    return addresses


def _ipv6_addresses(name: str, record: IfcfgFile, ipv4: list[str], notes: list[str]) -> list[str]:
    """IPV6ADDR and IPV6ADDR_SECONDARIES (address[/prefix], /64 when
    omitted), applied only with IPV6INIT=yes, as ifup-ipv6 does."""
    keys = [k for k in ("IPV6ADDR", "IPV6ADDR_SECONDARIES") if record.get(k)]
    if not record.flag("IPV6INIT", False):
        for key in keys:
            notes.append(f"{record.where(key)}: {name}: Warning: {key} ignored: IPV6INIT is not yes")
        return []
    addresses: list[str] = []
    for key in keys:
        for item in record.get(key, "").split():
            address, _, prefix = item.partition("/")
            try:
                if ":" not in address:
                    raise ValueError(f"{key}={item}: not an IPv6 address (IPv4 belongs in IPADDR)")
                if prefix and not (re.fullmatch(r"[0-9]{1,3}", prefix, re.ASCII) and int(prefix) <= 128):
                    raise ValueError(f"{key}={item}: prefix length must be 0 to 128")
                cidr = parse_cidr(f"{address}/{prefix or 64}")
            except ValueError as exc:
                raise record.error(key, str(exc)) from None
            if cidr in addresses or cidr in ipv4:
                raise record.error(key, f"{name}: address {cidr} listed twice")
            addresses.append(cidr)
    return addresses


def _check_network(record: IfcfgFile, cidr: str | None) -> None:
    """NETWORK and BROADCAST are redundant; a mismatch means a typo somewhere."""
    for key in ("NETWORK", "BROADCAST"):
        given = record.get(key)
        if not given:
            continue
        if cidr is None:
            raise record.error(key, f"{key}={given} given without IPADDR")
        net = ipaddress.ip_interface(cidr).network
        expected = net.network_address if key == "NETWORK" else net.broadcast_address
        try:
            ok = ipaddress.IPv4Address(given) == expected
        except ValueError:
            raise record.error(key, f"{key}={given}: not an IPv4 address") from None
        if not ok:
            raise record.error(key, f"{key}={given} does not match IPADDR/NETMASK {cidr} (expected {key}={expected})")


def _gateway(name: str, record: IfcfgFile, key: str, addresses: list[str], notes: list[str]) -> str | None:
    """GATEWAY (ifup-eth) or IPV6_DEFAULTGW (ifup-ipv6, read only with
    IPV6INIT=yes): a default route each, as the two scripts set them."""
    gateway = record.get(key)
    if not gateway:
        return None
    gateway = gateway.partition("%")[0]  # "addr%bond0": the device is the bond anyway
    try:
        gateway = parse_ip(gateway, key)
        if key == "IPV6_DEFAULTGW" and ":" not in gateway:
            raise ValueError(f"IPV6_DEFAULTGW={gateway}: not an IPv6 address")
    except ValueError as exc:
        raise record.error(key, str(exc)) from None
    networks = [ipaddress.ip_interface(a).network for a in addresses]
    ip = ipaddress.ip_address(gateway)
    if not ip.is_link_local and not any(ip in net for net in networks):
        notes.append(
            f"{record.where(key)}: {name}: Warning: {key} {gateway} is not in any subnet of the bond's addresses"
        )
    return gateway
