"""The masking rules themselves (no guest needed): they hide only what
masking.py lists and keep which value equals which."""
from .masking import mask

KERNEL = """Ethernet Channel Bonding Driver: v6.1.0-57-amd64

System MAC address: 16:23:19:6c:ce:fb
Currently Active Slave: eth0
\tAggregator ID: 1
    system mac address: 16:23:19:6c:ce:fb
    system mac address: fa:2a:d0:1b:35:82
    port number: 1
    system mac address: 00:00:00:00:00:00
"""


def test_masks_version_macs_and_numbers_by_first_appearance():
    ours = (KERNEL.replace("v6.1.0-57-amd64", "v6.18.44").replace("16:23:19:6c:ce:fb", "02:00:00:00:00:01")
            .replace("fa:2a:d0:1b:35:82", "02:00:00:00:00:02").replace("ID: 1", "ID: 5")
            .replace("number: 1", "number: 9"))
    assert mask(KERNEL) == mask(ours)
    assert "00:00:00:00:00:00" in mask(KERNEL)


def test_a_partner_mac_equal_to_our_own_is_not_forgiven():
    ours = KERNEL.replace("fa:2a:d0:1b:35:82", "16:23:19:6c:ce:fb")
    assert mask(KERNEL) != mask(ours)


def test_monitor_state_is_masked_only_under_the_arp_monitor():
    ours = KERNEL.replace("Active Slave: eth0", "Active Slave: eth1")
    assert mask(KERNEL, "mode=active-backup miimon=100") != mask(ours, "mode=active-backup miimon=100")
    assert mask(KERNEL, "arp_interval=300") == mask(ours, "arp_interval=300")


def test_only_softbonds_trailing_lacp_status_line_is_dropped():
    assert mask(KERNEL + "\nLACP status: negotiated\n") == mask(KERNEL)
    assert mask(KERNEL + "\nLACP status: negotiated\nextra\n") != mask(KERNEL)
