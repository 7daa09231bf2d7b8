"""NetworkManager keyfiles (/etc/NetworkManager/system-connections/*.nmconnection).

A bond is `[connection] type=bond interface-name=bond0` with kernel option
names under `[bond]`; its members are connections whose `controller=`
(`master=` before NM 1.46) names the bond by interface name, UUID or id,
with `port-type=bond` (`slave-type=`).  nm-settings-keyfile(5) has the format.
"""

import os
import re
from collections.abc import Iterable

from .errors import ConfigError
from .foreign import BondDraft, boolean, directory_files
from .inifile import Entry, IniFile, Section, read_ini
from .model import BondConfig

# Keys read without a warning: they identify the connection or say what
# softbond does anyway (IPv6 link-local and SLAAC are the kernel's, on the
# bond device as on any other).
_QUIET = {
    "connection": {
        "id",
        "uuid",
        "type",
        "interface-name",
        "autoconnect",
        "timestamp",
        "permissions",
        "autoconnect-priority",
        "autoconnect-slaves",
        "autoconnect-ports",
    },
    "ipv4": {"method", "gateway", "may-fail"},
    "ipv6": {"method", "gateway", "addr-gen-mode", "may-fail", "ip6-privacy"},
    "ethernet": {"mtu", "cloned-mac-address"},
    "bond-port": {"queue-id", "prio"},
}
_PORT_KEYS = {
    ("connection", key)
    for key in (
        "id",
        "uuid",
        "type",
        "interface-name",
        "master",
        "controller",
        "slave-type",
        "port-type",
        "autoconnect",
        "timestamp",
        "permissions",
    )
}
# The settings' full names, as older keyfiles have them.
_SECTION_ALIASES = {"802-3-ethernet": "ethernet"}
# NetworkManager's policies in place of an address (nm-settings-nmcli(5)).
_SPECIAL_MACS = {"preserve", "permanent", "random", "stable", "stable-ssid"}
_ADDRESS_KEY = re.compile(r"address(?:es)?[0-9]*")
# NM's own bond option with no kernel counterpart (it balances in userspace on OVS-like terms).
_NM_ONLY = {"balance-slb"}


def _files(path: str) -> tuple[list[str], list[str]]:
    """(files whose bonds to read, files to look for their members in)."""
    everything = directory_files(path, ".nmconnection")
    return (everything if os.path.isdir(path) else [path]), everything


def load_nmkeyfile(path: str) -> list[BondConfig]:
    """The bonds of one keyfile, or of every *.nmconnection in a directory;
    members come from the keyfiles beside them."""
    bond_paths, all_paths = _files(path)
    files = {p: read_ini(p, aliases=_SECTION_ALIASES) for p in dict.fromkeys(bond_paths + all_paths)}  # in name order
    drafts: dict[str, tuple[BondDraft, set[str]]] = {}  # name -> (draft, names it answers to)
    for bond_path in bond_paths:
        keyfile = files[bond_path]
        connection = keyfile.section("connection")
        if connection is None or connection.value("type") != "bond":
            continue
        draft = _bond(keyfile, connection)
        if draft.name in drafts:
            raise ConfigError(f"{draft.where}: {draft.name} is already defined in {drafts[draft.name][0].source}")
        handles = {draft.name} | {h for h in (connection.value("uuid"), connection.value("id")) if h}
        drafts[draft.name] = (draft, handles)
    for port_path in all_paths:
        _port(files[port_path], drafts.values())
    return [draft.build() for draft, _ in drafts.values()]


def _name(keyfile: IniFile, connection: Section) -> str:
    name = connection.value("interface-name")
    if not name:
        raise keyfile.error(connection, "type=bond without interface-name=: softbond needs the bond's interface name")
    return name


