"""RHEL network-scripts (ifcfg) reader, with the seed tutorial's files."""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softbond.config.errors import ConfigError
from softbond.config.ifcfg import load_ifcfg, shell_value
from softbond.config.loader import load_config, merge_configs
from softbond.config.model import BondConfig
from softbond.config.options import BondOptions, build_options
from softbond.lab.demo import IFCFG_BOND0, IFCFG_ETH, MODPROBE_CONF

DATA = Path(__file__).resolve().parents[1] / "data"
SEED = DATA / "seed"
BOTH_ZERO = ("bond0: Warning: miimon and arp_interval are both 0; softbond watches carrier "
             "through netlink link events")

# The demo ships the seed's files; the fixtures hold them too, and must agree.
SEED_BOND0 = IFCFG_BOND0
SEED_ETH = IFCFG_ETH


def test_demo_uses_the_seed_files_unchanged():
    assert (SEED / "network-scripts" / "ifcfg-bond0").read_text() == IFCFG_BOND0
    for name in ("eth0", "eth1"):
        assert (SEED / "network-scripts" / f"ifcfg-{name}").read_text() == IFCFG_ETH.format(name=name)
    assert (SEED / "modprobe.conf").read_text() == MODPROBE_CONF


def seed_dir(tmp_path: Path, bond0: str = SEED_BOND0, **extra: str) -> Path:
    """The seed's three files (bond0 text replaceable) plus extra ifcfg files."""
    files = {"ifcfg-bond0": bond0, "ifcfg-eth0": SEED_ETH.format(name="eth0"),
             "ifcfg-eth1": SEED_ETH.format(name="eth1")}
    files.update({f"ifcfg-{k}": v for k, v in extra.items()})
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def error_of(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_ifcfg(str(path))
    return str(info.value)


def test_fixture_files_are_the_seed_files():
    assert (SEED / "network-scripts" / "ifcfg-bond0").read_text() == SEED_BOND0
    for name in ("eth0", "eth1"):
        assert (SEED / "network-scripts" / f"ifcfg-{name}").read_text() == (
            SEED_ETH.format(name=name))


def test_seed_directory():
    path = SEED / "network-scripts"
    assert load_ifcfg(str(path)) == [BondConfig(
        name="bond0", slaves=("eth0", "eth1"), options=BondOptions(),
        addresses=("192.168.100.199/24",), hwaddr=None, gateway=None, onboot=True,
        source=str(path / "ifcfg-bond0"), warnings=(BOTH_ZERO,))]


def test_seed_directory_with_modprobe_conf():
    merged = merge_configs(load_config(str(SEED / "modprobe.conf"))
                           + load_config(str(SEED / "network-scripts")))
    expected_options, _ = build_options("bond0", [("mode", "1", None),
                                                  ("miimon", "100", None)])
    assert merged == [BondConfig(
        name="bond0", slaves=("eth0", "eth1"), options=expected_options,
        addresses=("192.168.100.199/24",), hwaddr=None, gateway=None, onboot=True,
        source=f"{SEED / 'modprobe.conf'}, {SEED / 'network-scripts' / 'ifcfg-bond0'}",
        warnings=())]
    assert (merged[0].options.mode, merged[0].options.miimon) == (1, 100)


def test_seed_directory_alone_runs_the_kernel_default_mode_and_says_so():
    # The seed's mode lives in modprobe.conf; without it the kernel would run
    # balance-rr, and so does softbond, with a warning.
    [config] = merge_configs(load_config(str(SEED / "network-scripts")))
    assert config.options.mode == 0
    assert "bond0: no mode was configured: using the kernel default, balance-rr (0)" in config.warnings


def test_seed_bonding_opts_variant():
    path = SEED / "network-scripts-bonding-opts"
    [config] = merge_configs(load_config(str(path)))
    expected, _ = build_options("bond0", [("mode", "1", None), ("miimon", "100", None),
                                          ("primary", "eth1", None)])
    assert config == BondConfig(
        name="bond0", slaves=("eth0", "eth1"), options=expected,
        addresses=("192.168.100.199/24",), hwaddr=None, gateway=None, onboot=True,
        source=str(path / "ifcfg-bond0"), warnings=())
    assert config.options.primary == "eth1"


def test_full_bond_file(tmp_path):
    bond0 = """# a fuller file
DEVICE='bond0'
TYPE=Bond
BONDING_MASTER=yes
IPADDR="10.1.2.3"   # trailing comment
PREFIX=16
IPADDR1=10.9.0.1
NETMASK1=255.255.255.128
GATEWAY=10.1.0.1
HWADDR=02-AB-cd-00-00-01
MTU=9000
ONBOOT=no
PEERDNS=yes
NM_CONTROLLED=no
ZONE=public
BONDING_OPTS="mode=active-backup miimon=100 updelay=250 arp_ip_target=+10.1.0.1"
"""
    [config] = load_ifcfg(str(seed_dir(tmp_path, bond0)))
    assert (config.addresses, config.gateway, config.hwaddr, config.mtu, config.onboot) == (
        ("10.1.2.3/16", "10.9.0.1/25"), "10.1.0.1", "02:ab:cd:00:00:01", 9000, False)
    assert (config.options.miimon, config.options.updelay,
            config.options.arp_ip_target) == (100, 200, ("10.1.0.1",))
    assert config.warnings == (
        "bond0: Warning: updelay (250) is not a multiple of miimon (100), updelay rounded "
        "to 200 ms",)


def test_member_order_ignored_files_and_marker(tmp_path):
    member = "DEVICE={}\nMASTER=bond1\nSLAVE=yes\n"
    (tmp_path / "ifcfg-bond1").write_text('BONDING_OPTS="mode=1 miimon=100"\n')
    for name in ("eth2", "eth10", "eth1"):
        (tmp_path / f"ifcfg-{name}").write_text(member.format(name))
    (tmp_path / "ifcfg-eth3.bak").write_text(member.format("eth3"))
    (tmp_path / "ifcfg-eth4").write_text("DEVICE=eth4\nMASTER=bond1\nSLAVE=no\n")
    (tmp_path / "ifcfg-lo").write_text("DEVICE=lo\nIPADDR=127.0.0.1\nNETMASK=255.0.0.0\n")
    (tmp_path / "route-bond1").write_text("not an ifcfg file\n")
    [config] = load_ifcfg(str(tmp_path))
    assert (config.name, config.slaves, config.addresses) == (
        "bond1", ("eth1", "eth10", "eth2"), ())


def test_classful_mask_is_a_warning(tmp_path):
    [config] = load_ifcfg(str(seed_dir(tmp_path, "DEVICE=bond0\nIPADDR=10.0.0.5\n")))
    assert config.addresses == ("10.0.0.5/8",)
    assert config.warnings[0] == (f"{tmp_path / 'ifcfg-bond0'}:2: bond0: Warning: no NETMASK "
                                  "or PREFIX for 10.0.0.5, using the classful /8")


def test_gateway_outside_the_subnets_is_a_warning(tmp_path):
    text = SEED_BOND0 + "GATEWAY=10.0.0.1\n"
    [config] = load_ifcfg(str(seed_dir(tmp_path, text)))
    assert config.gateway == "10.0.0.1"
    assert config.warnings[0] == (f"{tmp_path / 'ifcfg-bond0'}:8: bond0: Warning: GATEWAY "
                                  "10.0.0.1 is not in any subnet of the bond's addresses")


@pytest.mark.parametrize("change,line,message", [
    (("NETWORK=192.168.100.0", "NETWORK=192.168.1.0"), 3,
     "NETWORK=192.168.1.0 does not match IPADDR/NETMASK 192.168.100.199/24 (expected "
     "NETWORK=192.168.100.0)"),
    (("ONBOOT=yes", "ONBOOT=yes\nBROADCAST=192.168.100.254"), 8,
     "BROADCAST=192.168.100.254 does not match IPADDR/NETMASK 192.168.100.199/24 (expected "
     "BROADCAST=192.168.100.255)"),
    (("BOOTPROTO=none", "BOOTPROTO=dhcp"), 6,
     "BOOTPROTO=dhcp is not supported: softbond sets static addresses only (use "
     "BOOTPROTO=none with IPADDR)"),
    (("BOOTPROTO=none", "BOOTPROTO=bootp"), 6,
     "BOOTPROTO=bootp is not supported: softbond sets static addresses only (use "
     "BOOTPROTO=none with IPADDR)"),
    (("BOOTPROTO=none", "BOOTPROTO=magic"), 6,
     "BOOTPROTO=magic: expected none, static, dhcp or bootp"),
    (("NETMASK=255.255.255.0", "NETMASK=255.0.255.0"), 4,
     "NETMASK=255.0.255.0: not a contiguous netmask"),
    (("NETMASK=255.255.255.0", "NETMASK=255.255.255.0\nPREFIX=16"), 5,
     "PREFIX=16 disagrees with NETMASK=255.255.255.0"),
    (("IPADDR=192.168.100.199", "IPADDR=192.168.100.299"), 2,
     "IPADDR 192.168.100.299: not a valid IP address"),
    (("ONBOOT=yes", "ONBOOT=sometimes"), 7, "ONBOOT=sometimes: expected yes or no"),
    (("ONBOOT=yes", "ONBOOT=yes\nHWADDR=01:00:5e:00:00:01"), 8,
     "HWADDR 01:00:5e:00:00:01: not a unicast MAC address"),
    (("ONBOOT=yes", "ONBOOT=yes\nMTU=70000"), 8, "MTU=70000: out of range (68-65535)"),
    (("ONBOOT=yes", "ONBOOT=yes\nMTU=9k"), 8, "MTU=9k: not a number of bytes"),
    (("ONBOOT=yes", 'ONBOOT=yes\nBONDING_OPTS="mode=1 miimon=abc"'), 8,
     "bond0: option miimon: invalid value (abc): valid values: 0-2147483647 (off, maxval)"),
    (("ONBOOT=yes", 'ONBOOT=yes\nBONDING_OPTS="mode=1 mod=1"'), 8,
     "bond0: option mod: unknown option (did you mean mode?)"),
    (("ONBOOT=yes", 'ONBOOT=yes\nBONDING_OPTS="mode=1 miimon"'), 8,
     'bond0: BONDING_OPTS item "miimon" is not name=value'),
    (("ONBOOT=yes", 'ONBOOT=yes\nBONDING_OPTS="mode=1 lacp_rate=fast"'), 8,
     "bond0: option lacp_rate: mode dependency failed, not supported in mode "
     "active-backup(1)"),
    (("ONBOOT=yes", 'ONBOOT=yes\nBONDING_OPTS="mode=1'), 8,
     'BONDING_OPTS: unterminated " quote'),
    (("ONBOOT=yes", "ONBOOT=yes\nBONDING_OPTS=mode=1 miimon=100"), 8,
     "BONDING_OPTS: unquoted whitespace in the value (quote it)"),
    (("ONBOOT=yes", "ONBOOT=yes\necho hello"), 8, "expected KEY=VALUE, got 'echo hello'"),
    (("DEVICE=bond0", "DEVICE=bond0/x"), 1, 'device name "bond0/x": contains "/"'),
])
def test_broken_bond_file(tmp_path, change, line, message):
    text = SEED_BOND0.replace(*change)
    path = seed_dir(tmp_path, text)
    assert error_of(path) == f"{path / 'ifcfg-bond0'}:{line}: {message}"


def test_member_without_master_file(tmp_path):
    path = seed_dir(tmp_path, eth2="DEVICE=eth2\nMASTER=bond1\nSLAVE=yes\n")
    assert error_of(path) == f"{path / 'ifcfg-eth2'}:2: MASTER=bond1: no ifcfg file defines bond1"


def test_device_defined_twice(tmp_path):
    path = seed_dir(tmp_path, eth9="DEVICE=eth0\n")
    assert error_of(path) == f"{path / 'ifcfg-eth9'}:1: eth0 is already defined in {path / 'ifcfg-eth0'}"


def test_unreadable_files(tmp_path):
    assert error_of(tmp_path / "missing") == (
        f"{tmp_path / 'missing'}: cannot read directory: No such file or directory")
    path = seed_dir(tmp_path)
    (path / "ifcfg-eth5").mkdir()
    assert error_of(path) == f"{path / 'ifcfg-eth5'}: cannot read: Is a directory"
    os.rmdir(path / "ifcfg-eth5")
    (path / "ifcfg-eth6").write_bytes(b"DEVICE=eth6\nNAME=\xff\n")
    assert error_of(path) == (f"{path / 'ifcfg-eth6'}: not UTF-8 text (byte 0xff at "
                              "offset 17)")


@pytest.mark.parametrize("text,value", [
    ("plain", "plain"), ('"double quoted"', "double quoted"), ("'single $x'", "single $x"),
    ('"a \\"b\\" \\\\ c"', 'a "b" \\ c'), ("a\\ b", "a b"), ("", ""),
    ('"x"  # comment', "x"), ("mixed'q'\"d\"", "mixedqd"),
])
def test_shell_value(text, value):
    assert shell_value(text) == value


@pytest.mark.parametrize("text", ["a b", "'open", '"open', "x;y", "$(cmd)", "trailing\\"])
def test_shell_value_refuses(text):
    with pytest.raises(ValueError):
        shell_value(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
       st.text(max_size=120))
def test_arbitrary_text_only_raises_config_error(bond_text, member_text):
    load_quietly(bond_text, member_text)


def load_quietly(bond_text: str, member_text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "ifcfg-bond0").write_text(bond_text, encoding="utf-8")
        Path(tmp, "ifcfg-eth0").write_text("MASTER=bond0\nSLAVE=yes\n" + member_text,
                                           encoding="utf-8")
        try:
            configs = load_ifcfg(tmp)
            merge_configs(configs)
        except ConfigError:
            pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([
    "DEVICE=bond0", "IPADDR=10.0.0.1", "NETMASK=255.0.0.0", "PREFIX=33", "NETWORK=10.0.0.0",
    "BROADCAST=10.255.255.255", "GATEWAY=10.0.0.254", "BOOTPROTO=dhcp", "ONBOOT=no",
    'BONDING_OPTS="mode=1 miimon=100"', 'BONDING_OPTS="mode=4"', "HWADDR=zz",
    "BONDING_MASTER=yes", "IPADDR1=fe80::1", "NETMASK=255.255.0.255", "IPADDR=0.0.0.0",
    "PREFIX=8", 'BONDING_OPTS="arp_ip_target=+1.2.3.4 arp_interval=x"', "# comment", ""]),
    max_size=12))
