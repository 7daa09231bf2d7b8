"""How `softbond up` builds a bond's configuration from its command line
and config files (cli._configs_for_up): nothing here starts a bond."""
import argparse

import pytest

from softbond.faces import cli


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


def test_the_kernels_default_max_bonds_makes_no_extra_bond(tmp_path):
    """modprobe.conf with `options bonding ...` and no alias: the kernel's
    default max_bonds=1 would make an empty bond0; only the bonds the
    files name are brought up."""
    modprobe = tmp_path / "modprobe.conf"
    modprobe.write_text("options bonding mode=1 miimon=100\n")
    scripts = tmp_path / "network-scripts"
    scripts.mkdir()
    (scripts / "ifcfg-bond1").write_text("DEVICE=bond1\nBONDING_OPTS=\"miimon=100\"\nONBOOT=yes\n")
    (scripts / "ifcfg-eth0").write_text("DEVICE=eth0\nMASTER=bond1\nSLAVE=yes\n")
    found = configs("--config", str(modprobe), "--config", str(scripts))
    assert [(c.name, c.slaves) for c in found] == [("bond1", ("eth0",))]
    # Named on the command line, bond0 still takes `options bonding`.
    [bond0] = configs("bond0", "--config", str(modprobe), "--slaves", "eth1")
    assert (bond0.slaves, bond0.options.mode, bond0.options.miimon) == (("eth1",), 1, 100)
    with pytest.raises(cli.CliError, match=f"^up: no bonds found in {modprobe} "):
        configs("--config", str(modprobe))


def test_an_explicit_max_bonds_makes_its_bonds_with_a_notice(tmp_path):
    modprobe = tmp_path / "modprobe.conf"
    modprobe.write_text("alias bond0 bonding\noptions bonding mode=1 miimon=100 max_bonds=2\n")
    found = configs("--config", str(modprobe))
    assert [c.name for c in found] == ["bond0", "bond1"]
    assert found[0].warnings == ()
    assert found[1].warnings == (f"{modprobe}:2: bond1: Warning: created by max_bonds=2 "
                                 "(no alias or options line names it)",)
