"""Issue 15: a bond whose process died (SIGKILL) is reported, not called
"no such bond" or left out: status, status --json, /metrics and the web
page say it is unmanaged and what still runs (test_trust: `up` adopts it)."""
import json
import os
import signal

import pytest

from tests.support.browser import Browser, require_browser
from tests.support.netcheck import status_json
from tests.support.webutil import PORT, http, metric_samples
from tests.support.webutil import web as web  # the fixture: `softbond web` servers in the host namespace

REASON = {"ebpf": "bond0: process not running; forwarding continues unmanaged (eBPF); run `softbond up` to adopt it",
          "python": "bond1: process not running; forwarding stopped (python); run `softbond up` to adopt it"}
UP0 = ["up", "bond0", "--slaves", "eth0,eth1", "datapath=ebpf", "mode=active-backup"]
UP1 = ["up", "bond1", "--slaves", "eth2,eth3", "datapath=python", "mode=active-backup"]


def kill(topo, bond):
    pid = status_json(topo, bond)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert topo.wait_for(lambda: not os.path.exists(f"/proc/{pid}/cmdline") or
                         open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z", timeout=5)
    return pid


@pytest.mark.topology(members=4)
def test_dead_bonds_are_reported_everywhere(topo, web):
    require_browser()
    topo.softbond(*UP0)
    topo.softbond(*UP1)
    pid0 = kill(topo, "bond0")
    listing = topo.softbond("status")
    assert REASON["ebpf"] in listing.stdout.splitlines() and "Bonding Mode" in listing.stdout
    proc = topo.softbond("status", "bond0", check=False)
    assert proc.returncode == 1 and proc.stdout.strip() == REASON["ebpf"], (proc.stdout, proc.stderr)
    web()
    m = metric_samples(http(topo, "/metrics")[2])
    assert m[("softbond_bond_managed", (("master", "bond0"),))] == 0
    assert m[("softbond_bond_managed", (("master", "bond1"),))] == 1
    browser = Browser(topo)
    try:
        browser("goto", url=f"http://127.0.0.1:{PORT}/")
        browser("wait", js="document.querySelector('#unmanaged li[data-bond=\"bond0\"]') !== null", timeout=10000)
        assert browser("eval", js="document.querySelector('#unmanaged').textContent") == REASON["ebpf"]
        browser("wait", js="document.querySelector('[data-bond=\"bond1\"] .chart-bond-tx') !== null")
        assert browser("errors") == []
    finally:
        browser.close()
    pid1 = kill(topo, "bond1")
    assert json.loads(topo.softbond("status", "--json").stdout) == [
        {"name": "bond0", "managed": False, "pid": pid0, "reason": REASON["ebpf"]},
        {"name": "bond1", "managed": False, "pid": pid1, "reason": REASON["python"]}]
