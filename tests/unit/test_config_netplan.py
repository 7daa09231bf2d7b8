"""netplan YAML against netplan itself: `netplan generate` turns each corpus
file into networkd files, and softbond's reading of the YAML must equal its
reading of what netplan generated (tests/data/netplan/README.md)."""

import dataclasses
from pathlib import Path

import pytest

from softbond.config.errors import ConfigError
from softbond.config.loader import load_config, merge_configs
from softbond.config.netplan import PARAMETERS, load_netplan
from softbond.config.networkd import load_networkd
from tests.support.toolrun import comparable, netplan_generate

CORPUS = Path(__file__).resolve().parents[1] / "data" / "netplan"
# CASE.yaml, or CASE.netplan/ with several files, as /etc/netplan has them
SOURCES = {p.stem: p for p in [*CORPUS.glob("*.yaml"), *CORPUS.glob("*.netplan")]}
CASES = sorted(SOURCES)


def networkd_files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())
            if p.suffix in (".netdev", ".network")}


@pytest.mark.parametrize("case", CASES)
def test_corpus_is_what_netplan_generates(case, tmp_path):
    generated = netplan_generate(SOURCES[case], tmp_path)
    assert networkd_files(generated) == networkd_files(CORPUS / f"{case}.networkd"), \
        "corpus out of date: regenerate it (README.md)"


@pytest.mark.parametrize("case", CASES)
def test_yaml_reads_as_netplan_generates_it(case):
    """On the stored output, so a reader regression shows without netplan too."""
    from_yaml = merge_configs(load_netplan(str(SOURCES[case])))
    from_networkd = merge_configs(load_networkd(str(CORPUS / f"{case}.networkd")))
    # networkd enslaves members as their links appear: no order to compare.
    assert sorted_members(from_yaml) == sorted_members(from_networkd)
    # everything netplan generates means something to softbond
    assert all(not c.source_warnings for c in from_networkd)


def sorted_members(configs):
    return comparable(dataclasses.replace(c, slaves=tuple(sorted(c.slaves))) for c in configs)


def test_every_documented_parameter_is_in_the_corpus():
    text = "".join(p.read_text() for p in CORPUS.glob("**/*.yaml"))
    assert [key for key in PARAMETERS if f"{key}:" not in text] == []


def test_what_the_corpus_reads_as():
    bond0, = merge_configs(load_config(str(CORPUS / "active_backup.yaml")))
    assert (bond0.slaves, bond0.options.mode_name, bond0.options.miimon, bond0.options.updelay,
            bond0.options.downdelay, bond0.options.primary, bond0.options.num_grat_arp) == (
        ("eth0", "eth1"), "active-backup", 100, 200, 1000, "eth1", 3)
    assert (bond0.addresses, bond0.gateway, bond0.gateway6, bond0.mtu, bond0.hwaddr) == (
        ("192.0.2.5/24", "2001:db8::5/64"), "192.0.2.1", "2001:db8::1", 9000, "02:00:00:00:00:05")
    bond2, = merge_configs(load_config(str(CORPUS / "arp.yaml")))
    assert bond2.slaves == ("lan0", "enp2s0") and bond2.options.primary == "enp2s0"
    bond4, bond5, bond6 = merge_configs(load_config(str(CORPUS / "balance_tlb.yaml")))
    assert (bond4.options.lp_interval, bond6.options.lp_interval, bond5.options.arp_interval) == (5, 2, 1000)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "01-bond.yaml"
    path.write_text(text)
    return str(path)


BOND = """network:
  ethernets:
    eth0: {}
  bonds:
    bond0:
      interfaces: [eth0]
      parameters:
        mode: active-backup
"""


def test_unknown_keys_are_warned_with_their_line(tmp_path):
    path = write(tmp_path, BOND + "        lacp-mode: fast\n      nameservers: {addresses: [192.0.2.53]}\n"
                                  "      addresses: [192.0.2.5/24: {label: bond0:1}]\n")
    bond0, = merge_configs(load_netplan(path))
    assert bond0.warnings[:3] == (
        f"{path}:9: bond0: Warning: network.bonds.bond0.parameters.lacp-mode ignored: not a "
        "netplan bond parameter softbond knows",
        f"{path}:10: bond0: Warning: network.bonds.bond0.nameservers ignored: softbond has no "
        "equivalent",
        f"{path}:11: bond0: Warning: network.bonds.bond0.addresses: options of 192.0.2.5/24 "
        "ignored: softbond has no equivalent")


