"""Shared pieces of the load-balancing tests: bringing a bond up, running
several TCP flows to several peers and reading per-second aggregates."""
import json
import subprocess
import time

from tests.support.netcheck import ping_ok, status_json

ADDR = "192.168.100.199/24"
RATE = 100          # Mbit/s per member (tbf)
# OVS as a static trunk (an EtherChannel without LACP): balance-slb, and
# broadcast/multicast accepted on every member, as a switch trunk does.
OVS_TRUNK = dict(switch="ovs", ovs_bond_mode="balance-slb", ovs_lacp="off",
                 ovs_other=("other_config:all-members-active=true",))


def up(topo, mode, *options, slaves="eth0,eth1"):
    proc = topo.softbond("up", "bond0", "--slaves", slaves, "--address", ADDR, f"mode={mode}",
                         "miimon=100", *options, check=False)
    assert proc.returncode == 0, proc.stderr
    if topo.datapath:
        status = status_json(topo)
        assert status["datapath"] == ("python" if topo.datapath == "workers" else topo.datapath)
        if topo.datapath == "workers":
            assert len(status["datapath_workers"]) > 1
    for i in range(topo.peers):
        assert topo.wait_for(lambda: ping_ok(topo, topo.peer_ip(i)), timeout=10), f"no ping to peer {i}"


class Flows:
    """iperf3 from the bond to every peer (or back with reverse), `streams`
    parallel TCP flows each, client ports from `cport` when given (keep
    them below 32768, out of the ephemeral range, or iperf3's own control
    connection may already hold one)."""

    def __init__(self, topo, seconds, *, streams=4, reverse=False, peers=None, cport=None, bitrate=None):
        self.topo = topo
        self.servers, self.clients = [], []
        peers = range(topo.peers) if peers is None else peers
        for n, peer in enumerate(peers):
            port = 5201 + n
            self.servers.append(topo.popen(topo.peer(peer), ["iperf3", "-s", "-1", "-p", str(port)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.4)
        for n, peer in enumerate(peers):
            argv = ["iperf3", "-c", topo.peer_ip(peer), "-p", str(5201 + n), "-t", str(seconds),
                    "-P", str(streams), "-J", "-i", "1"]
            if reverse:
                argv.append("-R")
            else:
                # What arrived, not what was written into the sender's socket.
                argv.append("--get-server-output")
            if bitrate is not None:
                argv += ["-b", bitrate]       # per stream
            if cport is not None:
                argv += ["--cport", str(cport + 100 * n)]
            self.clients.append(topo.popen(topo.host, argv, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True))
        self.started = time.monotonic()

    def results(self, timeout=90):
        out = []
        try:
            for client in self.clients:
                text, _ = client.communicate(timeout=timeout)
                data = json.loads(text)
                assert "error" not in data, data.get("error")
                out.append(data)
        finally:
            self.close()
        return out

    def per_second(self, timeout=90):
        """Aggregate Mbit/s over all peers for each one-second interval, as
        the receiving side counted it."""
        results = [r.get("server_output_json", r) for r in self.results(timeout)]
        seconds = min(len(r["intervals"]) for r in results)
        return [sum(r["intervals"][s]["sum"]["bits_per_second"] for r in results) / 1e6
                for s in range(seconds)]

    def close(self):
        for p in self.clients + self.servers:
            if p.poll() is None:
                p.kill()
            p.wait()


def mean(values):
    return sum(values) / len(values)


def shape_all(topo, rate=RATE):
    for i in range(topo.members):
        topo.shape(i, rate)
