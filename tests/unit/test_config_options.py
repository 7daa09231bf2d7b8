"""The option registry: values, ranges, mode dependencies, kernel rules, live changes."""

import pytest

from softbond.config.errors import ConfigError
from softbond.config.model import build_bond_config
from softbond.config.names import validate_ifname
from softbond.config.options import (INT_MAX, MODE_NAMES, OPTIONS, SPECS, BondOptions, OptionError,
                                     build_options, change_option, option_to_json,
                                     option_to_text, options_to_json)

BOTH_ZERO = ("bond0: Warning: miimon and arp_interval are both 0; softbond watches carrier "
             "through netlink link events")


def build(*pairs, final=True):
    return build_options("bond0", [(n, v, None) for n, v in pairs], final=final)


def value_of(name, raw, mode="1"):
    options, _ = build(("mode", mode), ("miimon", "100"), (name, raw))
    return options.get(name)


def error_of(*pairs, final=True):
    with pytest.raises(OptionError) as info:
        build(*pairs, final=final)
    return str(info.value)


# --- good values -----------------------------------------------------------------

@pytest.mark.parametrize("name,raw,expected", [
    ("miimon", "0", 0), ("miimon", "250", 250), ("miimon", 250, 250),
    ("miimon", str(INT_MAX), INT_MAX), ("miimon", "off", 0), ("miimon", "maxval", INT_MAX),
    ("miimon", " 100\n", 100),
    ("updelay", "200", 200), ("downdelay", "300", 300),
    ("use_carrier", "1", 1), ("use_carrier", "on", 1), ("use_carrier", True, 1),
    ("use_carrier", "yes", 1),
    ("arp_all_targets", "any", 0), ("arp_all_targets", "all", 1), ("arp_all_targets", 1, 1),
    ("primary", "eth1", "eth1"), ("primary", "", ""),
    ("primary_reselect", "always", 0), ("primary_reselect", "better", 1),
    ("primary_reselect", "failure", 2), ("primary_reselect", "2", 2),
    ("fail_over_mac", "none", 0), ("fail_over_mac", "active", 1),
    ("fail_over_mac", "follow", 2), ("fail_over_mac", "2", 2),
    ("xmit_hash_policy", "layer2", 0), ("xmit_hash_policy", "layer3+4", 1),
    ("xmit_hash_policy", "layer2+3", 2), ("xmit_hash_policy", "encap2+3", 3),
    ("xmit_hash_policy", "encap3+4", 4), ("xmit_hash_policy", "vlan+srcmac", 5),
    ("xmit_hash_policy", "5", 5), ("xmit_hash_policy", "Layer3+4", 1),
    ("ad_select", "stable", 0), ("ad_select", "bandwidth", 1), ("ad_select", "count", 2),
    ("ad_select", "1", 1),
    ("min_links", "0", 0), ("min_links", "3", 3),
    ("num_grat_arp", "0", 0), ("num_grat_arp", "255", 255), ("num_unsol_na", "7", 7),
    ("num_grat_arp", "default", 1),
    ("peer_notif_delay", "300000", 300000), ("peer_notif_delay", "0", 0),
    ("all_slaves_active", "1", 1), ("all_slaves_active", "off", 0),
    ("all_slaves_active", "true", 1), ("all_slaves_active", "no", 0),
    ("all_slaves_active", False, 0),
    ("resend_igmp", "0", 0), ("resend_igmp", "255", 255), ("resend_igmp", "default", 1),
    ("lp_interval", "1", 1), ("lp_interval", str(INT_MAX), INT_MAX),
    ("max_bonds", "0", 0), ("max_bonds", "4", 4),
    ("datapath", "auto", "auto"), ("datapath", "ebpf", "ebpf"),
    ("datapath", "Python", "python"),
])
def test_good_values(name, raw, expected):
    assert value_of(name, raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("none", 0), ("active", 1), ("backup", 2), ("all", 3), ("filter", 4),
    ("filter_active", 5), ("filter_backup", 6), ("6", 6), (3, 3)])
def test_arp_validate_values(raw, expected):
    options, _ = build(("mode", "1"), ("arp_interval", "100"), ("arp_ip_target", "10.0.0.1"),
                       ("arp_validate", raw))
    assert options.arp_validate == expected


def test_num_grat_arp_and_num_unsol_na_are_one_value():
    options, _ = build(("mode", "1"), ("miimon", "100"), ("num_unsol_na", "3"),
                       ("num_grat_arp", "5"))
    assert (options.num_grat_arp, options.num_unsol_na, options.num_peer_notif) == (5, 5, 5)


@pytest.mark.parametrize("number,name", sorted(MODE_NAMES.items()))
def test_mode_names_and_numbers(number, name):
    assert build(("mode", name))[0].mode == number
    assert build(("mode", str(number)))[0].mode == number
    assert build(("mode", number))[0].mode == number


