"""`softbond up --inherit`: the bond takes over its first member's
addresses, routes, MTU and MAC while connections to the host's address
keep running, and `down` gives everything back exactly (`ip -j addr`,
`ip -j route` compared byte for byte)."""
import json
import subprocess
import sys
import time


from tests.support.netcheck import status_json

PEER6 = "2001:db8:100::1"
HOST6 = "2001:db8:100::2"
ECHO_PORT = 7007
IPERF_PORT = 5207

# A TCP echo server in the host namespace (dual stack: the member's IPv4
# and IPv6 addresses) and a client in the peer's that exchanges 64 bytes
# every 50 ms until its stdin closes, then prints every time between two
# answers over 80 ms (with the monotonic time it ended) and any error (a
# reset, a close, a timeout).
ECHO_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
c, _ = s.accept()
while data := c.recv(4096):
    c.sendall(data)
"""
ECHO_CLIENT = """
import json, select, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print("connected", flush=True)
last = time.monotonic(); gaps = []; count = 0; error = None
try:
    while not select.select([sys.stdin], [], [], 0.05)[0]:
        s.sendall(b"x" * 64)
        got = b""
        while len(got) < 64:
            chunk = s.recv(64 - len(got))
            if not chunk:
                raise ConnectionError("closed by the server")
            got += chunk
        now = time.monotonic(); gaps.append((now - last, now)); last = now; count += 1
except OSError as exc:
    error = repr(exc)
print(json.dumps({"gaps": [g for g in gaps if g[0] > 0.08], "count": count, "error": error}), flush=True)
"""


class Echo:
    def __init__(self, topo, address):
        self.server = topo.popen(topo.host, [sys.executable, "-c", ECHO_SERVER, str(ECHO_PORT)],
                                 stdout=subprocess.PIPE, text=True)
        assert self.server.stdout.readline().strip() == "listening"
        self.client = topo.popen(topo.peer(), [sys.executable, "-c", ECHO_CLIENT, address, str(ECHO_PORT)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.client.stdout.readline().strip() == "connected"

    def result(self):
        self.client.stdin.close()
        out = self.client.stdout.read()
        self.client.wait(timeout=15)
        self.server.kill()
        self.server.wait()
        return json.loads(out)

    def close(self):
        for proc in (self.client, self.server):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def ip_host(topo, *args):
    return topo.exec(topo.host, ["ip", *args]).stdout


def settled(topo, dev):
    """No address of `dev` is still in DAD (its link-local one after `down`
    gave IPv6 back to it): the state a snapshot compares."""
    ok = topo.wait_for(lambda: "tentative" not in ip_host(topo, "addr", "show", "dev", dev), timeout=10)
    assert ok, ip_host(topo, "addr", "show", "dev", dev)


def snapshot(topo, dev="eth0"):
    settled(topo, dev)
    return {"addr": ip_host(topo, "-j", "addr", "show", "dev", dev),
            "route": ip_host(topo, "-4", "-j", "route", "show", "table", "all"),
            "route6": ip_host(topo, "-6", "-j", "route", "show", "table", "all")}


def addresses(topo, dev):
    return [(a["local"], a["prefixlen"]) for a in json.loads(ip_host(topo, "-j", "addr", "show", "dev", dev))[0]
            ["addr_info"] if a.get("scope") != "link"]


def peer_v6(topo):
    topo.exec(topo.peer(), ["ip", "addr", "add", f"{PEER6}/64", "dev", "peer0", "nodad"])


def member_up(topo, *commands):
    """eth0 as a host's only NIC: up, then `commands` (ip argument lists)."""
    ip_host(topo, "link", "set", "eth0", "up")
    for argv in commands:
        ip_host(topo, *argv)


def up_inherit(topo, *extra):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--inherit", "mode=active-backup", "miimon=100",
                         *extra)
    assert proc.stderr == "", proc.stderr


def same_bytes(before, after):
    assert after == before


