"""The "inherited" object of a member's state record (inheritrecord.py):
what an up --inherit bond writes passes, and crash recovery acts on
nothing malformed (it would add these addresses and routes to a link)."""
import json

from softbond.kernel import rundir as runtime, staterecord
from softbond.kernel.links import LinkState

MEMBER = dict(name="eth0", ifindex=7, mac="02:00:00:00:00:01", mtu=1500, admin_up=True, promisc=False,
              disable_ipv6="0", had_clsact=False, arp_ignore="0", rp_filter="2")
ADDRESS4 = {"family": 2, "prefixlen": 24, "scope": 0, "flags": 128, "address": "10.0.0.2", "local": "10.0.0.2",
            "broadcast": "10.0.0.255", "label": "eth0:1", "valid": 4294967295, "preferred": 4294967295,
            "metric": None, "proto": None}
ADDRESS6 = {"family": 10, "prefixlen": 64, "scope": 0, "flags": 0x202, "address": "2001:db8::2", "local": None,
            "broadcast": None, "label": None, "valid": 3000, "preferred": 2000, "metric": 77, "proto": 4}
ROUTE = {"family": 2, "dst_len": 0, "src_len": 0, "tos": 0, "proto": 16, "scope": 0, "type": 1, "flags": 4,
         "table": 254, "dst": None, "src": None, "gateway": "10.0.0.1", "prefsrc": "10.0.0.2", "priority": 100,
         "pref": None, "metrics": [["RTAX_MTU", 1400], ["RTAX_CC_ALGO", "cubic"]], "expires": 0}
INHERITED = {"from": "eth0", "ifindex": 7, "mtu": 1500, "addresses": [ADDRESS4, ADDRESS6], "routes": [ROUTE]}


def record(inherited):
    return {"bond": "bond0", "pid": 4242, "netns_cookie": 5, "members": [dict(MEMBER, inherited=inherited)]}


def test_what_the_bond_writes_is_a_valid_record(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "RUN_ROOT", str(tmp_path))
    runtime.write_state("bond0", 4242, [LinkState(**MEMBER)], inherited=INHERITED)
    with open(runtime.state_path("bond0")) as f:
        written = json.load(f)
    assert written["members"][0]["inherited"] == INHERITED
    assert staterecord.problem(written, "bond0") is None
    runtime.write_state("bond0", 4242, [LinkState(**dict(MEMBER, ifindex=8))], inherited=INHERITED)
    with open(runtime.state_path("bond0")) as f:
        assert "inherited" not in json.load(f)["members"][0]      # only on the member it came from


def test_malformed_inherited_objects_are_refused():
    cases = [
        ([], "inherited: expected an object"),
        (dict(INHERITED, extra=1), "inherited: expected an object"),
        (dict(INHERITED, ifindex=8), "inherited: ifindex: not the member's"),
        (dict(INHERITED, **{"from": "a/b"}), "inherited: from: contains"),
        (dict(INHERITED, addresses={}), "inherited: addresses: expected a list"),
        (dict(INHERITED, addresses=[dict(ADDRESS4, address="10.0.0.300")]), "inherited: addresses[0]: address"),
        (dict(INHERITED, addresses=[dict(ADDRESS4, address="2001:db8::2")]), "inherited: addresses[0]: address"),
        (dict(INHERITED, addresses=[dict(ADDRESS4, prefixlen=33)]), "inherited: addresses[0]: prefixlen"),
        (dict(INHERITED, addresses=[dict(ADDRESS6, family=7)]), "inherited: addresses[0]: family"),
        (dict(INHERITED, addresses=[dict(ADDRESS6, valid=-1)]), "inherited: addresses[0]: valid"),
        (dict(INHERITED, addresses=[{"family": 2}]), "inherited: addresses[0]: expected the fields"),
        (dict(INHERITED, routes=[dict(ROUTE, gateway="fe80::1")]), "inherited: routes[0]: gateway"),
        (dict(INHERITED, routes=[dict(ROUTE, table=True)]), "inherited: routes[0]: table"),
        (dict(INHERITED, routes=[dict(ROUTE, metrics=[["MTU", 1]])]), "inherited: routes[0]: metrics"),
    ]
    for inherited, why in cases:
        got = staterecord.problem(record(inherited), "bond0")
        assert got and got.startswith(f"members[0]: {why}"), (inherited, got)
    assert staterecord.problem(record(INHERITED), "bond0") is None