@pytest.mark.parametrize("name,raw,expected", [
    ("lacp_rate", "slow", 0), ("lacp_rate", "fast", 1), ("lacp_rate", "1", 1),
    ("lacp_active", "off", 0), ("lacp_active", "on", 1), ("lacp_active", "0", 0),
    ("lacp_active", False, 0), ("lacp_active", "yes", 1),
    ("ad_actor_sys_prio", "1", 1), ("ad_actor_sys_prio", "65535", 65535),
    ("ad_user_port_key", "0", 0), ("ad_user_port_key", "1023", 1023),
    ("ad_actor_system", "02:00:00:AA:bb:01", "02:00:00:aa:bb:01"),
    ("ad_actor_system", "02-00-00-aa-bb-01", "02:00:00:aa:bb:01"),
    ("coupled_control", "0", 0), ("coupled_control", "on", 1),
])
def test_8023ad_values(name, raw, expected):
    assert value_of(name, raw, mode="802.3ad") == expected


@pytest.mark.parametrize("name,raw,expected", [
    ("packets_per_slave", "0", 0), ("packets_per_slave", "65535", 65535),
    ("packets_per_slave", "default", 1),
])
def test_round_robin_values(name, raw, expected):
    assert value_of(name, raw, mode="balance-rr") == expected


def test_tlb_dynamic_lb():
    assert value_of("tlb_dynamic_lb", "0", mode="balance-tlb") == 0
    assert value_of("tlb_dynamic_lb", "off", mode="balance-tlb") == 0


def test_defaults_match_the_kernel():
    d = BondOptions()
    assert (d.mode, d.miimon, d.use_carrier, d.arp_missed_max, d.num_grat_arp,
            d.ad_actor_sys_prio, d.ad_actor_system, d.resend_igmp, d.lp_interval,
            d.packets_per_slave, d.tlb_dynamic_lb, d.max_bonds, d.coupled_control,
            d.lacp_active, d.datapath) == (0, 0, 1, 2, 1, 65535, "00:00:00:00:00:00", 1, 1,
                                           1, 1, 1, 1, 1, "auto")


# --- bad values --------------------------------------------------------------------

@pytest.mark.parametrize("name,raw,message", [
    ("miimon", "abc", "option miimon: invalid value (abc): valid values: 0-2147483647 (off, maxval)"),
    ("miimon", "", "option miimon: invalid value (): valid values: 0-2147483647 (off, maxval)"),
    ("miimon", "1.5", "option miimon: invalid value (1.5): valid values: 0-2147483647 (off, maxval)"),
    ("miimon", True, "option miimon: invalid value (true): valid values: 0-2147483647 (off, maxval)"),
    ("miimon", str(INT_MAX + 1), "option miimon: allowed values 0 - 2147483647"),
    ("miimon", "-1", "option miimon: allowed values 0 - 2147483647"),
    ("miimon", "9" * 5000, "option miimon: allowed values 0 - 2147483647"),
    ("updelay", "x", "option updelay: invalid value (x): valid values: 0-2147483647 (off, maxval)"),
    ("arp_missed_max", "0", "option arp_missed_max: allowed values 1 - 255"),
    ("arp_missed_max", "256", "option arp_missed_max: allowed values 1 - 255"),
    ("num_grat_arp", "256", "option num_grat_arp: allowed values 0 - 255"),
    ("num_unsol_na", "-3", "option num_unsol_na: allowed values 0 - 255"),
    ("resend_igmp", "256", "option resend_igmp: allowed values 0 - 255"),
    ("peer_notif_delay", "300001", "option peer_notif_delay: allowed values 0 - 300000"),
    ("lp_interval", "0", "option lp_interval: allowed values 1 - 2147483647"),
    ("min_links", "many", "option min_links: invalid value (many): valid values: 0-2147483647 (off, maxval)"),
    ("arp_validate", "7", "option arp_validate: invalid value (7): valid values: none, active, backup, all, filter, filter_active, filter_backup"),
    ("arp_validate", "some", "option arp_validate: invalid value (some): valid values: none, active, backup, all, filter, filter_active, filter_backup"),
    ("arp_all_targets", "most", "option arp_all_targets: invalid value (most): valid values: any, all"),
    ("primary_reselect", "3", "option primary_reselect: invalid value (3): valid values: always, better, failure"),
    ("fail_over_mac", "yes", "option fail_over_mac: invalid value (yes): valid values: none, active, follow"),
    ("xmit_hash_policy", "layer4", "option xmit_hash_policy: invalid value (layer4): did you mean layer3+4? valid values: layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac"),
    ("xmit_hash_policy", "6", "option xmit_hash_policy: invalid value (6): valid values: layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac"),
    ("ad_select", "best", "option ad_select: invalid value (best): valid values: stable, bandwidth, count"),
    ("all_slaves_active", "2", "option all_slaves_active: invalid value (2): valid values: off, on"),
    ("all_slaves_active", "maybe", "option all_slaves_active: invalid value (maybe): valid values: off, on"),
    ("use_carrier", "0", "option use_carrier: invalid value (0): use_carrier=0 (MII/ethtool "
     "ioctl link checks) was removed from the kernel in 2025; only use_carrier=1 (carrier "
     "state) is supported"),
    ("use_carrier", "off", "option use_carrier: invalid value (off): use_carrier=0 "
     "(MII/ethtool ioctl link checks) was removed from the kernel in 2025; only "
     "use_carrier=1 (carrier state) is supported"),
    ("use_carrier", "2", "option use_carrier: invalid value (2): valid values: off, on"),
    ("primary", "averyveryverylongname", "option primary: invalid value "
     "(averyveryverylongname): interface name too long (at most 15 characters)"),
    ("primary", "eth/1", 'option primary: invalid value (eth/1): interface name contains "/"'),
    ("primary", 5, "option primary: invalid value (5)"),
    ("datapath", "dpdk", "option datapath: invalid value (dpdk): valid values: auto, ebpf, python"),
    ("datapath", "1", "option datapath: invalid value (1): valid values: auto, ebpf, python"),
    ("max_bonds", "-1", "option max_bonds: allowed values 0 - 2147483647"),
    ("mode", "7", "option mode: invalid value (7): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"),
    ("mode", "blance-rr", "option mode: invalid value (blance-rr): did you mean balance-rr? valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"),
    ("mode", [1], "option mode: invalid value (1): valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"),
    ("arp_ip_target", "1.2.3", "option arp_ip_target: invalid value (1.2.3)"),
    ("arp_ip_target", 5, "option arp_ip_target: invalid value (5)"),
    ("arp_ip_target", "0.0.0.0", "option arp_ip_target: invalid ARP target 0.0.0.0 "
     "specified for addition"),
    ("arp_ip_target", "255.255.255.255", "option arp_ip_target: invalid ARP target "
     "255.255.255.255 specified for addition"),
    ("arp_ip_target", "-10.0.0.1", "option arp_ip_target: unable to remove nonexistent "
     "ARP target 10.0.0.1"),
    ("ns_ip6_target", "fe80::1%eth0", "option ns_ip6_target: invalid value (fe80::1%eth0)"),
    ("ns_ip6_target", "ff02::1", "option ns_ip6_target: invalid NS target ff02::1 "
     "specified for addition"),
    ("ns_ip6_target", "::1", "option ns_ip6_target: invalid NS target ::1 specified for "
     "addition"),
    ("ns_ip6_target", "10.0.0.1", "option ns_ip6_target: invalid value (10.0.0.1)"),
])
def test_bad_values(name, raw, message):
    assert error_of(("mode", "1"), (name, raw)) == f"bond0: {message}"


