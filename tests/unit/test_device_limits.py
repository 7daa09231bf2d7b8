"""The bond device's MTU and GSO limits against its members (limits.py),
with the links reduced to a table of interfaces that can refuse a value."""
import types


from softbond.core import limits
from softbond.core.limits import DeviceLimits
from softbond.kernel import links as linkops
from softbond.kernel.netlink import LinkEvent


class FakeLinks:
    def __init__(self, mtus, refuse=()):
        self.mtu = dict(mtus)
        self.refuse = set(refuse)          # (name, mtu) pairs the "driver" rejects
        self.gso = {}
        self.calls = []

    def set_mtu(self, name, mtu):
        self.calls.append((name, mtu))
        if (name, mtu) in self.refuse:
            raise linkops.LinkError(f"{name}: cannot set MTU {mtu}: Invalid argument")
        self.mtu[name] = mtu

    def set_gso_limits(self, name, size, segs):
        self.gso[name] = (size, segs)

    def sysfs(self, name, attr):
        return str(self.mtu[name]) if attr == "mtu" else None


class Device:
    def __init__(self):
        self.mtu = None

    def follow_mtu(self, mtu):
        self.mtu = mtu


def FakeBond(links, members, mtu=1500):
    """The limits of a bond0 with these members, a device and an event log."""
    events, device = [], Device()
    bond = DeviceLimits("bond0", links, [types.SimpleNamespace(name=n, gso_max_size=size, gso_max_segs=segs,
                                                               mtu_seen=mtu) for n, size, segs in members],
                        lambda: device,
                        lambda kind, message, member=None, **kw: events.append(
                            (kind, member.name if member else None, message)))
    bond.mtu, bond.gso_limits, bond.events = mtu, (limits.GSO_MAX_SIZE, limits.GSO_MAX_SEGS), events
    return bond


def test_the_members_follow_the_bonds_mtu():
    links = FakeLinks({"bond0": 9000, "eth0": 1500, "eth1": 1500})
    bond = FakeBond(links, [("eth0", 65536, 65535), ("eth1", 65536, 65535)])
    bond.bond_link_changed(LinkEvent(10, "bond0", False, True, True, 9000))
    assert (links.mtu, bond.mtu, bond.device.mtu) == ({"bond0": 9000, "eth0": 9000, "eth1": 9000}, 9000, 9000)
    assert bond.events == [("mtu", None, "MTU changed from 1500 to 9000 on the bond and its slaves")]
    links.calls.clear()
    bond.bond_link_changed(LinkEvent(10, "bond0", False, True, True, 9000))   # the same again: nothing
    assert links.calls == [] and len(bond.events) == 1


def test_a_member_refusing_the_mtu_puts_everything_back():
    links = FakeLinks({"bond0": 9000, "eth0": 1500, "mv0": 1500}, refuse={("mv0", 9000)})
    bond = FakeBond(links, [("eth0", 65536, 65535), ("mv0", 65536, 65535)])
    bond.bond_link_changed(LinkEvent(10, "bond0", False, True, True, 9000))
    assert links.mtu == {"bond0": 1500, "eth0": 1500, "mv0": 1500}
    assert bond.mtu == 1500 and bond.device.mtu == 1500
    assert bond.events == [("warning", None, "cannot change the MTU to 9000: mv0: cannot set MTU 9000: "
                                             "Invalid argument; it stays 1500")]


def test_gso_limits_are_the_smallest_members():
    links = FakeLinks({"bond0": 1500, "eth0": 1500, "eth1": 1500})
    bond = FakeBond(links, [("eth0", 65536, 65535), ("eth1", 16384, 8)])
    bond.sync_gso_limits()
    assert links.gso == {"bond0": (16384, 8)} and bond.gso_limits == (16384, 8)
    # eth0 drops further in a live change; then eth1 leaves.
    bond.member_link_changed(bond.members[0], LinkEvent(1, "eth0", False, True, True, 1500, 8192, 64))
    assert links.gso["bond0"] == (8192, 8)
    bond.members.pop()
    bond.sync_gso_limits()
    assert links.gso["bond0"] == (8192, 64)
    bond.members.clear()
    bond.sync_gso_limits()
    assert links.gso["bond0"] == (limits.GSO_MAX_SIZE, limits.GSO_MAX_SEGS)


def test_big_tcp_members_are_held_to_the_64k_buffers():
    links = FakeLinks({"bond0": 1500, "eth0": 1500})
    bond = FakeBond(links, [("eth0", 65536, 65535)])
    bond.gso_limits = (0, 0)
    bond.member_link_changed(bond.members[0], LinkEvent(1, "eth0", False, True, True, 1500, 196608, 65535))
    assert links.gso["bond0"] == (limits.GSO_MAX_SIZE, limits.GSO_MAX_SEGS)


def test_a_member_mtu_changed_underneath_is_reported_once():
    links = FakeLinks({"bond0": 1500, "eth0": 1500})
    bond = FakeBond(links, [("eth0", 65536, 65535)])
    for _ in range(2):
        bond.member_link_changed(bond.members[0], LinkEvent(1, "eth0", False, True, True, 1400, 65536, 65535))
    assert bond.events == [("warning", "eth0", "MTU 1400 differs from bond0's 1500")]
    assert links.calls == []          # left alone, as bonding leaves it
