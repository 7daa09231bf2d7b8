"""modprobe.conf reader, with the seed tutorial's lines."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softbond.config.errors import ConfigError
from softbond.config.loader import load_config, merge_configs
from softbond.config.model import BondConfig
from tests.support.configfiles import load_modprobe
from softbond.config.options import build_options

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"


def write(tmp_path: Path, text: str, name: str = "modprobe.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load(tmp_path: Path, text: str) -> list[BondConfig]:
    return load_modprobe(str(write(tmp_path, text)))


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_modprobe(str(path))
    return str(info.value).replace(str(path), "F")


def options_of(*pairs):
    return build_options("bond0", [(n, v, None) for n, v in pairs])[0]


def test_seed_modprobe_conf():
    path = SEED / "modprobe.conf"
    assert path.read_text() == "alias bond0 bonding\noptions bond0 miimon=100 mode=1\n"
    assert load_modprobe(str(path)) == [BondConfig(
        name="bond0", slaves=(), options=options_of(("mode", "1"), ("miimon", "100")),
        addresses=(), hwaddr=None, gateway=None, onboot=True, source=str(path), warnings=())]


def test_seed_max_bonds_text_is_refused_at_the_misspelling():
    path = SEED / "modprobe-max_bonds.conf"
    assert "options bonding mod=blance-rr miimon=100 max_bonds=2" in path.read_text()
    with pytest.raises(ConfigError) as info:
        load_modprobe(str(path))
    assert str(info.value) == f"{path}:3: bond0: option mod: unknown option (did you mean mode?)"


def test_seed_max_bonds_corrected():
    path = SEED / "modprobe-max_bonds-fixed.conf"
    bond0, bond1 = merge_configs(load_config(str(path)))
    assert (bond0.name, bond0.options.mode, bond0.options.miimon, bond0.options.max_bonds,
            bond0.options.primary) == ("bond0", 1, 100, 2, "")
    assert (bond1.name, bond1.options.mode, bond1.options.miimon, bond1.options.primary) == (
        "bond1", 1, 100, "eth2")
    assert bond0.slaves == bond1.slaves == ()


def test_module_options_concatenate_and_later_values_win(tmp_path):
    configs = load(tmp_path, "options bonding miimon=100 mode=1\n"
                             "options bonding miimon=200\n"
                             "options bond0 updelay=400\n"
                             "alias bond0 bonding\n")
    [config] = configs
    assert (config.options.miimon, config.options.mode, config.options.updelay) == (
        200, 1, 400)


def test_bond_specific_options_win_over_module_options(tmp_path):
    [config] = load(tmp_path, "alias bond0 bonding\noptions bond0 miimon=50 mode=1\n"
                              "options bonding miimon=100\n")
    assert config.options.miimon == 50


def test_bonds_from_aliases_and_max_bonds(tmp_path):
    configs = load(tmp_path, "alias bond7 bonding\noptions bonding max_bonds=3 mode=1\n"
                             "alias bond1 bonding\n")
    assert [c.name for c in configs] == ["bond0", "bond1", "bond2", "bond7"]
    assert all(c.options.mode == 1 for c in configs)
    configs = load(tmp_path, "alias bond3 bonding\noptions bonding max_bonds=0\n"
                             "options bond3 mode=1\n")
    assert [c.name for c in configs] == ["bond3"]


def test_comments_continuations_quotes_and_other_directives(tmp_path):
    text = ("# bonding setup\n"
            "install foo /bin/true\n"
            "blacklist pcspkr\n"
            "options e1000e InterruptThrottleRate=1\n"
            "alias eth0 e1000e\n"
            "alias bond0 bonding\n"
            "options bond0 mode=active-backup \\\n"
            "    miimon=100 arp-ip-target=\"10.0.0.1,10.0.0.2\"\n")
    [config] = load(tmp_path, text)
    assert (config.options.mode, config.options.miimon, config.options.arp_ip_target) == (
        1, 100, ("10.0.0.1", "10.0.0.2"))


def test_no_bonding_lines_means_no_bonds(tmp_path):
    assert load(tmp_path, "# nothing\nalias eth0 e1000e\noptions e1000e debug=1\n") == []
    assert load(tmp_path, "") == []


def test_bond_without_mode_gets_the_kernel_default_with_a_warning(tmp_path):
    [config] = load(tmp_path, "alias bond0 bonding\noptions bonding miimon=100\n")
    assert config.options.mode == 0
    [merged] = merge_configs([config])
    assert merged.options.mode == 0
    assert "bond0: no mode was configured: using the kernel default, balance-rr (0)" in merged.warnings


@pytest.mark.parametrize("text,message", [
    ("alias bond0 bonding\noptions bond0 mode=1 miimon=x\n",
     "F:2: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)"),
    ("alias bond0 bonding\noptions bond0 mode=blance-rr\n",
     "F:2: bond0: option mode: invalid value (blance-rr): did you mean balance-rr? valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"),
    ("alias bond0 bonding\noptions bond0 mode=802.3ad primary=eth0\n",
     "F:2: bond0: option primary: mode dependency failed, not supported in mode 802.3ad(4)"),
    ("alias bond0 bonding\n\noptions bond0 mode=1 \\\n lacp_rate=fast\n",
     "F:3: bond0: option lacp_rate: mode dependency failed, not supported in mode "
     "active-backup(1)"),
    ("alias bond0 bonding\noptions bond0 mode=1 miimon\n",
     'F:2: "miimon" is not name=value'),
    ("alias bond0 bonding\noptions bond0 primary=\"eth1\n",
     'F:2: unterminated " quote'),
    ("alias bond0\n", "F:1: alias needs a name and a module"),
    ("options\n", "F:1: options needs a module name"),
    ("alias bond/0 bonding\n", 'F:1: bond name "bond/0": contains "/"'),
    ("alias averyveryverylongname bonding\n",
     'F:1: bond name "averyveryverylongname": too long (at most 15 characters)'),
    ("options bonding max_bonds=-1\n",
     "F:1: bonding: option max_bonds: allowed values 0 - 2147483647"),
    ("options bonding max_bonds=5000\n",
     "F:1: max_bonds=5000: softbond creates at most 1024 bonds"),
    ("alias bond0 bonding\noptions bond2 mode=1\n",
     "F:2: options bond2: bond2 is neither an alias of bonding nor created by max_bonds (1)"),
])
def test_broken_files(tmp_path, text, message):
    assert error_of(tmp_path, text) == message


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_modprobe(str(tmp_path / "nope.conf"))
    assert str(info.value) == f"{tmp_path / 'nope.conf'}: cannot read: No such file or directory"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_arbitrary_text_only_raises_config_error(text):
    parse_quietly(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "alias bond0 bonding", "alias bond1 bonding", "options bonding max_bonds=2",
    "options bonding miimon=100", "options bond0 mode=1", "options bond1 mode=4",
    "options bond0 lacp_rate=fast", "options bonding mod=blance-rr", "options bond5 mode=1",
    "options bonding arp_interval=100 arp_ip_target=10.0.0.1", "options bond0 \\",
    "# comment", "", 'options bond0 primary="eth1', "options bonding max_bonds=99999999"]),
    max_size=10))
def test_arbitrary_line_mixes_only_raise_config_error(lines):
    parse_quietly("\n".join(lines))


def parse_quietly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "modprobe.conf")
        path.write_text(text, encoding="utf-8")
        try:
            merge_configs(load_modprobe(str(path)))
        except ConfigError:
            pass
