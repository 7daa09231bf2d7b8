"""softbond's TOML format, format detection and merging of sources."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softbond.config.errors import ConfigError
from softbond.config.loader import load_config, merge_configs
from softbond.config.model import BondConfig, build_bond_config
from softbond.config.options import build_options
from tests.support.configfiles import load_toml

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"


def write(tmp_path: Path, text: str, name: str = "softbond.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        merge_configs(load_toml(str(path)))
    return str(info.value).replace(str(path), "F")


def test_sample_file():
    path = SEED / "softbond.toml"
    [config] = merge_configs(load_config(str(path)))
    options, _ = build_options("bond0", [("miimon", 100, None), ("mode", "active-backup", None),
                                         ("primary", "eth1", None)])
    assert config == BondConfig(
        name="bond0", slaves=("eth0", "eth1"), options=options,
        addresses=("192.168.100.199/24",), hwaddr=None, gateway=None, onboot=True,
        source=str(path), warnings=())


def test_all_value_types_and_fields(tmp_path):
    text = """
max_bonds = 2

[bonding]
miimon = "100"
use_carrier = true

[bond0]
mode = 1
updelay = 200
arp_ip_target = ["10.0.0.1", "10.0.0.2"]
all_slaves_active = true
num_unsol_na = 3
slaves = "eth0, eth1"
addresses = ["10.0.0.5/24", "2001:db8::5/64"]
hwaddr = "02:00:00:00:00:05"
mtu = 9000
gateway = "10.0.0.254"
onboot = false
datapath = "python"

