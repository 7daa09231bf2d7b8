"""Monitoring end to end: the counters softbond reports against what the
kernel counts on the other end of each member's cable, the web dashboard in
a real browser (headless Chromium driven by Playwright) while traffic runs
and a member fails, and /metrics scraped over HTTP.

The web server runs in the topology's host namespace, where the bonds are.
So does the browser: a small driver process (tests/support/browser.py).
"""
import json
import os
import shutil
import statistics
import subprocess
import time

import pytest

from tests.support.netcheck import ping_ok, status_json, wait_active
from tests.support.webutil import PORT, http, metric_samples
from tests.support.webutil import web as web  # the fixture: `softbond web` servers in the host namespace
from tests.support.browser import Browser, artifacts_dir, assert_member_table_fits, require_browser as _tools
from softbond.faces.lacpview import lacp_summary

ADDR = "192.168.100.199/24"
COUNTERS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")
SWAP = {"rx_bytes": "tx_bytes", "tx_bytes": "rx_bytes", "rx_packets": "tx_packets", "tx_packets": "rx_packets"}


def up(topo, *options, slaves="eth0,eth1"):
    proc = topo.softbond("up", "bond0", "--slaves", slaves, "--address", ADDR, *options, check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def switch_counters(topo):
    """The kernel's counters on the switch side of each member's cable."""
    script = "; ".join(f"cat /sys/class/net/{topo.switch_port(i)}/statistics/{key}"
                       for i in range(topo.members) for key in COUNTERS)
    values = [int(v) for v in topo.exec(topo.switch_ns, ["sh", "-c", script]).stdout.split()]
    out = {}
    for i in range(topo.members):
        out[topo.member(i)] = dict(zip(COUNTERS, values[i * len(COUNTERS):(i + 1) * len(COUNTERS)]))
    return out


# -------------------------------------------------------------------- (1)
def test_counters_are_exactly_what_the_kernel_counts_on_the_far_end(topo, web):
    up(topo, "mode=active-backup", "miimon=100")
    web()
    before = status_json(topo)
    # A known transfer: 300 echo requests of 1000 bytes of payload (1042-byte
    # frames) out through the active member, 300 replies back in.
    proc = topo.exec(topo.host, ["ping", "-n", "-q", "-c", "300", "-i", "0.002", "-s", "1000",
                                 topo.peer_ip()], timeout=60)
    assert " 0% packet loss" in proc.stdout, proc.stdout
    # Everything else is background (ARP, the peer's and the switch's own
    # IPv6 chatter): read both ends at a quiet moment, i.e. when the switch
    # side did not move while softbond and the API were read.
    for attempt in range(40):  # noqa: B007 (reported below)
        sw_before = switch_counters(topo)
        st = status_json(topo)
        time.sleep(1.1)  # the API serves the web server's last sample (one a second): one taken in this window
        status, _, text = http(topo, "/api/bonds/bond0/counters")
        assert status == 200
        api = json.loads(text)
        sw_after = switch_counters(topo)
        if sw_before == sw_after:
            break
    else:
        pytest.fail("the switch ports never stayed quiet for one reading")
    print(f"quiet after {attempt + 1} reading(s): {sw_after}")
    members = {s["name"]: s["counters"] for s in st["slaves"]}
    for name, far in sw_after.items():
        for key in COUNTERS:
            # what the member sent the switch port received, and back
            assert members[name][key] == far[SWAP[key]], (name, key, members[name], far)
            assert api["members"][name][key] == far[SWAP[key]], (name, key, api["members"][name], far)
    for key in COUNTERS:
        assert api["total"][key] == sum(far[SWAP[key]] for far in sw_after.values()), key
    # ...and the transfer is in there, on the active member
    old = {s["name"]: s["counters"] for s in before["slaves"]}
    sent = members["eth0"]["tx_packets"] - old["eth0"]["tx_packets"]
    assert 300 <= sent <= 300 + 20, sent
    assert members["eth0"]["tx_bytes"] - old["eth0"]["tx_bytes"] >= 300 * 1042
    assert members["eth0"]["rx_packets"] - old["eth0"]["rx_packets"] >= 300
    assert members["eth1"]["tx_packets"] - old["eth1"]["tx_packets"] <= 5  # the backup sends ~nothing
    # /api/bonds/bond0 is the `softbond status --json` dict
    status, _, text = http(topo, "/api/bonds/bond0")
    assert status == 200 and set(json.loads(text)) == set(st)
    status, _, text = http(topo, "/api/bonds/bond9")
    assert status == 404 and "bond9" in json.loads(text)["error"]


# -------------------------------------------------------------------- (2)
def _iperf(topo, seconds, rate):
    server = topo.popen(topo.peer(0), ["iperf3", "-s", "-1", "-p", "5201"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    client = topo.popen(topo.host, ["iperf3", "-c", topo.peer_ip(), "-p", "5201", "-t", str(seconds),
                                    "-b", rate, "-J"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return server, client


def test_dashboard_in_a_real_browser(topo, web, tmp_path):
    _tools()
    up(topo, "mode=active-backup", "miimon=100")
    web()  # read-only: no token
    browser = Browser(topo)
    server = client = None
    try:
        browser("goto", url=f"http://127.0.0.1:{PORT}/")
        bond = '[data-bond="bond0"]'
        browser("wait", js=f"document.querySelector('{bond} .chart-bond-tx') !== null", timeout=10000)
        assert browser("eval", js=f"document.querySelector('{bond}').dataset.active") == "eth0"
        assert browser("eval", js="document.body.dataset.unit") == "Mbit/s"

        # iperf3 paced at 30 Mbit/s through the bond; the page's charted rate
        # (the latest plotted value, exposed as data-latest) must follow it.
        server, client = _iperf(topo, 8, "30M")
        time.sleep(2.5)  # past TCP's start
        charted = []
        for _ in range(4):
            charted.append(float(browser("eval", js=f"document.querySelector('{bond} .chart-bond-tx')"
                                                    ".dataset.latest") or 0))
            time.sleep(1.0)
        # the bond charts by protocol (g or the Bond switch): the stream is TCP over IPv4
        browser("click", selector='#details button[data-detail="protocols"]')
        browser("wait", js=f"document.querySelector('{bond} .chart-bond-tx').dataset.detail === 'protocols' && "
                           f"Number(document.querySelector('{bond} .chart-bond-tx').dataset.latest) > 0", timeout=3000)
        by_protocol = float(browser("eval", js=f"document.querySelector('{bond} .chart-bond-tx').dataset.latest"))
        bands = next(c for c in browser("eval", js="window.softbondDashboard.describeCharts()")
                     if c["kind"] == "bond" and c["dir"] == "tx")
        assert bands["detail"] == "protocols" and {"ipv4_tcp", "arp", "other"} <= {s["label"] for s in bands["series"]}
        print(f"by protocol: {by_protocol:.2f} Mbit/s out")
        assert abs(by_protocol - statistics.median(charted)) <= 0.25 * statistics.median(charted)
        browser("eval", js="document.dispatchEvent(new KeyboardEvent('keydown', {key: 'g'}))")
        assert browser("eval", js=f"document.querySelector('{bond} .chart-bond-tx').dataset.detail") == "members"
        out, _ = client.communicate(timeout=30)
        data = json.loads(out)
        assert "error" not in data, data["error"]
        iperf_mbps = data["end"]["sum_sent"]["bits_per_second"] / 1e6
        median = statistics.median(charted)
        print(f"iperf3 {iperf_mbps:.2f} Mbit/s; charted {charted} (median {median:.2f})")
        assert all(v > 0 for v in charted), charted
        assert abs(median - iperf_mbps) <= 0.10 * iperf_mbps, (median, iperf_mbps, charted)
        member_tx = float(browser("eval", js=f"document.querySelector('{bond} .chart-member[data-member=\"eth0\"]')"
                                             ".dataset.latestTx") or 0)
        assert member_tx > 0

        # unit switch: the same rate in Kbit/s
        browser("click", selector='#units button[data-unit="Kbit/s"]')
        assert browser("eval", js=f"document.querySelector('{bond} .chart-bond-tx').dataset.unit") == "Kbit/s"
        browser("click", selector='#units button[data-unit="Mbit/s"]')

        # cut the active member's cable: the page shows the failover within 2 s
        failovers = browser("eval", js=f"document.querySelectorAll('{bond} li[data-kind=\"failover\"]').length")
        topo.cut(0)
        cut_at = time.monotonic()
        browser("wait", js=f"document.querySelector('{bond}').dataset.active === 'eth1' && "
                           f"document.querySelectorAll('{bond} li[data-kind=\"failover\"]').length > {failovers}",
                timeout=2000)
        seen_after = time.monotonic() - cut_at
        print(f"failover on the page {seen_after:.2f} s after the cut")
        assert seen_after <= 2.0
        assert browser("eval", js=f"document.querySelector('{bond} tr[data-member=\"eth0\"]').dataset.mii") != "up"
        screenshot = tmp_path / "dashboard.png"
        browser("screenshot", path=str(screenshot))
        assert screenshot.stat().st_size > 10_000
        # also where a person (or CI) looks for it
        kept = os.path.join(artifacts_dir(), "dashboard.png")
        shutil.copy(screenshot, kept)
        print(f"screenshot: {screenshot} (and {kept})")

        # no token: no action buttons, a hint how to get them instead
        assert browser("eval", js=f"[...document.querySelectorAll('{bond} [data-action]')]"
                                  ".every(b => b.offsetParent === null)")
        assert browser("eval", js=f"document.querySelectorAll('{bond} [data-action]').length") == 5
        assert "--actions" in browser("eval", js="document.getElementById('read-only-hint').innerText")
        assert browser("eval", js=f"document.querySelector('{bond} .lacp-status').dataset.lacpStatus") == "off"
        assert browser("eval", js="document.getElementById('token-form').offsetParent === null")
        st = status_json(topo)
        assert st["active_slave"] == "eth1" and [s["name"] for s in st["slaves"]] == ["eth0", "eth1"]
        assert browser("errors") == []
    finally:
        for p in (client, server):
            if p is not None and p.poll() is None:
                p.kill()
        browser.close()


def test_dashboard_actions_work_with_the_token(topo, web, tmp_path):
    _tools()
    up(topo, "mode=active-backup", "miimon=100")
    token_file = tmp_path / "token"
    token_file.write_text("correct horse battery staple\n")
    token_file.chmod(0o600)
    web("--token-file", str(token_file))
    browser = Browser(topo)
    bond = '[data-bond="bond0"]'
    try:
        browser("goto", url=f"http://127.0.0.1:{PORT}/")
        browser("wait", js=f"document.querySelector('{bond} tr[data-member=\"eth1\"]') !== null", timeout=10000)
        # a wrong token is refused
        browser("fill", selector="#token", value="wrong")
        browser("click", selector="#token-form button")
        browser("click", selector=f'{bond} tr[data-member="eth1"] button[data-action="set-active"]')
        browser("wait", js="document.getElementById('message').dataset.status === '403'", timeout=5000)
        assert status_json(topo)["active_slave"] == "eth0"
        # the right one works: set-active, release, enslave
        browser("fill", selector="#token", value="correct horse battery staple")
        browser("click", selector="#token-form button")
        browser("click", selector=f'{bond} tr[data-member="eth1"] button[data-action="set-active"]')
        browser("wait", js="document.getElementById('message').dataset.status === '200'", timeout=5000)
        wait_active(topo, "eth1", timeout=2)
        browser("wait", js=f"document.querySelector('{bond}').dataset.active === 'eth1'", timeout=3000)
        browser("eval", js="document.getElementById('message').dataset.status = ''")
        browser("click", selector=f'{bond} tr[data-member="eth0"] button[data-action="release"]')
        browser("wait", js="document.getElementById('message').dataset.status === '200'", timeout=5000)
        assert [s["name"] for s in status_json(topo)["slaves"]] == ["eth1"]
        browser("wait", js=f"document.querySelector('{bond} tr[data-member=\"eth0\"]') === null", timeout=3000)
        browser("eval", js="document.getElementById('message').dataset.status = ''")
        browser("fill", selector=f'{bond} input[data-role="enslave-iface"]', value="eth0")
        browser("click", selector=f'{bond} button[data-action="enslave"]')
        browser("wait", js="document.getElementById('message').dataset.status === '200'", timeout=5000)
        assert [s["name"] for s in status_json(topo)["slaves"]] == ["eth1", "eth0"]
        assert ping_ok(topo)
        # the same POST from another origin is refused, token or not
        status, _, text = http(topo, "/api/bonds/bond0/set-active", method="POST", body='{"iface": "eth0"}',
                               headers={"Content-Type": "application/json", "Origin": "http://evil.example",
                                        "X-Softbond-Token": "correct horse battery staple"})
        assert status == 403 and "cross-site" in json.loads(text)["error"]
        assert status_json(topo)["active_slave"] == "eth1"
        assert browser("errors") == []
    finally:
        browser.close()


def _rgb(color):
    """'#2456c7' or 'rgb(36, 86, 199)' -> (36, 86, 199)."""
    if color.startswith("#"):
        return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(x)) for x in color[color.index("(") + 1:color.index(")")].split(",")[:3])


def _check_layout(browser, size):
    """Every chart inside its card, its card inside the bond's section, the
    time labels one line each and apart, one colour per member everywhere."""
    charts = [c for c in browser("eval", js="window.softbondDashboard.describeCharts()") if c["kind"] != "path"]
    assert len(charts) == 4, charts  # in and out stacked, one per member
    for c in charts:
        what = (size, c["kind"], c["dir"] or c["member"])
        for box in ("root", "canvas"):
            assert c["card"]["left"] - 0.5 <= c[box]["left"] and c[box]["right"] <= c["card"]["right"] + 0.5, \
                (what, box, c[box], c["card"])
        assert c["section"]["left"] <= c["card"]["left"] and c["card"]["right"] <= c["section"]["right"], what
        labels = sorted(c["labels"], key=lambda lab: lab["left"])
        assert labels, (what, labels)
        for a, b in zip(labels, labels[1:]):
            assert a["right"] + 2 <= b["left"], (what, a, b)
        assert all("\n" not in lab["text"] for lab in labels), (what, labels)
        assert len({lab["text"] for lab in labels}) == len(labels), (what, labels)  # no label printed twice
        assert c["yMax"] >= 1, (what, c["yMax"])  # the 1 Mbit/s floor: idle stays small
    members = [c for c in charts if c["kind"] == "member"]
    assert len({c["yMax"] for c in members}) == 1, members  # one scale per card
    assert_member_table_fits(browser, "bond0", size)
    swatches = browser("eval", js="Object.fromEntries([...document.querySelectorAll('[data-bond=\"bond0\"] "
                                  "tr[data-member]')].map(tr => [tr.dataset.member, "
                                  "getComputedStyle(tr.querySelector('.swatch')).backgroundColor]))")
    for m in members:
        name = m["member"]
        strokes = {_rgb(s["stroke"]) for s in m["series"]}
        stacked = {_rgb(s["stroke"]) for c in charts if c["kind"] == "bond" for s in c["series"] if s["label"] == name}
        assert len(strokes) == 1 and strokes == stacked == {_rgb(swatches[name])}, (name, strokes, stacked, swatches)
        assert [bool(s["dash"]) for s in m["series"]] == [False, True]  # in solid, out dashed
    assert len({_rgb(swatches[n]) for n in swatches}) == len(swatches)  # members differ


def _lacp_views_agree(topo, browser, word):
    """status JSON's lacp_status, top's LACP line and the page's say `word`."""
    st = status_json(topo)
    assert st["lacp_status"] == word, st["lacp_status"]
    assert lacp_summary(st).startswith(word + ":"), lacp_summary(st)
    page = browser("eval", js="document.querySelector('[data-bond=\"bond0\"] .lacp-status').textContent")
    assert page.startswith(f"lacp_status: {word} · "), page


@pytest.mark.topology(peers=1, switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")
def test_dashboard_layout_first_paint_colours_and_lacp(topo, web):
    """Issue 15 in real Chromium at 1400x900 and 800x600, an 802.3ad bond
    against Open vSwitch's LACP: screenshots in the artefact directory."""
    _tools()
    # the path monitor on too: its column and the LACP column both in the
    # member table, the widest it gets
    up(topo, "mode=802.3ad", "miimon=100", "lacp_rate=fast", f"arp_ip_target={topo.peer_ip()}", "path_monitor=on")
    assert topo.wait_for(lambda: all(s["ad"] and s["ad"]["mux_state"] == "COLLECTING_DISTRIBUTING"
                                     for s in status_json(topo)["slaves"]), timeout=10)
    web()  # read-only
    browser = Browser(topo)
    bond = '[data-bond="bond0"]'
    try:
        # the first paint comes from /api/bonds: with the stream blocked the
        # page still shows the bond, its members and its configuration
        browser("viewport", width=1400, height=900)
        browser("block", url="**/api/stream")
        browser("goto", url=f"http://127.0.0.1:{PORT}/")
        browser("wait", js="document.body.dataset.loaded === 'api'", timeout=10000)
        assert browser("eval", js="document.getElementById('conn').dataset.state") != "live"
        assert browser("eval", js=f"[...document.querySelectorAll('{bond} tr[data-member]')]"
                                  ".map(tr => tr.dataset.member)") == ["eth0", "eth1"]
        options = browser("eval", js=f"document.querySelector('{bond} .options').innerText")
        assert "object Object" not in options and "mode\t802.3ad" in options, options
        # LACP, decoded, and one summary line as ovs-appctl bond/show has it
        _lacp_views_agree(topo, browser, "negotiated")
        lacp = browser("eval", js=f"document.querySelector('{bond} .lacp-status').textContent")
        assert "2/2 members distributing" in lacp, lacp
        # letters as top shows them, the words in the tooltip and the legend
        actor = f"document.querySelector('{bond} tr[data-member=\"eth0\"] .lacp-state[data-side=actor]')"
        assert browser("eval", js=actor + ".innerText") == "actor ATGSCD.."
        title = browser("eval", js=actor + ".title")
        assert "Synchronization, Collecting, Distributing" in title and "Defaulted" not in title, title
        legend = browser("eval", js=f"document.querySelector('{bond} .lacp-legend').innerText")
        assert "A Activity" in legend and "F Defaulted" in legend, legend
        # 802.3ad has no active member: the header names none (as /proc)
        facts = browser("eval", js=f"document.querySelector('{bond} .facts').innerText")
        assert "active" not in facts and "mode 802.3ad" in facts, facts
        # read-only: no action buttons, a hint instead
        assert browser("eval", js=f"[...document.querySelectorAll('{bond} [data-action]')]"
                                  ".every(b => b.offsetParent === null)")
        assert browser("eval", js="document.getElementById('read-only-hint').offsetParent !== null")

        browser("unblock", url="**/api/stream")
        browser("goto", url=f"http://127.0.0.1:{PORT}/")
        browser("wait", js="document.getElementById('conn').dataset.state === 'live' && "
                           "Number(document.body.dataset.seq || 0) >= 3", timeout=10000)
        artifacts = artifacts_dir()
        for width, height in ((1400, 900), (800, 600)):
            browser("viewport", width=width, height=height)
            seq = int(browser("eval", js="document.body.dataset.seq"))
            browser("wait", js=f"Number(document.body.dataset.seq) >= {seq + 1}", timeout=5000)  # redrawn since
            _check_layout(browser, f"{width}x{height}")
            shot = os.path.join(artifacts, f"dashboard-{width}x{height}.png")
            browser("screenshot", path=shot)
            assert os.path.getsize(shot) > 10_000
            print(f"screenshot: {shot}")
        # the partner goes quiet on both members: LACP runs, nobody answers
        topo.silence(0)
        topo.silence(1)
        browser("wait", js=f"document.querySelector('{bond} .lacp-status').dataset.lacpStatus === "
                           "'configured (no partner)'", timeout=10000)
        _lacp_views_agree(topo, browser, "configured (no partner)")
        # lacp_fallback, set live, starts at once (timeout 0, no partner is
        # current): the page, top's line and /metrics say so
        topo.softbond("set", "bond0", "lacp_fallback_timeout", "0")
        topo.softbond("set", "bond0", "lacp_fallback", "active-backup")
        browser("wait", js=f"document.querySelector('{bond} .lacp-status').dataset.lacpFallback === 'active'",
                timeout=10000)
        lacp = browser("eval", js=f"document.querySelector('{bond} .lacp-status').textContent")
        assert "LACP fallback: active-backup (no LACPDU for " in lacp and "eth0 active" in lacp, lacp
        assert "; LACP fallback: active-backup (no LACPDU for " in lacp_summary(status_json(topo))
        metrics = metric_samples(http(topo, "/metrics")[2])
        assert metrics[("softbond_lacp_fallback", (("master", "bond0"),))] == 1
        assert browser("errors") == []
    finally:
        browser.close()


# -------------------------------------------------------------------- (3)
def test_metrics_scraped_over_http(topo, web):
    up(topo, "mode=active-backup", "miimon=100")
    web()
    status, headers, text = http(topo, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    m = metric_samples(text)
    assert m[("node_bonding_slaves", (("master", "bond0"),))] == 2
    assert m[("node_bonding_active", (("master", "bond0"),))] == 2
    assert m[("softbond_member_active", (("bond", "bond0"), ("member", "eth0")))] == 1
    assert m[("softbond_member_active", (("bond", "bond0"), ("member", "eth1")))] == 0
    st = status_json(topo)
    assert m[("softbond_bond_info", (("bond", "bond0"), ("datapath", st["datapath"]), ("mode", "active-backup"),
                                     ("mode_id", "1"), ("version", st["softbond_version"])))] == 1
    rx0 = m[("softbond_member_rx_bytes_total", (("bond", "bond0"), ("member", "eth0")))]
    assert rx0 > 0  # the pings of up() came back in through eth0
    echo = (("direction", "rx"), ("master", "bond0"), ("member", "eth0"), ("protocol", "ipv4_icmp"))
    assert m[("softbond_protocol_packets_total", echo)] >= 1
    assert m[("softbond_protocol_bytes_total", echo)] >= 98 * m[("softbond_protocol_packets_total", echo)]
    assert len([k for k in m if k[0] == "softbond_protocol_packets_total"]) == 2 * 2 * 11   # members x rx/tx x classes

    topo.cut(0)
    wait_active(topo, "eth1", timeout=2)
    st = status_json(topo)
    # /metrics serves the web server's last sample (one a second)
    def after_the_cut():
        m = metric_samples(http(topo, "/metrics")[2])
        return m if m[("node_bonding_active", (("master", "bond0"),))] == 1 else None
    m = topo.wait_for(after_the_cut, timeout=3, interval=0.2)
    assert m, "/metrics did not show the cut within 3 s"
    assert m[("node_bonding_slaves", (("master", "bond0"),))] == 2
    assert m[("node_bonding_active", (("master", "bond0"),))] == 1
    assert m[("softbond_member_link_up", (("bond", "bond0"), ("member", "eth0")))] == 0
    assert m[("softbond_member_active", (("bond", "bond0"), ("member", "eth1")))] == 1
    assert m[("softbond_bond_failovers_total", (("bond", "bond0"),))] == st["failovers"] == 1
    assert m[("softbond_member_link_failures_total", (("bond", "bond0"), ("member", "eth0")))] == 1
    assert m[("softbond_member_rx_bytes_total", (("bond", "bond0"), ("member", "eth0")))] >= rx0