def test_arbitrary_key_mixes_only_raise_config_error(lines):
    load_quietly("\n".join(lines), "")


# --- IPv6 (ifup-ipv6's variables) -------------------------------------------------

def test_ipv6_addresses_with_ipv6init(tmp_path):
    text = (SEED_BOND0 + "IPV6INIT=yes\nIPV6ADDR=2001:db8::199/64\n"
            "IPV6ADDR_SECONDARIES=\"2001:db8:1::5 fd00::1/48\"\nIPV6_DEFAULTGW=fe80::1%bond0\n")
    [config] = load_ifcfg(str(seed_dir(tmp_path, text)))
    assert config.addresses == ("192.168.100.199/24", "2001:db8::199/64", "2001:db8:1::5/64", "fd00::1/48")
    assert config.gateway is None and config.gateway6 == "fe80::1"   # link-local: no subnet warning
    assert config.warnings == (BOTH_ZERO,)


def test_ipv6_is_ignored_without_ipv6init_and_says_so(tmp_path):
    [config] = load_ifcfg(str(seed_dir(tmp_path, SEED_BOND0 + "IPV6ADDR=2001:db8::199/64\n")))
    assert config.addresses == ("192.168.100.199/24",)
    assert config.warnings[0] == (f"{tmp_path / 'ifcfg-bond0'}:8: bond0: Warning: IPV6ADDR ignored: "
                                  "IPV6INIT is not yes")


