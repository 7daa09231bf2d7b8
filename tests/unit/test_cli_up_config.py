"""How `softbond up` builds a bond's configuration from its command line
and config files (cli._configs_for_up): nothing here starts a bond."""
import argparse

import pytest

from softbond import cli


def configs(*argv):
    parser = argparse.ArgumentParser(prog="softbond up")
    cli._up_arguments(parser)
    return cli._configs_for_up(parser.parse_intermixed_args(list(argv)))


def test_mtu_from_the_command_line_and_over_the_file(tmp_path):
    path = tmp_path / "bond.toml"
    path.write_text('[bond0]\nmode = 1\nslaves = ["eth0"]\nmtu = 4000\n')
    assert configs("bond0", "--slaves", "eth0", "mode=1", "--mtu", "9000")[0].mtu == 9000
    assert configs("bond0", "--slaves", "eth0", "mode=1")[0].mtu is None
    assert configs("bond0", "--config", str(path))[0].mtu == 4000
    assert configs("bond0", "--config", str(path), "--mtu", "1500")[0].mtu == 1500


@pytest.mark.parametrize("value, message", [
    ("10", "bond0: mtu 10: out of range (68-65535)"),
    ("65536", "bond0: mtu 65536: out of range (68-65535)"),
    ("jumbo", "bond0: mtu jumbo: not a number of bytes"),
])
def test_a_bad_mtu_names_the_bond_and_the_value(value, message):
    with pytest.raises(cli.ConfigError) as err:
        configs("bond0", "--slaves", "eth0", "mode=1", "--mtu", value)
    assert str(err.value) == message


def test_mtu_without_a_bond_name_is_refused(tmp_path):
    path = tmp_path / "bond.toml"
    path.write_text('[bond0]\nmode = 1\nslaves = ["eth0"]\n')
    with pytest.raises(cli.CliError, match="--mtu .*need a bond name"):
        configs("--config", str(path), "--mtu", "9000")
