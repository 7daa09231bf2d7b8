"""How a bond takes rtnetlink link messages (membership.Membership hands
the carriers to health.LinkHealth) and holds
its log lines back while it handles them (bond.Bond._logs_after)."""
import collections
import logging
import types

from softbond.core import bond as bondmod
from softbond.core.membership import Membership
from softbond.kernel.netlink import LinkEvent


class Recorder:
    """A Membership given only what handling link messages calls: the
    core's members, the limits, link health, the links port and the
    bond's events; `release` recorded."""

    def __init__(self, names, carriers=()):
        self.seen, self.released, self.warnings = [], [], []
        self.bond_events, self.member_events = [], []
        core = types.SimpleNamespace(members=[types.SimpleNamespace(name=n, ifindex=i + 1)
                                              for i, n in enumerate(names)])
        limits = types.SimpleNamespace(       # the bond's limits.DeviceLimits
            bond_link_changed=lambda event: self.bond_events.append(event.ifname),
            member_link_changed=lambda member, event: self.member_events.append(member.name))
        health = types.SimpleNamespace(           # the bond's health.LinkHealth
            observe=lambda member, carrier, now: self.seen.append((member.name, carrier)))
        links = types.SimpleNamespace(carrier=lambda name: name in carriers)   # the links port
        self.membership = Membership(
            "bond0", None, links, None, core, health, limits, None, None, None,
            path=None, device=None, mac=None, ifindex=lambda: 100, stopping=None, take_mac=None, run=None,
            event=lambda kind, message, member=None, **kw: self.warnings.append((kind, message, member.name)),
            publish=None)
        self.membership.release = self.release

    def release(self, name):
        self.released.append(name)
        members = self.membership.members
        members[:] = [m for m in members if m.name != name]

    def _handle_link_events(self, events, now):
        self.membership.handle_link_events(events, now)


def test_the_last_message_per_member_decides_and_its_flags_are_the_carrier():
    bond = Recorder(["eth0", "eth1", "eth2"])
    bond.membership.links = None       # no sysfs read
    bond._handle_link_events([
        LinkEvent(1, "eth0", False, True, False),     # stale: a later message says up again
        LinkEvent(2, "eth1", False, True, True),
        LinkEvent(1, "eth0", False, True, True),
        LinkEvent(3, "eth2", False, False, True),     # admin-down: no carrier as miimon sees it
        LinkEvent(9, "other", False, True, False),    # not a member
    ], now=1.0)
    assert bond.seen == [("eth0", True), ("eth1", True), ("eth2", False)]
    assert bond.member_events == ["eth0", "eth1", "eth2"] and bond.bond_events == []


def test_the_bond_devices_own_messages_go_to_its_limits():
    bond = Recorder(["eth0"])
    bond._handle_link_events([LinkEvent(100, "bond0", False, True, True, 9000)], now=1.0)
    assert bond.bond_events == ["bond0"] and bond.seen == [] and bond.member_events == []


def test_a_removed_member_is_released_once():
    bond = Recorder(["eth0", "eth1"])
    bond._handle_link_events([LinkEvent(2, "eth1", False, True, False), LinkEvent(2, "eth1", True, False, False)],
                             now=1.0)
    assert bond.released == ["eth1"] and bond.seen == []
    assert bond.warnings == [("warning", "interface was removed, releasing it", "eth1")]


def test_lost_messages_make_every_member_read_as_it_is_now():
    bond = Recorder(["eth0", "eth1"], carriers=["eth1"])
    # ENOBUFS ends a batch with the marker: what came before it is superseded.
    bond._handle_link_events([LinkEvent(1, "eth0", False, True, True), LinkEvent(0, "", False, False, False)],
                             now=1.0)
    assert bond.seen == [("eth0", False), ("eth1", True)]


def fake_bond():
    return types.SimpleNamespace(name="bond0", events=collections.deque(), _held_logs=None, stamps=None,
                                 _carrier_thread=None)


def test_held_log_lines_follow_the_event_records_in_order(caplog):
    bond = fake_bond()
    caplog.set_level(logging.INFO, logger=bondmod.log.name)
    member = types.SimpleNamespace(name="eth0")
    with bondmod.Bond._logs_after(bond):
        bondmod.Bond._event(bond, "link", "link status definitely down, disabling slave", member)
        with bondmod.Bond._logs_after(bond):          # nested: still held
            bondmod.Bond._event(bond, "failover", "making interface the new active one", member)
        assert [e["kind"] for e in bond.events] == ["link", "failover"]
        assert caplog.records == []
    assert [r.getMessage() for r in caplog.records] == [
        "bond0: (slave eth0): link status definitely down, disabling slave",
        "bond0: (slave eth0): making interface the new active one"]
    bondmod.Bond._event(bond, "carrier", "link status up")     # outside: logged at once
    assert caplog.records[-1].getMessage() == "bond0: link status up"


def test_held_log_lines_are_written_when_the_handler_fails(caplog):
    bond = fake_bond()
    caplog.set_level(logging.INFO, logger=bondmod.log.name)
    try:
        with bondmod.Bond._logs_after(bond):
            bondmod.Bond._event(bond, "link", "first")
            raise RuntimeError("handler broke")
    except RuntimeError:
        pass
    assert [r.getMessage() for r in caplog.records] == ["bond0: first"]
    assert bond._held_logs is None