def across_up_and_down(topo, address, during=None, compare=same_bytes):
    """Echo traffic to `address` across up --inherit and down; the member's
    addresses and every route are the same bytes afterwards (`compare`)."""
    before = snapshot(topo)
    echo = Echo(topo, address)
    try:
        time.sleep(0.3)
        up_started = time.monotonic()
        up_inherit(topo)
        up_took = time.monotonic() - up_started
        assert addresses(topo, "eth0") == []
        assert addresses(topo, "bond0") == addresses_of(before)
        if during:
            during()
        time.sleep(0.5)
        down_started = time.monotonic()
        topo.softbond("down", "bond0")
        down_took = time.monotonic() - down_started
        settled(topo, "eth0")
        time.sleep(0.3)
        result = echo.result()
    finally:
        echo.close()
    assert result["error"] is None, result
    worst = {"up": 0.0, "down": 0.0}
    for gap, ended in result["gaps"]:
        phase = "up" if ended < down_started else "down"
        worst[phase] = max(worst[phase], gap)
    shown = {phase: f"{gap * 1e3:.0f} ms" if gap else "none over 80 ms" for phase, gap in worst.items()}
    print(f"echo to {address}: {result['count']} exchanges, longest gap across up --inherit {shown['up']} "
          f"(the command took {up_took * 1e3:.0f} ms), across down {shown['down']} ({down_took * 1e3:.0f} ms)")
    assert max(worst.values()) < 3.0, result
    compare(before, snapshot(topo))
    return result


def addresses_of(snap):
    return [(a["local"], a["prefixlen"]) for a in json.loads(snap["addr"])[0]["addr_info"] if a.get("scope") != "link"]