@pytest.mark.parametrize("name,raw,message", [
    ("ad_actor_sys_prio", "0", "option ad_actor_sys_prio: allowed values 1 - 65535"),
    ("ad_actor_sys_prio", "65536", "option ad_actor_sys_prio: allowed values 1 - 65535"),
    ("ad_user_port_key", "1024", "option ad_user_port_key: allowed values 0 - 1023"),
    ("lacp_rate", "medium", "option lacp_rate: invalid value (medium): valid values: slow, fast"),
    ("lacp_rate", "2", "option lacp_rate: invalid value (2): valid values: slow, fast"),
    ("lacp_active", "sometimes", "option lacp_active: invalid value (sometimes): valid values: off, on"),
    ("ad_actor_system", "01:00:5e:00:00:01", "option ad_actor_system: invalid value "
     "(01:00:5e:00:00:01): not a unicast MAC address"),
    ("ad_actor_system", "02:00:00:00:00", "option ad_actor_system: invalid value "
     "(02:00:00:00:00)"),
])
def test_bad_8023ad_values(name, raw, message):
    assert error_of(("mode", "4"), (name, raw)) == f"bond0: {message}"


def test_packets_per_slave_range():
    assert error_of(("mode", "0"), ("packets_per_slave", "65536")) == (
        "bond0: option packets_per_slave: allowed values 0 - 65535")


def test_unknown_option_and_where_prefix():
    with pytest.raises(OptionError) as info:
        build_options("bond0", [("mode", "1", None), ("foo", "1", "ifcfg-bond0:7")])
    assert str(info.value) == "ifcfg-bond0:7: bond0: option foo: unknown option (softbond options lists them)"
    assert info.value.option == "foo"
    with pytest.raises(OptionError) as info:
        build_options("bond0", [("miimon", "x", "ifcfg-bond0:7")])
    assert str(info.value) == "ifcfg-bond0:7: bond0: option miimon: invalid value (x): valid values: 0-2147483647 (off, maxval)"
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigError)


@pytest.mark.parametrize("name, raw, message", [
    ("miimom", "100", "bond0: option miimom: unknown option (did you mean miimon?)"),
    ("mode", "active-backp", "bond0: option mode: invalid value (active-backp): did you mean active-backup? "
                             "valid values: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, "
                             "balance-tlb, balance-alb"),
    ("lacp_rate", "fsat", "bond0: option lacp_rate: invalid value (fsat): did you mean fast? valid values: slow, fast"),
    ("datapath", "epbf", "bond0: option datapath: invalid value (epbf): did you mean ebpf? "
                         "valid values: auto, ebpf, python"),
])
def test_a_near_miss_gets_the_nearest_name_and_the_valid_values(name, raw, message):
    """The hint comes from the config layer, so `up`, config files and the
    daemon's live `set` all give it."""
    with pytest.raises(OptionError) as info:
        build_options("bond0", [("mode", "4", None), (name, raw, None)])
    assert str(info.value) == message
    with pytest.raises(OptionError) as info:
        change_option("bond0", BondOptions(mode=4), name, raw)
    assert str(info.value) == message


