"""NetworkManager keyfiles against NetworkManager itself: `nmcli --offline
connection add` writes each corpus keyfile (tests/data/nmkeyfile/cases.json
holds the arguments), and softbond must read each into the options given
to nmcli."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from softbond.config.errors import ConfigError
from softbond.config.loader import load_config, merge_configs
from softbond.config.nmkeyfile import load_nmkeyfile
from softbond.config.options import build_options
from tests.support.toolrun import nmcli_keyfile, tool

CORPUS = Path(__file__).resolve().parents[1] / "data" / "nmkeyfile"
CASES = json.loads((CORPUS / "cases.json").read_text())
BONDS = [name for name, args in CASES.items() if args[1] == "bond"]


@pytest.mark.parametrize("case", CASES)
def test_corpus_is_what_nmcli_writes(case):
    stored = (CORPUS / f"{case}.nmconnection").read_text()
    without_uuid = "".join(line for line in nmcli_keyfile(CASES[case]).splitlines(True)
                           if not line.startswith("uuid="))
    assert without_uuid == "".join(
        line for line in stored.splitlines(True) if not line.startswith("uuid="))


def test_the_corpus_gives_every_option_nmcli_knows():
    """nmcli names its bond options when it refuses one."""
    out = subprocess.run([tool("nmcli", "network-manager"), "--offline", "connection", "add",
                          "type", "bond", "bond.options", "none_such=1"], capture_output=True, text=True)
    known = re.search(r"not among \[([^\]]*)\]", out.stderr).group(1).split(", ")
    used = {item.split("=")[0] for name in BONDS for item in given(CASES[name])["bond.options"].split(",")}
    assert len(known) > 20 and sorted(set(known) - used) == []


def given(args: list[str]) -> dict[str, str]:
    return dict(zip(args[::2], args[1::2]))


# NetworkManager's options with no kernel counterpart: read with a warning.
NM_ONLY = {"active_slave", "balance-slb"}


@pytest.mark.parametrize("case", BONDS)
def test_keyfile_reads_as_the_options_given_to_nmcli(case):
    args = given(CASES[case])
    bond, = merge_configs(load_nmkeyfile(str(CORPUS / f"{case}.nmconnection")))
    pairs = [(*item.split("=", 1), None) for item in args["bond.options"].split(",")]
    assert bond.options == build_options(args["ifname"], [p for p in pairs if p[0] not in NM_ONLY])[0]
    assert bond.name == args["ifname"]
    assert [w.split(": ")[3].split()[0] for w in bond.source_warnings] == [
        f"bond.{name}" for name, _, _ in sorted(pairs) if name in NM_ONLY]
    addresses = [args[k] for k in ("ipv4.addresses", "ipv6.addresses") if k in args]
    assert (list(bond.addresses), bond.gateway, bond.gateway6) == (
        addresses, args.get("ipv4.gateway", args.get("ipv6.gateway")),
        args.get("ipv6.gateway") if "ipv4.gateway" in args else None)
    assert (bond.mtu, bond.hwaddr, bond.onboot) == (
        int(args["ethernet.mtu"]) if "ethernet.mtu" in args else None,
        args.get("ethernet.cloned-mac-address"), args.get("connection.autoconnect") != "no")


def test_ports_name_their_bond():
    configs = {c.name: c for c in merge_configs(load_config(str(CORPUS)))}
    assert sorted(configs) == sorted(given(CASES[c])["ifname"] for c in BONDS)
    assert configs["bond1"].slaves == ("eth0", "eth1")
    assert [c.slaves for n, c in configs.items() if n != "bond1"] == [()] * (len(BONDS) - 1)


def test_address_forms_the_keyfile_reader_takes(tmp_path):
    path = keyfile(tmp_path, "[ipv4]\nmethod=manual\naddress1=192.0.2.5;24;192.0.2.1;\n"
                             "addresses2=192.0.2.6\n[ipv6]\naddress=2001:db8::5,2001:db8::1\n")
    bond0, = merge_configs(load_nmkeyfile(path))
    assert (bond0.addresses, bond0.gateway, bond0.gateway6) == (
        ("192.0.2.5/24", "192.0.2.6/24", "2001:db8::5/64"), "192.0.2.1", "2001:db8::1")
    assert [w.split(": ", 2)[2] for w in bond0.source_warnings] == [
        "Warning: ipv4.addresses2: no prefix length, using /24 as NetworkManager does",
        "Warning: ipv6.address: no prefix length, using /64 as NetworkManager does"]


def test_older_section_names(tmp_path):
    bond0, = merge_configs(load_nmkeyfile(keyfile(tmp_path, "[bond]\nmode=1\n[ipv4]\nmethod=manual\n"
                                                           "address1=192.0.2.5/24\n[802-3-ethernet]\nmtu=9000\n")))
    assert (bond0.mtu, bond0.source_warnings) == (9000, ())


def test_member_settings_are_warned(tmp_path):
    keyfile(tmp_path, "[bond]\nmode=1\n[ipv4]\nmethod=disabled\n")
    port = tmp_path / "eth0.nmconnection"
    port.write_text("[connection]\nid=p\ntype=ethernet\ninterface-name=eth0\ncontroller=bond0\n"
                    "port-type=bond\n[ethernet]\nmtu=1400\n")
    bond0, = merge_configs(load_nmkeyfile(str(tmp_path)))
    assert (bond0.slaves, bond0.source_warnings) == (("eth0",), (
        f"{port}:8: bond0: Warning: eth0: ethernet.mtu ignored: softbond configures its members "
        "itself",))


def keyfile(tmp_path: Path, bond: str) -> str:
    path = tmp_path / "bond0.nmconnection"
    path.write_text("[connection]\nid=bond0\ntype=bond\ninterface-name=bond0\n\n" + bond)
    return str(path)


def test_unknown_keys_and_dhcp_are_warned(tmp_path):
    path = keyfile(tmp_path, "[bond]\nmode=1\nbalance-slb=1\n[ipv4]\nmethod=auto\ndns=192.0.2.53;\n"
                              "[ipv6]\nmethod=dhcp\n[ethernet]\ncloned-mac-address=random\n")
    bond0, = merge_configs(load_nmkeyfile(path))
    assert bond0.source_warnings == (
        f"{path}:8: bond0: Warning: bond.balance-slb ignored: a NetworkManager option with no "
        "kernel bonding equivalent",
        f"{path}:11: bond0: Warning: ipv4.dns ignored: softbond has no equivalent",
        f"{path}:15: bond0: Warning: ethernet.cloned-mac-address=random ignored: softbond gives "
        "the bond its first member's MAC",
        f"{path}:10: bond0: Warning: ipv4.method=auto ignored: softbond sets static addresses "
        "only (method=manual)",
        f"{path}:13: bond0: Warning: ipv6.method=dhcp ignored: softbond sets static addresses "
        "only (method=manual)")


@pytest.mark.parametrize("text, message", [
    ("[bond]\nmode=1\nlacp_rate=fast\n", ":8: bond0: option lacp_rate: mode dependency failed"),
    ("[bond]\nmode=chaos\n", ":7: bond0: option mode: invalid value"),
    ("[ipv4]\nmethod=manual\naddress1=192.0.2.300/24\n", ":8: bond0: address 192.0.2.300/24"),
    ("[ethernet]\ncloned-mac-address=01:00:00:00:00:01\n", ":7: bond0: hwaddr 01:00:00:00:00:01"),
    ("oops\n", ":6: expected [Section] or Key=Value"),
])
def test_errors_name_the_line(tmp_path, text, message):
    path = keyfile(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        merge_configs(load_nmkeyfile(path))
    assert str(info.value).startswith(path + message), info.value
