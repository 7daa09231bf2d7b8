"""netplan YAML: `network: bonds: bond0: {interfaces, parameters, addresses, routes}`
with the members under `ethernets` (by id, `match: name:` or `set-name:`).

Parameter names and units are netplan(5)'s; a bare number is milliseconds
for the monitor intervals and delays, seconds for learn-packet-interval,
as netplan writes them into the networkd files it generates.
"""

import bisect
import os
from typing import Any, cast

import yaml

from .errors import ConfigError
from .foreign import BondDraft, directory_files, line_with_text, timespan_ms
from .model import BondConfig
from .textfile import read_text

# parameters key -> (kernel option, form): "ms"/"s" time spans with that
# default unit, "bool", "list", "member" (an ethernets id), or "text".
PARAMETERS = {
    "mode": ("mode", "text"),
    "lacp-rate": ("lacp_rate", "text"),
    "mii-monitor-interval": ("miimon", "ms"),
    "min-links": ("min_links", "text"),
    "transmit-hash-policy": ("xmit_hash_policy", "text"),
    "ad-select": ("ad_select", "text"),
    "all-members-active": ("all_slaves_active", "bool"),
    "all-slaves-active": ("all_slaves_active", "bool"),
    "arp-interval": ("arp_interval", "ms"),
    "arp-ip-targets": ("arp_ip_target", "list"),
    "arp-validate": ("arp_validate", "text"),
    "arp-all-targets": ("arp_all_targets", "text"),
    "up-delay": ("updelay", "ms"),
    "down-delay": ("downdelay", "ms"),
    "fail-over-mac-policy": ("fail_over_mac", "text"),
    "gratuitous-arp": ("num_grat_arp", "text"),
    "gratuitious-arp": ("num_grat_arp", "text"),  # netplan keeps the old misspelling
    "packets-per-member": ("packets_per_slave", "text"),
    "packets-per-slave": ("packets_per_slave", "text"),
    "primary-reselect-policy": ("primary_reselect", "text"),
    "resend-igmp": ("resend_igmp", "text"),
    "learn-packet-interval": ("lp_interval", "s"),
    "primary": ("primary", "member"),
}
# Numbers netplan keeps in an unsigned field where 0 means "not set": it
# writes nothing for 0, so the kernel's default applies (netplan 0.106).
_ZERO_UNSET = {
    "min-links",
    "gratuitous-arp",
    "gratuitious-arp",
    "packets-per-member",
    "packets-per-slave",
    "resend-igmp",
}
# Bond keys with no softbond meaning that change nothing on a static bond.
_QUIET = {"renderer", "optional", "link-local", "critical", "accept-ra", "ipv6-privacy"}


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key (and its own)."""

    line = 0
    lines: dict[object, int]


class _Loader(yaml.SafeLoader):
    def __init__(self, text: str, path: str):
        super().__init__(text)
        self.name = path
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line_of(self, mark: yaml.Mark) -> int:
        """The mark's line as every softbond reader counts them, at \\n only
        (YAML also ends one at \\r, NEL and the Unicode line separators)."""
        return bisect.bisect_left(self.newlines, mark.index) + 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Map:
        result = _Map()
        result.line, result.lines = self.line_of(node.start_mark), {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = self.line_of(key_node.start_mark)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise ConfigError(f"{self.name}:{line}: a mapping key must be a name")
            if key in result.lines:
                raise ConfigError(f"{self.name}:{line}: key {key!r} given twice")
            result.lines[key] = line
            result[key] = self.construct_object(value_node, deep=True)
        return result


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    return loader.construct_mapping(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def parse_yaml(text: str, path: str) -> object:
    loader = None
    last = line_with_text(text, text.count("\n") + 1)
    try:
        loader = _Loader(text, path)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = line_with_text(text, loader.line_of(mark)) if mark and loader else last
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        raise ConfigError(f"{path}:{line}: invalid YAML: character {shown} is not allowed") from None
    # Where these gave up is not known: the end, as TOML's reader says.
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:{last}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}:{last}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


class _File:
    def __init__(self, path: str):
        self.path = path
        text = read_text(path)
        self.data = parse_yaml(text, path)
        # where the document starts: what names a file whose top is no mapping
        self.first_line = next(
            (
                number
                for number, line in enumerate(text.split("\n"), 1)
                if line.strip() and not line.lstrip().startswith("#")
            ),
            1,
        )

    def where(self, mapping: object, key: object = None) -> str:
        lines = getattr(mapping, "lines", {})
        line = lines.get(key) or getattr(mapping, "line", 0) or self.first_line
        return f"{self.path}:{line}"

    def table(self, mapping: object, key: str, keypath: str) -> _Map:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if value is None:
            return _Map()
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(mapping, key)}: {keypath}: expected a mapping")
        return cast(_Map, value)  # _Loader builds every mapping as one


# A device's definition: the file, the mapping that holds it (for lines), its value.
_Definition = tuple[_File, _Map, Any]
# network.ethernets of every file, by id.
_Ethernets = dict[str, _Definition]


def load_netplan(path: str) -> list[BondConfig]:
    """The bonds of a netplan file, or of every *.yaml in a directory (/etc/netplan).

    As netplan reads them, a later file amends a bond an earlier one defined:
    its members and addresses are added, its parameters win.
    """
    files = [_File(p) for p in (directory_files(path, ".yaml") if os.path.isdir(path) else [path])]
    ethernets: _Ethernets = {}
    bonds: dict[str, list[_Definition]] = {}
    for file in files:
        if file.data is None:
            continue
        network = file.table(file.data, "network", "network")
        if not isinstance(file.data, dict) or "network" not in file.data:
            raise ConfigError(f"{file.where(file.data)}: not a netplan file (no network: mapping at the top)")
        devices = file.table(network, "ethernets", "network.ethernets")
        for name, device in devices.items():
            if name in ethernets:
                raise ConfigError(
                    f"{file.where(devices, name)}: network.ethernets.{name}: "
                    f"already defined in {ethernets[name][0].path} (softbond "
                    "reads each member from one file)"
                )
            ethernets[name] = (file, devices, device if device is not None else _Map())
        devices = file.table(network, "bonds", "network.bonds")
        for name, device in devices.items():
            bonds.setdefault(name, []).append((file, devices, device if device is not None else _Map()))
    return [_bond(name, definitions, ethernets).build() for name, definitions in bonds.items()]


def _member_name(ident: str, where: str, bond: BondDraft, ethernets: _Ethernets) -> str:
    if ident not in ethernets:
        raise ConfigError(f"{where}: {bond.name}: interface {ident!r} is not defined under network.ethernets")
    file, devices, device = ethernets[ident]
    if not isinstance(device, dict):
        raise ConfigError(f"{file.where(devices, ident)}: network.ethernets.{ident}: expected a mapping")
    if device.get("set-name"):
        return str(_scalar(device["set-name"], file.where(device, "set-name"), f"network.ethernets.{ident}.set-name"))
    match = file.table(device, "match", f"network.ethernets.{ident}.match")
    if not match:
        return ident
    name = match.get("name")
    if not isinstance(name, str) or any(c in name for c in "*?["):
        raise ConfigError(
            f"{file.where(device, 'match')}: network.ethernets.{ident}.match: "
            "softbond needs the member's interface name (match by an exact "
            "name, or give set-name)"
        )
    return name


def _member_settings(draft: BondDraft, ident: str, ethernets: _Ethernets) -> None:
    file, _, device = ethernets[ident]
    for key, value in device.items():
        if key not in ("match", "set-name") and not (key in ("dhcp4", "dhcp6") and value is False):
            draft.member_setting(file.where(device, key), ident, f"network.ethernets.{ident}.{key}")


def _bond(name: str, definitions: list[_Definition], ethernets: _Ethernets) -> BondDraft:
    file, bonds, _ = definitions[0]
    draft = BondDraft(str(name), file.where(bonds, name), file.path)
    for file, bonds, bond in definitions:
        _amend(draft, file, bonds, bond, ethernets)
    return draft


def _amend(draft: BondDraft, file: _File, bonds: _Map, bond: object, ethernets: _Ethernets) -> None:
    """Add one file's definition of the bond to the draft."""
    name = draft.name
    keypath = f"network.bonds.{name}"
    if not isinstance(bond, dict):
        raise ConfigError(f"{file.where(bonds, name)}: {keypath}: expected a mapping")
    for key, value in bond.items():
        where = file.where(bond, key)
        if key == "interfaces":
            if not isinstance(value, list):
                raise ConfigError(f"{where}: {keypath}.interfaces: expected a list")
            for ident in value:
                if not isinstance(ident, (str, int)):
                    raise ConfigError(f"{where}: {keypath}.interfaces: expected device ids")
                draft.member(_member_name(str(ident), where, draft, ethernets), where)
                _member_settings(draft, str(ident), ethernets)
        elif key == "parameters":
            params = file.table(bond, key, f"{keypath}.parameters")
            for param, raw in params.items():
                _parameter(file, draft, params, param, raw, ethernets)
        elif key == "addresses":
            for address in value if isinstance(value, list) else [value]:
                if isinstance(address, dict):  # {"192.0.2.5/24": {label: ..., lifetime: ...}}
                    if any(address.values()):
                        draft.warn(
                            where,
                            f"{keypath}.addresses: options of {next(iter(address))} "
                            "ignored: softbond has no equivalent",
                        )
                    address = next(iter(address), None)
                draft.address(_scalar(address, where, f"{keypath}.addresses"), where)
        elif key in ("gateway4", "gateway6"):
            draft.gateway(_scalar(value, where, f"{keypath}.{key}"), where)
        elif key == "routes":
            _routes(file, draft, value, where)
        elif key == "mtu":
            draft.set_mtu(_scalar(value, where, f"{keypath}.mtu"), where)
        elif key == "macaddress":
            draft.set_hwaddr(_scalar(value, where, f"{keypath}.macaddress"), where)
        elif key in ("dhcp4", "dhcp6"):
            if value is True:
                draft.warn(where, f"{keypath}.{key} ignored: softbond sets static addresses only")
        elif key not in _QUIET:
            draft.warn(where, f"{keypath}.{key} ignored: softbond has no equivalent")