# --- address lists ---------------------------------------------------------------

def test_arp_ip_target_forms():
    assert value_of("arp_ip_target", "10.0.0.1,10.0.0.2") == ("10.0.0.1", "10.0.0.2")
    assert value_of("arp_ip_target", ["10.0.0.1", "10.0.0.2"]) == ("10.0.0.1", "10.0.0.2")
    assert value_of("arp_ip_target", "+10.0.0.1") == ("10.0.0.1",)
    options, warnings = build(("mode", "1"), ("arp_interval", "100"),
                              ("arp_ip_target", "+10.0.0.1"), ("arp_ip_target", "+10.0.0.2"),
                              ("arp_ip_target", "-10.0.0.1"), ("arp_ip_target", "+10.0.0.2"))
    assert options.arp_ip_target == ("10.0.0.2",)
    assert warnings == ["bond0: Warning: duplicate address 10.0.0.2 in arp_ip_target, "
                        "skipping"]
    # A plain list replaces what came before.
    options, _ = build(("mode", "1"), ("arp_ip_target", "10.0.0.1"),
                       ("arp_ip_target", "10.0.0.9"))
    assert options.arp_ip_target == ("10.0.0.9",)


def test_target_tables_hold_16():
    sixteen = [f"10.0.0.{i}" for i in range(1, 17)]
    assert value_of("arp_ip_target", sixteen) == tuple(sixteen)
    assert error_of(("mode", "1"), ("arp_ip_target", sixteen + ["10.0.0.17"])) == (
        "bond0: option arp_ip_target: ARP target table is full (at most 16 targets)")
    v6 = [f"2001:db8::{i:x}" for i in range(1, 18)]
    assert error_of(("mode", "1"), ("ns_ip6_target", v6)) == (
        "bond0: option ns_ip6_target: NS target table is full (at most 16 targets)")


def test_ns_ip6_target_is_normalised():
    assert value_of("ns_ip6_target", "2001:DB8:0::0001, +2001:db8::2") == (
        "2001:db8::1", "2001:db8::2")


# --- modes ---------------------------------------------------------------------

def test_every_mode_runs_and_no_mode_means_the_kernel_default():
    for mode, number in (("balance-rr", 0), ("active-backup", 1), ("balance-xor", 2), ("broadcast", 3),
                         ("802.3ad", 4), ("balance-tlb", 5), ("balance-alb", 6), ("6", 6)):
        assert build(("mode", mode))[0].mode == number
    options, warnings = build(("miimon", "100"))
    assert options.mode == 0
    assert warnings == ["bond0: no mode was configured: using the kernel default, balance-rr (0)"]


def test_partial_build_defers_mode_checks():
    options, warnings = build(("miimon", "100"), ("primary", "eth1"), final=False)
    assert (options.mode, options.primary) == (0, "eth1")
    assert warnings == []
    # A mode that is given is still checked.
    assert error_of(("mode", "4"), ("primary", "eth1"), final=False) == (
        "bond0: option primary: mode dependency failed, not supported in mode 802.3ad(4)")


@pytest.mark.parametrize("name,raw", [
    ("lacp_rate", "fast"), ("lacp_active", "on"), ("ad_actor_sys_prio", "10"),
    ("ad_user_port_key", "1"), ("ad_actor_system", "02:00:00:00:00:01"),
    ("coupled_control", "1"), ("tlb_dynamic_lb", "1"), ("packets_per_slave", "1"),
])
def test_mode_dependency_in_active_backup(name, raw):
    message = (f"bond0: option {name}: mode dependency failed, not supported in mode "
               "active-backup(1)")
    assert error_of(("mode", "1"), (name, raw)) == message
    assert error_of((name, raw), ("mode", "active-backup")) == message  # order-free


@pytest.mark.parametrize("pairs,message", [
    ((("mode", "802.3ad"), ("arp_interval", "100")),
     "option arp_interval: mode dependency failed, not supported in mode 802.3ad(4)"),
    ((("arp_validate", "all"), ("mode", "balance-tlb")),
     "option arp_validate: mode dependency failed, not supported in mode balance-tlb(5)"),
    ((("arp_missed_max", "3"), ("mode", "6")),
     "option arp_missed_max: mode dependency failed, not supported in mode balance-alb(6)"),
    ((("primary", "eth0"), ("mode", "0")),
     "option primary: mode dependency failed, not supported in mode balance-rr(0)"),
    ((("lacp_rate", "fast"), ("mode", "balance-xor")),
     "option lacp_rate: mode dependency failed, not supported in mode balance-xor(2)"),
    ((("mode", "broadcast"), ("tlb_dynamic_lb", "0")),
     "option tlb_dynamic_lb: mode dependency failed, not supported in mode broadcast(3)"),
])
def test_mode_dependencies_all_modes(pairs, message):
    assert error_of(*pairs) == f"bond0: {message}"


def test_later_mode_wins_for_dependencies():
    options, _ = build(("mode", "1"), ("lacp_rate", "fast"), ("miimon", "100"),
                       ("mode", "802.3ad"))
    assert (options.mode, options.lacp_rate) == (4, 1)


