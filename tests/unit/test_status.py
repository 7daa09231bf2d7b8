"""Tests for softbond.faces.status_text: /proc/net/bonding text and the verbose view,
read back through the tests' /proc parser (tests/support/procparse.py).  Expected texts live in tests/data/proc/ and were written by
hand from drivers/net/bonding/bond_procfs.c; the reference_* files are the
worked examples of /work/shared/reference/bonding-systems.md section 2c."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.support.procparse import parse_proc
from softbond.faces.status_text import format_ipv6, format_mac, render_proc, render_verbose

DATA = Path(__file__).resolve().parents[1] / "data" / "proc"

MODE_IDS = {"balance-rr": 0, "active-backup": 1, "balance-xor": 2, "broadcast": 3,
            "802.3ad": 4, "balance-tlb": 5, "balance-alb": 6}


def fixture(name: str) -> str:
    return (DATA / name).read_text()


def options(mode: str, **overrides) -> dict:
    opts = {
        "mode": mode, "miimon": 100, "updelay": 0, "downdelay": 0,
        "peer_notif_delay": 0, "arp_interval": 0, "arp_missed_max": 2,
        "arp_ip_target": [], "ns_ip6_target": [], "primary": "",
        "primary_reselect": "always", "fail_over_mac": "none",
        "xmit_hash_policy": "layer2", "tlb_dynamic_lb": 1, "lacp_rate": "slow",
        "lacp_active": "on", "ad_select": "stable", "min_links": 0,
        "ad_actor_sys_prio": 65535,
    }
    opts.update(overrides)
    return opts


def slave(name: str, n: int, *, mii="up", speed=10000, duplex="full", failures=0,
          state="backup", queue_id=0, ad=None) -> dict:
    return {
        "name": name, "mii_status": mii, "speed_mbps": speed, "duplex": duplex,
        "link_failure_count": failures, "perm_hwaddr": f"aa:bb:cc:dd:ee:{n:02x}",
        "queue_id": queue_id, "state": state,
        "counters": {"rx_bytes": 1000 * n, "rx_packets": 10 * n, "tx_bytes": 2000 * n,
                     "tx_packets": 20 * n, "rx_dropped": n, "tx_dropped": 0},
        "ad": ad,
    }


def status(mode: str, slaves: list, *, active=None, mii="up", bond="bond0",
           driver="6.18.44-fc-v669", ad_info=None, **opts) -> dict:
    return {
        "bond": bond,
        "softbond_version": "0.1.0",
        "driver_version": driver,
        "mode": mode,
        "mode_id": MODE_IDS[mode],
        "options": options(mode, **opts),
        "mii_status": mii,
        "active_slave": active,
        "datapath": "python",
        "hwaddr": "02:00:00:00:00:10",
        "addresses": ["192.168.100.199/24"],
        "slaves": slaves,
        "ad_info": ad_info,
    }


# --------------------------------------------------------------------------
# Status dicts for every fixture
# --------------------------------------------------------------------------

def st_ab_miimon() -> dict:
    return status("active-backup",
                  [slave("eth0", 1, state="active"), slave("eth1", 2, failures=2)],
                  active="eth0", updelay=200, downdelay=100)


def st_ab_primary_arp() -> dict:
    return status("active-backup",
                  [slave("eth0", 1, speed=1000, failures=1),
                   slave("eth1", 2, speed=1000, duplex="half", state="active", queue_id=2)],
                  active="eth1", miimon=0, updelay=200, primary="eth1",
                  primary_reselect="better", fail_over_mac="active", arp_interval=500,
                  arp_missed_max=3, arp_ip_target=["10.0.0.1", "10.0.0.254"],
                  ns_ip6_target=["2001:DB8:0:0:0:0:0:1"])


def st_ab_no_active() -> dict:
    # primary names an interface that is not enslaved: the kernel has no
    # primary_slave then and prints "None" without the reselect suffix.
    return status("active-backup",
                  [slave("eth0", 1, mii="down", speed=None, duplex=None, failures=3),
                   slave("eth1", 2, mii="going back", speed=None, duplex=None, failures=1)],
                  active=None, mii="down", updelay=500, primary="eth9")


def st_rr() -> dict:
    return status("balance-rr",
                  [slave("eth0", 1, state="active"),
                   slave("eth1", 2, mii="going down", state="active"),
                   slave("eth2", 3, speed=1000, state="active")])


def st_xor() -> dict:
    return status("balance-xor", [slave("eth0", 1, state="active"), slave("eth1", 2, state="active")],
                  xmit_hash_policy="layer3+4")


def st_broadcast() -> dict:
    return status("broadcast", [slave("eth0", 1, state="active"), slave("eth1", 2, state="active")])


def st_tlb(dynamic: int) -> dict:
    return status("balance-tlb", [slave("eth0", 1, state="active"), slave("eth1", 2)],
                  active="eth0", tlb_dynamic_lb=dynamic, xmit_hash_policy="layer2+3")


def st_alb() -> dict:
    return status("balance-alb", [slave("eth0", 1), slave("eth1", 2, state="active")],
                  active="eth1", primary="eth1", downdelay=200, peer_notif_delay=100,
                  xmit_hash_policy="layer3+4")


def st_8023ad_reference() -> dict:
    ad = {
        "aggregator_id": 1, "actor_churn_state": "none", "partner_churn_state": "none",
        "actor_churned_count": 0, "partner_churned_count": 0,
        "actor": {"system_priority": 65535, "system_mac": "52:54:00:AA:BB:01",
                  "port_key": 9, "port_priority": 255, "port_number": 1, "port_state": 63},
        "partner": {"system_priority": 32768, "system_mac": "a8:f9:4b:00:00:01",
                    "oper_key": 1000, "port_priority": 32768, "port_number": 5,
                    "port_state": 63},
    }
    s0 = slave("eth0", 1, speed=1000, state="active", ad=ad)
    s0["perm_hwaddr"] = "52:54:00:aa:bb:01"
    ad_info = {"lacp_active": "on", "lacp_rate": "fast", "min_links": 0, "ad_select": "stable",
               "system_priority": 65535, "system_mac": "52:54:00:aa:bb:01",
               "active_aggregator": {"id": 1, "num_ports": 2, "actor_key": 9,
                                     "partner_key": 1000, "partner_mac": "a8:f9:4b:00:00:01"}}
    return status("802.3ad", [s0], driver="6.8.0-45-generic", ad_info=ad_info,
                  xmit_hash_policy="layer3+4", lacp_rate="fast")


def st_8023ad_no_agg() -> dict:
    ad1 = {
        "aggregator_id": 2, "actor_churn_state": "monitoring", "partner_churn_state": "churned",
        "actor_churned_count": 1, "partner_churned_count": 4,
        "actor": {"system_priority": 100, "system_mac": "02:00:00:00:00:10",
                  "port_key": 15, "port_priority": 255, "port_number": 2, "port_state": 68},
        "partner": {"system_priority": 65535, "system_mac": "00:00:00:00:00:00",
                    "oper_key": 1, "port_priority": 255, "port_number": 1, "port_state": 1},
    }
    ad0 = {"aggregator_id": None, "actor_churn_state": "none", "partner_churn_state": "none",
           "actor_churned_count": 0, "partner_churned_count": 0, "actor": {}, "partner": {}}
    ad_info = {"lacp_active": "off", "lacp_rate": "slow", "min_links": 1,
               "ad_select": "bandwidth", "system_priority": 100,
               "system_mac": "02:00:00:00:00:10", "active_aggregator": None}
    return status("802.3ad",
                  [slave("eth0", 1, mii="down", speed=None, duplex=None, failures=1, ad=ad0),
                   slave("eth1", 2, ad=ad1)],
                  bond="bond1", mii="down", ad_info=ad_info, xmit_hash_policy="encap3+4",
                  lacp_active="off", min_links=1, ad_select="bandwidth",
                  ad_actor_sys_prio=100)


def st_reference_ab_arp() -> dict:
    s0 = slave("eth0", 1, speed=1000, state="active")
    s0["perm_hwaddr"] = "52:54:00:aa:bb:01"
    s1 = slave("eth1", 2, speed=1000, failures=1)
    s1["perm_hwaddr"] = "52:54:00:aa:bb:02"
    return status("active-backup", [s0, s1], active="eth0", driver="6.8.0-45-generic",
                  miimon=0, primary="eth0", fail_over_mac="active", arp_interval=1000,
                  arp_ip_target=["192.168.1.1", "192.168.1.254"])


CASES = [
    ("active_backup_miimon.txt", st_ab_miimon, True),
    ("active_backup_primary_arp.txt", st_ab_primary_arp, True),
    ("active_backup_no_active.txt", st_ab_no_active, True),
    ("balance_rr.txt", st_rr, True),
    ("balance_xor_layer34.txt", st_xor, True),
    ("broadcast.txt", st_broadcast, True),
    ("balance_tlb_static.txt", lambda: st_tlb(0), True),
    ("balance_tlb_dynamic.txt", lambda: st_tlb(1), True),
    ("balance_alb.txt", st_alb, True),
    ("reference_8023ad.txt", st_8023ad_reference, True),
    ("8023ad_no_aggregator.txt", st_8023ad_no_agg, True),
    ("8023ad_no_cap_net_admin.txt", st_8023ad_reference, False),
    ("reference_active_backup_arp.txt", st_reference_ab_arp, True),
]


@pytest.mark.parametrize("name,make,cap", CASES, ids=[c[0] for c in CASES])
def test_render_proc_matches_fixture(name, make, cap):
    assert render_proc(make(), cap_net_admin=cap) == fixture(name)


def test_reference_8023ad_byte_for_byte():
    expected = fixture("reference_8023ad.txt").encode()
    assert render_proc(st_8023ad_reference()).encode() == expected
    assert expected.startswith(b"Ethernet Channel Bonding Driver: v6.8.0-45-generic\n\n")
    assert b"\tAggregator ID: 1\n" in expected


def test_render_does_not_modify_status():
    s = st_8023ad_no_agg()
    before = copy.deepcopy(s)
    render_proc(s)
    render_verbose(s)
    assert s == before


# --------------------------------------------------------------------------
# Individual kernel rules
# --------------------------------------------------------------------------

def test_header_has_empty_line():
    text = render_proc(st_rr())
    assert text.splitlines()[:3] == ["Ethernet Channel Bonding Driver: v6.18.44-fc-v669", "",
                                     "Bonding Mode: load balancing (round-robin)"]


def test_delays_zero_when_miimon_zero():
    s = st_ab_miimon()
    s["options"].update(miimon=0, updelay=200, downdelay=300, peer_notif_delay=400)
    text = render_proc(s)
    assert "MII Polling Interval (ms): 0\nUp Delay (ms): 0\nDown Delay (ms): 0\n" \
           "Peer Notification Delay (ms): 0\n" in text


def test_fail_over_mac_suffix_only_in_active_backup():
    s = st_tlb(1)
    s["options"]["fail_over_mac"] = "follow"
    assert "fail_over_mac" not in render_proc(s)
    s = st_ab_miimon()
    s["options"]["fail_over_mac"] = "follow"
    assert render_proc(s).splitlines()[2] == \
        "Bonding Mode: fault-tolerance (active-backup) (fail_over_mac follow)"


def test_transmit_hash_policy_lines():
    assert "Transmit Hash Policy" not in render_proc(st_rr())
    assert "Transmit Hash Policy" not in render_proc(st_broadcast())
    assert "Transmit Hash Policy" not in render_proc(st_ab_miimon())
    assert "Transmit Hash Policy" not in render_proc(st_alb())
    s = st_alb()
    s["options"]["tlb_dynamic_lb"] = 0
    assert "Transmit Hash Policy: layer3+4 (1)\n" in render_proc(s)
    s = st_xor()
    s["options"]["xmit_hash_policy"] = "vlan+srcmac"
    assert "Transmit Hash Policy: vlan+srcmac (5)\n" in render_proc(s)


def test_arp_line_without_targets_is_bare_label():
    s = st_ab_primary_arp()
    s["options"]["arp_ip_target"] = []
    s["options"]["ns_ip6_target"] = []
    text = render_proc(s)
    assert "ARP IP target/s (n.n.n.n form):\nNS IPv6 target/s (xx::xx form):\n" in text


def test_8023ad_missing_ad_info_falls_back_to_options():
    s = st_8023ad_no_agg()
    s["ad_info"] = None
    text = render_proc(s)
    assert ("802.3ad info\nLACP active: off\nLACP rate: slow\nMin links: 1\n"
            "Aggregator selection policy (ad_select): bandwidth\nSystem priority: 100\n"
            "System MAC address: 02:00:00:00:00:10\nbond bond1 has no active aggregator\n"
            ) in text


def test_8023ad_slave_without_ad_is_na():
    s = st_8023ad_no_agg()
    s["slaves"][1]["ad"] = None
    assert render_proc(s).endswith("Slave queue ID: 0\nAggregator ID: N/A\n")


def test_numeric_enums_accepted():
    s = st_8023ad_no_agg()
    s["options"]["xmit_hash_policy"] = 1
    s["ad_info"]["ad_select"] = 2
    s["slaves"][1]["ad"]["actor_churn_state"] = 2
    s["slaves"][1]["ad"]["partner_churn_state"] = 7
    text = render_proc(s)
    assert "Transmit Hash Policy: layer3+4 (1)\n" in text
    assert "Aggregator selection policy (ad_select): count\n" in text
    assert "Actor Churn State: none\nPartner Churn State: unknown\n" in text


def test_unknown_slave_link_state():
    s = st_rr()
    s["slaves"][0]["mii_status"] = "bogus"
    assert "Slave Interface: eth0\nMII Status: unknown\n" in render_proc(s)


@pytest.mark.parametrize("addr,text", [
    ("2001:db8::1", "2001:db8::1"),
    ("fe80::0001", "fe80::1"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
    ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    ("::", "::"),
    ("::1", "::1"),
    ("fe80::", "fe80::"),
    ("::ffff:10.0.0.9", "::ffff:10.0.0.9"),
    ("fe80::5efe:c0a8:101", "fe80::5efe:192.168.1.1"),
    ("fe80::200:5efe:c0a8:101", "fe80::200:5efe:192.168.1.1"),
    ("FF02::1:FF00:1", "ff02::1:ff00:1"),
])
def test_format_ipv6_like_kernel_pI6c(addr, text):
    assert format_ipv6(addr) == text


@pytest.mark.parametrize("given,text", [
    ("AA:BB:CC:DD:EE:0F", "aa:bb:cc:dd:ee:0f"),
    ("a:b:c:d:e:f", "0a:0b:0c:0d:0e:0f"),
    ("aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"),
    ("aabbccddeeff", "aa:bb:cc:dd:ee:ff"),
    (b"\x02\x00\x00\x00\x00\x01", "02:00:00:00:00:01"),
    (None, "00:00:00:00:00:00"),
])
def test_format_mac(given, text):
    assert format_mac(given) == text


# --------------------------------------------------------------------------
# JSON and verbose
# --------------------------------------------------------------------------

def test_render_verbose_exact():
    s = st_ab_miimon()
    s["slaves"][0]["counters"] = {"rx_bytes": 123456, "rx_packets": 789, "tx_bytes": 654321,
                                  "tx_packets": 987, "rx_dropped": 1, "tx_dropped": 2}
    expected = fixture("active_backup_miimon.txt") + (
        "\n"
        "softbond info\n"
        "softbond version: 0.1.0\n"
        "Datapath: python\n"
        "HW addr: 02:00:00:00:00:10\n"
        "Addresses: 192.168.100.199/24\n"
        "\n"
        "Slave Interface: eth0\n"
        "State: active\n"
        "RX: 789 packets, 123456 bytes, 1 dropped\n"
        "TX: 987 packets, 654321 bytes, 2 dropped\n"
        "\n"
        "Slave Interface: eth1\n"
        "State: backup\n"
        "RX: 20 packets, 2000 bytes, 2 dropped\n"
        "TX: 40 packets, 4000 bytes, 0 dropped\n"
    )
    assert render_verbose(s) == expected


def test_render_verbose_shows_member_mac_and_mtu_and_flags_a_small_mtu():
    s = st_ab_miimon()
    s["mtu"] = 9000
    s["slaves"][1].update(hwaddr="02:00:00:00:00:99", mtu=1500, mtu_below_bond=True)
    text = render_verbose(s)
    assert "Slave Interface: eth1\nState: backup\nHW addr: 02:00:00:00:00:99\nMTU: 1500 (below bond0's 9000)\n" \
        in text, text


def test_render_verbose_shows_lost_control_frames_only_when_some_were():
    s = st_ab_miimon()
    s["slaves"][1]["control_send_errors"] = 3
    s["slaves"][0]["control_send_errors"] = 0
    text = render_verbose(s)
    assert "Slave Interface: eth1\nState: backup\nControl frames lost: 3\n" in text, text
    assert text.count("Control frames lost") == 1


@pytest.mark.parametrize("name,make,cap", CASES, ids=[c[0] for c in CASES])
def test_render_verbose_keeps_proc_part(name, make, cap):
    s = make()
    assert render_verbose(s, cap_net_admin=cap).startswith(render_proc(s, cap_net_admin=cap))


def test_render_verbose_shows_the_python_loop_and_its_workers():
    s = st_ab_miimon()
    s["datapath_workers"] = [{"pid": 11}, {"pid": 12}]
    s["datapath_loop"] = {"frames_out": 70, "frames_in": 50, "rx_dropped": 3, "tx_errors": 1,
                          "slept": 40, "polled": 25}
    text = render_verbose(s)
    assert ("Datapath: python\nDatapath workers: 2\nDatapath loop: 70 frames out, 50 in, 3 dropped, "
            "1 send errors; 40 wakeups from sleep, 25 by busy polling\nHW addr:") in text
    s["datapath"], s["datapath_workers"], s["datapath_loop"] = "ebpf", None, None
    assert "Datapath: ebpf\nHW addr:" in render_verbose(s)


def test_render_verbose_no_addresses():
    s = st_rr()
    s["addresses"] = []
    s["hwaddr"] = None
    s["slaves"][0]["counters"] = {}
    text = render_verbose(s)
    assert "HW addr: None\nAddresses: None\n" in text
    assert "Slave Interface: eth0\nState: active\nRX: 0 packets, 0 bytes, 0 dropped\n" \
           "TX: 0 packets, 0 bytes, 0 dropped\n" in text


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------

def slave_facts(parsed: dict) -> list[tuple]:
    return [(s["name"], s["mii_status"], s["link_failure_count"], s["perm_hwaddr"],
             s["aggregator_id"]) for s in parsed["slaves"]]


def expected_slave_facts(s: dict) -> list[tuple]:
    out = []
    for sl in s["slaves"]:
        agg = (sl["ad"] or {}).get("aggregator_id") if s["mode"] == "802.3ad" else None
        out.append((sl["name"], sl["mii_status"], sl["link_failure_count"],
                    format_mac(sl["perm_hwaddr"]), agg))
    return out


@pytest.mark.parametrize("name,make,cap", CASES, ids=[c[0] for c in CASES])
def test_round_trip(name, make, cap):
    s = make()
    parsed = parse_proc(render_proc(s, cap_net_admin=cap))
    assert parsed["mode"] == s["mode"]
    assert parsed["mode_id"] == s["mode_id"]
    assert parsed["mii_status"] == s["mii_status"]
    if s["mode"] in ("active-backup", "balance-tlb", "balance-alb"):
        assert parsed["active_slave"] == s["active_slave"]
    else:
        assert parsed["active_slave"] is None
    assert parsed["driver_version"] == s["driver_version"]
    assert parsed["driver_date"] is None
    assert slave_facts(parsed) == expected_slave_facts(s)
    assert [x["speed_mbps"] for x in parsed["slaves"]] == [x["speed_mbps"] for x in s["slaves"]]
    assert [x["duplex"] for x in parsed["slaves"]] == [x["duplex"] for x in s["slaves"]]
    assert [x["queue_id"] for x in parsed["slaves"]] == [x["queue_id"] for x in s["slaves"]]
    opts = parsed["options"]
    assert opts["miimon"] == s["options"]["miimon"]
    if s["options"]["arp_interval"]:
        assert opts["arp_interval"] == s["options"]["arp_interval"]
        assert opts["arp_ip_target"] == s["options"]["arp_ip_target"]
    else:
        assert "arp_interval" not in opts


def test_round_trip_8023ad_details():
    s = st_8023ad_reference()
    parsed = parse_proc(render_proc(s))
    assert parsed["ad_info"] == {
        "lacp_active": "on", "lacp_rate": "fast", "min_links": 0, "ad_select": "stable",
        "system_priority": 65535, "system_mac": "52:54:00:aa:bb:01",
        "active_aggregator": {"id": 1, "num_ports": 2, "actor_key": 9, "partner_key": 1000,
                              "partner_mac": "a8:f9:4b:00:00:01"},
    }
    ad = parsed["slaves"][0]["ad"]
    want = copy.deepcopy(s["slaves"][0]["ad"])
    want["actor"]["system_mac"] = "52:54:00:aa:bb:01"
    assert ad == want
    assert parsed["options"]["xmit_hash_policy"] == "layer3+4"


def test_parse_no_aggregator_and_na():
    parsed = parse_proc(fixture("8023ad_no_aggregator.txt"))
    assert parsed["ad_info"]["active_aggregator"] is None
    assert parsed["ad_info"]["lacp_active"] == "off"
    assert parsed["slaves"][0]["aggregator_id"] is None
    assert parsed["slaves"][0]["ad"] == {"aggregator_id": None}
    assert parsed["slaves"][0]["speed_mbps"] is None
    assert parsed["slaves"][0]["duplex"] is None
    assert parsed["slaves"][1]["ad"]["actor_churn_state"] == "monitoring"
    assert parsed["slaves"][1]["ad"]["partner_churned_count"] == 4
    assert parsed["slaves"][1]["ad"]["partner"]["port_state"] == 1


def test_parse_no_cap_net_admin():
    parsed = parse_proc(fixture("8023ad_no_cap_net_admin.txt"))
    assert parsed["ad_info"] == {"lacp_active": "on", "lacp_rate": "fast", "min_links": 0,
                                 "ad_select": "stable"}
    assert parsed["slaves"][0]["ad"] == {
        "aggregator_id": 1, "actor_churn_state": "none", "partner_churn_state": "none",
        "actor_churned_count": 0, "partner_churned_count": 0}


def test_parse_reference_active_backup():
    parsed = parse_proc(fixture("reference_active_backup_arp.txt"))
    assert parsed["driver_version"] == "6.8.0-45-generic"
    assert parsed["mode"] == "active-backup"
    assert parsed["mode_name"] == "fault-tolerance (active-backup)"
    assert parsed["mii_status"] == "up"
    assert parsed["primary_slave"] == "eth0"
    assert parsed["active_slave"] == "eth0"
    assert parsed["options"] == {
        "fail_over_mac": "active", "primary_reselect": "always", "miimon": 0, "updelay": 0,
        "downdelay": 0, "peer_notif_delay": 0, "arp_interval": 1000, "arp_missed_max": 2,
        "arp_ip_target": ["192.168.1.1", "192.168.1.254"], "ns_ip6_target": [],
    }
    assert parsed["ad_info"] is None
    assert slave_facts(parsed) == [("eth0", "up", 0, "52:54:00:aa:bb:01", None),
                                   ("eth1", "up", 1, "52:54:00:aa:bb:02", None)]
    assert parsed["slaves"][1]["speed_mbps"] == 1000
    assert parsed["slaves"][1]["ad"] is None


def test_parse_reference_8023ad():
    parsed = parse_proc(fixture("reference_8023ad.txt"))
    assert parsed["mode"] == "802.3ad"
    assert parsed["mode_id"] == 4
    assert parsed["mii_status"] == "up"
    assert parsed["active_slave"] is None
    assert parsed["ad_info"]["active_aggregator"]["partner_key"] == 1000
    assert slave_facts(parsed) == [("eth0", "up", 0, "52:54:00:aa:bb:01", 1)]
    assert parsed["slaves"][0]["ad"]["actor"] == {
        "system_priority": 65535, "system_mac": "52:54:00:aa:bb:01", "port_key": 9,
        "port_priority": 255, "port_number": 1, "port_state": 63}
    assert parsed["slaves"][0]["ad"]["partner"]["oper_key"] == 1000


def test_parse_old_3_7_1_8023ad():
    parsed = parse_proc(fixture("kernel_3.7.1_8023ad.txt"))
    assert parsed["driver_version"] == "3.7.1"
    assert parsed["driver_date"] == "April 27, 2011"
    assert parsed["mode"] == "802.3ad"
    assert parsed["mii_status"] == "up"
    assert "peer_notif_delay" not in parsed["options"]
    assert parsed["ad_info"] == {
        "lacp_rate": "slow", "min_links": 0, "ad_select": "stable",
        "active_aggregator": {"id": 1, "num_ports": 2, "actor_key": 17, "partner_key": 1,
                              "partner_mac": "00:1b:21:aa:bb:cc"},
    }
    # Aggregator ID came before Slave queue ID in 3.x.
    assert slave_facts(parsed) == [("eth0", "up", 0, "00:1b:21:11:22:33", 1),
                                   ("eth1", "down", 5, "00:1b:21:11:22:34", 2)]
    assert [s["queue_id"] for s in parsed["slaves"]] == [0, 0]


def test_parse_old_3_7_1_active_backup():
    parsed = parse_proc(fixture("kernel_3.7.1_active_backup.txt"))
    assert parsed["driver_version"] == "3.7.1"
    assert parsed["mode"] == "active-backup"
    assert parsed["active_slave"] == "em1"
    assert parsed["primary_slave"] is None
    assert slave_facts(parsed) == [("em1", "up", 0, "00:25:90:aa:bb:01", None),
                                   ("em2", "up", 1, "00:25:90:aa:bb:02", None)]


@pytest.mark.parametrize("header,version,date", [
    ("Ethernet Channel Bonding Driver: v3.7.1 (April 27, 2011)", "3.7.1", "April 27, 2011"),
    ("Ethernet Channel Bonding Driver: v5.5.0-rc1+ (April 27, 2011)", "5.5.0-rc1+",
     "April 27, 2011"),
    ("Ethernet Channel Bonding Driver: v6.18.44-fc-v669", "6.18.44-fc-v669", None),
])
def test_parse_header_variants(header, version, date):
    text = fixture("balance_rr.txt").replace(
        "Ethernet Channel Bonding Driver: v6.18.44-fc-v669", header)
    parsed = parse_proc(text)
    assert (parsed["driver_version"], parsed["driver_date"]) == (version, date)
    assert parsed["mode"] == "balance-rr"
    assert len(parsed["slaves"]) == 3


def test_parse_tolerates_crlf_unknown_lines_and_unknown_mode():
    text = fixture("active_backup_miimon.txt").replace(
        "Slave queue ID: 0\n", "Slave queue ID: 0\nSome Future Field: 42\n"
    ).replace("\n", "\r\n")
    parsed = parse_proc(text)
    assert parsed["active_slave"] == "eth0"
    assert slave_facts(parsed)[1] == ("eth1", "up", 2, "aa:bb:cc:dd:ee:02", None)
    parsed = parse_proc("Ethernet Channel Bonding Driver: v9\n\nBonding Mode: unknown\n")
    assert parsed["mode"] is None and parsed["mode_name"] == "unknown"
    assert parse_proc("")["slaves"] == []


def test_parse_primary_and_xor_policy():
    parsed = parse_proc(fixture("active_backup_primary_arp.txt"))
    assert parsed["primary_slave"] == "eth1"
    assert parsed["options"]["primary_reselect"] == "better"
    assert parsed["options"]["fail_over_mac"] == "active"
    assert parsed["options"]["ns_ip6_target"] == ["2001:db8::1"]
    assert parsed["options"]["arp_missed_max"] == 3
    parsed = parse_proc(fixture("balance_xor_layer34.txt"))
    assert parsed["options"]["xmit_hash_policy"] == "layer3+4"
    assert "fail_over_mac" not in parsed["options"]


# --------------------------------------------------------------------------
# Enum options named through the option registry


@pytest.mark.parametrize("option,mode,line", [
    ("xmit_hash_policy", "balance-xor", "Transmit Hash Policy: {name} ({number})"),
    ("ad_select", "802.3ad", "Aggregator selection policy (ad_select): {name}"),
    ("fail_over_mac", "active-backup", "Bonding Mode: fault-tolerance (active-backup) (fail_over_mac {name})"),
    ("primary_reselect", "active-backup", "Primary Slave: eth0 (primary_reselect {name})"),
])
def test_every_registry_value_printed_by_its_kernel_name(option, mode, line):
    """Each value `softbond set` accepts, given by number or by name, is
    printed as the registry names it (one table, no copy in status.py)."""
    from softbond.config.registry import OPTIONS
    for name, number in OPTIONS[option].values:
        if option == "fail_over_mac" and number == 0:
            continue                    # none: no suffix at all
        for given in (name, number):
            s = status(mode, [slave("eth0", 1)], active="eth0", primary="eth0", **{option: given})
            assert line.format(name=name, number=number) in render_proc(s).splitlines()
    s = status(mode, [slave("eth0", 1)], active="eth0", primary="eth0", **{option: 99})
    assert "unknown" in render_proc(s)


def test_path_block_follows_the_kernel_text_only_when_the_path_monitor_runs():
    from softbond.faces.status_text import path_block
    s = st_ab_miimon()
    assert path_block(s) == ""
    s["options"].update(path_monitor=1, path_monitor_interval=50, path_monitor_window=40, path_monitor_loss=25,
                        path_monitor_rtt=0, path_monitor_recover=20)
    s["slaves"][0]["path"] = {"state": "in service", "loss_pct": 0.0, "rtt_ms": 0.0812, "probes": 40,
                              "taken_out": 0, "reason": "", "target": "192.168.100.1"}
    s["slaves"][1]["path"] = {"state": "out of service", "loss_pct": 42.5, "rtt_ms": None, "probes": 40,
                              "taken_out": 1, "reason": "lost 10 of the last 23 probes", "target": "192.168.100.1"}
    assert path_block(s) == (
        "\nPath monitor: target 192.168.100.1, probe every 50 ms, window 40 probes, out at 25% loss, "
        "back after 20 answered\n"
        "Path eth0: in service, loss 0.0% of 40 probes, RTT 0.081 ms, taken out 0 times\n"
        "Path eth1: out of service (lost 10 of the last 23 probes), loss 42.5% of 40 probes, RTT none, "
        "taken out 1 times\n")
    s["options"]["path_monitor_rtt"] = 3
    assert "out at 25% loss or 3x the best RTT," in path_block(s)
    # The kernel's text is not touched by the path status.
    assert render_proc(s) == render_proc(st_ab_miimon())
