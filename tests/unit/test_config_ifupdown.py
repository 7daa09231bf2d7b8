"""ifupdown interfaces(5) against ifupdown itself: `ifquery -i FILE IFACE`
is ifupdown's reading of a stanza, and softbond's must agree option for
option (tests/data/ifupdown/README.md has the commands)."""

import ipaddress
import re
from pathlib import Path

import pytest

from softbond.config.errors import ConfigError
from softbond.config.ifupdown import IFENSLAVE_OPTIONS, load_ifupdown, option_key, read_interfaces
from softbond.config.loader import load_config, merge_configs
from softbond.config.options import build_options
from tests.support.toolrun import run, tool

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ifupdown"
QUERIES = sorted(p.name.split(".")[:2] for p in CORPUS.glob("*.ifquery"))


def ifquery_pairs(text: str) -> list[tuple[str, str]]:
    """`key: value` lines; a line without the colon continues the value before
    (ifupdown joins a repeated option's lines so)."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep or line.endswith(":"):
            pairs.append((option_key(key.rstrip(":")), value))
        else:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + "\n" + line)
    return pairs


@pytest.mark.parametrize("case, iface", QUERIES)
def test_corpus_is_what_ifquery_says(case, iface):
    out = run(tool("ifquery", "ifupdown"), "-i", str(CORPUS / f"{case}.interfaces"), iface)
    assert out == (CORPUS / f"{case}.{iface}.ifquery").read_text()


def addresses_of(pairs: list[tuple[str, str]]) -> list[str]:
    """address + the netmask ifupdown derived for it, as CIDR."""
    cidrs = []
    for index, (key, value) in enumerate(pairs):
        if key != "address":
            continue
        mask = next((v for k, v in pairs[index + 1:] if k == "netmask"), "")
        if mask and "." in mask:
            mask = str(ipaddress.ip_network(f"0.0.0.0/{mask}").prefixlen)
        cidrs.append(str(ipaddress.ip_interface(f"{value}/{mask or 128}")))
    return cidrs


@pytest.mark.parametrize("case, iface", QUERIES)
def test_softbond_reads_each_stanza_as_ifupdown_does(case, iface):
    path = CORPUS / f"{case}.interfaces"
    theirs = ifquery_pairs((CORPUS / f"{case}.{iface}.ifquery").read_text())
    ours = [(option_key(k), v) for s in read_interfaces(str(path)).of(iface) for k, v, _ in s.options]
    for key, value in ours:
        if key == "address":
            value = value.split("/")[0]
        elif key == "hwaddress":
            value = value.split()[-1]
        assert (key, value) in theirs
    derived = {"netmask", "broadcast", "autoconf", "preferred-lifetime", "dad-attempts",
               "dad-interval", "accept-ra"}
    assert [k for k, _ in theirs if k not in derived] == [k for k, _ in ours if k not in derived]
    configs = {c.name: c for c in merge_configs(load_config(str(path)))}
    if iface not in configs:
        return
    bond = configs[iface]
    assert list(bond.addresses) == addresses_of(theirs)
    pairs = [(k[5:].replace("-", "_"), v, None) for k, v in theirs
             if k.startswith("bond-") and k[5:].replace("-", "_") in IFENSLAVE_OPTIONS]
    primary = next((v.split() for k, v in theirs if k == "bond-primary"), [])
    pairs += [("primary", p, None) for p in primary if p in bond.slaves][:1]
    assert bond.options == build_options(iface, pairs)[0]


IFENSLAVE = Path("/etc/network/if-pre-up.d/ifenslave")


def test_the_options_are_the_ones_ifenslave_writes():
    """Its script writes each $IF_BOND_X to the bond's sysfs file x; softbond
    reads the same options (active_slave it warns about: runtime state)."""
    if not IFENSLAVE.exists():
        pytest.fail(f"{IFENSLAVE} not found: install the Debian package ifenslave "
                    "(scripts/setup.sh --test does)")
    writes = dict(re.findall(r'sysfs\w* (\w+) "\$IF_BOND_(\w+)"', IFENSLAVE.read_text()))
    assert all(variable == option.upper() for option, variable in writes.items())
    assert sorted(writes) == sorted([*IFENSLAVE_OPTIONS, "active_slave"])


def test_the_corpus_gives_every_option_ifenslave_reads():
    text = "".join(p.read_text() for p in CORPUS.glob("**/*") if p.is_file() and p.suffix != ".ifquery")
    given = {option_key(m) for m in re.findall(r"^\s*(bond[-_][\w-]+)", text, re.M)}
    assert sorted({f"bond-{o.replace('_', '-')}" for o in IFENSLAVE_OPTIONS} - given) == []
    assert {"bond-slaves", "bond-master", "bond-primary"} <= given


def test_members_onboot_and_ignored_options():
    bond0, = merge_configs(load_config(str(CORPUS / "active_backup.interfaces")))
    assert (bond0.slaves, bond0.options.primary, bond0.gateway, bond0.gateway6, bond0.onboot) == (
        ("eth0", "eth1"), "eth1", "192.0.2.1", "2001:db8::1", True)
    bond1, = merge_configs(load_config(str(CORPUS / "lacp.interfaces")))
    path = CORPUS / "lacp.interfaces"
    assert (bond1.slaves, bond1.mtu, bond1.hwaddr) == (("eno1", "eno2"), 9000, "02:00:00:00:00:01")
    assert bond1.source_warnings == (f"{path}:13: bond1: Warning: bond-min-links ignored: "
                                     "Debian's ifenslave does not read it either",)
    bond2, bond3, bond4 = merge_configs(load_config(str(CORPUS / "sourced.interfaces")))
    assert (bond2.onboot, bond3.onboot, bond2.slaves) == (True, False, ("eth2", "eth3"))
    assert "up ignored: softbond has no equivalent (it runs no hook commands)" in bond4.warnings[0]


def test_member_settings_are_warned(tmp_path):
    path = tmp_path / "interfaces"
    path.write_text("iface bond0 inet manual\n    bond-slaves eth0\n    bond-mode 1\n"
                    "iface eth0 inet manual\n    mtu 1400\n"
                    "iface eth1 inet manual\n    bond-master bond0\n    pre-up true\n")
    bond0, = merge_configs(load_ifupdown(str(path)))
    assert bond0.source_warnings == tuple(
        f"{path}:{line}: bond0: Warning: {member}: {key} ignored: softbond configures its "
        "members itself" for line, member, key in ((5, "eth0", "mtu"), (8, "eth1", "pre-up")))


@pytest.mark.parametrize("text, message", [
    ("    bond-mode 1\n    bond-mode 2\n", ":3: bond0: bond-mode given twice"),
    ("    bond-mode 1\n    bond-lacp-rate fast\n", ":3: bond0: option lacp_rate: mode dependency"),
    ("    bond-slaves all\n", ":2: bond0: bond-slaves all: softbond needs"),
    ("    bond-mode 1\niface bond1 inet static\n    address 192.0.2.1/33\n    bond-mode 1\n",
     ":4: bond1: address 192.0.2.1/33"),
])
def test_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "interfaces"
    path.write_text("iface bond0 inet manual\n" + text)
    with pytest.raises(ConfigError) as info:
        merge_configs(load_ifupdown(str(path)))
    assert str(info.value).startswith(f"{path}{message}"), info.value