def test_dependency_error_names_the_line_of_the_option():
    with pytest.raises(OptionError) as info:
        build_options("bond0", [("lacp_rate", "fast", "a:1"), ("mode", "1", "a:2")])
    assert str(info.value) == ("a:1: bond0: option lacp_rate: mode dependency failed, not "
                               "supported in mode active-backup(1)")


# --- the kernel's module-parameter rules ---------------------------------------

def test_miimon_forced_for_8023ad_tlb_alb():
    for mode in ("802.3ad", "balance-tlb", "balance-alb"):
        options, warnings = build(("mode", mode))
        assert options.miimon == 100
        assert warnings == [
            "bond0: Warning: miimon must be specified, otherwise bonding will not detect "
            "link failure, speed and duplex which are essential for 802.3ad operation",
            "bond0: Forcing miimon to 100msec"]


def test_delays_rounded_to_miimon():
    options, warnings = build(("updelay", "250"), ("downdelay", "199"), ("mode", "1"),
                              ("miimon", "100"), ("peer_notif_delay", "150"))
    assert (options.updelay, options.downdelay, options.peer_notif_delay) == (200, 100, 100)
    assert warnings == [
        "bond0: Warning: updelay (250) is not a multiple of miimon (100), updelay rounded "
        "to 200 ms",
        "bond0: Warning: downdelay (199) is not a multiple of miimon (100), downdelay "
        "rounded to 100 ms",
        "bond0: Warning: peer_notif_delay (150) is not a multiple of miimon (100), "
        "peer_notif_delay rounded to 100 ms"]


def test_delays_without_miimon():
    options, warnings = build(("mode", "1"), ("updelay", "200"))
    assert options.updelay == 200
    assert warnings == [
        "bond0: Warning: miimon not set and updelay (200) or downdelay (0) is set; updelay "
        "and downdelay have no effect unless miimon is set", BOTH_ZERO]


def test_miimon_and_arp_interval_both_set():
    options, warnings = build(("arp_interval", "200"), ("arp_ip_target", "10.0.0.1"),
                              ("arp_validate", "all"), ("miimon", "100"), ("mode", "1"))
    assert (options.miimon, options.arp_interval, options.arp_validate) == (100, 0, 0)
    assert warnings == [
        "bond0: Warning: miimon (100) and arp_interval (200) can't be used simultaneously, "
        "disabling ARP monitoring",
        "bond0: Warning: arp_validate requires arp_interval, arp_validate was reset to none"]


def test_arp_interval_without_targets():
    options, warnings = build(("mode", "1"), ("arp_interval", "200"))
    assert options.arp_interval == 0
    assert warnings == [
        "bond0: Warning: arp_interval module parameter (200) specified without providing an arp_ip_target "
        "parameter, arp_interval was reset to 0", BOTH_ZERO]


def test_arp_monitoring_with_targets():
    options, warnings = build(("mode", "1"), ("arp_interval", "200"),
                              ("arp_ip_target", "10.0.0.1,10.0.0.2"), ("arp_validate", "all"))
    assert (options.arp_interval, options.arp_ip_target, options.arp_validate) == (
        200, ("10.0.0.1", "10.0.0.2"), 3)
    assert warnings == []
    # IPv6 targets alone are enough for the ARP/NS monitor.
    options, warnings = build(("mode", "1"), ("arp_interval", "200"),
                              ("ns_ip6_target", "2001:db8::1"))
    assert (options.arp_interval, warnings) == (200, [])


def test_both_monitors_off_is_kept_with_a_warning():
    options, warnings = build(("mode", "1"))
    assert (options.miimon, options.arp_interval) == (0, 0)
    assert warnings == [BOTH_ZERO]


def test_irrelevant_options_warn():
    options, warnings = build(("mode", "1"), ("miimon", "100"),
                              ("xmit_hash_policy", "layer3+4"), ("ad_select", "count"))
    assert (options.xmit_hash_policy, options.ad_select) == (1, 2)
    assert warnings == [
        "bond0: Warning: ad_select has no effect in mode active-backup(1)",
        "bond0: Warning: xmit_hash_policy has no effect in mode active-backup(1)"]


def test_option_order_does_not_matter():
    pairs = [("mode", "active-backup"), ("miimon", "100"), ("updelay", "200"),
             ("primary", "eth1"), ("arp_ip_target", "10.0.0.1"), ("num_grat_arp", "3")]
    forward = build(*pairs)
    assert build(*reversed(pairs)) == forward
    assert forward[0].primary == "eth1" and forward[0].updelay == 200


# --- live changes ----------------------------------------------------------------

def ab(**extra):
    pairs = [("mode", "1"), ("miimon", "100")] + list(extra.items())
    return build(*pairs)[0]


def live(current, name, raw):
    return change_option("bond0", current, name, raw)


def live_error(current, name, raw, **kw):
    with pytest.raises(OptionError) as info:
        live(current, name, raw, **kw)
    return str(info.value)


