"""What a new user reads: --version, every verb's --help (a description,
help on every argument, examples, the options with their values) and
`softbond options`. The CLI runs as a real process, as a user starts it."""
import argparse
import subprocess
import sys

import pytest

from softbond import __version__
from softbond.faces import cli
from softbond.config.registry import SPECS

VERBS = ("up", "down", "status", "enslave", "release", "set-active", "set", "options", "demo", "top", "web",
         "import", "doctor", "install-unit", "wait-members")


def softbond(*args):
    return subprocess.run([sys.executable, "-m", "softbond", *args], capture_output=True, text=True, timeout=60)


def test_version():
    proc = softbond("--version")
    assert (proc.returncode, proc.stdout) == (0, f"softbond {__version__}\n")


def test_the_top_help_lists_every_verb_with_examples():
    out = softbond("--help").stdout
    for verb in VERBS:
        assert f"\n    {verb}" in out, verb
    assert "examples:\n  softbond up bond0" in out


def _subparsers():
    parser = cli.build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_every_verb_has_a_description_and_every_argument_help():
    verbs = _subparsers()
    assert set(verbs) == set(VERBS)
    for verb, parser in verbs.items():
        assert parser.description, verb
        for action in parser._actions:
            assert action.help, (verb, action.dest)


@pytest.mark.parametrize("verb", ["up", "set"])
def test_up_and_set_help_list_the_options_with_their_values(verb):
    proc = softbond(verb, "--help")
    assert proc.returncode == 0
    for spec in SPECS:
        assert f"\n  {spec.name}: " in proc.stdout, spec.name
    assert "\n  xmit_hash_policy: layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac\n" in proc.stdout
    assert "examples:\n" in proc.stdout


def test_set_help_shows_both_forms_and_the_removal_syntax():
    out = softbond("set", "--help").stdout
    for example in ("softbond set bond0 miimon 50\n", "softbond set bond0 miimon=50\n",
                    "softbond set bond0 arp_ip_target -192.168.77.9\n"):
        assert example in out


def test_options_lists_the_registry():
    proc = softbond("options")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["OPTION", "DEFAULT", "LIVE", "VALUES"]
    assert [line.split()[0] for line in lines[1:]] == [spec.name for spec in SPECS]
    assert any(line.split()[:3] == ["lacp_rate", "slow", "yes"] and line.endswith("slow, fast") for line in lines)
    # every option but the module-level ones changes live (the mode rebuilds the runner)
    assert any(line.split()[:3] == ["mode", "balance-rr", "yes"] for line in lines)
    assert any(line.split()[:3] == ["max_bonds", "1", "no"] for line in lines)
    assert any(line.split()[:3] == ["datapath_workers", "1", "yes"] for line in lines)


def test_options_name_tells_everything_about_one():
    proc = softbond("options", "lacp_rate")
    assert proc.returncode == 0
    assert proc.stdout == ("name:     lacp_rate\n"
                           "meaning:  LACPDU rate asked of the 802.3ad partner\n"
                           "values:   slow, fast\n"
                           "default:  slow\n"
                           "modes:    802.3ad\n"
                           "live:     yes\n")
    assert "modes:    active-backup, balance-tlb, balance-alb\n" in softbond("options", "primary").stdout
    assert "live:     yes (the bond device is rebuilt: traffic pauses)\n" in softbond("options", "datapath").stdout
    assert "live:     yes (the mode runner is rebuilt: a few frames may be lost)\n" in softbond("options", "mode").stdout


def test_options_with_a_typo_suggests_the_name():
    proc = softbond("options", "miimom")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == "softbond: option miimom: unknown option (did you mean miimon?)\n"


@pytest.mark.parametrize("words, expected", [
    (["miimon", "50"], ("miimon", "50")),
    (["miimon=50"], ("miimon", "50")),
    (["arp_ip_target", "-192.168.77.9"], ("arp_ip_target", "-192.168.77.9")),
    (["arp_ip_target=-192.168.77.9"], ("arp_ip_target", "-192.168.77.9")),
    (["arp_ip_target", "+192.168.77.9"], ("arp_ip_target", "+192.168.77.9")),
    (["prio", "eth1:-5"], ("prio", "eth1:-5")),
])
def test_set_takes_option_value_and_option_equals_value(words, expected):
    args = cli.parse(["set", "bond0", *words])
    assert cli.set_words(args.bond, args.option, args.value) == expected


@pytest.mark.parametrize("words, message", [
    (["miimon"], "bond0: set miimon: no value (softbond set bond0 miimon VALUE)"),
    (["miimon=50", "60"], "bond0: set miimon=50 60: give OPTION VALUE or OPTION=VALUE, not both"),
])
def test_set_refuses_a_missing_or_doubled_value(words, message):
    args = cli.parse(["set", "bond0", *words])
    with pytest.raises(cli.CliError) as err:
        cli.set_words(args.bond, args.option, args.value)
    assert str(err.value) == message


def test_an_on_off_option_says_its_default_as_its_values_do():
    proc = softbond("options", "path_monitor")
    assert proc.returncode == 0
    assert "values:   off, on\n" in proc.stdout and "default:  off\n" in proc.stdout
