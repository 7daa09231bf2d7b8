"""The carrier rescue (datapath/ebpf/rescue.bpf.c): with the bond's
process stopped, so that no userspace can react to anything, a member's
cable is pulled and the frames the bond sends by it still reach the far
side, by the member the control plane named for it; rescued frames are
counted per member. Without the rescue nothing sent by the cut member
arrives until the process runs again. After SIGCONT the ordinary
failover happens. Both cables cut: a rescued frame is never redirected a
second time (dropped and counted, no loop). The receive side: the far
side's frames, which the switch floods to the backup once the active's
port goes, reach the bond while its process is stopped; without the
rescue the backup drops them all."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import softbond
from softbond.lab.netns import Topology
from tests.support.netcheck import ping_ok, status_json

SRC = os.path.dirname(os.path.dirname(os.path.abspath(softbond.__file__)))
ENV = {**os.environ, "PYTHONPATH": SRC}
PORT = 5999
BOND_IP = "192.168.100.199"
RATE, SECONDS = 500, 1.0        # 500 datagrams after the cut


# The Python path in worker processes is rescued too (its AF_PACKET sends
# pass the members' tc egress), and stopping the daemon leaves its workers
# forwarding; the in-process Python path stops with the daemon.
DATAPATHS = {"ebpf": ("datapath=ebpf",), "workers": ("datapath=python", "datapath_workers=2")}


def up(topo, mode, path="ebpf"):
    topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", f"{BOND_IP}/24",
                  f"mode={mode}", "miimon=100", *DATAPATHS[path])
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def member(status, name):
    return next(s for s in status["slaves"] if s["name"] == name)


# Counts the stream's datagrams until its stdin closes (after the sender is
# done), so a slow start under load cannot end the count early.
RECEIVER = f"""
import json, select, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind(("0.0.0.0", {PORT}))
print("ready", flush=True)
seqs = []
while True:
    ready = select.select([sock, sys.stdin], [], [])[0]
    if sock in ready:
        seqs.append(int.from_bytes(sock.recv(2048)[:8], "big"))
    elif sys.stdin.read() == "":
        break
