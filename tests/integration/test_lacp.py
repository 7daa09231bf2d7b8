"""802.3ad against a real partner: Open vSwitch in userspace with LACP,
checked from both sides (ovs-appctl lacp/show and our own status)."""
import json
import re
import subprocess
import time

import pytest

from tests.support.netcheck import ping_ok, ping_result, start_ping, status_direct, status_json
from tests.support.modes_util import ADDR, RATE, Flows, mean, shape_all

from softbond.lab.netns import ip

LACP_OVS = dict(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")

# Every test here runs on every data path (conftest.pytest_generate_tests).
ALL_DATAPATHS = True


def up_8023ad(topo, *options, slaves="eth0,eth1"):
    started = time.monotonic()
    proc = topo.softbond("up", "bond0", "--slaves", slaves, "--address", ADDR, "mode=802.3ad",
                         "miimon=100", *options, check=False)
    assert proc.returncode == 0, proc.stderr
    return started


def distributing(topo):
    st = status_direct(topo)
    return [s["name"] for s in st["slaves"] if s["ad"] and s["ad"]["mux_state"] == "COLLECTING_DISTRIBUTING"]


def ovs_members(topo, bond="bond0"):
    """member -> (lacp status line, actor state, partner sys_id) from lacp/show."""
    text = topo.ovs.lacp_show(bond)
    out = {}
    for block in re.split(r"\n(?=member: )", text)[1:]:
        name, status = re.match(r"member: (\S+): (.*)", block).groups()
        actor_state = re.search(r"  actor state: (.*)", block).group(1)
        partner = re.search(r"  partner sys_id: (\S+)", block).group(1)
        out[name] = (status, actor_state, partner)
    return out


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_converges_with_ovs_within_3s_and_both_sides_agree(topo):
    started = up_8023ad(topo, "lacp_rate=fast", "xmit_hash_policy=layer3+4")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=5, interval=0.02)
    elapsed = time.monotonic() - started
    print(f"from `softbond up` to both members distributing: {elapsed:.2f} s")
    assert elapsed < 3.0
    st = status_json(topo)
    our_system = st["ad_info"]["system_mac"]
    for slave in st["slaves"]:
        assert slave["ad"]["partner"]["system_mac"] == topo.ovs.system_id
        assert slave["ad"]["counters"]["lacpdu_rx"] > 0 and slave["ad"]["counters"]["lacpdu_illegal_rx"] == 0
    members = topo.wait_for(lambda: all("collecting distributing" in v[1] and v[2] == our_system
                                        for v in ovs_members(topo).values()) and ovs_members(topo), timeout=3)
    assert members, topo.ovs.lacp_show("bond0")
    assert set(members) == {"sw0", "sw1"}
    assert all(v[0].startswith("current") for v in members.values()), members
    assert topo.wait_for(lambda: ping_ok(topo), timeout=3)
    text = topo.softbond("status", "bond0").stdout
    assert "Bonding Mode: IEEE 802.3ad Dynamic link aggregation\n" in text
    assert "LACP rate: fast\n" in text
    assert f"Partner Mac Address: {topo.ovs.system_id}\n" in text
    assert "\tNumber of ports: 2\n" in text


@pytest.mark.topology(peers=1, switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="passive")
def test_we_speak_first_to_a_passive_partner(topo):
    up_8023ad(topo, "lacp_rate=fast")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=5)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=3)


@pytest.mark.topology(peers=1, switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="passive")
def test_passive_against_passive_never_forms_and_says_why(topo):
    up_8023ad(topo, "lacp_rate=fast", "lacp_active=off")
    time.sleep(4)
    st = status_json(topo)
    # No aggregation; the bond is up over eth0 alone, an individual link, as
    # the kernel's is (issue 19; Open vSwitch, passive too, forwards nothing).
    assert distributing(topo) == [] and st["mii_status"] == "up"
    assert [s["state"] for s in st["slaves"]] == ["active", "backup"]
    messages = [e["message"] for e in st["events"]]
    assert any("No 802.3ad response from the link partner" in m for m in messages), messages


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_silent_partner_port_leaves_after_short_timeout_and_rejoins(topo):
    up_8023ad(topo, "lacp_rate=fast", "xmit_hash_policy=layer3+4")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=5)
    # The partner stops answering on eth1; the cable stays in.
    topo.silence(1)
    silent = time.monotonic()
    assert topo.wait_for(lambda: distributing(topo) == ["eth0"], timeout=6, interval=0.05)
    took = time.monotonic() - silent
    print(f"silent partner detected after {took:.2f} s")
    assert 1.0 < took < 4.5      # the 3 s short timeout, from the partner's last LACPDU
    st = status_json(topo)
    eth1 = st["slaves"][1]
    assert eth1["mii_status"] == "up" and eth1["ad"]["rx_state"] in ("EXPIRED", "DEFAULTED")
    # Traffic keeps flowing on the other member, every flow of it (once OVS
    # has read our LACPDU saying eth1 is out: about 0.1 s).
    time.sleep(0.5)
    ping = start_ping(topo, 1.0)
    sent, received = ping_result(ping)
    assert sent == received, (sent, received)
    Flows(topo, 1, streams=4).results()
    topo.unsilence(1)
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=6)


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_a_member_facing_another_partner_forms_its_own_aggregator(topo):
    # eth2 goes to a second OVS bridge with its own LACP system id.
    ip("link", "add", "eth2", "netns", topo.host, "type", "veth", "peer", "name", "sw2", "netns", topo.switch_ns)
    ip("-n", topo.switch_ns, "link", "set", "sw2", "up")
    other = "02:00:00:00:0b:02"
    topo.ovs.add_bridge("br1")
    topo.ovs.vsctl("add-port", "br1", "sw2", "--", "set", "port", "sw2", "lacp=active",
                   f"other_config:lacp-system-id={other}", "other_config:lacp-time=fast")
    up_8023ad(topo, "lacp_rate=fast", "ad_select=count", slaves="eth0,eth1,eth2")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=6)
    st = status_json(topo)
    aggs = {s["name"]: s["ad"]["aggregator_id"] for s in st["slaves"]}
    assert aggs["eth0"] == aggs["eth1"] != aggs["eth2"]
    assert st["ad_info"]["active_aggregator"]["id"] == aggs["eth0"]
    assert st["slaves"][2]["ad"]["partner"]["system_mac"] == other
    messages = " ".join(e["message"] for e in st["events"])
    assert "eth2" in messages and "different partner system" in messages, messages
    # With both ports of the big aggregator gone, count selects eth2's.
    topo.cut(0)
    topo.cut(1)
    assert topo.wait_for(lambda: distributing(topo) == ["eth2"], timeout=6)
    st = status_json(topo)
    assert st["ad_info"]["active_aggregator"]["id"] == aggs["eth2"] and st["mii_status"] == "up"


