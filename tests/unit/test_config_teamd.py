"""teamd JSON mapped to the nearest bonding mode, on libteam's own example
configurations (tests/data/teamd), with a warning for each teamd feature
bonding does not have."""

from pathlib import Path

import pytest

from softbond.config.errors import ConfigError
from softbond.config.loader import load_config, merge_configs
from softbond.config.teamd import parse_teamd

CORPUS = Path(__file__).resolve().parents[1] / "data" / "teamd"


def read(name: str):
    bond, = merge_configs(load_config(str(CORPUS / f"{name}.conf")))
    return bond


def warned(bond) -> list[str]:
    """The key paths the warnings name (after file:line)."""
    return [w.split(": ")[1] for w in bond.source_warnings]


@pytest.mark.parametrize("name, mode, hash_policy", [
    ("roundrobin", "balance-rr", "layer2"), ("random", "balance-rr", "layer2"),
    ("broadcast", "broadcast", "layer2"), ("loadbalance_1", "balance-xor", "layer2+3"),
    ("loadbalance_2", "balance-xor", "layer2+3"), ("lacp_1", "802.3ad", "layer2+3"),
    ("activebackup_ethtool_1", "active-backup", "layer2"),
])
def test_runner_to_mode(name, mode, hash_policy):
    bond = read(name)
    assert (bond.name, bond.options.mode_name, bond.slaves[0]) == ("team0", mode, "eth1")
    assert bond.options.xmit_hash_policy == ["layer2", "layer3+4", "layer2+3"].index(hash_policy)


def test_lacp_runner_options():
    bond = read("lacp_1")
    assert (bond.options.lacp_rate, bond.options.lacp_active, bond.options.miimon) == (1, 1, 100)
    assert warned(bond) == []


def test_activebackup_ports_and_link_watches():
    ethtool = read("activebackup_ethtool_3")
    assert (ethtool.options.prio, ethtool.options.updelay, ethtool.options.downdelay,
            ethtool.options.primary_reselect) == ((("eth1", -10), ("eth2", 100)), 2500, 1000, 2)
    arp = read("activebackup_arp_ping_1")
    assert (arp.options.arp_interval, arp.options.arp_ip_target, arp.options.arp_missed_max) == (
        100, ("192.168.23.1",), 30)
    assert warned(arp) == ["link_watch.source_host", "ports.eth1.sticky"]
    path = CORPUS / "activebackup_arp_ping_1.conf"
    assert arp.source_warnings[0] == (f"{path}:8: link_watch.source_host: team0: Warning: "
                                      "ignored: no bonding equivalent")
    nsna = read("activebackup_nsna_ping_1")
    assert (nsna.options.arp_interval, nsna.options.ns_ip6_target) == (200, ("fe80::210:18ff:feaa:bbcc",))


@pytest.mark.parametrize("name, keys", [
    ("activebackup_arp_ping_2", ["link_watch.source_host", "ports.eth1.sticky", "ports.eth2.link_watch"]),
    ("activebackup_ethtool_2", ["ports.eth1.sticky", "ports.eth1.queue_id"]),
    ("activebackup_multi_lw_2", ["link_watch_policy", "link_watch[1]", "ports.eth1.sticky"]),
    ("loadbalance_3", ["runner.tx_balancer"]),
    ("random", ["runner.name"]),
    ("activebackup_tipc", ["ports.eth0.sticky", "ports.eth0.link_watch", "ports.eth1.sticky",
                           "ports.eth1.link_watch"]),
])
def test_features_without_an_equivalent_are_warned(name, keys):
    assert warned(read(name)) == keys


@pytest.mark.parametrize("text, message", [
    ('{"device": "team0",\n "runner": {"name": "fancy"}}', "t.json:2: runner.name: 'fancy': not a teamd runner"),
    ('{"device": "team0", "runner": {"name": ["lacp"]}}', 't.json:1: runner.name: ["lacp"]: expected a string'),
    ('{"device": "team0",\n "runner": {"name": "lacp",}}', "t.json:2: invalid JSON"),
    ('\n{"runner": {}}', "t.json:2: device: a teamd config names its device"),
    ('{"device": "team0",\n "runner": {"name": "lacp",\n\n "fast_rate": 3}}',
     "t.json:4: runner.fast_rate: team0: option lacp_rate: invalid value (3)"),
    ('{"device": "team0",\n "link_watch": [{"name": "arp_ping", "interval": 100}]}',
     "t.json:2: link_watch[0].target_host: arp_ping without a target_host"),
    ('{"device": "team0", "runner": ' + "[" * 100000, "t.json:1: invalid JSON: nested too deeply"),
])
def test_errors_name_the_key(text, message):
    with pytest.raises(ConfigError) as info:
        merge_configs(parse_teamd(text, "t.json"))
    assert str(info.value).startswith(message), info.value
