"""Issues 16.11 and 16.6: the control socket against a stopped bond
process and against a flood of idle connections."""
import os
import resource
import signal
import socket
import time

import pytest
from tests.support.netcheck import status_json

from softbond.lab.netns import SOFTBOND

UP = ["up", "bond0", "--slaves", "eth0,eth1", "datapath=python", "mode=active-backup"]


def log_text(topo):
    with open(os.path.join(os.path.dirname(topo.control_socket("bond0")), "bond0.log")) as f:
        return f.read()


def test_down_against_a_stopped_bond_process(topo):
    mac = topo.exec(topo.host, ["cat", "/sys/class/net/eth0/address"]).stdout
    topo.softbond(*UP)
    pid = status_json(topo)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        proc = topo.softbond("down", "bond0", check=False)
        waited = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"softbond: bond0: the bond process (pid {pid}) did not answer within 10 s"), line
    assert "softbond down --force bond0" in line, line
    assert waited < 13, waited
    # Resumed, it does not run the `down` its client gave up on.
    time.sleep(0.5)
    assert status_json(topo)["pid"] == pid
    assert "dropped a 'down' request that came after its client had given up" in log_text(topo)
    # --force: kill the stopped process and repair the members from the record.
    os.kill(pid, signal.SIGSTOP)
    proc = topo.softbond("down", "--force", "bond0")
    assert proc.stdout == "bond0: down\n", proc.stdout
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
    assert topo.exec(topo.host, ["cat", "/sys/class/net/eth0/address"]).stdout == mac
    assert topo.exec(topo.host, ["ip", "link", "show", "bond0"], check=False).returncode != 0


# More idle connections than the bond process has file descriptors: under
# systemd's default soft limit, and under one so low that accepting meets
# EMFILE (the process's own sockets and netlink take a third of it).
@pytest.mark.parametrize("nofile,connections", [(1024, 1200), (56, 300)])
def test_more_idle_connections_than_fds_do_not_lock_out_status(topo, nofile, connections):
    topo.exec(topo.host, ["prlimit", f"--nofile={nofile}:4096", *SOFTBOND, *UP])
    pid = status_json(topo)["pid"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    path = topo.control_socket("bond0")
    idle = []
    try:
        flood_until = time.monotonic() + 5
        for _ in range(connections):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            idle.append(s)
            s.setblocking(False)
            while time.monotonic() < flood_until:
                try:
                    s.connect(path)
                    break
                except BlockingIOError:     # the accept queue is full: wait for room
                    time.sleep(0.001)
        started = time.monotonic()
        proc = topo.softbond("status", "bond0", check=False)
        answered = time.monotonic() - started
        assert proc.returncode == 0 and "Bonding Mode" in proc.stdout, proc.stderr
        assert answered < 3.0, answered
        time.sleep(1.0)
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    log = log_text(topo)
    print(f"status answered in {answered:.2f} s under {connections} idle connections (fd limit {nofile}); "
          f"log {len(log)} bytes")
    assert status_json(topo)["pid"] == pid
    assert len(log) < 16 * 1024 and log.count("cannot accept") <= 5, log
    assert len(os.listdir(f"/proc/{pid}/fd")) < 200        # nothing held for the flood