@pytest.mark.topology(peers=2, **LACP_OVS)
def test_flows_spread_over_both_members_at_line_rate(topo):
    up_8023ad(topo, "lacp_rate=fast", "xmit_hash_policy=layer3+4")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=5)
    for i in range(2):
        assert topo.wait_for(lambda: ping_ok(topo, topo.peer_ip(i)), timeout=5)
    shape_all(topo)
    rates = Flows(topo, 7, streams=4, cport=24000).per_second()
    both = mean(rates[2:7])
    print(f"802.3ad aggregate {both:.0f} Mbit/s (R={RATE})")
    assert both >= 1.8 * RATE, rates


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_min_links_holds_the_carrier_down(topo):
    up_8023ad(topo, "lacp_rate=fast", "min_links=2")
    assert topo.wait_for(lambda: status_json(topo)["mii_status"] == "up", timeout=5)
    topo.cut(1)
    assert topo.wait_for(lambda: status_json(topo)["mii_status"] == "down", timeout=3)
    assert not ping_ok(topo)
    topo.plug(1)
    assert topo.wait_for(lambda: status_json(topo)["mii_status"] == "up", timeout=6)


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_tshark_dissects_our_lacpdus_without_warnings(topo, tmp_path):
    pcap = tmp_path / "lacp.pcap"
    cap = topo.popen(topo.switch_ns, ["tcpdump", "-i", "sw0", "-w", str(pcap), "-U", "ether proto 0x8809"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    up_8023ad(topo, "lacp_rate=fast")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=5)
    time.sleep(2)
    cap.terminate()
    cap.wait()
    ours = status_json(topo)["slaves"][0]["perm_hwaddr"]
    listed = subprocess.run(["tshark", "-r", str(pcap), "-Y", f"lacp && eth.src == {ours}", "-T", "fields",
                             "-e", "lacp.actor.sysid"], capture_output=True, text=True, check=True).stdout.split()
    assert len(listed) >= 3, listed
    bad = subprocess.run(["tshark", "-r", str(pcap), "-Y", f"eth.src == {ours} && (_ws.malformed || _ws.expert)"],
                         capture_output=True, text=True, check=True).stdout
    assert bad.strip() == "", bad


def _link_stats(topo, dev):
    out = subprocess.run(["ip", "-n", topo.host, "-s", "-j", "link", "show", dev], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]["stats64"]


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_lacpdus_count_as_received_never_as_drops(topo):
    """A LACPDU the control plane consumed is not a receive drop: not on the
    member NIC (eBPF used to hand it on to a stack without a handler), not
    on the bond device (the Python path used to deliver it up the TAP), not
    in the data path's own drops."""
    up_8023ad(topo, "lacp_rate=fast")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=5)
    time.sleep(0.5)       # frames of the forming (before collecting) are legitimately dropped
    before, bond_before = status_direct(topo), _link_stats(topo, "bond0")
    time.sleep(2.5)       # lacp_rate=fast: a LACPDU a second on each member
    after, bond_after = status_direct(topo), _link_stats(topo, "bond0")
    for old, new in zip(before["slaves"], after["slaves"]):
        lacpdus = new["ad"]["counters"]["lacpdu_rx"] - old["ad"]["counters"]["lacpdu_rx"]
        assert lacpdus >= 2, (old["name"], lacpdus)
        assert new["counters"]["rx_packets"] - old["counters"]["rx_packets"] >= lacpdus
        assert new["counters"]["rx_dropped"] == old["counters"]["rx_dropped"], new["name"]
    assert after["rx_dropped_inactive"] == before["rx_dropped_inactive"]
    assert bond_after["rx"]["dropped"] == bond_before["rx"]["dropped"]
