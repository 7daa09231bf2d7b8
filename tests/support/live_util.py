"""Shared by the `softbond set` tests: a bond pinged by the peer, and a
change made while the peer pings it every PING_INTERVAL."""
import re
import signal
import subprocess
import time

from tests.support.netcheck import ping_ok

ADDR = "192.168.100.199"
PING_INTERVAL = 0.002        # seconds between echo requests from the peer
LEAD = 0.3                   # seconds the peer pings before a change
SETTLE = 0.4                 # and after `softbond set` returned
MAX_LOSS = 0.2               # seconds of lost replies allowed per change


def up(topo, *options):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", f"{ADDR}/24", "miimon=100",
                         *options, check=False)
    assert proc.returncode == 0, proc.stderr
    # An LACP partner takes its 3 s timeout before it falls back to active-backup.
    assert topo.wait_for(lambda: ping_ok(topo), timeout=15), "no ping through the bond"


def set_during_ping(topo, option, value, after=SETTLE):
    """Run `softbond set` while the peer pings the bond every PING_INTERVAL,
    from LEAD seconds before it to `after` seconds after it returned;
    (replies lost, longest gap between two replies in seconds, the set's
    stderr)."""
    ping = topo.popen(topo.peer(), ["ping", "-n", "-D", "-i", str(PING_INTERVAL), "-w", "30", "-W", "1", ADDR],
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = time.monotonic()
        time.sleep(LEAD)
        proc = topo.softbond("set", "bond0", option, value, check=False)
        time.sleep(after)
        elapsed = time.monotonic() - started
        ping.send_signal(signal.SIGINT)    # `ip netns exec` execs ping: this is ping, which prints its summary
        out, _ = ping.communicate(timeout=10)
    finally:
        if ping.poll() is None:
            ping.kill()
    assert proc.returncode == 0, proc.stderr
    summary = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert summary, out
    sent, received = int(summary.group(1)), int(summary.group(2))
    assert sent >= elapsed / PING_INTERVAL / 4, f"the peer sent only {sent} echo requests: the measure means nothing"
    stamps = [float(t) for t in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]
    assert stamps, out
    # Replies that never came back count up to where the last request went out.
    stamps.append(max(stamps[-1], stamps[0] + (sent - 1) * PING_INTERVAL))
    gap = max(b - a for a, b in zip(stamps, stamps[1:]))
    return sent - received, gap, proc.stderr
