"""Options a source gives every bond (modprobe's `options bonding`, TOML's
[bonding]) are parsed once per source, not once per bond, and merge_configs()
does not parse a source's options again -- with the same results, warnings
and errors as parsing every bond's whole list would give."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softbond.config import options, values
from softbond.config.errors import ConfigError
from softbond.config.loader import merge_configs
from softbond.config.model import build_bond_config
from softbond.config.modprobe import parse_modprobe
from softbond.config.options import SharedPairs, build_options, parse_pairs
from softbond.config.toml_config import parse_toml


@pytest.fixture
def parses(monkeypatch):
    """How many values were parsed, per option name."""
    counts: dict[str, int] = {}

    def counting(real):
        def parse(spec, raw, *args, **kwargs):
            counts[spec.name] = counts.get(spec.name, 0) + 1
            return real(spec, raw, *args, **kwargs)
        return parse

    monkeypatch.setattr(options, "parse_scalar", counting(values.parse_scalar))
    monkeypatch.setattr(options, "parse_targets", counting(values.parse_targets))
    return counts


def test_modprobe_module_options_are_parsed_once(parses):
    conf = ("options bonding max_bonds=1024 miimon=100 mode=1 "
            "arp_ip_target=10.0.0.1,10.0.0.1\n"
            "options bond7 miimon=200\n")
    configs = parse_modprobe(conf, "F")
    assert len(configs) == 1024
    # max_bonds once to count the bonds, once with the other module options.
    assert parses == {"max_bonds": 2, "miimon": 2, "mode": 1, "arp_ip_target": 1}
    merged = merge_configs(configs)
    assert parses == {"max_bonds": 2, "miimon": 2, "mode": 1, "arp_ip_target": 1}
    assert [c.options.miimon for c in merged[6:9]] == [100, 200, 100]
    assert all(c.options.mode == 1 and c.options.arp_ip_target == ("10.0.0.1",)
               for c in merged)
    # Warnings from the shared options are each bond's own.
    # (after the notice that an explicit max_bonds made a bond nothing else names)
    assert merged[0].warnings == (
        "F:1: bond0: Warning: created by max_bonds=1024 (no alias or options line names it)",
        "bond0: Warning: duplicate address 10.0.0.1 in arp_ip_target, skipping")
    assert merged[1023].warnings[1:] == (
        "bond1023: Warning: duplicate address 10.0.0.1 in arp_ip_target, skipping",)
    assert merged[7].warnings == ("bond7: Warning: duplicate address 10.0.0.1 in arp_ip_target, skipping",)


def test_toml_bonding_table_is_parsed_once(parses):
    text = ('max_bonds = 4\n[bonding]\nmode = "active-backup"\nmiimon = 100\n'
            '[bond9]\nslaves = ["eth0"]\nmiimon = 300\n')
    configs = merge_configs(parse_toml(text, "F"))
    assert [c.name for c in configs] == ["bond0", "bond1", "bond2", "bond3", "bond9"]
    # max_bonds once to count the bonds, once with the rest of [bonding].
    assert parses == {"max_bonds": 2, "mode": 1, "miimon": 2}
    assert [c.options.miimon for c in configs] == [100] * 4 + [300]


def test_a_later_source_goes_on_from_the_first_ones_parse(parses):
    ifcfg = build_bond_config("bond0", option_pairs=[("arp_ip_target", "+10.0.0.1", "i:1")],
                              final=False, source="i")
    modprobe = build_bond_config("bond0", option_pairs=[("mode", "1", "m:1"),
                                                        ("arp_ip_target", "+10.0.0.2", "m:1")],
                                 final=False, source="m")
    assert parses == {"arp_ip_target": 2, "mode": 1}
    (merged,) = merge_configs([ifcfg, modprobe])
    assert parses == {"arp_ip_target": 3, "mode": 2}  # the second source only
    assert merged.options.arp_ip_target == ("10.0.0.1", "10.0.0.2")
    assert merged.option_pairs == ifcfg.option_pairs + modprobe.option_pairs
    assert merged.options == build_options("bond0", merged.option_pairs)[0]


def test_a_config_whose_pairs_were_replaced_is_parsed_again():
    config = build_bond_config("bond0", option_pairs=[("mode", "1", None)], final=False)
    changed = replace(config, option_pairs=(("mode", "4", None),))
    (merged,) = merge_configs([changed])
    assert merged.options.mode == 4


def _error(fn, *args) -> str:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    return str(info.value)


def test_errors_in_shared_options_name_the_first_bond_and_their_line():
    assert _error(parse_modprobe, "options bonding max_bonds=3 miimon=x\n", "F") == (
        "F:1: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)")
    assert _error(parse_modprobe, "alias bondA bonding\noptions bonding max_bonds=0 "
                  "arp_ip_target=-10.0.0.1\n", "F") == (
        "F:2: bondA: option arp_ip_target: unable to remove nonexistent ARP target 10.0.0.1")
    # A bond-level problem found first still comes first.
    assert _error(parse_modprobe, "options bonding miimon=x\noptions bond5 mode=1\n", "F") == (
        "F:2: options bond5: bond5 is neither an alias of bonding nor created by "
        "max_bonds (1)")
    assert _error(parse_toml, "max_bonds = 2\n[bonding]\nmiimon = \"x\"\n", "F") == (
        "F:3: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)")
    # The first bond's own fields are checked before the options it shares.
    assert _error(parse_toml, '[bonding]\nmiimon = "x"\n[bond0]\nslaves = ["bond0"]\n',
                  "F") == "F:4: bond0: a bond cannot be its own member"
    assert _error(parse_toml, '[bonding]\nmiimon = "x"\n[bond0]\nslaves = ["eth0"]\n',
                  "F") == "F:2: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)"


def test_merge_checks_modes_on_the_whole_set():
    modprobe = parse_modprobe("options bonding max_bonds=2 lacp_rate=fast\n"
                              "options bond1 mode=4\n", "F")
    assert _error(merge_configs, modprobe) == (
        "F:1: bond0: option lacp_rate: mode dependency failed, not supported in mode "
        "balance-rr(0)")
    assert merge_configs(modprobe[1:])[0].options.lacp_rate == 1


# -- the same as parsing each bond's whole list ----------------------------------

_VALUES = {
    "mode": ["1", "4", "balance-tlb", "9", 2, True],
    "miimon": ["100", "0", "x", 50, -1, 1.0],
    "updelay": ["150", "0", "300"],
    "arp_interval": ["100", "0"],
    "arp_ip_target": ["10.0.0.1", "+10.0.0.2", "-10.0.0.1", "10.0.0.1,10.0.0.1",
                      "+10.0.0.1 +10.0.0.3", "0.0.0.0", ["10.0.0.4", "10.0.0.4"]],
    "lacp_rate": ["fast", "slow", "2"],
    "primary": ["eth0", "bad/name"],
    "xmit_hash_policy": ["layer3+4", "encap3+4"],
    "num_grat_arp": ["3"],
    "num_unsol_na": ["5"],
    "nosuch": ["1"],
}
_PAIRS = st.lists(st.sampled_from(sorted(_VALUES)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(_VALUES[name]),
                           st.sampled_from([None, "F:1", "F:2"]))), max_size=6)


def _outcome(fn):
    try:
        config = fn()
    except ConfigError as exc:
        return "error", str(exc)
    return config.options, config.warnings, config.option_pairs


@settings(max_examples=300, deadline=None)
@given(_PAIRS, st.lists(_PAIRS, min_size=1, max_size=3), st.lists(_PAIRS, max_size=2),
       st.booleans())
def test_shared_then_own_is_the_whole_list(shared, own, later, final):
    """For every bond, SharedPairs + own pairs == the whole list, parsed alone;
    and merging sources == validating all their pairs at once."""
    holder = SharedPairs(shared)
    for i, mine in enumerate(own):
        name = f"bond{i}"
        got = _outcome(lambda: build_bond_config(name, option_pairs=mine, shared=holder,
                                                 final=final))
        want = _outcome(lambda: build_bond_config(name, option_pairs=shared + mine,
                                                  final=final))
        assert got == want
        if got[0] == "error":
            return
    first = build_bond_config("bond0", option_pairs=own[0], shared=holder, final=False)
    try:
        sources = [first] + [build_bond_config("bond0", option_pairs=p, final=False)
                             for p in later]
    except ConfigError:
        return  # a source the reader would have refused on its own
    got = _outcome(lambda: merge_configs(sources)[0])
    want = _outcome(lambda: build_bond_config(
        "bond0", option_pairs=[p for c in sources for p in c.option_pairs]))
    assert got == want


def test_parse_pairs_leaves_its_start_alone():
    start = parse_pairs("bond0", [("arp_ip_target", "10.0.0.1", None), ("mode", "1", None)])
    before = (dict(start.values), dict(start.given), start.warnings)
    parse_pairs("bond0", [("arp_ip_target", "-10.0.0.1", None), ("mode", "2", None)], start)
    options.finish_options("bond0", start)
    assert (start.values, start.given, start.warnings) == before
