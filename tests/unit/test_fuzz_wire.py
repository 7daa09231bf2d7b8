"""Issue 7, short CI run: the wire parsers' fuzz harnesses (fuzz/harnesses.py)
fed by hypothesis.  The long coverage-guided run is `make fuzz`."""


from hypothesis import given

from fuzz.harnesses import HARNESSES
from fuzz.strategies import ci_settings, inputs, run_many


def test_every_parser_has_a_harness():
    assert set(HARNESSES) == {
        "ethernet", "arp", "ndisc", "igmp", "vnet", "xmit_hash", "lacpdu", "netlink",
        "lacp_system", "ifcfg", "modprobe", "toml", "loader", "control", "web", "proc"}


def test_wire_seeds_pass():
    for name in ("ethernet", "arp", "ndisc", "igmp", "vnet", "xmit_hash", "lacpdu", "netlink"):
        for seed in HARNESSES[name].seeds():
            HARNESSES[name].func(seed)


@ci_settings()
@given(inputs("ethernet"))
def test_fuzz_ethernet(data):
    run_many("ethernet", data)


@ci_settings()
@given(inputs("arp"))
def test_fuzz_arp(data):
    run_many("arp", data)


@ci_settings()
@given(inputs("ndisc"))
def test_fuzz_ndisc(data):
    run_many("ndisc", data)


@ci_settings()
@given(inputs("igmp"))
def test_fuzz_igmp(data):
    run_many("igmp", data)


@ci_settings()
@given(inputs("vnet"))
def test_fuzz_vnet(data):
    run_many("vnet", data)


@ci_settings()
@given(inputs("xmit_hash"))
def test_fuzz_xmit_hash(data):
    run_many("xmit_hash", data)


@ci_settings()
@given(inputs("lacpdu"))
def test_fuzz_lacpdu(data):
    run_many("lacpdu", data)


@ci_settings()
@given(inputs("netlink"))
def test_fuzz_netlink(data):
    run_many("netlink", data)
