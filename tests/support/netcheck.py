"""What integration tests ask of a Topology: the bond's status (through the
CLI or straight over the control socket), pings and iperf3 runs through the
bond. Fixtures stay in tests/integration/conftest.py."""
import json
import re
import subprocess
import time

from softbond.faces.cli import request_at


def status_json(topo, bond="bond0", ns=None):
    return json.loads(topo.softbond("status", bond, "--json", ns=ns).stdout)


def status_direct(topo, bond="bond0", ns=None):
    """The same status over the control socket, without starting a
    `softbond status` process (a quarter of a second): for polls that time an
    event, where that start-up would be counted in the figure."""
    return request_at(topo.control_socket(bond, ns), {"cmd": "status"}, timeout=5)["status"]


def wait_active(topo, name, bond="bond0", timeout=5.0, ns=None):
    got = topo.wait_for(lambda: status_json(topo, bond, ns)["active_slave"] == name, timeout=timeout)
    assert got, f"{name} did not become active: {status_json(topo, bond, ns)['active_slave']}"


def ping_ok(topo, target=None, ns=None, count=1):
    return topo.exec(ns or topo.host, ["ping", "-n", "-c", str(count), "-W", "1", target or topo.peer_ip()],
                     check=False).returncode == 0


def start_ping(topo, seconds, target=None, interval="0.001"):
    count = int(seconds / float(interval))
    return topo.popen(topo.host, ["ping", "-n", "-q", "-i", interval, "-c", str(count), "-W", "1",
                                  target or topo.peer_ip()], stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True)


def ping_result(proc):
    out, _ = proc.communicate(timeout=60)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


class Iperf:
    """iperf3 server in the peer, client through the bond; JSON results."""

    def __init__(self, topo, seconds, port=5201, peer=0, reverse=False, streams=1):
        self.server = topo.popen(topo.peer(peer), ["iperf3", "-s", "-1", "-p", str(port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        argv = ["iperf3", "-c", topo.peer_ip(peer), "-p", str(port), "-t", str(seconds), "-J",
                "-P", str(streams)]
        if reverse:
            argv.append("-R")
        self.client = topo.popen(topo.host, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def result(self, timeout=60):
        out, _ = self.client.communicate(timeout=timeout)
        try:
            self.server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.server.kill()
        data = json.loads(out)
        assert "error" not in data, data.get("error")
        return data

    def close(self):
        for p in (self.client, self.server):
            if p.poll() is None:
                p.kill()
