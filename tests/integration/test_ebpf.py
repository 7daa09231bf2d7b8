"""The eBPF data path end to end: EbpfBond in the host namespace of a
Topology (members eth0/eth1 on a Linux bridge, a peer at 192.168.100.1),
driven by a small helper process in that namespace, real traffic, a
daemon "crash" (close(keep=True) and exit) with forwarding going on, and
adoption by a new process, through pinned maps and without them."""
import json
import os
import select
import subprocess
import sys
import tempfile
import time

import pytest

from tests.support.netcheck import ping_ok
from softbond.datapath.ebpf import peer_name
from softbond.lab.netns import ip, run

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")
BOND_MAC = "025b00000001"
ADDR = "192.168.100.199/24"
RX_DROP, RX_DELIVER, RX_NOT_OWN, RX_UNICAST_OWN_MAC = range(4)

# The helper: one EbpfBond in the namespace it runs in, JSON commands on
# stdin, one JSON answer per command on stdout.
DRIVER = r'''
import json, os, select, socket, sys, traceback
from pyroute2 import IPRoute
from softbond.datapath.ebpf import EbpfBond, libbpf
from softbond.datapath.plan import ForwardingPlan

ipr = IPRoute()
bond = None

def link(name):
    l = ipr.link("get", ifname=name)[0]
    return l["index"], bytes.fromhex(l.get_attr("IFLA_ADDRESS").replace(":", ""))

def handle(cmd):
    global bond
    op = cmd.pop("op")
    if op == "new":
        bond = EbpfBond(cmd["bond"], mac=cmd.get("mac"))
        return {"ifindex": bond.ifindex, "adopted": bond.adopted, "pin_dir": bond.pin_dir,
                "map_ids": {n: libbpf.map_info(fd)["id"] for n, fd in bond.obj.maps.items()}}
    if op == "attach":
        for name in cmd["names"]:
            bond.attach_member(name, *link(name))
        return None
    if op == "publish":
        members = tuple(link(n) for n in cmd["members"])
        active = link(cmd["active"])[0] if cmd.get("active") else 0
        rx = {link(n)[0]: p for n, p in cmd["rx"].items()}
        bond.publish(ForwardingPlan(cmd["mode"], cmd.get("policy", 0), cmd.get("pps", 1), members, active, rx,
                                    None, bytes.fromhex(cmd["bond_mac"])))
        return None
    if op == "carrier":
        bond.set_carrier(cmd["on"])
        return None
    if op == "counters":
        return {n: bond.member_counters(link(n)[0]) for n in cmd["names"]}
    if op == "arp_socket":
        bond.arp_socket()
        return None
    if op == "arp_forward":
        # What the rlb code does with an outgoing ARP: send it on a member.
        sock = bond.arp_socket()
        out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        out.bind((cmd["via"], 0))
        seen = []
        while select.select([sock], [], [], cmd.get("timeout", 2.0))[0]:
            frame = sock.recv(65536)
            seen.append(frame.hex())
            out.send(frame)
            if len(seen) >= cmd.get("max", 1):
                break
        out.close()
        return seen
    if op == "close":
        bond.close(keep=cmd["keep"])
        bond = None
        return None
    raise ValueError(op)

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd.get("op") == "exit":
        break
    try:
        reply = {"ok": True, "result": handle(cmd)}
    except Exception:
        reply = {"ok": False, "error": traceback.format_exc()}
    print(json.dumps(reply), flush=True)
'''


