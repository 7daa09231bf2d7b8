"""Debian ifupdown: /etc/network/interfaces stanzas with the bond-* options
Debian's ifenslave package reads (/etc/network/if-pre-up.d/ifenslave).

ifenslave writes each bond-X value to /sys/class/net/BOND/bonding/X, so the
option is the kernel's own name; it reads only the ones in IFENSLAVE_OPTIONS
(others it ignores, and so does softbond, with a warning).
"""

import glob
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import ConfigError
from .foreign import BondDraft
from .ifcfg import _classful as classful_prefix  # the same rule ifcfg's scripts apply
from .model import BondConfig, parse_ip
from .textfile import numbered_lines, read_text

# Kernel options ifenslave's if-pre-up.d script writes to sysfs.
IFENSLAVE_OPTIONS = (
    "use_carrier",
    "num_grat_arp",
    "num_unsol_na",
    "arp_ip_target",
    "arp_interval",
    "miimon",
    "downdelay",
    "updelay",
    "ad_select",
    "mode",
    "xmit_hash_policy",
    "tlb_dynamic_lb",
    "packets_per_slave",
    "arp_validate",
    "lacp_rate",
    "primary_reselect",
    "fail_over_mac",
)
# Read by ifenslave, but about the running bond rather than its configuration.
_IFENSLAVE_RUNTIME = {
    "bond-active-slave": "softbond picks the active member (softbond set-active changes it)",
    "bond-queue-id": "softbond has no transmit queue mapping",
    "bond-give-a-chance": "softbond does not wait for a member at start",
}
_STANZA_WORDS = ("iface", "mapping", "auto", "source", "source-directory", "rename", "no-auto-down", "no-scripts")
_QUIET = {"pre-up", "up", "post-up", "down", "pre-down", "post-down"}  # warned as a group
_SOURCE_DIRECTORY_NAME = re.compile(r"[a-zA-Z0-9_-]+", re.ASCII)


def option_key(key: str) -> str:
    """The name ifupdown exports an option under, spelled back: bond_miimon is bond-miimon."""
    return key.lower().replace("_", "-")


@dataclass
class Stanza:
    iface: str
    family: str
    method: str
    path: str
    line: int
    options: list[tuple[str, str, int]] = field(default_factory=list)  # key, value, line

    def where(self, line: int | None = None) -> str:
        return f"{self.path}:{line or self.line}"


@dataclass
class Interfaces:
    stanzas: list[Stanza] = field(default_factory=list)
    auto: set[str] = field(default_factory=set)

    def of(self, iface: str) -> list[Stanza]:
        return [s for s in self.stanzas if s.iface == iface]


