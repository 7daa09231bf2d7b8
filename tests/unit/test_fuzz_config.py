"""Issue 7, short CI run: the configuration readers' fuzz harnesses
(fuzz/harnesses.py) fed by hypothesis -- only ConfigError, and its message
starts with the file and names the line whenever it is about one -- plus
the errors the fuzzer found, pinned."""

import time

import pytest
from hypothesis import given

from fuzz import harnesses
from fuzz.harnesses import HARNESSES, Violation, check_config_error
from fuzz.strategies import ci_settings, inputs, run_many
from softbond.config.errors import ConfigError  # noqa: E402
from softbond.config.ifcfg import load_ifcfg  # noqa: E402
from softbond.config.modprobe import parse_modprobe  # noqa: E402
from softbond.config.toml_config import parse_toml  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    harnesses.cleanup()


def test_config_seeds_pass():
    for name in ("ifcfg", "modprobe", "toml", "loader"):
        for seed in HARNESSES[name].seeds():
            HARNESSES[name].func(seed)


def test_the_oracle_wants_a_line_number():
    files = {"/x/f.conf": b"alias bond0 bonding\n\noptions bond0 mode=9\n"}
    check_config_error(ConfigError("/x/f.conf:3: bond0: option mode: invalid value (9): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"), files)
    check_config_error(ConfigError("/x/f.conf: not UTF-8 text (byte 0xff at offset 3)"), files)
    for bad in ("/x/f.conf: bond0: option mode: invalid value (9): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb",  # no line
                "/x/f.conf:2: bond0: option mode: invalid value (9): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb",  # an empty line
                "/x/f.conf:4: bond0: option mode: invalid value (9): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb",  # past the end
                "bond0: option mode: invalid value (9): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"):  # no file
        with pytest.raises(Violation):
            check_config_error(ConfigError(bad), files)


def error(fn, *args) -> str:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize("text, message", [
    # A dotted or quoted table header: the key was found by no line scan.
    ("[bond0]\nmode = 1\n[bond0.x]\ny = 1\n", "F:3: bond0: option x: unknown option (softbond options lists them)"),
    ('[bond0]\nmode = 1\n\n[ "bond1" . x ]\n', "F:4: bond1: option x: unknown option (softbond options lists them)"),
    ('"bond0".miimon = "x"\n', "F:1: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)"),
    ("[[bond0]]\nmode = 1\n", "F:1: unknown top-level key 'bond0' (options go in [bonding] "
                              "or in a bond's table)"),
    ('[bond0]\nmode = 1\n"mi\\u0069mon" = "x"\n', "F:3: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)"),
    # tomllib says "at end of document": name the last line with text.
    ("a = [1,\n2,\n\n", "F:2: invalid TOML: Invalid value (at end of document)"),
])
def test_toml_errors_found_by_fuzzing_name_their_line(text, message):
    assert error(parse_toml, text, "F") == message


def test_ifcfg_errors_found_by_fuzzing_name_their_line(tmp_path):
    bond = tmp_path / "ifcfg-bond0"
    bond.write_text("DEVICE=bond0\nBONDING_OPTS=mode=1\nMASTER=bond0\nSLAVE=yes\n")
    assert error(load_ifcfg, str(tmp_path)) == f"{bond}:3: bond0: a bond cannot be its own member"
    bond.write_text("DEVICE=bond0\nBONDING_OPTS=mode=1\nIPADDR=10.0.0.1\nPREFIX=24\n"
                    "IPADDR1=10.0.0.1\nNETMASK1=255.255.255.0\n")
    assert error(load_ifcfg, str(tmp_path)) == f"{bond}:5: bond0: address 10.0.0.1/24 listed twice"


def _best_of_3(fn) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_max_bonds_does_not_multiply_option_parsing():
    # 2 KB of target edits times 1024 bonds took 1.5 s before module-wide
    # option values were parsed once for all bonds (options.SharedPairs).
    edits = ",".join(["+10.0.0.1", "-10.0.0.1"] * 100)
    conf = f"options bonding max_bonds=1024 arp_ip_target={edits}\n"
    assert len(parse_modprobe(conf, "F")) == 1024
    assert _best_of_3(lambda: parse_modprobe(conf, "F")) < 0.5
    toml = f'max_bonds = 1024\n[bonding]\narp_ip_target = {str(edits.split(","))}\n'
    assert len(parse_toml(toml.replace("'", '"'), "F")) == 1024
    assert _best_of_3(lambda: parse_toml(toml.replace("'", '"'), "F")) < 0.5


def test_cached_option_values_keep_their_types():
    assert error(parse_toml, "[bond0]\nmode = 1\nmiimon = 1\n[bond1]\nmode = 1\nmiimon = true\n",
                 "F") == "F:6: bond1: option miimon: invalid value (true): valid values: 0-2147483647 (off, maxval)"
    assert error(parse_toml, "[bond0]\nmode = 1\nmiimon = 1.0\n", "F") == (
        "F:3: bond0: option miimon: invalid value (1.0): valid values: 0-2147483647 (off, maxval)")


@ci_settings()
@given(inputs("ifcfg"))
def test_fuzz_ifcfg(data):
    run_many("ifcfg", data)


@ci_settings()
@given(inputs("modprobe"))
def test_fuzz_modprobe(data):
    run_many("modprobe", data)


@ci_settings()
@given(inputs("toml"))
def test_fuzz_toml(data):
    run_many("toml", data)


@ci_settings()
@given(inputs("loader"))
def test_fuzz_loader(data):
    run_many("loader", data)
