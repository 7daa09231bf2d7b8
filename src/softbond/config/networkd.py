"""systemd-networkd: a `.netdev` with `[NetDev] Kind=bond` and `[Bond]` options,
`.network` files with `Bond=bond0` for the members and the bond's addresses.

The option names and units are systemd.netdev(5)'s; netplan generates these
files, and tests/unit/test_config_netplan.py holds the two readers to the
same result on netplan's own output.
"""

import fnmatch
import os

from .errors import ConfigError
from .foreign import BondDraft, boolean, directory_files, timespan_ms
from .inifile import Entry, IniFile, Section, read_ini
from .model import BondConfig

# [Bond] key -> (kernel option, how the value is written).  "ms"/"s" are
# time spans converted to the option's unit (a bare number is seconds, as
# systemd reads it); "bool" is yes/no; "list" is space-separated.
BOND_KEYS = {
    "Mode": ("mode", "text"),
    "TransmitHashPolicy": ("xmit_hash_policy", "text"),
    "LACPTransmitRate": ("lacp_rate", "text"),
    "MIIMonitorSec": ("miimon", "ms"),
    "UpDelaySec": ("updelay", "ms"),
    "DownDelaySec": ("downdelay", "ms"),
    "LearnPacketIntervalSec": ("lp_interval", "s"),
    "AdSelect": ("ad_select", "text"),
    "AdActorSystemPriority": ("ad_actor_sys_prio", "text"),
    "AdUserPortKey": ("ad_user_port_key", "text"),
    "AdActorSystem": ("ad_actor_system", "text"),
    "FailOverMACPolicy": ("fail_over_mac", "text"),
    "ARPValidate": ("arp_validate", "text"),
    "ARPIntervalSec": ("arp_interval", "ms"),
    "ARPIPTargets": ("arp_ip_target", "list"),
    "ARPAllTargets": ("arp_all_targets", "text"),
    "ARPMissedMax": ("arp_missed_max", "text"),
    "PrimaryReselectPolicy": ("primary_reselect", "text"),
    "ResendIGMP": ("resend_igmp", "text"),
    "PacketsPerSlave": ("packets_per_slave", "text"),
    "GratuitousARP": ("num_grat_arp", "text"),
    "AllSlavesActive": ("all_slaves_active", "bool"),
    "DynamicTransmitLoadBalancing": ("tlb_dynamic_lb", "bool"),
    "MinLinks": ("min_links", "text"),
    "PeerNotifyDelaySec": ("peer_notif_delay", "ms"),
}
# Keys that say nothing softbond acts on (descriptions, link-local and
# carrier handling the kernel does by itself on the bond device): read
# without a warning.  Anything else not understood is warned about.
_QUIET = {
    "Description",
    "Kind",
    "Name",
    "LinkLocalAddressing",
    "ConfigureWithoutCarrier",
    "IPv6AcceptRA",
    "IgnoreCarrierLoss",
    "RequiredForOnline",
}

_MEMBER_KEYS = {"Bond", "PrimarySlave", "ActiveSlave"}


def _files(path: str) -> tuple[list[str], list[str]]:
    """(.netdev files, .network files) of a directory; a .netdev given alone
    (by any name) with the .network files beside it."""
    alone = not os.path.isdir(path) and not path.endswith(".network")
    netdevs = [path] if alone else directory_files(path, ".netdev")
    return netdevs, directory_files(path, ".network")


def load_networkd(path: str) -> list[BondConfig]:
    """Every bond a networkd directory defines (or the one a .netdev defines)."""
    netdevs, networks = _files(path)
    drafts: dict[str, BondDraft] = {}
    for netdev_path in netdevs:
        netdev = read_ini(netdev_path, comments="#;")
        draft = _bond_netdev(netdev)
        if draft is None:
            continue
        if draft.name in drafts:
            raise ConfigError(f"{draft.where}: {draft.name} is already defined in {drafts[draft.name].source}")
        drafts[draft.name] = draft
    files = [read_ini(network_path, comments="#;") for network_path in networks]
    owners = _first_matches(files, drafts)
    for network in files:
        _apply_network(network, drafts, owners)
    return [draft.build() for draft in drafts.values()]


def _first_matches(files: list[IniFile], drafts: dict[str, BondDraft]) -> dict[str, IniFile]:
    """Link name -> the .network file networkd gives it: the first, in name
    order, whose [Match] Name= patterns match (networkd applies one per link).
    The links are the bonds and every member a Bond= file names."""
    links = list(drafts) + [name for network in files if _bond_entry(network) for name in _match_names(network)[0]]
    return {
        link: next(network for network in files if _matches(network, link))
        for link in links
        if any(_matches(network, link) for network in files)
    }


def _matches(network: IniFile, link: str) -> bool:
    return any(fnmatch.fnmatchcase(link, pattern) for pattern in _match_names(network)[0])


def _bond_entry(network: IniFile) -> Entry | None:
    section = network.section("Network")
    return section.last("Bond") if section else None


def _bond_netdev(netdev: IniFile) -> BondDraft | None:
    section = netdev.section("NetDev")
    if section is None or (section.value("Kind") or "").lower() != "bond":
        return None
    name = section.last("Name")
    if name is None:
        raise netdev.error(section, "[NetDev] Kind=bond without Name=")
    draft = BondDraft(name.value, netdev.where(name), netdev.path)
    for entry in section.entries:
        where = netdev.where(entry)
        if entry.key == "MACAddress":
            draft.set_hwaddr(entry.value, where)
        elif entry.key == "MTUBytes":
            draft.set_mtu(entry.value, where)
        elif entry.key not in _QUIET:
            draft.warn(where, f"[NetDev] {entry.key}= ignored: softbond has no equivalent")
    for other in netdev.sections:
        if other.name not in ("NetDev", "Bond", "Match"):
            draft.warn(netdev.where(other), f"[{other.name}] ignored: softbond has no equivalent")
    bond = netdev.section("Bond")
    for entry in bond.entries if bond else ():
        _bond_option(netdev, draft, entry)
    return draft