def read_interfaces(path: str, into: Interfaces | None = None, depth: int = 0) -> Interfaces:
    """Stanzas in file order, following source and source-directory as ifup does."""
    result = into if into is not None else Interfaces()
    stanza: Stanza | None = None
    for number, line in _logical_lines(read_text(path)):
        words = line.split()
        keyword = words[0]
        if keyword in _STANZA_WORDS or keyword.startswith("allow-"):
            stanza = None
            if keyword == "iface":
                if len(words) != 4:
                    raise ConfigError(f"{path}:{number}: expected iface NAME FAMILY METHOD")
                stanza = Stanza(words[1], words[2], words[3], path, number)
                result.stanzas.append(stanza)
            elif keyword in ("auto", "allow-auto", "allow-hotplug"):  # what boot brings up
                result.auto.update(words[1:])
            elif keyword in ("source", "source-directory"):
                _source(path, number, keyword, line.split(None, 1)[1:], result, depth)
            elif keyword == "mapping":
                stanza = Stanza("", "", "mapping", path, number)  # its lines are not options
        elif stanza is None:
            raise ConfigError(f"{path}:{number}: option {keyword!r} outside an iface stanza")
        elif stanza.method != "mapping":
            key = option_key(keyword)
            if any(option_key(k) == key for k, _, _ in stanza.options):
                raise ConfigError(
                    f"{path}:{number}: {stanza.iface}: {keyword} given twice "
                    "in one stanza (ifupdown would pass both lines as one value)"
                )
            stanza.options.append((keyword, line[len(keyword) :].strip(), number))
    return result


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number of the first line, line) with comments dropped and \\ continuations joined."""
    pending, start = "", 0
    for number, line in numbered_lines(text):
        if not pending and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending, start = pending + line[:-1], start or number
            continue
        full, first = pending + line, start or number
        pending, start = "", 0
        if full.strip():
            yield first, full.strip()


def _source(path: str, number: int, keyword: str, rest: list[str], result: Interfaces, depth: int) -> None:
    if not rest:
        raise ConfigError(f"{path}:{number}: {keyword} needs a path")
    if depth >= 10:
        raise ConfigError(f"{path}:{number}: {keyword} nested too deeply (a file sourcing itself?)")
    target = rest[0].strip()
    if not os.path.isabs(target):
        target = os.path.join(os.path.dirname(path) or ".", target)
    if keyword == "source":
        files = sorted(glob.glob(target))
    else:
        try:
            files = [os.path.join(target, n) for n in sorted(os.listdir(target)) if _SOURCE_DIRECTORY_NAME.fullmatch(n)]
        except OSError as exc:
            raise ConfigError(f"{path}:{number}: {keyword} {rest[0]}: {exc.strerror or exc}") from None
    for file in files:
        read_interfaces(file, result, depth + 1)


def load_ifupdown(path: str) -> list[BondConfig]:
    """Every bond an interfaces(5) file defines (bond-slaves or bond-mode, as
    ifenslave decides, or named by a member's bond-master)."""
    interfaces = read_interfaces(path)
    masters: dict[str, list[tuple[str, str]]] = {}  # bond -> [(member, where)]
    for stanza in interfaces.stanzas:
        for key, value, line in stanza.options:
            if option_key(key) == "bond-master":
                masters.setdefault(value, []).append((stanza.iface, stanza.where(line)))
    names: list[str] = []
    for stanza in interfaces.stanzas:
        keys = {option_key(k) for k, _, _ in stanza.options}
        if stanza.iface not in names and (keys & {"bond-slaves", "slaves", "bond-mode"} or stanza.iface in masters):
            names.append(stanza.iface)
    for bond, members in masters.items():
        if bond not in names:
            raise ConfigError(f"{members[0][1]}: bond-master {bond}: no iface stanza for {bond}")
    return [_bond(name, interfaces, masters.get(name, [])).build() for name in names]


def _bond(name: str, interfaces: Interfaces, masters: list[tuple[str, str]]) -> BondDraft:
    stanzas = interfaces.of(name)
    draft = BondDraft(name, stanzas[0].where(), stanzas[0].path, onboot=name in interfaces.auto)
    primaries: tuple[list[str], str] | None = None
    for stanza in stanzas:
        if stanza.method == "dhcp":
            draft.warn(
                stanza.where(), f"iface {name} {stanza.family} dhcp ignored: softbond sets static addresses only"
            )
        values = {option_key(k): (v, stanza.where(line)) for k, v, line in stanza.options}
        for key, value, line in stanza.options:
            where, key = stanza.where(line), option_key(key)
            if key in ("bond-slaves", "slaves"):
                _slaves(draft, value, where)
            elif key == "bond-primary":
                primaries = (value.split(), where)
            elif key.startswith("bond-") and key[5:].replace("-", "_") in IFENSLAVE_OPTIONS:
                draft.option(key[5:].replace("-", "_"), value, where)
            elif key in _IFENSLAVE_RUNTIME:
                draft.warn(where, f"{key} ignored: {_IFENSLAVE_RUNTIME[key]}")
            elif key.startswith("bond-"):
                draft.warn(where, f"{key} ignored: Debian's ifenslave does not read it either")
            elif key in ("address", "netmask", "gateway"):
                if stanza.method != "static":  # ifupdown reads them for static only
                    draft.warn(where, f"{key} ignored: iface {name} {stanza.family} {stanza.method} is not static")
            elif key == "mtu":
                draft.set_mtu(value, where)
            elif key == "hwaddress":
                draft.set_hwaddr(value.split()[-1] if value else value, where)
            else:
                draft.warn(
                    where,
                    f"{key} ignored: softbond has no equivalent"
                    + (" (it runs no hook commands)" if key in _QUIET else ""),
                )
        if stanza.method == "static":
            _static(draft, stanza, values)
    for member, where in masters:
        if member not in draft.slaves:
            draft.member(member, where)
    for member in draft.slaves:
        for stanza in interfaces.of(member):
            for key, _, line in stanza.options:
                if option_key(key) != "bond-master":
                    draft.member_setting(stanza.where(line), member, key)
    if primaries is not None:  # ifenslave: the first one that is a member
        chosen = next((p for p in primaries[0] if p in draft.slaves), None)
        if chosen is None:
            draft.warn(
                primaries[1],
                f"bond-primary {' '.join(primaries[0])}: none of them is a member, ignored as ifenslave does",
            )
        else:
            draft.option("primary", chosen, primaries[1])
    return draft


def _slaves(draft: BondDraft, value: str, where: str) -> None:
    if value == "all":
        raise ConfigError(f"{where}: {draft.name}: bond-slaves all: softbond needs the members' names")
    for member in value.split() if value != "none" else []:
        draft.member(member, where)


def _static(draft: BondDraft, stanza: Stanza, values: dict[str, tuple[str, str]]) -> None:
    if "address" not in values:
        raise ConfigError(f"{stanza.where()}: iface {stanza.iface} {stanza.family} static without an address")
    address, where = values["address"]
    if "/" not in address:
        # Without a netmask ifupdown takes the class's for IPv4 and gives ip
        # a bare IPv6 address (a /128), as ifquery shows.
        ip = draft.checked(parse_ip, address, where)
        default = str(classful_prefix(ip) or 32) if stanza.family == "inet" and ":" not in ip else "128"
        netmask = values.get("netmask", (default, where))[0]
        try:
            prefix = ipaddress.ip_network(f"0.0.0.0/{netmask}").prefixlen if "." in netmask else int(netmask)
        except ValueError:
            raise ConfigError(f"{values['netmask'][1]}: {draft.name}: netmask {netmask}: not a netmask") from None
        address = f"{address}/{prefix}"
    draft.address(address, where)
    if "gateway" in values:
        draft.gateway(*values["gateway"])
