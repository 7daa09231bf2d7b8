"""`softbond set` on a running bond: the mode and the other options the
kernel only changes with no slaves or the bond down change live, with a
ping flood from the peer across each change measuring what is lost."""
import os
import re
import subprocess
import time

from conftest import ping_ok, status_json

from softbond import runtime

ALL_DATAPATHS = True

ADDR = "192.168.100.199"
PING_INTERVAL = 0.002        # seconds between echo requests from the peer
PING_SECONDS = 1.6           # per change: 0.4 s before it, the rest during and after
MAX_LOSS = 0.2               # seconds of lost replies allowed per change


def up(topo, *options):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", f"{ADDR}/24", "miimon=100",
                         *options, check=False)
    assert proc.returncode == 0, proc.stderr
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def set_during_ping(topo, option, value):
    """Run `softbond set` while the peer pings the bond every PING_INTERVAL;
    (replies lost, longest gap between two replies in seconds, the set's
    stderr)."""
    count = int(PING_SECONDS / PING_INTERVAL)
    ping = topo.popen(topo.peer(), ["ping", "-n", "-D", "-i", str(PING_INTERVAL), "-c", str(count), "-W", "1",
                                    ADDR], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.4)
        proc = topo.softbond("set", "bond0", option, value, check=False)
        out, _ = ping.communicate(timeout=30)
    finally:
        if ping.poll() is None:
            ping.kill()
    assert proc.returncode == 0, proc.stderr
    summary = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert summary, out
    sent, received = int(summary.group(1)), int(summary.group(2))
    assert sent >= count // 2, f"the peer sent only {sent} echo requests: the measure means nothing"
    stamps = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]
    assert stamps, out
    # Replies that never came back count up to where the last request went out.
    stamps.append(max(stamps[-1], stamps[0] + (sent - 1) * PING_INTERVAL))
    gap = max(b - a for a, b in zip(stamps, stamps[1:]))
    return sent - received, gap, proc.stderr


# On a Linux bridge: 802.3ad has no partner there (see test_mode_changes_to_802_3ad...).
BRIDGE_CHANGES = [("mode", "active-backup"), ("fail_over_mac", "active"), ("fail_over_mac", "none"),
                  ("mode", "balance-tlb"), ("mode", "balance-alb"), ("mode", "balance-rr"), ("mode", "balance-xor")]


def test_mode_and_fail_over_mac_change_live_keeping_members_and_address(topo):
    up(topo, "mode=balance-xor")
    before = status_json(topo)
    lost_per_change = {}
    for option, value in BRIDGE_CHANGES:
        lost, gap, _ = set_during_ping(topo, option, value)
        lost_per_change[f"{option}={value}"] = (lost, round(gap * 1000))
        st = status_json(topo)
        assert st["options"][option] == value
        assert [s["name"] for s in st["slaves"]] == ["eth0", "eth1"]
        assert st["addresses"] == before["addresses"]
        assert lost * PING_INTERVAL < MAX_LOSS, (option, value, lost_per_change)
    print(f"\n{topo.datapath}: replies lost (longest gap, ms) per change: {lost_per_change}")
    st = status_json(topo)
    assert st["hwaddr"] == before["hwaddr"]
    # Back in balance-xor every member carries the bond's MAC again.
    assert [s["hwaddr"] for s in st["slaves"]] == [before["hwaddr"]] * 2