def test_live_noslaves_and_ifdown_options_change_on_a_running_bond():
    """The kernel refuses these with slaves or while up; softbond applies
    them live (bond.py, live.py), so the config layer lets them through."""
    current = ab()
    assert live(current, "fail_over_mac", "follow")[0].fail_over_mac == 2
    assert live(current, "mode", "active-backup")[0].mode == 1
    assert live(current, "mode", "4")[0].mode == 4
    assert live(current, "mode", "balance-xor")[0].mode == 2
    assert live(current, "datapath", "python")[0].datapath == "python"
    assert live(current, "datapath_workers", "3")[0].datapath_workers == 3
    assert live_error(current, "max_bonds", "2") == (
        "bond0: option max_bonds: module-level option, only set when the bonds are created")
    assert live_error(current, "inherit", "yes") == (
        "bond0: option inherit: acted on at up and down only (softbond down bond0, then up with it)")


def test_every_option_says_how_a_running_bond_applies_it():
    effects = {spec.name: spec.effect for spec in SPECS}
    assert effects["mode"] == effects["fail_over_mac"] == "runner"
    assert effects["datapath"] == effects["datapath_workers"] == "datapath"
    assert effects["miimon"] == effects["arp_ip_target"] == "monitors"
    assert effects["lacp_rate"] == effects["tlb_dynamic_lb"] == "configure"
    assert {spec.runtime for spec in SPECS} == {"always", "never", "up"}
    assert [spec.name for spec in SPECS if spec.runtime == "up"] == ["inherit"]


def test_live_mode_dependency_checked_before_value():
    assert live_error(ab(), "lacp_rate", "garbage") == (
        "bond0: option lacp_rate: mode dependency failed, not supported in mode "
        "active-backup(1)")


def test_live_ifdown_options_are_allowed_while_up():
    current = build(("mode", "802.3ad"), ("miimon", "100"))[0]
    for name, raw, attr, expected in [("lacp_rate", "fast", "lacp_rate", 1),
                                      ("ad_select", "count", "ad_select", 2),
                                      ("lacp_active", "off", "lacp_active", 0),
                                      ("ad_user_port_key", "9", "ad_user_port_key", 9),
                                      ("coupled_control", "0", "coupled_control", 0)]:
        changed, warnings = live(current, name, raw)
        assert getattr(changed, attr) == expected and warnings == []
    tlb = build(("mode", "balance-tlb"), ("miimon", "100"))[0]
    assert live(tlb, "tlb_dynamic_lb", "0")[0].tlb_dynamic_lb == 0


def test_live_value_errors():
    assert live_error(ab(), "miimon", "abc") == "bond0: option miimon: invalid value (abc): valid values: 0-2147483647 (off, maxval)"
    assert live_error(ab(), "nope", "1") == "bond0: option nope: unknown option (softbond options lists them)"


def test_live_miimon_disables_arp_and_back():
    arp = build(("mode", "1"), ("arp_interval", "200"), ("arp_ip_target", "10.0.0.1"),
                ("arp_validate", "active"))[0]
    changed, warnings = live(arp, "miimon", "50")
    assert (changed.miimon, changed.arp_interval, changed.arp_validate) == (50, 0, 0)
    assert warnings == ["bond0: MII monitoring cannot be used with ARP monitoring - "
                        "disabling ARP monitoring..."]
    back, warnings = live(changed, "arp_interval", "300")
    assert (back.miimon, back.arp_interval) == (0, 300)
    assert warnings == ["bond0: ARP monitoring cannot be used with MII monitoring. "
                        "Disabling MII monitoring"]
    _, warnings = live(ab(), "arp_interval", "100")
    assert warnings == ["bond0: ARP monitoring cannot be used with MII monitoring. Disabling "
                        "MII monitoring",
                        "bond0: ARP monitoring has been set up, but no ARP targets have been "
                        "specified"]


def test_live_miimon_rescales_delays():
    current = ab(updelay="200", downdelay="300")
    changed, warnings = live(current, "miimon", "50")
    assert (changed.updelay, changed.downdelay) == (100, 150)
    assert warnings == [
        "bond0: Note: Updating updelay (to 100) since it is a multiple of the miimon value",
        "bond0: Note: Updating downdelay (to 150) since it is a multiple of the miimon value"]


def test_live_delays():
    changed, warnings = live(ab(), "updelay", "250")
    assert changed.updelay == 200
    assert warnings == ["bond0: up delay (250) is not a multiple of miimon (100), value "
                        "rounded to 200 ms"]
    assert live(ab(), "downdelay", "300") == (ab(downdelay="300"), [])
    no_mii = build(("mode", "1"))[0]
    assert live_error(no_mii, "updelay", "100") == (
        "bond0: Unable to set up delay as MII monitoring is disabled")
    assert live_error(no_mii, "peer_notif_delay", "100") == (
        "bond0: Unable to set peer notification delay as MII monitoring is disabled")


