"""The schema of a member record's optional "inherited" object: what an
`up --inherit` bond took from that member (ports/addrmove.capture), which
crash recovery puts back on it. Like the rest of the state record it is
believed only if every field has the type and range the daemon writes:
recovery adds these addresses and routes to an interface.

Kept apart from staterecord.py (which calls it) and from addrmove.py so
that reading a record imports no pyroute2.
"""
from __future__ import annotations

import ipaddress

from ..config.names import ifname_problem

U8, U32 = 2**8 - 1, 2**32 - 1
FAMILIES = {2: 32, 10: 128}       # AF_INET, AF_INET6: the longest prefix


def _int(value, high: int, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high


def _ip(value, family: int, *, optional: bool) -> bool:
    if value is None:
        return optional
    try:
        return isinstance(value, str) and ipaddress.ip_address(value).version == (4 if family == 2 else 6)
    except ValueError:
        return False


ADDRESS_INTS = {"prefixlen": None, "scope": U8, "flags": U32, "valid": U32, "preferred": U32}
ADDRESS_OPTIONAL_INTS = {"metric": U32, "proto": U8}
ROUTE_INTS = {"dst_len": None, "src_len": None, "tos": U8, "proto": U8, "scope": U8, "type": U8, "flags": U32,
              "table": U32, "expires": U32}
ROUTE_OPTIONAL_INTS = {"priority": U32, "pref": U8}
ADDRESS_FIELDS = {"family", "address", "local", "broadcast", "label", *ADDRESS_INTS, *ADDRESS_OPTIONAL_INTS}
ROUTE_FIELDS = {"family", "dst", "src", "gateway", "prefsrc", "metrics", *ROUTE_INTS, *ROUTE_OPTIONAL_INTS}


def problem(inherited, ifindex: int) -> str | None:
    """Why `inherited` is not what the daemon writes for the member with
    `ifindex`, or None."""
    if not isinstance(inherited, dict) or set(inherited) != {"from", "ifindex", "mtu", "addresses", "routes"}:
        return "expected an object of from, ifindex, mtu, addresses, routes"
    if ifname_problem(inherited["from"]):
        return f"from: {ifname_problem(inherited['from'])}"
    if inherited["ifindex"] != ifindex:
        return "ifindex: not the member's"
    if not _int(inherited["mtu"], 65535):
        return "mtu: expected an MTU"
    for key, check in (("addresses", _address_problem), ("routes", _route_problem)):
        items = inherited[key]
        if not isinstance(items, list):
            return f"{key}: expected a list"
        for i, item in enumerate(items):
            why = "expected an object" if not isinstance(item, dict) else check(item)
            if why:
                return f"{key}[{i}]: {why}"
    return None


def _fields_problem(item: dict, fields: set, ints: dict, optional_ints: dict) -> str | None:
    if set(item) != fields:
        return f"expected the fields {', '.join(sorted(fields))}"
    if item["family"] not in FAMILIES:
        return "family: expected 2 or 10"
    longest = FAMILIES[item["family"]]
    for key, high in ints.items():
        if not _int(item[key], longest if high is None else high):
            return f"{key}: out of range"
    for key, high in optional_ints.items():
        if not _int(item[key], high, optional=True):
            return f"{key}: out of range"
    return None


def _address_problem(addr: dict) -> str | None:
    why = _fields_problem(addr, ADDRESS_FIELDS, ADDRESS_INTS, ADDRESS_OPTIONAL_INTS)
    if why:
        return why
    family = addr["family"]
    if not _ip(addr["address"], family, optional=False):
        return "address: malformed"
    for key in ("local", "broadcast"):
        if not _ip(addr[key], family, optional=True):
            return f"{key}: malformed"
    label = addr["label"]
    if label is not None and (not isinstance(label, str) or not 0 < len(label) < 16):
        return "label: malformed"
    return None


def _route_problem(route: dict) -> str | None:
    why = _fields_problem(route, ROUTE_FIELDS, ROUTE_INTS, ROUTE_OPTIONAL_INTS)
    if why:
        return why
    for key in ("dst", "src", "gateway", "prefsrc"):
        if not _ip(route[key], route["family"], optional=True):
            return f"{key}: malformed"
    metrics = route["metrics"]
    if not isinstance(metrics, list) or not all(
            isinstance(m, list) and len(m) == 2 and isinstance(m[0], str) and m[0].startswith("RTAX_")
            and (_int(m[1], U32) or isinstance(m[1], str) and len(m[1]) < 16) for m in metrics):  # congctl: a name
        return "metrics: expected [RTAX_NAME, number] pairs"
    return None