print(json.dumps(seqs))
"""


def send_while_stopped(topo, cut, into_bond=False):
    """Stop the bond's process, cut the members `cut`, send the stream from
    the bond's namespace (`into_bond`: from the far side to the bond) and
    return the datagram numbers the receiving side got; the process runs
    again afterwards whatever happened."""
    sender, receiving, to = topo.host, topo.peer(0), topo.peer_ip(0)
    if into_bond:
        sender, receiving, to = receiving, sender, BOND_IP
    receiver = topo.popen(receiving, [sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    pid = status_json(topo)["pid"]
    try:
        assert receiver.stdout.readline().strip() == "ready"
        os.kill(pid, signal.SIGSTOP)
        try:
            for i in cut:
                topo.cut(i)
            topo.exec(sender, [sys.executable, "-m", "softbond.lab.seqstream", "send", to, str(PORT),
                               str(RATE), str(SECONDS)], env=ENV, timeout=60)
            time.sleep(0.5)         # the last datagrams on their way
        finally:
            os.kill(pid, signal.SIGCONT)
        out, _ = receiver.communicate(timeout=30)
    finally:
        receiver.kill()
        receiver.wait()
    return json.loads(out)


@pytest.mark.parametrize("path", DATAPATHS)
def test_active_backup_sends_by_the_backup_while_the_process_is_stopped(path):
    with Topology(prefix=f"sbr{os.getpid() % 10000}a{path[0]}") as topo:
        up(topo, "active-backup", path)
        status = status_json(topo)
        assert status["carrier_rescue"] == "on", status["carrier_rescue"]
        assert status["active_slave"] == "eth0"
        got = send_while_stopped(topo, [0])
        sent = int(RATE * SECONDS)
        # Without the rescue: none (eth0 drops everything until the process
        # runs again, and it was stopped for the whole stream).
        assert len(got) >= sent * 0.9, f"{len(got)} of {sent} datagrams arrived"
        assert topo.wait_for(lambda: status_json(topo)["active_slave"] == "eth1", timeout=10)
        counters = member(status_json(topo), "eth0")["counters"]
        assert counters["rescued_frames"] >= len(got), counters
        assert counters["rescue_dropped"] == 0, counters
        text = topo.softbond("status", "bond0", "--verbose").stdout
        assert "\nCarrier rescue: on\n" in text, text
        shown = re.search(r"\nRescued after carrier loss: (\d+) frames sent by another member", text)
        assert shown and int(shown.group(1)) >= len(got), text
        assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
        # Both cables out: eth1 (the rescue of eth1 is eth0 now, and eth0's
        # rescue is eth1) never bounces a frame back; it drops it once.
        topo.plug(0)
        assert topo.wait_for(lambda: member(status_json(topo), "eth0")["mii_status"] == "up", timeout=10)
        got = send_while_stopped(topo, [1, 0])
        assert got == []
        assert topo.wait_for(lambda: status_json(topo)["active_slave"] is None, timeout=10)
        status = status_json(topo)
        rescued = member(status, "eth1")["counters"]["rescued_frames"]
        dropped = member(status, "eth0")["counters"]["rescue_dropped"]
        assert rescued >= sent * 0.9 and dropped == rescued, (rescued, dropped)


@pytest.mark.parametrize("rescue", ["on", "off"])
@pytest.mark.parametrize("path", DATAPATHS)
def test_active_backup_receives_by_the_backup_while_the_process_is_stopped(path, rescue, monkeypatch):
    """The far side sends to the bond once the active's port is cut: the
    bridge floods to the backup at once, and the backup (whose policy
    drops) delivers while the active has no carrier."""
    if rescue == "off":
        monkeypatch.setenv("SOFTBOND_CARRIER_RESCUE", "0")
    with Topology(prefix=f"sbr{os.getpid() % 10000}i{path[0]}{rescue[1]}") as topo:
        up(topo, "active-backup", path)
        assert status_json(topo)["active_slave"] == "eth0"
        got = send_while_stopped(topo, [0], into_bond=True)
        sent = int(RATE * SECONDS)
        assert topo.wait_for(lambda: status_json(topo)["active_slave"] == "eth1", timeout=10)
        counters = member(status_json(topo), "eth1")["counters"]
        if rescue == "off":
            # eth1's policy drops everything until the process fails over.
            assert got == [] and "rescued_in" not in counters, (len(got), counters)
            return
        assert len(got) >= sent * 0.9, f"{len(got)} of {sent} datagrams arrived"
        assert counters["rescued_in"] >= len(got), counters
        text = topo.softbond("status", "bond0", "--verbose").stdout
        eth1 = text[text.rindex("Slave Interface: eth1"):]      # softbond info's section
        shown = re.search(r"\nReceived standing in for a member without carrier: (\d+) frames\n", eth1)
        assert shown and int(shown.group(1)) >= len(got), text


def test_round_robin_loses_nothing_to_a_cut_member_while_the_process_is_stopped():
    with Topology(prefix=f"sbr{os.getpid() % 10000}b") as topo:
        up(topo, "balance-rr")
        got = send_while_stopped(topo, [0])
        sent = int(RATE * SECONDS)
        # Without the rescue: every other datagram is lost.
        assert len(got) >= sent * 0.9, f"{len(got)} of {sent} datagrams arrived"
        assert topo.wait_for(lambda: member(status_json(topo), "eth0")["mii_status"] == "down", timeout=10)
        rescued = member(status_json(topo), "eth0")["counters"]["rescued_frames"]
        assert rescued >= sent * 0.4, rescued


def egress_filters(topo, dev):
    return topo.exec(topo.host, ["tc", "filter", "show", "dev", dev, "egress"]).stdout


def test_a_crashed_bond_leaves_no_rescue_on_its_members_after_down_force():
    """A member whose clsact was the admin's keeps it, without our egress
    program: on a plain NIC the rescue would send its frames elsewhere."""
    with Topology(prefix=f"sbr{os.getpid() % 10000}c") as topo:
        topo.exec(topo.host, ["tc", "qdisc", "add", "dev", "eth0", "clsact"])
        up(topo, "active-backup")
        assert all("sb_rescue" in egress_filters(topo, m) for m in ("eth0", "eth1"))
        os.kill(status_json(topo)["pid"], signal.SIGKILL)
        topo.softbond("down", "--force", "bond0")
        assert "sb_rescue" not in egress_filters(topo, "eth0")
        assert "clsact" in topo.exec(topo.host, ["tc", "qdisc", "show", "dev", "eth0"]).stdout
        assert "clsact" not in topo.exec(topo.host, ["tc", "qdisc", "show", "dev", "eth1"]).stdout