def test_live_arp_targets():
    arp = build(("mode", "1"), ("arp_interval", "200"), ("arp_ip_target", "10.0.0.1"))[0]
    added, warnings = live(arp, "arp_ip_target", "+10.0.0.2")
    assert added.arp_ip_target == ("10.0.0.1", "10.0.0.2") and warnings == []
    assert live_error(added, "arp_ip_target", "+10.0.0.2") == (
        "bond0: option arp_ip_target: ARP target 10.0.0.2 is already present")
    assert live_error(added, "arp_ip_target", "-10.0.0.3") == (
        "bond0: option arp_ip_target: unable to remove nonexistent ARP target 10.0.0.3")
    removed, _ = live(added, "arp_ip_target", "-10.0.0.1")
    assert removed.arp_ip_target == ("10.0.0.2",)
    emptied, warnings = live(removed, "arp_ip_target", "-10.0.0.2")
    assert emptied.arp_ip_target == ()
    assert warnings == ["bond0: Removing last arp target with arp_interval on"]
    replaced, _ = live(added, "arp_ip_target", "192.168.1.1 192.168.1.2")
    assert replaced.arp_ip_target == ("192.168.1.1", "192.168.1.2")
    ns, _ = live(arp, "ns_ip6_target", "+2001:db8::1")
    assert ns.ns_ip6_target == ("2001:db8::1",)


def test_live_mode_change_rules():
    arp = build(("mode", "1"), ("arp_interval", "200"), ("arp_ip_target", "10.0.0.1"),
                ("arp_validate", "all"))[0]
    changed, warnings = live(arp, "mode", "balance-alb")
    assert (changed.mode, changed.arp_interval, changed.miimon, changed.arp_validate,
            changed.tlb_dynamic_lb) == (6, 0, 100, 0, 1)
    assert warnings == ["bond0: balance-alb mode is incompatible with arp monitoring, start "
                        "mii monitoring", "bond0: Setting MII monitoring interval to 100"]


def test_prio_sets_members_one_by_one_in_the_kernels_range():
    changed, warnings = live(ab(), "prio", "eth0:10, eth1:-5")
    assert changed.prio == (("eth0", 10), ("eth1", -5)) and warnings == []
    assert live(changed, "prio", "eth0:3")[0].prio == (("eth0", 3), ("eth1", -5))
    assert live(ab(), "prio", "eth2:2147483647")[0].prio == (("eth2", 2 ** 31 - 1),)
    assert live_error(ab(), "prio", "eth0") == "bond0: option prio: invalid value (eth0): expected IFACE:PRIO"
    assert live_error(ab(), "prio", "eth0:ten") == \
        "bond0: option prio: invalid value (eth0:ten): the prio is an integer"
    assert live_error(ab(), "prio", "eth0:2147483648") == \
        "bond0: option prio: invalid value (eth0:2147483648): allowed values -2147483648 - 2147483647"
    assert live_error(ab(), "prio", "eth/0:1").startswith("bond0: option prio: invalid value (eth/0:1): interface")
    assert live_error(ab(mode="balance-xor"), "prio", "eth0:1") == \
        "bond0: option prio: mode dependency failed, not supported in mode balance-xor(2)"
    assert option_to_text("prio", changed.prio) == "eth0:10 eth1:-5"


def test_live_primary_and_num_peer_notif():
    changed, _ = live(ab(), "primary", "eth1")
    assert changed.primary == "eth1"
    assert live(changed, "primary", "")[0].primary == ""
    assert live(ab(), "num_unsol_na", "4")[0].num_grat_arp == 4
    assert live_error(ab(), "use_carrier", "0").startswith(
        "bond0: option use_carrier: invalid value (0): use_carrier=0")


# --- output forms ------------------------------------------------------------------

def test_options_to_json_defaults():
    assert options_to_json(ab(primary="eth1", arp_ip_target="10.0.0.1")) == {
        "mode": "active-backup", "miimon": 100, "updelay": 0, "downdelay": 0,
        "use_carrier": 1, "arp_interval": 0, "arp_ip_target": ["10.0.0.1"],
        "arp_validate": "none", "arp_all_targets": "any", "arp_missed_max": 2,
        "ns_ip6_target": [], "primary": "eth1", "prio": {}, "primary_reselect": "always",
        "fail_over_mac": "none", "xmit_hash_policy": "layer2", "lacp_rate": "slow",
        "lacp_active": "on", "ad_select": "stable", "ad_actor_sys_prio": 65535,
        "ad_user_port_key": 0, "ad_actor_system": "00:00:00:00:00:00", "min_links": 0,
        "num_grat_arp": 1, "num_unsol_na": 1, "peer_notif_delay": 0, "all_slaves_active": 0,
        "resend_igmp": 1, "lp_interval": 1, "packets_per_slave": 1, "tlb_dynamic_lb": 1,
        "max_bonds": 1, "coupled_control": 1, "datapath": "auto", "datapath_workers": 1,
        "datapath_busy_poll": 200, "protocol_counters": 1, "metrics_textfile": "", "inherit": 0,
        "path_monitor": 0, "path_monitor_interval": 200, "path_monitor_window": 50, "path_monitor_loss": 10,
        "path_monitor_rtt": 0, "path_monitor_recover": 25, "lacp_fallback": "off", "lacp_fallback_timeout": 90,
        "xmit_balance": "hash", "flowlet_gap": 2000, "flowlet_interval": 200,
        "flowlet_gap_auto": 1}
    assert set(options_to_json(BondOptions())) == set(OPTIONS)