def _bond(keyfile: IniFile, connection: Section) -> BondDraft:
    name_entry = connection.last("interface-name")
    draft = BondDraft(_name(keyfile, connection), keyfile.where(name_entry or connection), keyfile.path)
    autoconnect = connection.last("autoconnect")
    if autoconnect is not None:
        draft.onboot = _flag(keyfile, draft, autoconnect)
    for section in keyfile.sections:
        for entry in section.entries:
            where = keyfile.where(entry)
            if section.name == "bond":
                if entry.key in _NM_ONLY:
                    draft.warn(
                        where, f"bond.{entry.key} ignored: a NetworkManager option with no kernel bonding equivalent"
                    )
                elif entry.key == "active_slave":
                    draft.warn(
                        where,
                        "bond.active_slave ignored: softbond picks the active "
                        f"member (softbond set-active {draft.name} IFACE changes it)",
                    )
                else:  # NM writes the kernel's option names; list items are comma-separated
                    draft.option(entry.key, entry.value, where)
            elif section.name in ("ipv4", "ipv6") and _ADDRESS_KEY.fullmatch(entry.key):
                _address(keyfile, draft, section.name, entry)
            elif (section.name, entry.key) == ("ethernet", "mtu"):
                draft.set_mtu(entry.value, where)
            elif (section.name, entry.key) == ("ethernet", "cloned-mac-address"):
                if entry.value in _SPECIAL_MACS:
                    draft.warn(
                        where,
                        f"ethernet.cloned-mac-address={entry.value} ignored: "
                        "softbond gives the bond its first member's MAC",
                    )
                else:
                    draft.set_hwaddr(entry.value, where)
            elif entry.key == "gateway" and section.name in ("ipv4", "ipv6"):
                draft.gateway(entry.value, where)
            elif entry.key not in _QUIET.get(section.name, ()):
                draft.warn(where, f"{section.name}.{entry.key} ignored: softbond has no equivalent")
    # Addresses softbond would have to ask a server for; IPv6 "auto" is the
    # kernel's own SLAAC on the bond device, so it is no loss.
    for family, dynamic in (("ipv4", ("auto", "link-local", "shared")), ("ipv6", ("dhcp", "shared"))):
        family_section = keyfile.section(family)
        method = family_section.last("method") if family_section else None
        shown = method.value if method else ("auto" if family == "ipv4" else "")
        if shown in dynamic:
            draft.warn(
                keyfile.where(method or family_section or connection),
                f"{family}.method={shown} ignored: softbond sets static addresses only (method=manual)",
            )
    return draft


def _address(keyfile: IniFile, draft: BondDraft, family: str, entry: Entry) -> None:
    """address1=ADDRESS[/PLEN][,GATEWAY], where "/", ";" and "," are one
    separator to NetworkManager's reader (read_one_ip_address_or_route())."""
    where = keyfile.where(entry)
    fields = re.split(r"[/;,]", entry.value.strip())
    if len(fields) > 1 and fields[-1] == "":  # its "deprecated semicolon at the end"
        fields.pop()
    address, rest = fields[0], fields[1:]
    if rest and rest[0].isdigit():
        prefix = rest.pop(0)
    else:  # the keyfile reader's default, with its warning
        prefix = "24" if family == "ipv4" else "64"
        draft.warn(where, f"{family}.{entry.key}: no prefix length, using /{prefix} as NetworkManager does")
    if len(rest) > 1:
        raise ConfigError(f"{where}: {draft.name}: {family}.{entry.key}={entry.value}: expected ADDRESS/PLEN[,GATEWAY]")
    draft.address(f"{address}/{prefix}", where)
    if rest and rest[0]:
        draft.gateway(rest[0], where)


def _flag(keyfile: IniFile, draft: BondDraft, entry: Entry) -> bool:
    try:
        return boolean(entry.value)
    except ValueError as exc:
        raise ConfigError(f"{keyfile.where(entry)}: {draft.name}: {entry.key}={exc}") from None


def _port(keyfile: IniFile, drafts: Iterable[tuple[BondDraft, set[str]]]) -> None:
    connection = keyfile.section("connection")
    if connection is None:
        return
    controller = connection.last("controller") or connection.last("master")
    port_type = connection.value("port-type") or connection.value("slave-type")
    if controller is None or port_type != "bond":
        return
    draft = next((d for d, handles in drafts if controller.value in handles), None)
    if draft is None:
        return  # a member of a bond defined elsewhere (or not asked for)
    where = keyfile.where(controller)
    name = connection.value("interface-name")
    if not name:
        raise ConfigError(
            f"{where}: {draft.name}: member connection "
            f"{connection.value('id') or keyfile.path} has no interface-name=: "
            "softbond needs the member's interface name"
        )
    draft.member(name, where)
    autoconnect = connection.last("autoconnect")
    if autoconnect is not None and autoconnect.value and not _flag(keyfile, draft, autoconnect):
        draft.warn(where, f"{name}: autoconnect=false ignored: softbond enslaves every member")
    for section in keyfile.sections:
        for entry in section.entries:
            if (section.name, entry.key) not in _PORT_KEYS and section.name != "bond-port":
                draft.member_setting(keyfile.where(entry), name, f"{section.name}.{entry.key}")
    port = keyfile.section("bond-port")
    for entry in port.entries if port else ():
        if entry.key == "prio":
            draft.option("prio", f"{name}:{entry.value}", keyfile.where(entry))
        elif entry.key == "queue-id" and entry.value != "0":
            draft.warn(
                keyfile.where(entry), f"{name}: bond-port.queue-id ignored: softbond has no transmit queue mapping"
            )
        elif entry.key not in _QUIET["bond-port"]:
            draft.warn(keyfile.where(entry), f"{name}: bond-port.{entry.key} ignored")