def test_ipv4_and_ipv6_connections_survive_up_and_down(topo):
    """The seed's case: a host's only NIC with IPv4 and IPv6, a default
    route per family and a policy route with a source; a TCP exchange every
    50 ms and an iperf3 stream to its address keep going."""
    peer_v6(topo)
    member_up(topo, ("link", "set", "eth0", "mtu", "1400"),
              ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("addr", "add", f"{HOST6}/64", "dev", "eth0", "nodad"),
              ("route", "add", "default", "via", "192.168.100.1", "metric", "50"),
              ("route", "add", "10.88.0.0/16", "via", "192.168.100.1", "src", "192.168.100.2", "table", "100",
               "proto", "static"),
              ("-6", "route", "add", "default", "via", PEER6, "metric", "1024"))
    topo.exec(topo.peer(), ["ip", "link", "set", "peer0", "mtu", "1400"])
    mac = ip_host(topo, "-j", "link", "show", "eth0")
    server = topo.popen(topo.host, ["iperf3", "-s", "-1", "-p", str(IPERF_PORT)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    client = topo.popen(topo.peer(), ["iperf3", "-c", "192.168.100.2", "-p", str(IPERF_PORT), "-t", "5", "-J",
                                      "-i", "0.25"], stdout=subprocess.PIPE, text=True)

    def during():
        status = status_json(topo)
        assert status["hwaddr"] == json.loads(mac)[0]["address"]
        assert status["mtu"] == 1400
        route = ip_host(topo, "route", "show", "table", "100")
        assert route.strip() == "10.88.0.0/16 via 192.168.100.1 dev bond0 proto static src 192.168.100.2", route
        # The bond answers for the address both ways while it holds it.
        assert topo.exec(topo.host, ["ping", "-n", "-c", "1", "-W", "2", PEER6], check=False).returncode == 0

    try:
        across_up_and_down(topo, "192.168.100.2", during)
        out, _ = client.communicate(timeout=30)
    finally:
        for proc in (client, server):
            if proc.poll() is None:
                proc.kill()
        server.wait()
    iperf = json.loads(out)
    assert "error" not in iperf, iperf.get("error")
    slowest = min(i["sum"]["bits_per_second"] for i in iperf["intervals"])
    stalled = sum(i["sum"]["seconds"] for i in iperf["intervals"] if i["sum"]["bytes"] == 0)
    print(f"iperf3: {iperf['end']['sum_received']['bits_per_second'] / 1e6:.0f} Mbit/s, "
          f"slowest 0.25 s interval {slowest / 1e6:.1f} Mbit/s, {stalled:.2f} s without a byte")
    assert iperf["end"]["sum_received"]["bytes"] > 0
    assert stalled < 2.0


def test_ipv6_only_member(topo):
    peer_v6(topo)
    member_up(topo, ("addr", "add", f"{HOST6}/64", "dev", "eth0", "nodad"),
              ("-6", "route", "add", "2001:db8:300::/48", "via", PEER6, "metric", "300", "mtu", "1300",
               "proto", "static"))
    across_up_and_down(topo, HOST6)


def test_several_addresses_keep_flags_order_and_lifetimes(topo):
    """Secondaries after their primary, a label, a second subnet whose
    prefix route has a metric, an IPv6
    address without a prefix route (and without nodad: it keeps its DAD
    flags, and is never tentative on the bond) and one with lifetimes (dynamic: they
    count down, so they are compared apart), a route through each."""
    peer_v6(topo)
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("addr", "add", "192.168.100.3/24", "dev", "eth0", "label", "eth0:1"),
              ("addr", "add", "192.168.100.4/24", "dev", "eth0"),
              ("addr", "add", "10.55.0.2/24", "dev", "eth0", "broadcast", "10.55.0.255", "metric", "77"),
              ("addr", "add", f"{HOST6}/64", "dev", "eth0", "nodad"),
              ("addr", "add", "2001:db8:101::2/64", "dev", "eth0", "noprefixroute"),
              ("addr", "add", "2001:db8:102::2/64", "dev", "eth0", "nodad", "valid_lft", "3000",
               "preferred_lft", "2000"),
              ("route", "add", "default", "via", "192.168.100.1", "proto", "dhcp", "metric", "100"),
              ("route", "add", "10.66.0.0/16", "via", "172.31.0.1", "dev", "eth0", "onlink"),
              ("-6", "route", "add", "default", "via", PEER6, "proto", "ra", "metric", "1024", "expires", "600"))

    def during():
        held = json.loads(ip_host(topo, "-j", "addr", "show", "dev", "bond0"))[0]["addr_info"]
        had = json.loads(ip_host(topo, "-j", "addr", "show", "dev", "eth0"))[0]["addr_info"]
        assert [a for a in had if a.get("scope") != "link"] == []
        assert [facts(a) for a in held if a.get("scope") != "link"] == expected
        assert "expires" in ip_host(topo, "-6", "route", "show", "default")

    def facts(addr):
        return (addr["local"], addr.get("label", "").replace("eth0", "bond0"),
                *(addr.get(flag, False) for flag in ("secondary", "noprefixroute", "nodad", "tentative")))

    settled(topo, "eth0")
    expected = [facts(a) for a in json.loads(ip_host(topo, "-j", "addr", "show", "dev", "eth0"))[0]["addr_info"]
                if a.get("scope") != "link"]
    assert ("192.168.100.3", "bond0:1", True, False, False, False) in expected
    across_up_and_down(topo, "192.168.100.3", during, compare=same_but_counting_down)
    assert "expires" in ip_host(topo, "-6", "route", "show", "default")


def same_but_counting_down(before, after):
    """The same bytes, but for the dynamic address's lifetimes and the RA
    route's expiry, which went on counting down."""
    assert after["route"] == before["route"]
    assert _without_lifetimes(after["addr"]) == _without_lifetimes(before["addr"])
    lifetimes = [(_dynamic(snap)["valid_life_time"], _dynamic(snap)["preferred_life_time"]) for snap in (before, after)]
    assert all(0 <= b - a <= 20 for b, a in zip(*lifetimes)), lifetimes   # counted down, not reset
    assert _without_expiry(after["route6"]) == _without_expiry(before["route6"])


def _dynamic(snap):
    return next(a for a in json.loads(snap["addr"])[0]["addr_info"] if a["local"] == "2001:db8:102::2")


def _without_lifetimes(text):
    data = json.loads(text)
    for addr in data[0]["addr_info"]:
        if addr.get("dynamic"):
            addr.pop("valid_life_time"), addr.pop("preferred_life_time")
    return data


def _without_expiry(text):
    data = json.loads(text)
    for route in data:
        route.pop("expires", None)
    return data


def test_crashed_bond_gives_the_addresses_back_at_down(topo):
    """The record written before the move is enough: with the daemon
    killed, `down` puts the member's addresses and routes back."""
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("route", "add", "default", "via", "192.168.100.1"))
    before = snapshot(topo)
    up_inherit(topo)
    topo.exec(topo.host, ["kill", "-9", str(status_json(topo)["pid"])])
    topo.softbond("down", "bond0")
    assert snapshot(topo) == before
    assert topo.exec(topo.host, ["ping", "-n", "-c", "1", "-W", "2", "192.168.100.1"], check=False).returncode == 0


