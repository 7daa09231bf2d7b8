"""Reading the bond's joined IPv4 groups from /proc/net/igmp (resend_igmp)."""
import sys

from softbond.kernel.mcast import igmp_groups

# igmp_mc_seq_show's layout; groups are host-order prints of network-order
# words, so on this (little-endian) host 224.0.0.1 reads 010000E0.
PROC = (
    "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
    "1\tlo        :     1      V3\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
    "7\tbond0     :     3      V2\n"
    "\t\t\t\t0A0A00EF     1 0:00000000\t\t0\n"
    "\t\t\t\tFB0000E0     1 0:00000000\t\t0\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
    "9\tbond1     :     1      V3\n"
    "\t\t\t\t020000E0     1 0:00000000\t\t0\n"
)


def test_groups_of_one_device_in_its_version_without_all_hosts():
    assert sys.byteorder == "little"      # the sample's words are little-endian prints
    assert igmp_groups("bond0", PROC) == (2, ["239.0.10.10", "224.0.0.251"])
    assert igmp_groups("bond1", PROC) == (3, ["224.0.0.2"])
    assert igmp_groups("lo", PROC) == (3, [])


def test_unknown_device_and_garbage_give_nothing():
    assert igmp_groups("bond9", PROC) == (3, [])
    assert igmp_groups("bond0", "header\n7\tbond0 :  1  V3\n\t\t\t\tZZZZ 1 0:0\t\t0\n") == (3, [])
    assert igmp_groups("bond0", "") == (3, [])


PROC6 = (
    "1    lo              ff020000000000000000000000000001     1 0000000C 0\n"
    "7    bond0           ff020000000000000000000000000001     1 0000000C 0\n"
    "7    bond0           ff0200000000000000000001ff000199     1 00000004 0\n"
    "7    bond0           ff010000000000000000000000000001     1 00000008 0\n"
    "7    bond0           ff050000000000000000000000010003     1 00000004 0\n"
    "9    bond1           ff050000000000000000000000010004     1 00000004 0\n"
    "7    bond0           zz\n"
)


def test_mld_groups_skip_all_nodes_and_node_local_scope():
    from softbond.kernel.mcast import mld_groups
    assert mld_groups("bond0", PROC6) == ["ff02::1:ff00:199", "ff05::1:3"]
    assert mld_groups("bond1", PROC6) == ["ff05::1:4"]
    assert mld_groups("lo", PROC6) == []


def test_mld_reports_carry_router_alert_hop_limit_1_and_a_valid_checksum():
    from softbond.wire.mld import build_mldv1_report, build_mldv2_report
    from softbond.wire.ndisc import icmpv6_checksum
    mac = bytes.fromhex("020000000001")
    src = bytes.fromhex("fe800000000000000000000000000001")
    v2 = build_mldv2_report(mac, src, ["ff05::1:3", "ff02::1:ff00:199"])
    assert v2[:6] == bytes.fromhex("333300000016") and v2[12:14] == b"\x86\xdd"
    assert v2[14 + 6] == 0 and v2[14 + 7] == 1                     # hop-by-hop next, hop limit 1
    assert v2[54:62] == bytes((58, 0, 5, 2, 0, 0, 1, 0))             # Router Alert: MLD
    icmp = v2[62:62 + 8 + 2 * 20]
    assert icmp[0] == 143 and int.from_bytes(icmp[6:8], "big") == 2
    assert icmpv6_checksum(src, v2[38:54], icmp) == 0
    v1 = build_mldv1_report(mac, src, "ff05::1:3")
    assert v1[:6] == bytes.fromhex("333300010003")
    icmp = v1[62:62 + 24]
    assert icmp[0] == 131 and icmpv6_checksum(src, v1[38:54], icmp) == 0
