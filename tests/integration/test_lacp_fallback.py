"""lacp_fallback=active-backup against Open vSwitch (issue 21, section 3): a
switch port not configured for LACP yet, then configured; a partner that
speaks on one member only. The kernel's own no-partner behaviour (one
member as an individual link) is checked in test_cli.py and tests/oracle."""
import json
import re
import time

import pytest

from softbond.lab.netns import ip
from tests.support.modes_util import ADDR
from tests.support.netcheck import ping_ok, ping_result, start_ping, status_direct, status_json

# Every test here runs on every data path (conftest.pytest_generate_tests).
ALL_DATAPATHS = True

TIMEOUT = 5     # lacp_fallback_timeout: `up` waits 3 s for a partner first
# Open vSwitch's bond with LACP off: active-backup on sw0 (our first member,
# the one our fallback picks), so that both ends use the same link.
OVS_NO_LACP = dict(switch="ovs", ovs_bond_mode="active-backup", ovs_lacp="off",
                   ovs_other=("other_config:bond-primary=sw0",))


def up_with_fallback(topo, *options):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=802.3ad",
                         "miimon=100", "lacp_rate=fast", "lacp_fallback=active-backup",
                         f"lacp_fallback_timeout={TIMEOUT}", *options, check=False)
    assert proc.returncode == 0, proc.stderr


def fallback(topo):
    return status_direct(topo)["ad_info"]["lacp_fallback"]


def distributing(topo):
    return [s["name"] for s in status_direct(topo)["slaves"]
            if s["ad"] and s["ad"]["mux_state"] == "COLLECTING_DISTRIBUTING"]


def messages(status):
    return [e["message"] for e in status["events"]]


def switch_rx_packets(topo, i):
    """Frames member i sent, as its switch-side veth end received them."""
    out = ip("-n", topo.switch_ns, "-s", "-j", "link", "show", topo.switch_port(i)).stdout
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


@pytest.mark.topology(peers=1, **OVS_NO_LACP)
def test_active_backup_until_the_switch_speaks_lacp_on_one_member_then_on_both(topo):
    started = time.monotonic()
    # min_links=2: the kernel's individual link cannot raise the carrier, so
    # nothing passes until the fallback, which has no min_links.
    up_with_fallback(topo, "min_links=2")
    st = status_direct(topo)
    assert st["mii_status"] == "down" and not st["ad_info"]["lacp_fallback"]["active"]
    assert topo.wait_for(lambda: fallback(topo)["active"], timeout=TIMEOUT + 3, interval=0.1)
    print(f"fallback {time.monotonic() - started:.1f} s after `softbond up` began")
    st = status_json(topo)
    assert st["mii_status"] == "up" and st["ad_info"]["lacp_fallback"]["member"] == "eth0"
    assert (f"bond0: No 802.3ad response from the link partner for {TIMEOUT} s: LACP fallback to "
            "active-backup, eth0 carries the traffic") in messages(st)
    text = topo.softbond("status", "bond0").stdout
    assert re.search(r"\nLACP status: configured \(no partner\)\n"
                     r"LACP fallback: active-backup \(no LACPDU for \d+ s\)\n\Z", text), text
    # Every ping goes out through eth0 alone (eth1 sends its LACPDUs, 1/s).
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)
    before = [switch_rx_packets(topo, i) for i in (0, 1)]
    sent, received = ping_result(start_ping(topo, 1.0, interval="0.01"))
    after = [switch_rx_packets(topo, i) for i in (0, 1)]
    assert sent == received, (sent, received)
    assert after[0] - before[0] >= sent and after[1] - before[1] < 10, (before, after)

    # The switch port is configured for LACP, and its LACPDUs reach eth1
    # only (eth0's are lost): the first one ends the fallback, eth1
    # aggregates alone, and min_links=2 holds the carrier down again.
    topo.silence(0)
    topo.ovs.vsctl("set", "port", "bond0", "lacp=active", "bond_mode=balance-tcp", "other_config:lacp-time=fast")
    configured = time.monotonic()
    assert topo.wait_for(lambda: not fallback(topo)["active"], timeout=3, interval=0.05)
    print(f"fallback ended {time.monotonic() - configured:.2f} s after lacp=active")
    assert topo.wait_for(lambda: distributing(topo) == ["eth1"], timeout=5)
    st = status_json(topo)
    eth0, eth1 = st["slaves"]
    assert eth1["ad"]["rx_state"] == "CURRENT" and eth0["ad"]["rx_state"] == "DEFAULTED"
    assert st["lacp_status"] == "negotiated" and st["mii_status"] == "down"
    assert any(re.fullmatch(r"bond0: \(slave eth1\): LACPDU received: LACP fallback to active-backup ends "
                            r"after \d+ s, back to 802.3ad", m) for m in messages(st)), messages(st)
    assert "LACP fallback" not in topo.softbond("status", "bond0").stdout

    # eth0 hears the partner too: both aggregate, the carrier is up.
    topo.unsilence(0)
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=6)
    assert not fallback(topo)["active"] and status_direct(topo)["mii_status"] == "up"
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)
