"""`softbond set` on a running bond, on the default data path (the mode
across all three: test_live_set.py): into and out of 802.3ad against a
real LACP partner; the warnings a change raises reach the terminal and the
log names the value applied; the kernel's IFDOWN options reach the LACPDUs
on the wire at once."""
import os
import re
import subprocess
import time

import pytest

from tests.support.netcheck import ping_ok, status_json
from tests.support.live_util import set_during_ping
from tests.support.live_util import up as up_pinging

ADDR = "192.168.100.199/24"
CAPTURE = 2.5      # seconds of LACPDUs captured around a `softbond set`
# An LACP partner (OVS) that falls back to active-backup while it hears no LACPDUs.
LACP_PARTNER = dict(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast",
                    ovs_other=("other_config:lacp-fallback-ab=true",))
# Seconds from enslaving to distributing (test_lacp's bound; 802.1AX waits
# 2 s for the aggregation to settle before a port attaches).
LACP_CONVERGED = 3.0


def up(topo, *options):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "miimon=100", *options,
                         check=False)
    assert proc.returncode == 0, proc.stderr


def bond_log(topo):
    with open(os.path.join(os.path.dirname(topo.control_socket()), "bond0.log")) as f:
        return f.read()


def test_set_warnings_reach_stderr_and_the_log_names_the_value_applied(topo):
    up(topo, "mode=active-backup", "primary=eth0")
    rounded = topo.softbond("set", "bond0", "downdelay", "120")
    assert rounded.stderr.strip() == ("bond0: down delay (120) is not a multiple of miimon (100), "
                                      "value rounded to 100 ms")
    assert status_json(topo)["options"]["downdelay"] == 100
    log = bond_log(topo)
    assert "bond0: option downdelay set to 100\n" in log and "set to 120" not in log, log
    # With a primary set the kernel warns that a prio changes nothing yet.
    moot = topo.softbond("set", "bond0", "prio", "eth1:5")
    assert moot.stderr.strip() == ("bond0: (slave eth1): prio updated, but will not affect failover "
                                   "re-selection as primary slave have been set")
    assert moot.stderr.strip() in bond_log(topo)
    assert topo.softbond("set", "bond0", "miimon", "50").stderr.strip() == (
        "bond0: Note: Updating downdelay (to 50) since it is a multiple of the miimon value")


