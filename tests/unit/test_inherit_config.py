"""Where `inherit` comes from: up --inherit, inherit=VALUE among the
options, inherit = true in TOML, BONDING_OPTS in an ifcfg file. Nothing
here starts a bond (tests/integration/test_inherit.py does)."""
import argparse

import pytest

from softbond.faces import cli
from softbond.config.errors import ConfigError
from softbond.config.ifcfg import load_ifcfg
from softbond.config.loader import merge_configs
from tests.support.configfiles import load_toml
from softbond.lab.demo import IFCFG_ETH


def configs(*argv):
    parser = argparse.ArgumentParser(prog="softbond up")
    cli._up_arguments(parser)
    return cli._configs_for_up(parser.parse_intermixed_args(list(argv)))


def test_the_flag_and_the_option():
    assert configs("bond0", "--slaves", "eth0,eth1", "mode=1")[0].options.inherit == 0
    assert configs("bond0", "--slaves", "eth0,eth1", "--inherit")[0].options.inherit == 1
    assert configs("bond0", "--slaves", "eth0", "inherit=yes")[0].options.inherit == 1
    assert configs("bond0", "--slaves", "eth0", "inherit=off")[0].options.inherit == 0


def test_the_flag_needs_a_bond_name(tmp_path):
    path = tmp_path / "bond.toml"
    path.write_text('[bond0]\nmode = 1\nslaves = ["eth0"]\n')
    with pytest.raises(cli.CliError, match="--inherit, .*need a bond name"):
        configs("--config", str(path), "--inherit")


def test_toml(tmp_path):
    path = tmp_path / "bonds.toml"
    path.write_text('[bond0]\nslaves = ["eth0", "eth1"]\ninherit = true\n[bond1]\nslaves = ["eth2"]\n')
    bond0, bond1 = merge_configs(load_toml(str(path)))
    assert (bond0.options.inherit, bond1.options.inherit) == (1, 0)
    path.write_text('[bond0]\nslaves = ["eth0"]\n\ninherit = "maybe"\n')
    with pytest.raises(ConfigError) as err:
        merge_configs(load_toml(str(path)))
    assert str(err.value) == f"{path}:4: bond0: option inherit: invalid value (maybe): valid values: off, on"


def test_ifcfg_bonding_opts(tmp_path):
    (tmp_path / "ifcfg-bond0").write_text('DEVICE=bond0\nBONDING_OPTS="mode=1 miimon=100 inherit=yes"\n'
                                          'ONBOOT=yes\n')
    for name in ("eth0", "eth1"):
        (tmp_path / f"ifcfg-{name}").write_text(IFCFG_ETH.format(name=name))
    [config] = load_ifcfg(str(tmp_path))
    assert config.options.inherit == 1
    assert config.slaves == ("eth0", "eth1")