def _bond_option(netdev: IniFile, draft: BondDraft, entry: Entry) -> None:
    where = netdev.where(entry)
    if entry.key not in BOND_KEYS:
        draft.warn(where, f"[Bond] {entry.key}= ignored: not a systemd.netdev bond option softbond knows")
        return
    option, form = BOND_KEYS[entry.key]
    try:
        if form in ("ms", "s"):
            ms = timespan_ms(entry.value, "s")
            if form == "s":
                if ms % 1000:
                    raise ValueError(f"{entry.value!r}: the kernel counts whole seconds")
                ms //= 1000
            value: object = ms
        elif form == "bool":
            value = int(boolean(entry.value))
        else:
            value = entry.value
    except ValueError as exc:
        raise ConfigError(f"{where}: {draft.name}: {entry.key}={exc}") from None
    if form == "list":
        if not entry.value:  # an empty value resets the list, as systemd reads it
            draft.pairs = [p for p in draft.pairs if p[0] != option]
            return
        value = " ".join(f"+{item}" for item in entry.value.split())  # each line adds
    draft.option(option, value, where)


def _match_names(network: IniFile) -> tuple[list[str], Entry | None]:
    match = network.section("Match")
    entry = match.last("Name") if match else None
    return (entry.value.split() if entry else []), entry


def _apply_network(network: IniFile, drafts: dict[str, BondDraft], owners: dict[str, IniFile]) -> None:
    names, name_entry = _match_names(network)
    bond_entry = _bond_entry(network)
    if bond_entry is not None:
        draft = drafts.get(bond_entry.value)
        if draft is None:
            raise network.error(bond_entry, f"Bond={bond_entry.value}: no .netdev defines a bond {bond_entry.value}")
        _add_members(network, draft, names, name_entry, owners)
        return
    for draft in drafts.values():
        if owners.get(draft.name) is network:
            _bond_network(network, draft)
        elif _matches(network, draft.name):
            draft.warn(
                network.where(name_entry),
                f"{network.path} ignored: "
                f"{owners[draft.name].path} matches "
                f"{draft.name} first, and networkd applies one "
                ".network file per link",
            )


def _add_members(
    network: IniFile, draft: BondDraft, names: list[str], name_entry: Entry | None, owners: dict[str, IniFile]
) -> None:
    where = network.where(name_entry)
    section = network.section("Network")
    assert section is not None  # _bond_entry() found Bond= in it
    if not names:
        raise network.error(
            section.last("Bond"), "Bond= in a file without [Match] Name=: softbond needs the member's name"
        )
    for name in names:
        if any(c in name for c in "*?[") or name.startswith("!"):
            raise ConfigError(
                f"{where}: {draft.name}: member pattern {name!r}: softbond needs interface names, not patterns"
            )
        if owners[name] is not network:
            draft.warn(
                where,
                f"{name}: Bond={draft.name} ignored: {owners[name].path} matches "
                f"{name} first, and networkd applies one .network file per link",
            )
            continue
        draft.member(name, where)
        primary = section.last("PrimarySlave")
        if primary is not None and _flag(network, draft, primary):
            draft.option("primary", name, network.where(primary))
        active = section.last("ActiveSlave")
        if active is not None and _flag(network, draft, active):
            draft.warn(
                network.where(active),
                f"ActiveSlave= ignored: softbond picks the "
                f"active member (softbond set-active "
                f"{draft.name} {name} changes it)",
            )
    for other in network.sections:
        for entry in other.entries:
            if other.name != "Match" and entry.key not in _MEMBER_KEYS | _QUIET:
                draft.member_setting(network.where(entry), " ".join(names), f"[{other.name}] {entry.key}=")


def _flag(network: IniFile, draft: BondDraft, entry: Entry) -> bool:
    try:
        return boolean(entry.value)
    except ValueError as exc:
        raise ConfigError(f"{network.where(entry)}: {draft.name}: {entry.key}={exc}") from None


def _bond_network(network: IniFile, draft: BondDraft) -> None:
    """The bond's own .network: addresses, default routes, MTU and MAC."""
    for section in network.sections:
        for entry in section.entries:
            where = network.where(entry)
            key = f"{section.name}.{entry.key}"
            if key in ("Network.Address", "Address.Address"):
                draft.address(entry.value, where)
            elif key == "Network.Gateway":
                draft.gateway(entry.value, where)
            elif key == "Network.DHCP" and entry.value.lower() != "no":
                draft.warn(where, f"DHCP={entry.value} ignored: softbond sets static addresses only")
            elif key == "Link.MTUBytes":
                draft.set_mtu(entry.value, where)
            elif key == "Link.MACAddress":
                draft.set_hwaddr(entry.value, where)
            elif section.name == "Route":
                continue
            elif entry.key not in _QUIET and section.name != "Match":
                draft.warn(where, f"[{section.name}] {entry.key}= ignored: softbond has no equivalent")
        if section.name == "Route":
            _route(network, draft, section)


def _route(network: IniFile, draft: BondDraft, section: Section) -> None:
    destination = section.value("Destination", "")
    gateway = section.last("Gateway")
    if destination in ("", "0.0.0.0/0", "::/0") and gateway is not None:
        draft.gateway(gateway.value, network.where(gateway))
        return
    draft.warn(network.where(section), f"[Route] to {destination or '?'} ignored: softbond sets the default route only")
