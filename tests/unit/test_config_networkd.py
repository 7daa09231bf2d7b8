"""systemd-networkd .netdev/.network reader: what netplan does not generate
(tests/unit/test_config_netplan.py covers what it does)."""

from pathlib import Path

import pytest

from softbond.config.errors import ConfigError
from softbond.config.loader import load_config, merge_configs
from softbond.config.networkd import BOND_KEYS, load_networkd

NETDEV = """[NetDev]
Name=bond0
Kind=bond

[Bond]
Mode=active-backup
MIIMonitorSec=0.1
ARPIPTargets=192.0.2.7
ARPIPTargets=
"""
MEMBER = "[Match]\nName={name}\n\n[Network]\nBond=bond0\n"
BOND_NETWORK = """[Match]
Name=bond0

[Network]
Address=192.0.2.5/24
Gateway=192.0.2.1
DHCP=ipv4
DNS=192.0.2.53

[Route]
Gateway=2001:db8::1

[Route]
Destination=198.51.100.0/24
Gateway=192.0.2.254
"""


def write(tmp_path: Path, netdev: str = NETDEV, **files: str) -> Path:
    (tmp_path / "25-bond0.netdev").write_text(netdev)
    (tmp_path / "25-bond0.network").write_text(BOND_NETWORK)
    for name in ("eth0", "eth1"):
        (tmp_path / f"30-{name}.network").write_text(MEMBER.format(name=name))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_bond_members_routes_and_warnings(tmp_path):
    directory = write(tmp_path, **{"30-eth1.network": MEMBER.format(name="eth1") + "PrimarySlave=yes\n"})
    bond0, = merge_configs(load_config(str(directory)))
    assert (bond0.slaves, bond0.options.miimon, bond0.options.arp_ip_target, bond0.options.primary) == (
        ("eth0", "eth1"), 100, (), "eth1")   # a bare time span is seconds; an empty list resets
    assert (bond0.addresses, bond0.gateway, bond0.gateway6) == (("192.0.2.5/24",), "192.0.2.1", "2001:db8::1")
    network = directory / "25-bond0.network"
    assert bond0.source_warnings == (
        f"{network}:7: bond0: Warning: DHCP=ipv4 ignored: softbond sets static addresses only",
        f"{network}:8: bond0: Warning: [Network] DNS= ignored: softbond has no equivalent",
        f"{network}:13: bond0: Warning: [Route] to 198.51.100.0/24 ignored: softbond sets the "
        "default route only")
    # one .netdev names its bond; its directory gives the members
    assert merge_configs(load_config(str(directory / "25-bond0.netdev"))) == [bond0]


def test_member_settings_are_warned(tmp_path):
    directory = write(tmp_path, **{"30-eth1.network": MEMBER.format(name="eth1") +
                                   "LinkLocalAddressing=no\n[Link]\nMTUBytes=1400\n"})
    bond0, = merge_configs(load_networkd(str(directory)))
    assert bond0.source_warnings[-1] == (f"{directory}/30-eth1.network:8: bond0: Warning: eth1: "
                                         "[Link] MTUBytes= ignored: softbond configures its "
                                         "members itself")


def test_one_network_file_per_link_the_first_that_matches(tmp_path):
    """networkd applies the first .network (in name order) whose [Match]
    Name= matches a link, patterns included, and no other."""
    directory = write(tmp_path, **{
        "10-bonds.network": "[Match]\nName=bond*\n[Network]\nAddress=198.51.100.5/24\n",
        "20-eth1.network": "[Match]\nName=eth1\n[Network]\nDHCP=no\n"})
    bond0, = merge_configs(load_networkd(str(directory)))
    assert (bond0.slaves, bond0.addresses) == (("eth0",), ("198.51.100.5/24",))
    assert bond0.source_warnings == (
        f"{directory}/25-bond0.network:2: bond0: Warning: {directory}/25-bond0.network ignored: "
        f"{directory}/10-bonds.network matches bond0 first, and networkd applies one .network "
        "file per link",
        f"{directory}/30-eth1.network:2: bond0: Warning: eth1: Bond=bond0 ignored: "
        f"{directory}/20-eth1.network matches eth1 first, and networkd applies one .network "
        "file per link")


def test_target_lines_add_up(tmp_path):
    netdev = NETDEV.replace("MIIMonitorSec=0.1\n", "ARPIntervalSec=200ms\n") + (
        "ARPIPTargets=192.0.2.8 192.0.2.9\nARPIPTargets=192.0.2.10\n")
    bond0, = merge_configs(load_networkd(str(write(tmp_path, netdev))))
    assert (bond0.options.arp_interval, bond0.options.arp_ip_target) == (
        200, ("192.0.2.8", "192.0.2.9", "192.0.2.10"))


