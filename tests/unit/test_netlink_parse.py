"""The rtnetlink link-event parser: real message layout, and garbage."""
import struct

from hypothesis import given, settings, strategies as st

from softbond.kernel import netlink


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


def run_cbpf(prog, packet):
    """The three classic BPF instructions filter_program uses, as the
    kernel runs them (BPF_LD|BPF_W|BPF_ABS loads big-endian; a load past
    the end drops the packet)."""
    a, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == 0x20:
            if k + 4 > len(packet):
                return 0
            a = int.from_bytes(packet[k:k + 4], "big")
            pc += 1
        elif code == 0x15:
            pc += 1 + (jt if a == k else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def test_filter_program_accepts_exactly_the_listed_interfaces():
    wanted = [3, 7, 300, 70000]
    prog = netlink.filter_program(wanted)
    for index in [1, 2, 3, 4, 7, 8, 299, 300, 70000, 70001, 2 ** 31 - 1]:
        verdict = run_cbpf(prog, link_message(netlink.RTM_NEWLINK, index, 0, "x"))
        assert bool(verdict) == (index in wanted), index
    assert run_cbpf(prog, b"\0" * 19) == 0                 # too short to name an interface
    assert run_cbpf(netlink.filter_program([]), link_message(netlink.RTM_NEWLINK, 3, 0, "x")) == 0
    many = list(range(1, netlink.MAX_FILTERED + 1))
    prog = netlink.filter_program(many)
    assert all(run_cbpf(prog, link_message(netlink.RTM_NEWLINK, i, 0, "x")) for i in (1, netlink.MAX_FILTERED))
    assert not run_cbpf(prog, link_message(netlink.RTM_NEWLINK, netlink.MAX_FILTERED + 1, 0, "x"))
    assert netlink.filter_program(range(netlink.MAX_FILTERED + 1)) is None


def test_parses_the_mac_and_a_move_to_another_namespace():
    def attr(kind, payload):
        rta = struct.pack("=HH", 4 + len(payload), kind) + payload
        return rta + b"\0" * ((4 - len(rta) % 4) % 4)
    attrs = (attr(netlink.IFLA_IFNAME, b"eth1\0") + attr(netlink.IFLA_ADDRESS, bytes.fromhex("020000000099"))
             + attr(netlink.IFLA_NEW_NETNSID, struct.pack("=i", 3))
             + attr(netlink.IFLA_NEW_IFINDEX, struct.pack("=I", 42)))
    body = struct.pack("=BxHiII", 0, 1, 9, 0, 0xFFFFFFFF) + attrs
    data = struct.pack("=IHHII", 16 + len(body), netlink.RTM_DELLINK, 0, 0, 0) + body
    (event,) = netlink.parse_link_messages(data)
    assert (event.ifname, event.deleted, event.address, event.new_netnsid, event.new_ifindex) == \
        ("eth1", True, bytes.fromhex("020000000099"), 3, 42)
    (plain,) = netlink.parse_link_messages(link_message(netlink.RTM_DELLINK, 9, 0, "eth1"))
    assert (plain.new_netnsid, plain.new_ifindex, plain.address) == (-1, 0, b"")