class Driver:
    def __init__(self, topo, env):
        self.proc = topo.popen(topo.host, [sys.executable, "-c", DRIVER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def __call__(self, op, timeout=30, **kw):
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise AssertionError(f"driver: no answer to {op}")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"driver died: {self.proc.stderr.read()}")
        reply = json.loads(line)
        assert reply["ok"], reply["error"]
        return reply["result"]

    def exit(self):
        if self.proc.poll() is None:
            self.proc.stdin.write('{"op": "exit"}\n')
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def iperf(topo, client_ns, server_ns, target, seconds=3, reverse=False, parallel=1, cport=None, port=5301):
    server = topo.popen(server_ns, ["iperf3", "-s", "-1", "-p", str(port)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        argv = ["iperf3", "-c", target, "-p", str(port), "-t", str(seconds), "-J", "-P", str(parallel)]
        if reverse:
            argv.append("-R")
        if cport:
            argv += ["--cport", str(cport)]
        out = topo.exec(client_ns, argv, check=False, timeout=seconds + 30).stdout
        data = json.loads(out)
        assert "error" not in data, data["error"]
        return data["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()


def delta(after, before, key):
    return {n: after[n][key] - before[n][key] for n in after}


def map_exists(topo, ident):
    code = ("import sys; from softbond.datapath.ebpf import libbpf\n"
            f"try:\n    libbpf.map_fd_by_id({ident})\nexcept OSError:\n    sys.exit(1)\n")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    return topo.exec(topo.host, [sys.executable, "-c", code], env=env, check=False).returncode == 0


@pytest.fixture
def bpffs():
    """A bpffs for the pins, mounted here so that it outlives the helper
    processes (a bpffs mounted under `ip netns exec` lives in that
    process's mount namespace)."""
    d = tempfile.mkdtemp(prefix="sb-bpffs-")
    run(["mount", "-t", "bpf", "bpf", d])
    try:
        yield d
    finally:
        run(["umount", d], check=False)
        os.rmdir(d)


@pytest.fixture
def plain_veth(topo):
    a, b = f"{topo.prefix}-va", f"{topo.prefix}-vb"
    ip("netns", "add", a)
    ip("netns", "add", b)
    try:
        ip("link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b)
        ip("-n", a, "addr", "add", "10.99.0.1/24", "dev", "va")
        ip("-n", b, "addr", "add", "10.99.0.2/24", "dev", "vb")
        ip("-n", a, "link", "set", "va", "up")
        ip("-n", b, "link", "set", "vb", "up")
        yield a, b
    finally:
        ip("netns", "del", a, check=False)
        ip("netns", "del", b, check=False)


def test_ebpf_bond_end_to_end(topo, bpffs, plain_veth):
    from softbond.datapath import ebpf
    ok, why = ebpf.available()
    assert ok, why
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC), SOFTBOND_BPF_PIN_BASE=bpffs)
    host = topo.host
    drv = Driver(topo, env)
    try:
        first = drv("new", bond="bond0", mac=BOND_MAC)
        assert not first["adopted"] and first["pin_dir"].startswith(bpffs)
        ip("-n", host, "link", "set", "bond0", "up")
        ip("-n", host, "addr", "add", ADDR, "dev", "bond0")
        for m in ("eth0", "eth1"):
            ip("-n", host, "link", "set", m, "up")
        drv("attach", names=["eth0", "eth1"])

        # -- active-backup on eth0 -----------------------------------------------------
        drv("publish", mode=1, members=["eth0", "eth1"], active="eth0",
            rx={"eth0": RX_DELIVER, "eth1": RX_DROP}, bond_mac=BOND_MAC)
        drv("carrier", on=True)
        assert topo.wait_for(lambda: ping_ok(topo), timeout=5), "no ping through the eBPF bond"
        c = drv("counters", names=["eth0", "eth1"])
        assert c["eth0"]["tx_packets"] > 0 and c["eth0"]["rx_packets"] > 0
        assert c["eth1"]["tx_packets"] == 0 and c["eth1"]["rx_packets"] == 0

        out = iperf(topo, host, topo.peer(0), topo.peer_ip())
        back = iperf(topo, host, topo.peer(0), topo.peer_ip(), reverse=True)
        va, vb = plain_veth
        plain_out = iperf(topo, va, vb, "10.99.0.2")
        plain_back = iperf(topo, va, vb, "10.99.0.2", reverse=True)
        print(f"\none TCP stream, Gbit/s: eBPF bond out {out:.1f} in {back:.1f}; "
              f"plain veth pair {plain_out:.1f} / {plain_back:.1f} "
              f"({out / plain_out:.0%} / {back / plain_back:.0%})")
        assert out > 0.4 * plain_out and back > 0.4 * plain_back
        c1 = drv("counters", names=["eth0", "eth1"])
        assert c1["eth0"]["tx_bytes"] - c["eth0"]["tx_bytes"] > 500_000_000

        # -- failover to eth1 -----------------------------------------------------------------
        drv("publish", mode=1, members=["eth0", "eth1"], active="eth1",
            rx={"eth0": RX_DROP, "eth1": RX_DELIVER}, bond_mac=BOND_MAC)
        before = drv("counters", names=["eth0", "eth1"])
        assert topo.wait_for(lambda: ping_ok(topo), timeout=5), "no ping after switching to eth1"
        after = drv("counters", names=["eth0", "eth1"])
        assert delta(after, before, "tx_packets")["eth1"] >= 1
        assert delta(after, before, "rx_packets")["eth1"] >= 1
        assert delta(after, before, "tx_packets")["eth0"] == 0

        # -- balance-xor, layer3+4: flows over both members --------------------------------------
        drv("publish", mode=2, policy=1, members=["eth0", "eth1"],
            rx={"eth0": RX_NOT_OWN, "eth1": RX_NOT_OWN}, bond_mac=BOND_MAC)
        before = drv("counters", names=["eth0", "eth1"])
        rate = iperf(topo, host, topo.peer(0), topo.peer_ip(), seconds=2, parallel=8, cport=25000)
        after = drv("counters", names=["eth0", "eth1"])
        tx = delta(after, before, "tx_bytes")
        print(f"balance-xor layer3+4, 8 flows: {rate:.1f} Gbit/s, tx bytes per member {tx}")
        assert tx["eth0"] > 10_000_000 and tx["eth1"] > 10_000_000

        # -- broadcast: every frame by both members (bpf_clone_redirect) --------------------
        drv("publish", mode=3, members=["eth0", "eth1"], rx={"eth0": RX_NOT_OWN, "eth1": RX_NOT_OWN},
            bond_mac=BOND_MAC)
        before = drv("counters", names=["eth0", "eth1"])
        topo.exec(host, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", topo.peer_ip()], check=False)
        after = drv("counters", names=["eth0", "eth1"])
        sent = delta(after, before, "tx_packets")
        assert sent["eth0"] >= 3 and sent["eth1"] >= 3

        # -- alb: our ARP reaches the Python slow path, which sends it -----------------------
        drv("arp_socket")
        drv("publish", mode=6, members=["eth0", "eth1"], active="eth0",
            rx={"eth0": RX_DELIVER, "eth1": RX_UNICAST_OWN_MAC}, bond_mac=BOND_MAC)
        ip("-n", host, "neigh", "flush", "dev", "bond0")
        pinger = topo.popen(host, ["ping", "-n", "-c", "1", "-W", "3", topo.peer_ip()], stdout=subprocess.DEVNULL)
        seen = drv("arp_forward", via="eth1", timeout=3)
        assert pinger.wait(timeout=10) == 0, "ping did not work with ARP through the slow path"
        arp = bytes.fromhex(seen[0])
        assert arp[12:14] == b"\x08\x06" and arp[38:42] == bytes([192, 168, 100, 1])

        # -- the daemon goes away: forwarding goes on --------------------------------------------
        drv("close", keep=True)
        drv.exit()
        assert not run(["ip", "netns", "pids", host]).stdout.split(), "a process is left in the namespace"
        pins = sorted(os.listdir(first["pin_dir"]))
        assert len(pins) == 8, pins
        ip("-n", host, "neigh", "flush", "dev", "bond0")    # ARP now leaves by the active member
        assert topo.wait_for(lambda: ping_ok(topo), timeout=5), "no forwarding without the process"
        alone = iperf(topo, host, topo.peer(0), topo.peer_ip(), seconds=2)
        print(f"without any process: {alone:.1f} Gbit/s")

        # -- a new process adopts: pinned maps ------------------------------------------------------
        drv = Driver(topo, env)
        second = drv("new", bond="bond0", mac=BOND_MAC)
        assert second["adopted"] and second["ifindex"] == first["ifindex"]
        assert second["map_ids"] == first["map_ids"]
        c = drv("counters", names=["eth0", "eth1"])
        assert c["eth0"]["tx_packets"] >= c1["eth0"]["tx_packets"]          # the counters went on
        assert ping_ok(topo)
        drv("close", keep=True)
        drv.exit()

        # -- without pins: the maps are found through the attached program --------------------
        for name in os.listdir(first["pin_dir"]):
            os.unlink(os.path.join(first["pin_dir"], name))
        assert ping_ok(topo)
        drv = Driver(topo, env)
        third = drv("new", bond="bond0", mac=BOND_MAC)
        assert third["adopted"] and third["map_ids"] == first["map_ids"]
        drv("publish", mode=1, members=["eth0", "eth1"], active="eth0",
            rx={"eth0": RX_DELIVER, "eth1": RX_DROP}, bond_mac=BOND_MAC)
        assert topo.wait_for(lambda: ping_ok(topo), timeout=5)

        # -- close(keep=False): nothing is left --------------------------------------------------------
        drv("close", keep=False)
        drv.exit()
        links = topo.exec(host, ["ip", "-o", "link", "show"]).stdout
        assert "bond0" not in links and peer_name("bond0") not in links, links
        for m in ("eth0", "eth1"):
            assert topo.exec(host, ["tc", "filter", "show", "dev", m, "ingress"]).stdout.strip() == ""
            assert "clsact" not in topo.exec(host, ["tc", "qdisc", "show", "dev", m]).stdout
        assert not os.path.exists(first["pin_dir"])
        assert topo.wait_for(lambda: not any(map_exists(topo, i) for i in first["map_ids"].values()),
                             timeout=5), "maps still exist"
    finally:
        drv.exit()


def test_available_reports_a_reason():
    from softbond.datapath import ebpf
    ok, why = ebpf.available()
    assert ok or why


def test_peer_name_fits():
    assert len(peer_name("bond0")) == len(peer_name("a" * 15)) == 15


HANDOVER = r'''
import json, subprocess
from softbond.datapath.ebpf import EbpfBond
from softbond.kernel import isolate
from softbond.kernel.rtnl import Rtnl

def filters(dev):
    out = subprocess.run(["tc", "filter", "show", "dev", dev, "ingress"], capture_output=True, text=True).stdout
    return [w for w in ("softbond_drop", "sb_ingress") if w in out]

def qdiscs(dev):
    return "clsact" in subprocess.run(["tc", "qdisc", "show", "dev", dev], capture_output=True, text=True).stdout

rtnl = Rtnl()
steps = {}
idx = rtnl.link(name="eth0").index
idx1 = rtnl.link(name="eth1").index
mac = bytes(6)
assert isolate.apply(rtnl, "eth0", idx, False) is None
steps["isolated"] = filters("eth0")
bond = EbpfBond("bond0")
bond.attach_member("eth0", idx, mac)
bond.attach_member("eth1", idx1, mac)
steps["attached"] = (filters("eth0"), filters("eth1"))
bond.detach_member(idx)
bond.detach_member(idx1)
steps["detached"] = (filters("eth0"), filters("eth1"), qdiscs("eth1"))
isolate.undo(rtnl, "eth0", idx, False, {})
steps["restored"] = (filters("eth0"), qdiscs("eth0"))
bond.close()
subprocess.run(["ip", "link", "add", "bond0", "type", "bridge"], check=True)
try:
    EbpfBond("bond0")
    steps["foreign"] = "adopted"
except RuntimeError as exc:
    steps["foreign"] = str(exc)
print(json.dumps(steps))
'''


def test_member_filter_handover_with_isolate(topo):
    """attach_member replaces isolate's drop filter, detach_member puts it
    back (a member the bond did not isolate gets its tc state back), and
    links.restore's isolate.undo then finds what it expects."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    out = topo.exec(topo.host, [sys.executable, "-c", HANDOVER], env=env).stdout
    steps = json.loads(out)
    assert steps["isolated"] == ["softbond_drop"]
    assert steps["attached"] == [["sb_ingress"], ["sb_ingress"]]
    assert steps["detached"] == [["softbond_drop"], [], False]
    assert steps["restored"] == [[], False]
    assert "not a softbond eBPF bond device" in steps["foreign"]