["bond1"]
mode = "active-backup"
slaves = ["eth2"]
"""
    bond0, bond1 = merge_configs(load_config(str(write(tmp_path, text))))
    o = bond0.options
    assert (o.mode, o.miimon, o.updelay, o.use_carrier, o.arp_ip_target, o.all_slaves_active,
            o.num_grat_arp, o.max_bonds, o.datapath) == (
        1, 100, 200, 1, ("10.0.0.1", "10.0.0.2"), 1, 3, 2, "python")
    assert (bond0.slaves, bond0.addresses, bond0.hwaddr, bond0.mtu, bond0.gateway, bond0.onboot) == (
        ("eth0", "eth1"), ("10.0.0.5/24", "2001:db8::5/64"), "02:00:00:00:00:05", 9000,
        "10.0.0.254", False)
    assert bond1.mtu is None
    assert (bond1.name, bond1.slaves, bond1.options.miimon, bond1.onboot) == (
        "bond1", ("eth2",), 100, True)


def test_max_bonds_adds_bonds_without_tables(tmp_path):
    text = "max_bonds = 2\n[bonding]\nmode = 1\nmiimon = 100\n[bond5]\n"
    assert [c.name for c in merge_configs(load_toml(str(write(tmp_path, text))))] == [
        "bond0", "bond1", "bond5"]
    assert load_toml(str(write(tmp_path, "# empty\n"))) == []


@pytest.mark.parametrize("text,message", [
    ("[bond0]\nmode = 1\nmiimon = \"abc\"\n", "F:3: bond0: option miimon: invalid value (abc): valid values: 0-2147483647 (off, maxval)"),
    ("[bond0]\nmode = 1\nmiimon = -5\n", "F:3: bond0: option miimon: allowed values 0 - "
     "2147483647"),
    ("[bond0]\nmode = 1\nmiimon = 1.5\n", "F:3: bond0: option miimon: invalid value (1.5): valid values: 0-2147483647 (off, maxval)"),
    ("[bond0]\nmode = 1\nmiimon = true\n", "F:3: bond0: option miimon: invalid value (true): valid values: 0-2147483647 (off, maxval)"),
    ("[bond0]\nmode = 1\n\n# x\n  lacp_rate = \"fast\"\n",
     "F:5: bond0: option lacp_rate: mode dependency failed, not supported in mode "
     "active-backup(1)"),
    ("[bond0]\nmode = 1\nmod = 1\n", "F:3: bond0: option mod: unknown option (did you mean mode?)"),
    ("[bond0]\nmode = 7\n", "F:2: bond0: option mode: invalid value (7): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"),
    ("[bond1]\nmode=1\n[bond0]\nmode = 1\nslaves = [\"eth0\", \"eth0\"]\n",
     'F:5: bond0: member "eth0" listed twice'),
    ("[bond0]\nmode = 1\nslaves = [\"eth0\", 3]\n",
     "F:3: bond0: slaves must be a list of interface names"),
    ("[bond0]\nmode = 1\naddress = \"10.0.0.1\"\n",
     "F:3: bond0: address 10.0.0.1: expected address/prefix, e.g. 192.168.100.199/24"),
    ("[bond0]\nmode = 1\naddresses = [\"10.0.0.1/33\"]\n",
     "F:3: bond0: address 10.0.0.1/33: not a valid address/prefix"),
    ("[bond0]\nmode = 1\naddress = \"10.0.0.1/8\"\naddresses = []\n",
     "F:4: bond0: give address or addresses, not both"),
    ("[bond0]\nmode = 1\nhwaddr = \"ff:ff:ff:ff:ff:ff\"\n",
     "F:3: bond0: hwaddr ff:ff:ff:ff:ff:ff: not a unicast MAC address"),
    ("[bond0]\nmode = 1\ngateway = 5\n", "F:3: bond0: gateway must be a string"),
    ("[bond0]\nmode = 1\nmtu = 67\n", "F:3: bond0: mtu 67: out of range (68-65535)"),
    ("[bond0]\nmode = 1\nmtu = true\n", "F:3: bond0: mtu true: not a number of bytes"),
    ("[bond0]\nmode = 1\nmtu = 1500.5\n", "F:3: bond0: mtu 1500.5: not a number of bytes"),
    ("[bond0]\nmode = 1\nonboot = \"yes\"\n", "F:3: bond0: onboot must be true or false"),
    ("[bonding]\nslaves = [\"eth0\"]\n", "F:2: [bonding] holds options for every bond; "
     "slaves belongs in a bond's own table"),
    ("[bonding]\nmiimom = 100\n", "F:2: bonding: option miimom: unknown option (did you mean miimon?)"),
    ("bonding = 3\n", "F:1: bonding must be a table of options"),
    ("miimon = 100\n", "F:1: unknown top-level key 'miimon' (options go in [bonding] or in a "
     "bond's table)"),
    ("max_bonds = 2000\n", "F:1: max_bonds=2000: softbond creates at most 1024 bonds"),
    ("[bond0\nmode = 1\n", "F:1: invalid TOML: Expected ']' at the end of a table declaration"),
    ("[bond0]\nmode = 1\nmode = 2\n", "F:3: invalid TOML: Cannot overwrite a value"),
    ('["bond/0"]\nmode = 1\n', 'F:1: bond name "bond/0": contains "/"'),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "F: invalid TOML: nested too deeply"),
])
def test_broken_files(tmp_path, text, message):
    assert error_of(tmp_path, text) == message


def test_dotted_and_inline_tables_find_their_lines(tmp_path):
    assert error_of(tmp_path, "bond0.mode = 1\nbond0.miimon = \"x\"\n") == (
        "F:2: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)")
    assert error_of(tmp_path, "bond0 = { mode = 1, miimon = \"x\" }\n") == (
        "F:1: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)")


# --- loader: format detection and merging ---------------------------------------

def test_deeply_nested_text_is_not_mistaken_for_toml(tmp_path):
    path = write(tmp_path, "a = " + "[" * 5000 + "\n", name="deep.conf")
    assert load_config(str(path)) == []  # read as modprobe.conf: no bonding lines


def test_detects_toml_without_the_suffix(tmp_path):
    path = write(tmp_path, "[bond0]\nmode = 1\nmiimon = 100\n", name="bonds.conf")
    [config] = load_config(str(path))
    assert (config.name, config.options.miimon) == ("bond0", 100)
    path = write(tmp_path, "alias bond0 bonding\noptions bond0 mode=1\n", name="b.conf")
    assert load_config(str(path))[0].options.mode == 1
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "missing.conf"))
    assert str(info.value) == (f"{tmp_path / 'missing.conf'}: cannot read: No such file or "
                               "directory")


def test_merge_later_options_win_and_fields_come_from_whoever_has_them(tmp_path):
    first = build_bond_config("bond0", slaves=["eth0", "eth1"], addresses=["10.0.0.1/24"],
                              option_pairs=[("mode", "1", "a:1"), ("miimon", "100", "a:2")],
                              source="a", final=False)
    second = build_bond_config("bond0", option_pairs=[("miimon", "200", "b:1")],
                               gateway="10.0.0.254", source="b", final=False)
    other = build_bond_config("bond1", option_pairs=[("mode", "1", None)], source="c",
                              onboot=False)
    merged = merge_configs([first, other, second])
    assert [c.name for c in merged] == ["bond0", "bond1"]
    bond0 = merged[0]
    assert (bond0.options.mode, bond0.options.miimon, bond0.slaves, bond0.addresses,
            bond0.gateway, bond0.source, bond0.onboot) == (
        1, 200, ("eth0", "eth1"), ("10.0.0.1/24",), "10.0.0.254", "a, b", True)
    assert merged[1].onboot is False


def test_merge_checks_dependencies_against_the_merged_mode(tmp_path):
    ifcfg = build_bond_config("bond0", option_pairs=[("primary", "eth1", "ifcfg:8")],
                              slaves=["eth0", "eth1"], final=False)
    modprobe = build_bond_config("bond0", option_pairs=[("mode", "1", "modprobe:2")],
                                 final=False)
    [config] = merge_configs([modprobe, ifcfg])
    assert (config.options.mode, config.options.primary) == (1, "eth1")
    lacp = build_bond_config("bond0", option_pairs=[("lacp_rate", "fast", "ifcfg:8")],
                             final=False)
    with pytest.raises(ConfigError) as info:
        merge_configs([modprobe, lacp])
    assert str(info.value) == ("ifcfg:8: bond0: option lacp_rate: mode dependency failed, "
                               "not supported in mode active-backup(1)")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_arbitrary_text_only_raises_config_error(text):
    parse_quietly(text)


_VALUES = st.recursive(
    st.one_of(st.integers(), st.booleans(), st.text(max_size=20),
              st.floats(allow_nan=False), st.sampled_from(["1", "fast", "eth0", "10.0.0.1/8",
                                                           "+10.0.0.1", "02:00:00:00:00:01"])),
    lambda inner: st.lists(inner, max_size=3), max_leaves=5)
_KEYS = st.sampled_from(["mode", "miimon", "primary", "slaves", "address", "addresses",
                         "hwaddr", "gateway", "onboot", "arp_ip_target", "lacp_rate", "foo",
                         "max_bonds", "datapath", "ad_actor_system", "use_carrier"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["bond0", "bonding", "max_bonds", "bond 1", "x"]),
                       st.one_of(st.dictionaries(_KEYS, _VALUES, max_size=5), _VALUES),
                       max_size=3))
def test_arbitrary_toml_documents_only_raise_config_error(document):
    parse_quietly(_dump(document))


def _dump(document: dict) -> str:
    """A tiny TOML writer, enough for the generated documents."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
        return "[" + ", ".join(value(x) for x in v) + "]"
    top = [f'"{k}" = {value(v)}' for k, v in document.items() if not isinstance(v, dict)]
    tables = [f'["{k}"]\n' + "\n".join(f"{kk} = {value(vv)}" for kk, vv in v.items())
              for k, v in document.items() if isinstance(v, dict)]
    return "\n".join(top + tables) + "\n"