def _parameter(file: _File, draft: BondDraft, params: _Map, param: str, raw: object, ethernets: _Ethernets) -> None:
    where = file.where(params, param)
    keypath = f"network.bonds.{draft.name}.parameters.{param}"
    if param not in PARAMETERS:
        draft.warn(where, f"{keypath} ignored: not a netplan bond parameter softbond knows")
        return
    option, form = PARAMETERS[param]
    items = raw if form == "list" and isinstance(raw, list) else [raw]
    if not all(isinstance(item, (str, int, float, bool)) for item in items):
        raise ConfigError(
            f"{where}: {keypath}: expected " + ("a list of addresses" if form == "list" else "a single value")
        )
    if option == "primary" and any(pair[0] == "primary" for pair in draft.pairs):
        raise ConfigError(
            f"{where}: {keypath}: {draft.name} already has a primary member (netplan refuses a second one too)"
        )
    if param in _ZERO_UNSET and str(raw).strip() == "0":
        draft.warn(where, f"{keypath}: 0 ignored: netplan leaves it unset, so the kernel's default {option} applies")
        return
    try:
        if form in ("ms", "s"):
            text = str(raw).strip()
            ms = timespan_ms(text, form)
            if form == "s":
                if ms % 1000:
                    raise ValueError(f"{text!r}: the kernel counts whole seconds")
                ms //= 1000
            value: object = ms
        elif form == "bool":
            if not isinstance(raw, bool):
                raise ValueError(f"{raw!r}: expected true or false")
            value = int(raw)
        elif form == "list":
            if not isinstance(raw, list):
                raise ValueError(f"{raw!r}: expected a list")
            value = [str(item) for item in raw]
        elif form == "member":
            value = _member_name(str(raw), where, draft, ethernets)
        else:
            value = str(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {keypath}: {exc}") from None
    draft.option(option, value, where)


def _scalar(value: object, where: str, keypath: str) -> object:
    """One value, not a list or mapping (whose text, through YAML aliases, can
    be exponentially long)."""
    if isinstance(value, (list, dict)):
        raise ConfigError(f"{where}: {keypath}: expected a single value")
    return value


def _routes(file: _File, draft: BondDraft, routes: object, where: str) -> None:
    if not isinstance(routes, list):
        raise ConfigError(f"{where}: network.bonds.{draft.name}.routes: expected a list")
    for route in routes:
        at = file.where(route) if isinstance(route, dict) else where
        if not isinstance(route, dict):
            raise ConfigError(f"{at}: network.bonds.{draft.name}.routes: expected a mapping with to: and via:")
        keypath = f"network.bonds.{draft.name}.routes"
        to = _scalar(route.get("to"), file.where(route, "to"), f"{keypath}.to")
        if str(to) in ("default", "0.0.0.0/0", "::/0") and "via" in route:
            draft.gateway(_scalar(route["via"], file.where(route, "via"), f"{keypath}.via"), file.where(route, "via"))
            extra = sorted(set(route) - {"to", "via"})
            if extra:
                draft.warn(at, f"route to {to}: {', '.join(map(str, extra))} ignored")
        else:
            draft.warn(at, f"route to {to} ignored: softbond sets the default route only")