@pytest.mark.parametrize("name,value,json_value,text", [
    ("mode", 1, "active-backup", "active-backup 1"),
    ("mode", 4, "802.3ad", "802.3ad 4"),
    ("xmit_hash_policy", 1, "layer3+4", "layer3+4 1"),
    ("arp_validate", 6, "filter_backup", "filter_backup 6"),
    ("fail_over_mac", 0, "none", "none 0"),
    ("lacp_rate", 1, "fast", "fast 1"),
    ("miimon", 100, 100, "100"),
    ("all_slaves_active", 1, 1, "1"),
    ("arp_ip_target", ("10.0.0.1", "10.0.0.2"), ["10.0.0.1", "10.0.0.2"],
     "10.0.0.1 10.0.0.2"),
    ("primary", "", "", ""),
    ("datapath", "ebpf", "ebpf", "ebpf"),
])
def test_single_option_output(name, value, json_value, text):
    assert option_to_json(name, value) == json_value
    assert option_to_text(name, value) == text


# --- names and the model -----------------------------------------------------------

@pytest.mark.parametrize("name,message", [
    ("averyveryverylongname", 'bond name "averyveryverylongname": too long (at most 15 '
     'characters)'),
    ("", 'bond name "": empty'),
    (".", 'bond name ".": may not be "." or ".."'),
    ("..", 'bond name "..": may not be "." or ".."'),
    ("bond/0", 'bond name "bond/0": contains "/"'),
    ("bond:0", 'bond name "bond:0": contains ":"'),
    ("bond 0", 'bond name "bond 0": contains whitespace'),
    ("bond\t0", 'bond name "bond\\t0": contains whitespace'),
])
def test_validate_ifname_errors(name, message):
    with pytest.raises(ConfigError) as info:
        validate_ifname(name, "bond")
    assert str(info.value) == message


def test_validate_ifname_accepts_kernel_names():
    for name in ("bond0", "eth0", "a" * 15, "enp0s31f6", "br-lan.10", "x_y"):
        assert validate_ifname(name) == name
    with pytest.raises(ConfigError, match=r'^interface name "ééééééééé": too long'):
        validate_ifname("é" * 9)  # 18 bytes


def test_build_bond_config_from_the_command_line():
    config = build_bond_config("bond0", slaves=["eth0", "eth1"],
                               addresses=["192.168.100.199/24"],
                               option_pairs=[("miimon", "100", None), ("mode", "1", None)])
    assert (config.name, config.slaves, config.addresses, config.options.mode,
            config.options.miimon, config.hwaddr, config.gateway, config.onboot,
            config.source, config.warnings) == (
        "bond0", ("eth0", "eth1"), ("192.168.100.199/24",), 1, 100, None, None, True,
        "command line", ())


@pytest.mark.parametrize("kwargs,message", [
    (dict(slaves=["eth0", "eth0"]), 'bond0: member "eth0" listed twice'),
    (dict(slaves=["bond0"]), "bond0: a bond cannot be its own member"),
    (dict(slaves=["eth:0"]), 'bond0: member name "eth:0": contains ":"'),
    (dict(addresses=["192.168.100.199"]), "bond0: address 192.168.100.199: expected "
     "address/prefix, e.g. 192.168.100.199/24"),
    (dict(addresses=["192.168.100.300/24"]), "bond0: address 192.168.100.300/24: not a valid "
     "address/prefix"),
    (dict(addresses=["10.0.0.1/24", "10.0.0.1/24"]), "bond0: address 10.0.0.1/24 listed twice"),
    (dict(hwaddr="01:00:00:00:00:01"), "bond0: hwaddr 01:00:00:00:00:01: not a unicast MAC "
     "address"),
    (dict(hwaddr="zz"), "bond0: hwaddr zz: not a MAC address (xx:xx:xx:xx:xx:xx)"),
    (dict(gateway="10.0.0"), "bond0: gateway 10.0.0: not a valid IP address"),
])
def test_build_bond_config_errors(kwargs, message):
    with pytest.raises(ConfigError) as info:
        build_bond_config("bond0", option_pairs=[("mode", "1", None)], **kwargs)
    assert str(info.value) == message


def test_build_bond_config_normalises_and_warns_about_primary():
    config = build_bond_config("bond0", slaves=["eth0"], addresses=["2001:DB8::1/64"],
                               hwaddr="02-AA-00-00-00-01", gateway="2001:db8::ffff",
                               option_pairs=[("mode", "1", None), ("miimon", "100", None),
                                             ("primary", "eth2", None)])
    assert (config.addresses, config.hwaddr, config.gateway) == (
        ("2001:db8::1/64",), "02:aa:00:00:00:01", "2001:db8::ffff")
    assert config.warnings == ("bond0: Warning: primary eth2 is not a member of bond0 (eth0)",)


# --- robustness ------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_RAW = st.one_of(st.text(max_size=30), st.integers(), st.booleans(),
                 st.lists(st.text(max_size=20), max_size=4),
                 st.sampled_from(["+10.0.0.1", "-10.0.0.1", "2001:db8::1", "on", "maxval",
                                  "default", "active-backup", "802.3ad", "02:00:00:00:00:01"]))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(OPTIONS) + ["bogus"]), _RAW), max_size=8),
       st.booleans())
def test_build_and_change_only_raise_option_error(pairs, final):
    try:
        current, _ = build(*pairs, final=final)
    except OptionError:
        current = ab()
    for name, raw in pairs:
        try:
            current, _ = change_option("bond0", current, name, raw)
        except OptionError:
            pass
