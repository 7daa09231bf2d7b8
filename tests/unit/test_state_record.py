"""The state record schema (staterecord.py) against what the bond writes."""
import dataclasses

from softbond.kernel import staterecord
from softbond.kernel.links import LinkState

MEMBER = dict(name="eth0", ifindex=7, mac="02:00:00:00:00:01", mtu=1500, admin_up=True, promisc=False,
              disable_ipv6="0", had_clsact=False, arp_ignore="0", rp_filter="2")


def record(**changes):
    return {"bond": "bond0", "pid": 4242, "netns_cookie": 5, "members": [dict(MEMBER)], **changes}


def test_member_fields_follow_link_state():
    """A field added to LinkState must be added to the schema (or every
    record written would be refused)."""
    fields = dataclasses.fields(LinkState)
    assert set(staterecord.MEMBER_FIELDS) == {f.name for f in fields}
    assert staterecord.MEMBER_OPTIONAL == {f.name for f in fields if f.default is not dataclasses.MISSING}
    assert staterecord.problem(record(members=[LinkState(**MEMBER).to_json()]), "bond0") is None


def test_refused_records_say_why():
    cases = [
        ([], "not a JSON object"),
        (record(pid="self"), "pid: expected an integer"),
        (record(pid=True), "pid: expected an integer"),
        (record(pid=1), "pid: 1 is out of range"),
        (record(bond="bond1"), "bond: expected 'bond0'"),
        (record(extra=1), "unknown field 'extra'"),
        (record(members={}), "members: expected a list"),
        (record(members=[dict(MEMBER, name="lo", ifindex=1)]), "members[0]: name: the loopback"),
        (record(members=[dict(MEMBER, ifindex=1)]), "members[0]: ifindex"),
        (record(members=[dict(MEMBER, mac="zz")]), "members[0]: mac: malformed"),
        (record(members=[dict(MEMBER, mtu=10)]), "members[0]: mtu: 10 is out of range"),
        (record(members=[dict(MEMBER, name="a/b")]), "members[0]: name: contains"),
        (record(members=[{k: v for k, v in MEMBER.items() if k != "mac"}]), "members[0]: mac: missing"),
        (record(members=[dict(MEMBER), dict(MEMBER)]), "members[1]: eth0 recorded twice"),
        (record(netns_cookie="x"), "netns_cookie"),
    ]
    for data, why in cases:
        got = staterecord.problem(data, "bond0")
        assert got and got.startswith(why), (data, got)
    assert staterecord.problem(record(), "bond0") is None