def test_gateway_and_ipv6_defaultgw_give_a_default_route_each(tmp_path):
    text = SEED_BOND0 + "GATEWAY=192.168.100.1\nIPV6INIT=yes\nIPV6_DEFAULTGW=2001:db8::1\n"
    [config] = load_ifcfg(str(seed_dir(tmp_path, text)))
    assert (config.gateway, config.gateway6) == ("192.168.100.1", "2001:db8::1")
    assert config.warnings[0] == (f"{tmp_path / 'ifcfg-bond0'}:10: bond0: Warning: IPV6_DEFAULTGW "
                                  "2001:db8::1 is not in any subnet of the bond's addresses")
    text = SEED_BOND0 + "GATEWAY=2001:db8::2\nIPV6INIT=yes\nIPV6_DEFAULTGW=2001:db8::1\n"
    with pytest.raises(ConfigError) as info:
        load_ifcfg(str(seed_dir(tmp_path, text)))
    assert "bond0: gateway 2001:db8::2 and gateway6 2001:db8::1: two IPv6 default gateways" in str(info.value)


@pytest.mark.parametrize("line,message", [
    ("IPV6ADDR=192.168.1.1/24", "IPV6ADDR=192.168.1.1/24: not an IPv6 address (IPv4 belongs in IPADDR)"),
    ("IPV6ADDR=2001:db8::1/129", "IPV6ADDR=2001:db8::1/129: prefix length must be 0 to 128"),
    ("IPV6ADDR=2001:db8::zz", "address 2001:db8::zz/64: not a valid address/prefix"),
    ("IPV6ADDR_SECONDARIES=\"2001:db8::1 2001:db8::1/64\"", "bond0: address 2001:db8::1/64 listed twice"),
    ("IPV6_DEFAULTGW=10.0.0.1", "IPV6_DEFAULTGW=10.0.0.1: not an IPv6 address"),
    ("IPV6INIT=maybe", "IPV6INIT=maybe: expected yes or no"),
])
def test_bad_ipv6_lines_name_file_and_line(tmp_path, line, message):
    path = seed_dir(tmp_path, SEED_BOND0 + ("IPV6INIT=yes\n" if "IPV6INIT" not in line else "") + line + "\n")
    err = error_of(path)
    assert str(tmp_path / "ifcfg-bond0") in err and message in err, err
