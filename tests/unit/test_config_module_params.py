"""`softbond up bond0 OPT=VAL` takes options as module parameters: where the
kernel's bond_check_params() resets or ignores a value with a warning,
softbond does the same with the kernel's words (measured on 6.1 by
tests/oracle); config files keep sysfs's refusals."""
import pytest

from softbond.config.model import build_bond_config
from softbond.config.options import OptionError


def up(*words, module=True):
    pairs = [(*word.split("=", 1), None) for word in words]
    return build_bond_config("bond0", slaves=["eth0"], option_pairs=pairs, module=module)


@pytest.mark.parametrize("words, option, value, warning", [
    (("miimon=-1",), "miimon", 0,
     "Warning: miimon module parameter (-1), not in range 0-2147483647, so it was reset to 0"),
    (("miimon=100", "updelay=-5"), "updelay", 0,
     "Warning: updelay module parameter (-5), not in range 0-2147483647, so it was reset to 0"),
    (("max_bonds=-1",), "max_bonds", 1,
     "Warning: max_bonds (-1) not in range 0-2147483647, so it was reset to BOND_DEFAULT_MAX_BONDS (1)"),
    (("num_grat_arp=300",), "num_grat_arp", 1,
     "Warning: num_grat_arp/num_unsol_na (300) not in range 0-255 so it was reset to 1"),
    (("resend_igmp=300",), "resend_igmp", 1,
     "Warning: resend_igmp (300) should be between 0 and 255, resetting to 1"),
    (("lp_interval=0",), "lp_interval", 1,
     "Warning: ip_interval must be between 1 and 2147483647, so it was reset to 1"),
    (("packets_per_slave=70000",), "packets_per_slave", 1,
     "Warning: packets_per_slave (70000) should be between 0 and 65535 resetting to 1"),
    (("mode=1", "arp_interval=100", "arp_ip_target=0.0.0.0"), "arp_interval", 0,
     "Warning: bad arp_ip_target module parameter (0.0.0.0), ARP monitoring will not be performed"),
    (("mode=1", "lacp_rate=fast"), "lacp_rate", 0,
     "lacp_rate param is irrelevant in mode fault-tolerance (active-backup)"),
    (("mode=0", "primary=eth0"), "primary", "",
     "Warning: eth0 primary device specified but has no effect in load balancing (round-robin) mode"),
])
def test_the_kernel_resets_with_a_warning_so_does_up(words, option, value, warning):
    config = up(*words)
    assert config.options.get(option) == value
    assert f"bond0: {warning}" in config.warnings
    with pytest.raises(OptionError):      # a file's options are sysfs writes: refused there
        up(*words, module=False)


def test_a_bad_target_drops_only_itself_and_stops_arp_monitoring():
    config = up("mode=1", "arp_interval=100", "arp_ip_target=10.0.0.1,0.0.0.0")
    assert config.options.arp_ip_target == ("10.0.0.1",)
    assert config.options.arp_interval == 0


def test_arp_validate_without_arp_interval_is_refused_as_the_kernel_refuses_to_load():
    with pytest.raises(OptionError, match=r"^bond0: arp_validate requires arp_interval$"):
        up("mode=0", "arp_validate=all")
    assert up("mode=0", "arp_validate=all", module=False).options.arp_validate == 0


@pytest.mark.parametrize("words", [("miimon=abc",), ("mode=7",), ("mode=1", "num_grat_arp=x")])
def test_what_the_kernel_cannot_parse_is_still_refused(words):
    with pytest.raises(OptionError):
        up(*words)