def parse_quietly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "softbond.toml")
        path.write_text(text, encoding="utf-8")
        try:
            merge_configs(load_config(str(path)))
        except ConfigError:
            pass


def test_prio_as_a_table_or_as_iface_prio_items(tmp_path):
    base = '[bond0]\nmode = "active-backup"\nslaves = ["eth0", "eth1"]\n'
    table = load_toml(str(write(tmp_path, base + "prio = { eth1 = 10, eth0 = -3 }\n")))[0]
    assert table.options.prio == (("eth1", 10), ("eth0", -3))
    items = load_toml(str(write(tmp_path, base + 'prio = ["eth1:10", "eth0:-3"]\n')))[0]
    assert items.options.prio == table.options.prio
    path = write(tmp_path, base + "prio = { eth1 = true }\n")
    with pytest.raises(ConfigError) as info:
        load_toml(str(path))
    assert str(info.value) == f"{path}:4: bond0: option prio: invalid value (eth1:True): the prio is an integer"


def test_gateway6_beside_gateway(tmp_path):
    base = '[bond0]\nmode = "active-backup"\nslaves = ["eth0"]\naddress = "192.168.1.2/24"\n'
    [config] = load_toml(str(write(tmp_path, base + 'gateway = "192.168.1.1"\ngateway6 = "fe80::1"\n')))
    assert (config.gateway, config.gateway6) == ("192.168.1.1", "fe80::1")
    assert error_of(tmp_path, base + 'gateway6 = "192.168.1.1"\n') == \
        "F:5: bond0: gateway6 192.168.1.1: not an IPv6 address"
    assert error_of(tmp_path, base + 'gateway = "fe80::2"\ngateway6 = "fe80::1"\n') == \
        "F:1: bond0: gateway fe80::2 and gateway6 fe80::1: two IPv6 default gateways"
