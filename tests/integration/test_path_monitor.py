"""path_monitor=on end to end: each member probes the peer on its own path;
random loss injected on one member's switch port (a tc BPF program,
lab/randomdrop.bpf.c) takes that member out of service once the loss
crosses the threshold, traffic moves to the other member, and the member
comes back once the loss stops."""
import os
import time

import pytest

from softbond.lab import randomdrop
from softbond.monitors.path import PathJudge
from tests.support.browser import Browser, artifacts_dir, assert_member_table_fits, require_browser as _tools
from tests.support.modes_util import OVS_TRUNK
from tests.support.netcheck import ping_ok, status_json, wait_active
from tests.support.webutil import PORT, WebServer

ADDR = "192.168.100.199/24"
INTERVAL_MS, WINDOW, LOSS, RECOVER = 50, 40, 25, 20


def path(topo, i):
    return status_json(topo)["slaves"][i]["path"]


def up_probing(topo, mode, target=None, *extra):
    """The bond up with the path monitor on the test's short interval and window."""
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, f"mode={mode}",
                         "miimon=100", target or f"arp_ip_target={topo.peer_ip()}", "path_monitor=on",
                         f"path_monitor_interval={INTERVAL_MS}", f"path_monitor_window={WINDOW}",
                         f"path_monitor_loss={LOSS}", f"path_monitor_recover={RECOVER}", *extra, check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def test_lossy_member_taken_out_and_back(topo):
    _tools()
    up_probing(topo, "active-backup")
    wait_active(topo, "eth0")
    # Both members get answers on their own path, the backup too.
    assert topo.wait_for(lambda: all(s["path"]["probes"] >= 20 for s in status_json(topo)["slaves"]), timeout=5)
    st = status_json(topo)
    for slave in st["slaves"]:
        assert slave["path"]["state"] == "in service" and slave["path"]["loss_pct"] == 0.0, slave
        assert 0 < slave["path"]["rtt_ms"] < 50
        assert slave["path"]["target"] == topo.peer_ip()
    text = topo.softbond("status", "bond0").stdout
    kernel_text = text.split("\nPath monitor:")[0]
    assert "Slave Interface: eth1\nMII Status: up\n" in kernel_text
    assert f"Path monitor: target {topo.peer_ip()}, probe every {INTERVAL_MS} ms, window {WINDOW} probes" in text
    assert "Path eth0: in service, loss 0.0% of " in text

    sw = topo.switch_ns
    web = browser = None
    try:
        web = WebServer(topo)
        browser = Browser(topo)
        browser("goto", url=f"http://127.0.0.1:{PORT}/")
        bond = '[data-bond="bond0"]'
        browser("wait", js=f"document.querySelector('{bond} .chart-path') !== null", timeout=10000)

        # 5% of what the switch sends eth0: under the 25% threshold, eth0 stays.
        randomdrop.attach(sw, topo.switch_port(0), 50, directions=("egress",))
        time.sleep(3.0)
        st = status_json(topo)
        assert st["active_slave"] == "eth0"
        assert st["slaves"][0]["path"]["state"] == "in service"
        assert st["slaves"][0]["path"]["loss_pct"] < LOSS
        assert st["slaves"][0]["path"]["taken_out"] == 0

        # 30% each way (about half the round trips): out within the documented time.
        bound = PathJudge(INTERVAL_MS / 1000, WINDOW, LOSS, 0, RECOVER).detection_bound()
        start = time.monotonic()
        randomdrop.attach(sw, topo.switch_port(0), 300)
        assert topo.wait_for(lambda: path(topo, 0)["state"] == "out of service", timeout=4 * bound + 2), \
            path(topo, 0)
        took = time.monotonic() - start
        print(f"taken out after {took:.2f} s (total-loss bound {bound:.2f} s)")
        wait_active(topo, "eth1", timeout=2)
        st = status_json(topo)
        assert st["slaves"][0]["mii_status"] == "down" and st["slaves"][0]["carrier"] is True
        assert st["slaves"][0]["path"]["taken_out"] == 1 and "lost" in st["slaves"][0]["path"]["reason"]
        assert ping_ok(topo, count=3)
        text = topo.softbond("status", "bond0").stdout
        assert "Currently Active Slave: eth1\n" in text
        assert "Path eth0: out of service (lost " in text
        events = [e["message"] for e in status_json(topo)["events"]]
        assert any("(slave eth0): path monitor: lost" in m for m in events), events
        # The dashboard: the member's path column says so, the loss chart plots it.
        eth0_row = f"{bond} tr[data-member=\"eth0\"] td.path"
        browser("wait", js=f"document.querySelector('{eth0_row}').dataset.pathState === 'out of service'",
                timeout=5000)
        loss = browser("eval", js=f"document.querySelector('{eth0_row} [data-part=loss]').textContent")
        assert loss.endswith("%") and float(loss[:-1]) >= LOSS, loss
        assert browser("eval", js=f"document.querySelector('{eth0_row} [data-part=rtt]').textContent").endswith(" ms")
        assert float(browser("eval", js=f"document.querySelector('{bond} .chart-path').dataset.latest")) >= LOSS
        charts = browser("eval", js="window.softbondDashboard.describeCharts()")
        path_chart = next(c for c in charts if c["kind"] == "path")
        assert [s["label"] for s in path_chart["series"]] == ["eth0", "eth1"]
        # The path column must fit the member table at both window sizes.
        for width, height in ((1400, 900), (800, 600)):
            browser("viewport", width=width, height=height)
            seq = int(browser("eval", js="document.body.dataset.seq"))
            browser("wait", js=f"Number(document.body.dataset.seq) >= {seq + 1}", timeout=5000)
            assert browser("eval", js=f"document.querySelector('{eth0_row}').offsetParent !== null")
            assert_member_table_fits(browser, "bond0", f"{width}x{height}")
            browser("screenshot", path=os.path.join(artifacts_dir(), f"dashboard-path-{width}x{height}.png"))
        assert browser("errors") == []
    finally:
        randomdrop.detach(sw, topo.switch_port(0))
        if browser is not None:
            browser.close()
        if web is not None:
            web.close()
    # The loss stops: eth0 is back (as a backup) after RECOVER answered probes.
    assert topo.wait_for(lambda: path(topo, 0)["state"] == "in service", timeout=RECOVER * INTERVAL_MS / 1000 + 3)
    assert topo.wait_for(lambda: status_json(topo)["slaves"][0]["mii_status"] == "up", timeout=2)
    st = status_json(topo)
    assert st["active_slave"] == "eth1"
    assert ping_ok(topo)


