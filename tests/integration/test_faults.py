"""Flap storms and a hostile LACP partner, under traffic."""
import os
import re
import subprocess
import time

import pytest

from tests.support.netcheck import ping_ok, status_json
from tests.support.faults import alive, flap, hostile_lacp, rss_kib
from tests.support.modes_util import ADDR, OVS_TRUNK, Flows

from softbond.lab.netns import Topology

# 60 s in the benchmark run (bench/run.py --only faults); short in CI.
FLAP_SECONDS = float(os.environ.get("SOFTBOND_FLAP_SECONDS", "8"))
LACP_OVS = dict(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")


def distributing(topo):
    return [s["name"] for s in status_json(topo)["slaves"]
            if s["ad"] and s["ad"]["mux_state"] == "COLLECTING_DISTRIBUTING"]


def broadcast_counter(topo):
    """Broadcast/multicast frames the switch sent towards the peer."""
    return int(topo.exec(topo.switch_ns, ["cat", "/sys/class/net/swp0/statistics/tx_packets"]).stdout)


@pytest.mark.parametrize("mode,switch", [("active-backup", "bridge"), ("balance-xor", "ovs"),
                                         ("802.3ad", "lacp")])
def test_flap_storm_under_traffic(mode, switch):
    kwargs = dict({"bridge": {}, "ovs": OVS_TRUNK, "lacp": LACP_OVS}[switch])
    if switch != "bridge":
        # The switch damps its side too, as an admin sets it up: without
        # that it keeps sending to the flapping port whenever it is up.
        kwargs["ovs_other"] = (*kwargs.get("ovs_other", ()), "bond_updelay=200")
    with Topology(prefix=f"sbs{os.getpid() % 10000}{mode[-2:]}", peers=1, **kwargs) as topo:
        options = ["miimon=100", "updelay=200", "downdelay=0"]
        if mode == "802.3ad":
            options += ["lacp_rate=fast"]
        if mode != "active-backup":
            options += ["xmit_hash_policy=layer3+4"]
        topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, f"mode={mode}", *options)
        if mode == "802.3ad":
            assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=6)
        assert topo.wait_for(lambda: ping_ok(topo), timeout=5)
        st = status_json(topo)
        pid = st["pid"]
        rss_before = rss_kib(pid)
        # The member carrying the traffic flaps: eth0 (active / first).
        flapper = flap(topo, 0, hz=50, seconds=FLAP_SECONDS)
        ping = topo.popen(topo.host, ["ping", "-n", "-q", "-i", "0.001", "-w", str(int(FLAP_SECONDS)),
                                      "-W", "1", topo.peer_ip()], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
        # TCP at a fixed rate: Open vSwitch in userspace, on these two cores,
        # would otherwise drop pings from its own saturation, not the flaps.
        flows = Flows(topo, int(FLAP_SECONDS) - 1, streams=2, bitrate="100M")
        swp_before = broadcast_counter(topo)
        out, _ = flapper.communicate(timeout=FLAP_SECONDS + 30)
        flaps = int(out.strip() or 0)
        ping_out, _ = ping.communicate(timeout=30)
        [data] = flows.results()
        swp_after = broadcast_counter(topo)
        assert alive(pid), "the bond process died"
        m = re.search(r"(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?", ping_out)
        sent, received, dups = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        # Let the flapping member settle (updelay) and check the end state.
        assert topo.wait_for(lambda: all(s["mii_status"] == "up" for s in status_json(topo)["slaves"]), timeout=5)
        if mode == "802.3ad":
            assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=8)
        st = status_json(topo)
        rss_after = rss_kib(pid)
        frames_to_peer = swp_after - swp_before
        print(f"{mode}: {flaps} flaps in {FLAP_SECONDS:.0f} s; ping {sent - received}/{sent} lost, {dups} dup; "
              f"TCP {data['end']['sum_received']['bits_per_second'] / 1e9:.2f} Gbit/s; "
              f"RSS {rss_before} -> {rss_after} KiB; link failures {st['slaves'][0]['link_failure_count']}")
        assert flaps >= 40 * FLAP_SECONDS * 0.8
        assert st["mii_status"] == "up" and st["pid"] == pid
        if mode == "active-backup":
            assert dups == 0
            assert st["active_slave"] in ("eth0", "eth1")
        # The flapping member is damped by updelay: it never comes back up
        # long enough to carry traffic, so the traffic stays on eth1.
        assert sent - received <= 0.02 * sent, (sent, received)
        # No storm towards the peer: what reached it is the traffic itself.
        assert frames_to_peer < 2 * (data["end"]["sum_sent"]["bytes"] / 1000 + sent), frames_to_peer
        assert rss_after - rss_before < 4096, (rss_before, rss_after)


@pytest.mark.topology(peers=1, **LACP_OVS)
def test_hostile_lacp_partner_cannot_hurt_the_bond(topo):
    topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=802.3ad", "miimon=100",
                  "lacp_rate=fast")
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=6)
    st = status_json(topo)
    pid, our_system = st["pid"], st["ad_info"]["system_mac"]
    rss_before = rss_kib(pid)
    attacker = hostile_lacp(topo, 1, rate=10000, seconds=6, our_system=our_system)
    time.sleep(1)
    # The control plane still answers promptly, and eth0 is untouched.
    slowest = 0.0
    for _ in range(10):
        t = time.monotonic()
        st = status_json(topo)
        slowest = max(slowest, time.monotonic() - t)
        assert "eth0" in distributing(topo)
        assert ping_ok(topo)
        time.sleep(0.3)
    out, err = attacker.communicate(timeout=30)
    assert attacker.returncode == 0, err
    sent = int(out.split()[0])
    st = status_json(topo)
    eth1 = st["slaves"][1]["ad"]
    counters = eth1["counters"]
    print(f"attacker sent {out.strip()}; eth1 counters {counters}; slowest status {slowest * 1000:.0f} ms")
    assert alive(pid) and sent > 40000
    assert counters["lacpdu_illegal_rx"] + counters["lacpdu_unknown_rx"] > 1000
    assert slowest < 1.0
    # Our LACPDUs on eth1 stayed within 3 per second whatever came in.
    assert counters["lacpdu_tx"] <= 3 * 12 + 10
    assert rss_kib(pid) - rss_before < 4096
    # Once the attacker stops, OVS's own LACPDUs bring eth1 back.
    assert topo.wait_for(lambda: distributing(topo) == ["eth0", "eth1"], timeout=10)
