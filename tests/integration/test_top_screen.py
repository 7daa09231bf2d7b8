"""`softbond top` on a real terminal: tmux at 80x24 and at 160x50, against
an 802.3ad bond negotiated with Open vSwitch, iperf3 through it, and one
member's cable pulled. The test reads the screens tmux captured, as a
person would: the dead member's rows say "down" and draw no bars, every
event line is either whole or ends in "…" (and `e` shows it whole), byte
totals and drops are there, and the LACP line says what was negotiated."""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.support.netcheck import status_json
from tests.support.modes_util import up

BARS = "▁▂▃▄▅▆▇█"
SCROLLBAR = BARS + "▔▏▕▎▍▌▋▊▉▐ "
SIZES = ((80, 24), (160, 50))
# pytest exports COLUMNS=80 LINES=24 to its children, and Textual (through
# shutil.get_terminal_size) would take them over the pane's real size.
UNSET = ("-u", "COLUMNS", "-u", "LINES")
LACP_CHANGE = re.compile(r"LACP (actor|partner) port state [A-Z.-]{1,8} -> [A-Z.]{8}( \((lost|gained) [A-Za-z ,;]+\))?$"
                         r"|LACP partner \S+ -> \S+$")


class Tmux:
    """A private tmux server (its own socket, so no other session on the
    machine is touched) running `softbond top` in the bond's namespace,
    one session per terminal size."""

    def __init__(self, topo):
        self.socket = f"{topo.prefix}-top"
        env = [f"PYTHONPATH={os.environ['PYTHONPATH']}"] if os.environ.get("PYTHONPATH") else []
        for cols, rows in SIZES:
            self.tmux("new-session", "-d", "-s", self.session(cols), "-x", str(cols), "-y", str(rows),
                      "ip", "netns", "exec", topo.host, "env", *UNSET, *env, sys.executable, "-m", "softbond", "top")

    @staticmethod
    def session(cols):
        return f"top{cols}"

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True,
                              timeout=10).stdout

    def screen(self, cols):
        return self.tmux("capture-pane", "-p", "-t", self.session(cols)).splitlines()

    def keys(self, cols, *keys):
        self.tmux("send-keys", "-t", self.session(cols), *keys)

    def wait_screen(self, cols, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen(cols)
            if predicate(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.2)

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def member_rows(lines, name):
    """The in and out rows of member `name`."""
    i = next(i for i, line in enumerate(lines) if re.match(rf"^\s+\*? ?{name}\s", line))
    return lines[i], lines[i + 1]


def events_pane(lines):
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("Events (newest last"))
    footer = next(i for i, line in enumerate(lines) if line.strip().startswith("u Unit"))
    # (the pane's scrollbar, when there are more events than rows, is drawn
    # in its last column with block characters: not part of the text)
    return [line.rstrip().rstrip(SCROLLBAR).strip() for line in lines[title + 1:footer] if line.strip()]


def check_screen(lines, cols, rows, messages, ovs_system):
    text = "\n".join(lines)
    assert len(lines) <= rows and all(len(line) <= cols for line in lines), text
    assert "Traceback" not in text
    # the member whose cable is out: "down", no bars, whatever it carried
    for row in member_rows(lines, "eth0"):
        assert row.split()[-1] == "down" and not any(bar in row for bar in BARS), text
    # the one still up carries the stream: near the top of the bond's scale
    eth1_out = member_rows(lines, "eth1")[1]
    assert re.search(r"out\s+\d[\d,.]* Mbit/s", eth1_out) and any(bar in eth1_out for bar in "▆▇█"), text
    # byte totals and drops for the bond and for every member
    totals = [line.split() for line in lines if line.strip().startswith("total in")]
    assert len(totals) == 3, text
    for words in totals:
        # total in 17.7 KB 10 dropped out 14.0 MB 0 dropped
        assert len(words) == 11 and words[5] == "dropped" and words[6] == "out" and words[10] == "dropped", words
        assert words[3] in ("B", "KB", "MB", "GB") and words[4].isdigit() and words[9].isdigit(), words
    assert totals[0][8] in ("MB", "GB"), totals[0]  # the bond sent megabytes of iperf3
    # LACP: negotiated with OVS, port states as letters
    assert re.search(rf"LACP negotiated: partner {ovs_system} key \d+, aggregator \d+", text), text
    assert re.search(r"LACP actor ATGSCD\.\. partner ATGSCD\.\.", text), text
    assert not re.search(r"port state \d", text), text    # decoded, as the member lines are
    # every event line is whole, or says it was cut
    pane = events_pane(lines)
    assert pane, text
    for line in pane:
        # (top adds the LACP state changes it sees between two samples)
        whole = any(line.endswith(message) for message in messages) or LACP_CHANGE.search(line)
        assert whole or line.endswith("…"), line
    return pane


@pytest.mark.topology(peers=1, switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active",
                      ovs_lacp_time="fast")
def test_top_on_a_real_terminal_at_80x24_and_160x50(topo):
    if shutil.which("tmux") is None:
        pytest.fail("this test needs tmux: run scripts/setup.sh --test", pytrace=False)
    up(topo, "802.3ad", "lacp_rate=fast")
    screens = Tmux(topo)
    server = topo.popen(topo.peer(0), ["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    client = None
    try:
        time.sleep(0.3)
        # (runs until killed below, however long a loaded machine makes the steps)
        client = topo.popen(topo.host, ["iperf3", "-c", topo.peer_ip(), "-t", "60", "-b", "50M"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # both members distributing in top's own words before the cut
        screens.wait_screen(80, lambda lines: "\n".join(lines).count("ATGSCD..") >= 2)
        topo.cut(0)
        for cols, rows in SIZES:
            screens.wait_screen(cols, lambda lines: "down" in member_rows(lines, "eth0")[0]
                                and any(bar in member_rows(lines, "eth1")[1] for bar in "▆▇█"))
        time.sleep(1.2)  # one more sample: the totals and graphs move on
        st = status_json(topo)
        messages = [e["message"] for e in st["events"]]
        assert any("link status definitely down" in m for m in messages), messages
        panes = {}
        for cols, rows in SIZES:
            lines = screens.screen(cols)
            print(f"--- softbond top at {cols}x{rows}\n" + "\n".join(lines))
            panes[cols] = check_screen(lines, cols, rows, messages, topo.ovs.system_id)
        # 80 columns cannot hold the enslave lines, 160 can
        assert any(line.endswith("…") for line in panes[80]), panes[80]
        assert not any(line.endswith("…") for line in panes[160]), panes[160]
        # e: every event in full, wrapped; esc: back
        screens.keys(80, "e")
        full = screens.wait_screen(80, lambda lines: "events (e or esc: back)" in "\n".join(lines))
        print("--- e at 80x24\n" + "\n".join(full))
        joined = " ".join(line.strip() for line in full)
        cut = next(m for m in messages if len(m) > 60)
        assert cut in joined, (cut, joined)
        screens.keys(80, "Escape")
        back = screens.wait_screen(80, lambda lines: any("Events (newest last" in line for line in lines))
        assert any("Events (newest last" in line for line in back)
    finally:
        screens.close()
        for proc in (client, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
