"""The schema of a bond's state record (BOND.json).

The record is what `down` and the next `up` act on after a crash: every
member it names is reset to what it records. So a record is believed only
if every field has the type and range the daemon writes: a record that
names `lo`, a pid that is not a number, or a MAC that is not one would
otherwise be acted on. MEMBER_FIELDS mirrors ports.links.LinkState (a unit
test holds the two together); its ifindex and MAC are what let a restore
refuse an interface the bond never enslaved (a new one under the same name).
"""
from __future__ import annotations

import re

from . import inheritrecord
from ..config.names import ifname_problem

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
SYSCTL = re.compile(r"^-?[0-9]{1,4}$")


def _int_range(low: int, high: int):
    def check(value) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "expected an integer"
        return None if low <= value <= high else f"{value} is out of range {low}-{high}"
    return check


def _bool(value) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _pattern(regex: re.Pattern, *, optional: bool):
    def check(value) -> str | None:
        if value is None and optional:
            return None
        return None if isinstance(value, str) and regex.match(value) else "malformed"
    return check


def _member_name(value) -> str | None:
    if value == "lo":
        return "the loopback interface is never a member"
    return ifname_problem(value)


MEMBER_FIELDS = {
    "name": _member_name,
    "ifindex": _int_range(2, 2**31 - 1),         # 1 is always lo
    "mac": _pattern(MAC, optional=False),
    "mtu": _int_range(68, 65535),
    "admin_up": _bool,
    "promisc": _bool,
    "disable_ipv6": _pattern(re.compile(r"^[01]$"), optional=True),
    "had_clsact": _bool,
    "arp_ignore": _pattern(SYSCTL, optional=True),
    "rp_filter": _pattern(SYSCTL, optional=True),
}
MEMBER_OPTIONAL = {"had_clsact", "arp_ignore", "rp_filter"}    # LinkState's defaults

RECORD_FIELDS = {"bond", "pid", "netns_cookie", "members"}


def problem(record, bond: str) -> str | None:
    """Why `record` is not a state record of `bond`, or None if it is one."""
    if not isinstance(record, dict):
        return "not a JSON object"
    extra = set(record) - RECORD_FIELDS
    if extra:
        return f"unknown field {sorted(extra)[0]!r}"
    if record.get("bond") != bond:
        return f"bond: expected {bond!r}"
    why = _int_range(2, 2**22)(record.get("pid"))
    if why:
        return f"pid: {why}"
    cookie = record.get("netns_cookie")
    if cookie is not None and _int_range(1, 2**64 - 1)(cookie):
        return "netns_cookie: expected a positive integer"
    members = record.get("members")
    if not isinstance(members, list):
        return "members: expected a list"
    seen = set()
    for i, member in enumerate(members):
        why = member_problem(member)
        if why:
            return f"members[{i}]: {why}"
        if member["name"] in seen or member["ifindex"] in seen:
            return f"members[{i}]: {member['name']} recorded twice"
        seen.update((member["name"], member["ifindex"]))
    return None


def member_problem(member) -> str | None:
    if not isinstance(member, dict):
        return "not a JSON object"
    extra = set(member) - set(MEMBER_FIELDS) - {"inherited"}
    if extra:
        return f"unknown field {sorted(extra)[0]!r}"
    for key, check in MEMBER_FIELDS.items():
        if key not in member:
            if key in MEMBER_OPTIONAL:
                continue
            return f"{key}: missing"
        why = check(member[key])
        if why:
            return f"{key}: {why}"
    if "inherited" in member:       # what an up --inherit bond took from it
        why = inheritrecord.problem(member["inherited"], member["ifindex"])
        if why:
            return f"inherited: {why}"
    return None