def lacpdus_around_set(topo, option, value):
    """eth0's LACPDUs within CAPTURE seconds around `softbond set` changing
    `option` (ports without a partner send one a second), as (seconds after
    the set returned, LACP payload after the Ethernet header)."""
    dump = topo.popen(topo.switch_ns, ["timeout", str(CAPTURE), "tcpdump", "-nn", "-tt", "-xx", "-i", "sw0",
                                       "ether proto 0x8809"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                      text=True)
    time.sleep(0.3)
    topo.softbond("set", "bond0", option, value)
    returned = time.time()
    out, _ = dump.communicate(timeout=10)
    frames = []
    for block in re.split(r"\n(?=\d)", out):
        lines = re.findall(r"0x[0-9a-f]{4}:\s+((?:[0-9a-f]{4} ?)+)", block)
        if lines:
            frames.append((float(block.split()[0]) - returned, bytes.fromhex("".join(lines).replace(" ", ""))[14:]))
    return frames


def lacpdu_after_set(topo, option, value):
    """The last LACPDU captured around the change."""
    frames = lacpdus_around_set(topo, option, value)
    assert frames, f"no LACPDU on sw0 around set {option} {value}"
    return frames[-1][1]


def test_ifdown_options_reach_the_lacpdus_live(topo):
    up(topo, "mode=802.3ad")
    # Actor system MAC: bytes 6-11 of the LACPDU; actor state: byte 18.
    pdu = lacpdu_after_set(topo, "ad_actor_system", "02:11:22:33:44:55")
    assert pdu[6:12] == bytes.fromhex("021122334455")
    assert status_json(topo)["ad_info"]["system_mac"] == "02:11:22:33:44:55"
    pdu = lacpdu_after_set(topo, "lacp_rate", "fast")
    assert pdu[18] & 0x02, f"actor state {pdu[18]:#04x} has no short timeout"
    pdu = lacpdu_after_set(topo, "ad_user_port_key", "9")
    assert int.from_bytes(pdu[12:14], "big") >> 6 == 9
    # Passive, and no partner: the LACPDUs (one a second until now) stop.
    later = [t for t, _ in lacpdus_around_set(topo, "lacp_active", "off") if t > 0.3]
    assert later == [], f"LACPDUs {later} s after lacp_active off"
    topo.softbond("set", "bond0", "ad_select", "count")
    assert status_json(topo)["ad_info"]["ad_select"] == 2


@pytest.mark.topology(**LACP_PARTNER)
def test_mode_changes_live_to_802_3ad_and_away_from_it(topo):
    """Into 802.3ad traffic waits for LACP to agree with the partner, as after
    enslaving; out of it the ports say goodbye at once, so the partner stops
    using them without waiting for its timeout (its fallback to
    active-backup then takes that timeout: a switch matter)."""
    # broadcast reaches the partner's fallback whichever link it made active.
    up_pinging(topo, "mode=broadcast")
    lost, gap, _ = set_during_ping(topo, "mode", "802.3ad", after=LACP_CONVERGED)
    print(f"\nbroadcast -> 802.3ad: {lost} replies lost, longest gap {gap * 1000:.0f} ms")
    assert gap < LACP_CONVERGED
    st = status_json(topo)
    assert st["mode"] == "802.3ad" and st["ad_info"]["active_aggregator"]["num_ports"] == 2
    assert all(s["ad"]["partner"]["system_mac"] == topo.ovs.system_id for s in st["slaves"])
    started = time.monotonic()
    topo.softbond("set", "bond0", "mode", "active-backup")
    let_go = topo.wait_for(lambda: topo.ovs.bond_show("bond0").count("may_enable: false") == 2, timeout=5,
                           interval=0.05)
    took = time.monotonic() - started
    print(f"the partner stopped using both links {took:.2f} s after `set mode active-backup`")
    assert let_go and took < 1.5, topo.ovs.bond_show("bond0")


def peer_macs_for_bond(topo):
    """The MAC each peer's neighbour table has for the bond's address."""
    out = []
    for i in range(topo.peers):
        m = re.search(r"lladdr (\S+)", topo.exec(topo.peer(i), ["ip", "neigh", "show", ADDR.split("/")[0]]).stdout)
        out.append(m.group(1) if m else None)
    return out


@pytest.mark.topology(peers=2)
def test_peers_alb_sent_to_other_members_follow_a_mode_change(topo):
    """alb tells each peer a member's own MAC for the bond's address; the
    next mode gives every member the bond's MAC, so the peers are told it
    at once rather than at their ARP timeout."""
    up_pinging(topo, "mode=balance-alb")
    assert topo.wait_for(lambda: ping_ok(topo, topo.peer_ip(1)), timeout=5)
    assert topo.wait_for(lambda: len(set(peer_macs_for_bond(topo))) == 2, timeout=6), peer_macs_for_bond(topo)
    topo.softbond("set", "bond0", "mode", "balance-rr")
    bond_mac = status_json(topo)["hwaddr"]
    assert topo.wait_for(lambda: peer_macs_for_bond(topo) == [bond_mac] * 2, timeout=1), peer_macs_for_bond(topo)
    assert all(ping_ok(topo, ADDR.split("/")[0], ns=topo.peer(i)) for i in range(2))


def test_a_bond_without_members_changes_to_802_3ad_and_lacp_starts_at_the_first_enslave(topo):
    proc = topo.softbond("up", "bond0", "--address", ADDR, "mode=balance-rr", "miimon=100", check=False)
    assert proc.returncode == 0, proc.stderr
    changed = topo.softbond("set", "bond0", "mode", "802.3ad", check=False)
    assert changed.returncode == 0 and changed.stderr == "", changed.stderr
    topo.softbond("enslave", "bond0", "eth0")
    st = status_json(topo)
    actor = st["slaves"][0]["ad"]["actor"]
    assert st["mode"] == "802.3ad" and actor["port_number"] == 1 and actor["system_mac"] == st["hwaddr"], st