@pytest.mark.parametrize("files, message", [
    ({"25-bond0.netdev": NETDEV + "UpDelaySec=1us\n"}, "25-bond0.netdev:10: bond0: UpDelaySec='1us': "
                                                       "bonding counts whole milliseconds"),
    ({"25-bond0.netdev": NETDEV + "LACPTransmitRate=fast\n"}, "25-bond0.netdev:10: bond0: option "
                                                               "lacp_rate: mode dependency failed"),
    ({"25-bond0.netdev": NETDEV + "AllSlavesActive=maybe\n"}, "25-bond0.netdev:10: bond0: "
                                                               "AllSlavesActive='maybe': expected yes or no"),
    ({"30-eth0.network": "[Match]\nName=en*\n[Network]\nBond=bond0\n"},
     "30-eth0.network:2: bond0: member pattern 'en*': softbond needs interface names"),
    ({"30-eth0.network": "[Network]\nBond=bond9\n"}, "30-eth0.network:2: Bond=bond9: no .netdev "
                                                     "defines a bond bond9"),
    ({"26-bond0.netdev": NETDEV}, "26-bond0.netdev:2: bond0 is already defined in"),
    ({"25-bond0.netdev": "Kind=bond\n"}, "25-bond0.netdev:1: Kind= comes before any [Section]"),
])
def test_errors_name_the_line(tmp_path, files, message):
    directory = write(tmp_path, **files)
    with pytest.raises(ConfigError) as info:
        merge_configs(load_networkd(str(directory)))
    assert str(info.value).startswith(f"{directory}/{message}"), info.value


# Every [Bond] key systemd.netdev(5) documents, with what the kernel option should read.
EVERY_KEY = {
    "Mode=802.3ad\nLACPTransmitRate=fast\nTransmitHashPolicy=layer3+4\nAdSelect=count\n"
    "AdActorSystemPriority=100\nAdUserPortKey=5\nAdActorSystem=02:00:00:00:00:aa\nMinLinks=1\n"
    "MIIMonitorSec=100ms\nUpDelaySec=200ms\nDownDelaySec=1s\nPeerNotifyDelaySec=300ms\n"
    "GratuitousARP=2\nResendIGMP=3\nAllSlavesActive=yes\n":
        {"mode": 4, "lacp_rate": 1, "xmit_hash_policy": 1, "ad_select": 2, "ad_actor_sys_prio": 100,
         "ad_user_port_key": 5, "ad_actor_system": "02:00:00:00:00:aa", "min_links": 1, "miimon": 100,
         "updelay": 200, "downdelay": 1000, "peer_notif_delay": 300, "num_grat_arp": 2,
         "resend_igmp": 3, "all_slaves_active": 1},
    "Mode=balance-tlb\nDynamicTransmitLoadBalancing=no\nLearnPacketIntervalSec=3\nMIIMonitorSec=100ms\n":
        {"mode": 5, "tlb_dynamic_lb": 0, "lp_interval": 3},
    "Mode=active-backup\nARPIntervalSec=250ms\nARPIPTargets=192.0.2.1\nARPValidate=backup\n"
    "ARPAllTargets=all\nARPMissedMax=4\nFailOverMACPolicy=follow\nPrimaryReselectPolicy=failure\n":
        {"mode": 1, "arp_interval": 250, "arp_ip_target": ("192.0.2.1",), "arp_validate": 2,
         "arp_all_targets": 1, "arp_missed_max": 4, "fail_over_mac": 2, "primary_reselect": 2},
    "Mode=balance-rr\nPacketsPerSlave=0\nMIIMonitorSec=1\n": {"mode": 0, "packets_per_slave": 0, "miimon": 1000},
}


@pytest.mark.parametrize("bond", EVERY_KEY)
def test_every_bond_key(bond, tmp_path):
    (tmp_path / "bond0.netdev").write_text(f"[NetDev]\nName=bond0\nKind=bond\n[Bond]\n{bond}")
    bond0, = merge_configs(load_networkd(str(tmp_path)))
    assert {name: bond0.options.get(name) for name in EVERY_KEY[bond]} == EVERY_KEY[bond]
    assert not bond0.source_warnings


def test_the_table_is_covered():
    text = "".join(EVERY_KEY)
    assert [key for key in BOND_KEYS if f"\n{key}=" not in "\n" + text] == []
