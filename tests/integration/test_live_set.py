"""`softbond set` on a running bond: the mode and the other options the
kernel only changes with no slaves or the bond down change live, with a
ping flood from the peer across each change measuring what is lost."""
from tests.support.netcheck import status_direct
from tests.support.live_util import MAX_LOSS, set_during_ping, up

ALL_DATAPATHS = True

# On a Linux bridge; 802.3ad needs a partner (test_live_options.py). With
# eth1 preferred, fail_over_mac active gives the bond eth1's own MAC.
BRIDGE_CHANGES = [("mode", "active-backup"), ("prio", "eth1:10"), ("fail_over_mac", "active"),
                  ("fail_over_mac", "none"), ("mode", "balance-tlb"), ("mode", "balance-alb"),
                  ("mode", "balance-rr"), ("mode", "balance-xor")]


def test_mode_and_fail_over_mac_change_live_keeping_members_and_address(topo):
    up(topo, "mode=balance-xor")
    before = status_direct(topo)
    lost_per_change = {}
    for option, value in BRIDGE_CHANGES:
        lost, gap, _ = set_during_ping(topo, option, value)
        lost_per_change[f"{option}={value}"] = (lost, round(gap * 1000))
        st = status_direct(topo)
        assert st["options"][option] == (value if option != "prio" else {"eth1": 10})
        assert [s["name"] for s in st["slaves"]] == ["eth0", "eth1"]
        assert st["addresses"] == before["addresses"]
        assert gap < MAX_LOSS, (option, value, lost_per_change)
    print(f"\n{topo.datapath}: replies lost (longest gap, ms) per change: {lost_per_change}")
    st = status_direct(topo)
    eth1 = st["slaves"][1]["perm_hwaddr"]
    assert st["hwaddr"] == eth1 != before["hwaddr"]
    # Back in balance-xor every member carries the bond's MAC again.
    assert [s["hwaddr"] for s in st["slaves"]] == [eth1] * 2
