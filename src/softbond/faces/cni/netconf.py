"""The network configuration: the community bond plugin's keys
(k8snetworkplumbingwg/bond-cni), plus any softbond option by its kernel
name. Checked whole before anything is touched (CniError 7 names the key)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...config.names import validate_ifname
from ...config.options import ConfigError, build_options
from .spec import INVALID_CONFIG, CniError

# Keys the CNI specification or a runtime puts in any network configuration.
SPEC_KEYS = {"cniVersion", "cniVersions", "name", "type", "args", "dns", "ipam", "prevResult",
             "runtimeConfig", "capabilities", "disableCheck"}
BOND_CNI_KEYS = {"ifname", "mode", "miimon", "mtu", "failOverMac", "linksInContainer", "links"}
# bond-cni's failOverMac is the kernel's number: none, active, follow.
FAIL_OVER_MAC = {0: "none", 1: "active", 2: "follow"}


@dataclass
class NetConf:
    name: str                      # the network's name (IPAM keys its leases by it)
    bond: str                      # the bond device in the container
    links: list[str]
    links_in_container: bool
    mtu: int | None
    options: list[str] = field(default_factory=list)     # OPTION=VALUE for `softbond up`
    ipam: dict | None = None
    dns: dict | None = None
    prev_result: dict | None = None


def _bad(msg: str) -> CniError:
    return CniError(INVALID_CONFIG, msg)


def _integer(key: str, value: object) -> int:
    """bond-cni takes miimon as a string; both forms are taken here."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _bad(f"{key}: expected an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise _bad(f"{key}: expected an integer, not {value!r}") from None


def _option_text(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return ",".join(str(v) for v in value)       # arp_ip_target, ns_ip6_target, prio
    raise _bad(f"{key}: expected a string, a number or a list of them, not {value!r}")


def parse(config: dict, ifname_env: str) -> NetConf:
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise _bad("name: the network needs a name")
    bond = config.get("ifname") or ifname_env
    links_raw = config.get("links")
    if not isinstance(links_raw, list) or not links_raw:
        raise _bad('links: expected a list of {"name": IFNAME}, at least one')
    links = []
    for link in links_raw:
        if not isinstance(link, dict) or not isinstance(link.get("name"), str):
            raise _bad(f'links: expected {{"name": IFNAME}}, not {link!r}')
        links.append(link["name"])
    try:
        for ifname in (bond, *links):
            validate_ifname(ifname)
    except (ConfigError, ValueError) as exc:
        raise _bad(str(exc)) from None
    if len(set(links)) != len(links) or bond in links:
        raise _bad(f"links: {', '.join(links)}: each link once, none named like the bond ({bond})")
    in_container = config.get("linksInContainer", False)
    if not isinstance(in_container, bool):
        raise _bad(f"linksInContainer: expected true or false, not {in_container!r}")
    mtu = _integer("mtu", config["mtu"]) if config.get("mtu") not in (None, 0) else None   # 0: bond-cni's "unset"
    if mtu is not None and mtu < 68:
        raise _bad(f"mtu: {mtu} is below 68, the least IPv4 takes")
    options = []
    if config.get("mode") not in (None, ""):
        options.append(f"mode={_option_text('mode', config['mode'])}")
    if config.get("miimon") not in (None, ""):
        options.append(f"miimon={_integer('miimon', config['miimon'])}")
    if "failOverMac" in config:
        fom = _integer("failOverMac", config["failOverMac"])
        if fom not in FAIL_OVER_MAC:
            raise _bad(f"failOverMac: {fom}: expected 0 (none), 1 (active) or 2 (follow)")
        options.append(f"fail_over_mac={FAIL_OVER_MAC[fom]}")
    for key, value in config.items():
        if key not in SPEC_KEYS and key not in BOND_CNI_KEYS:
            options.append(f"{key}={_option_text(key, value)}")
    _check_options(bond, options)
    ipam = config.get("ipam") or None
    if ipam is not None and (not isinstance(ipam, dict) or not isinstance(ipam.get("type"), str)
                             or "/" in ipam["type"] or not ipam["type"]):
        raise _bad('ipam: expected an object with "type", the IPAM plugin\'s name')
    prev = config.get("prevResult")
    if prev is not None and not isinstance(prev, dict):
        raise _bad("prevResult: expected an object")
    dns = config.get("dns") if isinstance(config.get("dns"), dict) else None
    return NetConf(name, bond, links, in_container, mtu, options, ipam, dns, prev)


def _check_options(bond: str, options: list[str]) -> None:
    """Refuse what `softbond up` would refuse, before a link moves: the
    option registry's own checks, unknown names with a suggestion."""
    pairs = [(item.split("=", 1)[0], item.split("=", 1)[1], None) for item in options]
    try:
        build_options(bond, pairs)
    except ConfigError as exc:
        raise _bad(str(exc)) from None
