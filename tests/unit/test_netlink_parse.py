"""The rtnetlink link-event parser: real message layout, and garbage."""
import struct

from hypothesis import given, settings, strategies as st

from softbond.ports import netlink


def link_message(msg_type, index, flags, name):
    name_attr = name.encode() + b"\0"
    rta = struct.pack("=HH", 4 + len(name_attr), netlink.IFLA_IFNAME) + name_attr
    rta += b"\0" * ((4 - len(rta) % 4) % 4)
    body = struct.pack("=BxHiII", 0, 1, index, flags, 0xFFFFFFFF) + rta
    return struct.pack("=IHHII", 16 + len(body), msg_type, 0, 0, 0) + body


def test_parses_carrier_and_admin_state():
    data = link_message(netlink.RTM_NEWLINK, 7, netlink.IFF_UP | netlink.IFF_LOWER_UP, "eth0")
    data += link_message(netlink.RTM_NEWLINK, 8, netlink.IFF_UP, "eth1")
    data += link_message(netlink.RTM_DELLINK, 9, 0, "eth2")
    events = list(netlink.parse_link_messages(data))
    assert events == [
        netlink.LinkEvent(7, "eth0", False, True, True),
        netlink.LinkEvent(8, "eth1", False, True, False),
        netlink.LinkEvent(9, "eth2", True, False, False),
    ]


def test_truncated_message_stops_cleanly():
    data = link_message(netlink.RTM_NEWLINK, 7, netlink.IFF_UP, "eth0")
    assert list(netlink.parse_link_messages(data[:-3])) == []


@settings(max_examples=2000)
@given(st.binary(max_size=512))
def test_garbage_never_raises(data):
    for event in netlink.parse_link_messages(data):
        assert isinstance(event.ifindex, int)