def test_a_failed_move_puts_everything_back(topo):
    """Move the member's addresses and routes onto an interface that is
    down: the addresses go on, the routes cannot (no route through a down
    device), and everything done is undone."""
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("addr", "add", f"{HOST6}/64", "dev", "eth0", "nodad"),
              ("route", "add", "default", "via", "192.168.100.1"),
              ("link", "add", "dum0", "type", "veth", "peer", "name", "dum1"))
    before = snapshot(topo)
    script = ("import sys\nfrom softbond.kernel import addrmove\nfrom softbond.kernel.rtnl import Rtnl\n"
              "rtnl = Rtnl(); src, dst = (rtnl.link(name=n).index for n in ('eth0', 'dum0'))\n"
              "record = addrmove.capture(rtnl, src, 'eth0')\n"
              "try:\n    addrmove.move(record, ('eth0', src), ('dum0', dst))\n"
              "except addrmove.MoveError as exc:\n    print(exc)\nelse:\n    sys.exit('moved onto a down device')\n")
    out = topo.exec(topo.host, [sys.executable, "-c", script]).stdout.strip()
    assert out == "route default via 192.168.100.1 onto dum0: Network is unreachable", out
    assert snapshot(topo) == before
    assert addresses(topo, "dum0") == []


def test_a_refused_take_over_leaves_the_member_as_it_was(topo):
    """The bond already has one of the addresses (--address): the batch
    fails on it, undoes the rest, and `up` exits non-zero saying so."""
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("addr", "add", "192.168.100.3/24", "dev", "eth0"),
              ("route", "add", "default", "via", "192.168.100.1"))
    before = snapshot(topo)
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--inherit", "--address", "192.168.100.3/24",
                         "mode=active-backup", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("softbond: bond0: inherit from eth0: address 192.168.100.3/24 onto bond0: "
                                   "File exists; nothing was moved"), proc.stderr
    assert snapshot(topo) == before
    assert "bond0" not in ip_host(topo, "-br", "link")


def test_inherit_from_a_toml_file(topo, tmp_path):
    """inherit = true in a bond's table does what --inherit does (the other
    ways to say it are parsed in tests/unit/test_inherit_config.py); the
    member the addresses came from cannot be released from under them,
    nor inherit be changed on the running bond."""
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"))
    path = tmp_path / "bonds.toml"
    path.write_text('[bond0]\nmode = "active-backup"\nslaves = ["eth0", "eth1"]\ninherit = true\n')
    topo.softbond("up", "bond0", "--config", str(path))
    assert addresses(topo, "bond0") == [("192.168.100.2", 24)]
    refused = topo.softbond("release", "bond0", "eth0", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("softbond: bond0: cannot release eth0: the bond holds its addresses "
                                      "(inherit); softbond down bond0 gives them back"), refused.stderr
    refused = topo.softbond("set", "bond0", "inherit", "no", check=False)
    assert (refused.returncode, refused.stderr.strip()) == (1, "softbond: bond0: option inherit: acted on at up "
                                                                "and down only (softbond down bond0, then up with it)")
    topo.softbond("down", "bond0")
    assert addresses(topo, "eth0") == [("192.168.100.2", 24)]


def test_only_the_first_member_may_have_addresses(topo):
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("addr", "add", "192.168.100.77/24", "dev", "eth1"))
    before = snapshot(topo)
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--inherit", "mode=active-backup", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("softbond: bond0: cannot enslave eth1: it has address 192.168.100.77/24; "
                                   "remove its addresses first (the bond holds the IP)"), proc.stderr
    assert snapshot(topo) == before


def test_a_data_path_switch_keeps_what_the_bond_took(topo):
    """The bond device is rebuilt on another data path: the inherited
    addresses (flags included) and routes go onto the new device, and down
    still gives them back."""
    peer_v6(topo)
    member_up(topo, ("addr", "add", "192.168.100.2/24", "dev", "eth0"),
              ("addr", "add", f"{HOST6}/64", "dev", "eth0", "nodad"),
              ("route", "add", "10.88.0.0/16", "via", "192.168.100.1", "table", "100"))
    before = snapshot(topo)
    up_inherit(topo, "datapath=ebpf")
    held = ip_host(topo, "addr", "show", "dev", "bond0")
    topo.softbond("set", "bond0", "datapath", "python")
    assert status_json(topo)["datapath"] == "python"
    assert ip_host(topo, "route", "show", "table", "100").split() == [
        "10.88.0.0/16", "via", "192.168.100.1", "dev", "bond0"]
    assert ip_host(topo, "addr", "show", "dev", "bond0").split("\n")[2:] == held.split("\n")[2:]  # not the ifindex
    assert topo.exec(topo.host, ["ping", "-n", "-c", "1", "-W", "2", PEER6], check=False).returncode == 0
    topo.softbond("down", "bond0")
    assert snapshot(topo) == before