def test_up_refused_without_a_probe_target(topo):
    before = topo.exec(topo.host, ["ip", "-o", "link", "show", "eth0"]).stdout
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=active-backup",
                         "miimon=100", "path_monitor=on", check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "path_monitor=on needs a probe target: set arp_ip_target" in proc.stderr
    # Nothing changed: no bond, the members as they were.
    assert topo.exec(topo.host, ["ip", "link", "show", "bond0"], check=False).returncode != 0
    assert topo.exec(topo.host, ["ip", "-o", "link", "show", "eth0"]).stdout == before
    # Live: refused the same way on a running bond without a target, which keeps running unchanged.
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=active-backup",
                         "miimon=100", check=False)
    assert proc.returncode == 0, proc.stderr
    proc = topo.softbond("set", "bond0", "path_monitor", "on", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("softbond: bond0: path_monitor=on needs a probe target: set arp_ip_target "
                                   "or ns_ip6_target (or give the bond an IPv4 default gateway)")
    st = status_json(topo)
    assert st["options"]["path_monitor"] == 0 and all(s["path"] is None for s in st["slaves"])
    # With a default route through the bond, its gateway is the probe target.
    topo.exec(topo.host, ["ip", "route", "add", "default", "via", topo.peer_ip(), "dev", "bond0"])
    topo.softbond("set", "bond0", "path_monitor", "on")
    assert topo.wait_for(lambda: all((s["path"] or {}).get("probes", 0) >= 5 for s in status_json(topo)["slaves"]),
                         timeout=5)
    for slave in status_json(topo)["slaves"]:
        assert slave["path"]["target"] == topo.peer_ip() and slave["path"]["state"] == "in service", slave


@pytest.mark.topology(**OVS_TRUNK)
def test_trunked_members_each_judged_by_their_own_probes(topo):
    """balance-xor into a switch that trunks the members: the switch picks
    the member a reply comes back on, so a reply counts for the member whose
    probe MAC it is addressed to; a member that loses everything it sends
    is taken out and the flows move to the other one. (Userspace OVS reads
    its ports with AF_PACKET, ahead of their tc ingress: the loss is put on
    eth0's own egress, which the bond's sends pass.)"""
    up_probing(topo, "balance-xor")
    assert topo.wait_for(lambda: all(s["path"]["probes"] >= 30 for s in status_json(topo)["slaves"]), timeout=6)
    for slave in status_json(topo)["slaves"]:
        assert slave["path"]["state"] == "in service" and slave["path"]["loss_pct"] <= 5.0, slave
    randomdrop.attach(topo.host, topo.member(0), 1000, directions=("egress",))
    try:
        assert topo.wait_for(lambda: path(topo, 0)["state"] == "out of service", timeout=4), path(topo, 0)
        st = status_json(topo)
        assert st["slaves"][0]["mii_status"] == "down" and st["slaves"][1]["path"]["state"] == "in service"
        assert ping_ok(topo, count=3)
    finally:
        randomdrop.detach(topo.host, topo.member(0))


@pytest.mark.topology(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")
def test_8023ad_lossy_port_leaves_distribution_and_lacp_keeps_it(topo):
    """802.3ad against Open vSwitch's LACP: probes wait for LACP to make a
    port collecting (before, every probe sent during negotiation was lost,
    both ports were taken out, which stopped their LACPDUs: the bond never
    came up). A lossy port leaves our distribution only: its link and LACP
    stay up, it is still probed, and it comes back when the loss stops."""
    up_probing(topo, "802.3ad", None, "lacp_rate=fast")

    def mux(i):
        return status_json(topo)["slaves"][i]["ad"]["mux_state"]
    assert topo.wait_for(lambda: all(s["path"]["probes"] >= 30 for s in status_json(topo)["slaves"]), timeout=8)
    for slave in status_json(topo)["slaves"]:
        assert slave["path"]["state"] == "in service" and slave["mii_status"] == "up", slave
        assert slave["ad"]["mux_state"] == "COLLECTING_DISTRIBUTING", slave
    # Half of what eth0 sends is lost (userspace OVS reads ahead of tc ingress, so on our egress).
    randomdrop.attach(topo.host, topo.member(0), 500, directions=("egress",))
    try:
        assert topo.wait_for(lambda: path(topo, 0)["state"] == "out of service", timeout=4), path(topo, 0)
        assert status_json(topo)["slaves"][0]["mii_status"] == "up"      # the link stays, for LACP
        # Our transmit leaves eth0: 200 pings go out on eth1.
        before = [s["counters"]["tx_packets"] for s in status_json(topo)["slaves"]]
        topo.exec(topo.host, ["ping", "-q", "-c", "200", "-i", "0.005", "-W", "1", topo.peer_ip()], check=False)
        after = [s["counters"]["tx_packets"] for s in status_json(topo)["slaves"]]
        sent = [a - b for a, b in zip(after, before)]
        assert sent[1] >= 200 and sent[0] < 100, sent          # eth0: its probes and LACPDUs only
    finally:
        randomdrop.detach(topo.host, topo.member(0))
    assert topo.wait_for(lambda: path(topo, 0)["state"] == "in service", timeout=RECOVER * INTERVAL_MS / 1000 + 4)
    assert topo.wait_for(lambda: mux(0) == "COLLECTING_DISTRIBUTING", timeout=5), mux(0)
    assert ping_ok(topo, count=3)


def test_ipv6_target_probed_with_neighbour_solicitations(topo):
    """ns_ip6_target only: each member solicits the target from its probe
    MAC's link-local address; the NA comes back to that MAC."""
    topo.exec(topo.peer(), ["ip", "addr", "add", "fd00:100::1/64", "dev", "peer0", "nodad"])
    up_probing(topo, "active-backup", target="ns_ip6_target=fd00:100::1")
    assert topo.wait_for(lambda: all(s["path"]["probes"] >= 20 for s in status_json(topo)["slaves"]), timeout=6)
    for slave in status_json(topo)["slaves"]:
        assert slave["path"]["target"] == "fd00:100::1", slave
        assert slave["path"]["state"] == "in service" and slave["path"]["loss_pct"] <= 5.0, slave
    randomdrop.attach(topo.switch_ns, topo.switch_port(0), 1000, directions=("egress",))
    try:
        assert topo.wait_for(lambda: path(topo, 0)["state"] == "out of service", timeout=4), path(topo, 0)
        wait_active(topo, "eth1", timeout=2)
        assert status_json(topo)["slaves"][1]["path"]["state"] == "in service"
    finally:
        randomdrop.detach(topo.switch_ns, topo.switch_port(0))