@pytest.mark.parametrize("extra, message", [
    ("        mii-monitor-interval: 1.5x\n",
     ":9: network.bonds.bond0.parameters.mii-monitor-interval: '1.5x': unknown time unit 'x'"),
    ("        mode: fast\n", ":9: key 'mode' given twice"),
    ("        lacp-rate: fast\n", ":9: bond0: option lacp_rate: mode dependency failed"),
    ("      addresses: [192.0.2.5]\n", ":9: bond0: address 192.0.2.5: expected address/prefix"),
    ("      mtu: 20\n", ":9: bond0: mtu 20: out of range"),
    ("    bond1: {interfaces: [eth9]}\n", ":9: bond1: interface 'eth9' is not defined"),
    ("  - oops\n", ":9: invalid YAML"),
    ("        arp-ip-targets: [[192.0.2.1]]\n",
     ":9: network.bonds.bond0.parameters.arp-ip-targets: expected a list of addresses"),
    ("      addresses: [{}]\n", ":9: bond0: address None: expected address/prefix"),
    ("    ? [bond1]\n    : {}\n", ":9: a mapping key must be a name"),
    ("    bond1: &b {interfaces: *b}\n", ":9: invalid YAML: found unconstructable recursive node"),
    ("      mtu: [9000]\n", ":9: network.bonds.bond0.mtu: expected a single value"),
    ("      routes: [{to: [default], via: 192.0.2.1}]\n",
     ":9: network.bonds.bond0.routes.to: expected a single value"),
])
def test_errors_name_the_line(tmp_path, extra, message):
    path = write(tmp_path, BOND + extra)
    with pytest.raises(ConfigError) as info:
        merge_configs(load_netplan(path))
    assert str(info.value).startswith(path + message), info.value


def test_member_settings_are_warned(tmp_path):
    path = write(tmp_path, BOND.replace("eth0: {}", "eth0: {dhcp4: false, mtu: 1400}"))
    bond0, = merge_configs(load_netplan(path))
    assert bond0.source_warnings == (f"{path}:3: bond0: Warning: eth0: network.ethernets.eth0.mtu "
                                     "ignored: softbond configures its members itself",)


def test_members_matched_by_pattern_are_refused(tmp_path):
    path = write(tmp_path, BOND.replace("eth0: {}", "eth0: {match: {name: 'en*'}}"))
    with pytest.raises(ConfigError, match=r":3: network.ethernets.eth0.match: softbond needs"):
        load_netplan(path)


def test_a_later_file_amends_the_bond():
    bond0, = merge_configs(load_config(str(SOURCES["amended"])))
    assert (bond0.slaves, bond0.addresses, bond0.options.updelay, bond0.options.primary) == (
        ("eth0", "eth1", "eth2"), ("192.0.2.5/24", "192.0.2.6/24"), 200, "eth0")


def test_a_second_primary_is_refused(tmp_path):
    (tmp_path / "01.yaml").write_text(BOND + "        primary: eth0\n")
    (tmp_path / "02.yaml").write_text("network:\n  bonds:\n    bond0:\n"
                                      "      parameters: {primary: eth0}\n")
    with pytest.raises(ConfigError, match=r"02.yaml:4: network.bonds.bond0.parameters.primary: "
                                          r"bond0 already has a primary member"):
        load_netplan(str(tmp_path))


def test_zero_that_netplan_leaves_unset_is_warned():
    bond8 = merge_configs(load_netplan(str(CORPUS / "balance_rr.yaml")))[-1]
    assert (bond8.options.packets_per_slave, bond8.options.resend_igmp) == (1, 1)
    assert len(bond8.source_warnings) == 3 and "netplan leaves it unset" in bond8.source_warnings[0]


def test_lines_are_counted_at_newlines_only(tmp_path):
    """As every other reader and editor's line numbers count them; YAML's
    own marks also count a lone \\r."""
    path = write(tmp_path, "network:\r  ethernets: {eth0: {}}\r  bonds:\n    bond0: {interfaces: [eth9]}\n")
    with pytest.raises(ConfigError, match=r"01-bond.yaml:2: bond0: interface 'eth9' is not defined"):
        load_netplan(path)
