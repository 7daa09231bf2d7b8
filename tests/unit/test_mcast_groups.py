"""Reading the bond's joined IPv4 groups from /proc/net/igmp (resend_igmp)."""
import sys

from softbond.mcast import igmp_groups

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
