"""The bond's MTU and GSO limits against real members, on every data path:
members take the bond's MTU (configured, or changed live with `ip link`), a
member refusing it puts everything back, the bond device advertises its
members' smallest GSO limits so TCP never builds a super-frame a member
cannot take, and a member that cannot segment at all still carries TCP."""
import re
import subprocess
import time

from tests.support.netcheck import Iperf, ping_ok, status_json

ALL_DATAPATHS = True
ADDR = "192.168.100.199/24"


def up(topo, *args, slaves="eth0,eth1", check=True):
    proc = topo.softbond("up", "bond0", "--slaves", slaves, "--address", ADDR, "mode=active-backup",
                         "miimon=100", *args, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
        assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"
    return proc


def mtu(topo, dev, ns=None):
    out = topo.exec(ns or topo.host, ["cat", f"/sys/class/net/{dev}/mtu"]).stdout
    return int(out)


def gso(topo, dev, ns=None):
    out = topo.exec(ns or topo.host, ["ip", "-d", "link", "show", dev]).stdout
    m = re.search(r"gso_max_size (\d+) gso_max_segs (\d+)", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def jumbo_switch(topo, value):
    """The switch ports and the peer at `value`, so only the bond side decides."""
    for i in range(topo.members):
        topo.exec(topo.switch_ns, ["ip", "link", "set", topo.switch_port(i), "mtu", str(value)])
    topo.exec(topo.switch_ns, ["ip", "link", "set", "swp0", "mtu", str(value)])
    topo.exec(topo.peer(), ["ip", "link", "set", "peer0", "mtu", str(value)])


def dont_fragment_ping(topo, size):
    return topo.exec(topo.host, ["ping", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", str(size),
                                 topo.peer_ip()], check=False).returncode == 0


def test_members_take_the_configured_mtu_and_follow_a_live_change(topo):
    jumbo_switch(topo, 9000)
    up(topo, "--mtu", "9000")
    assert (mtu(topo, "bond0"), mtu(topo, "eth0"), mtu(topo, "eth1")) == (9000, 9000, 9000)
    assert status_json(topo)["mtu"] == 9000
    assert dont_fragment_ping(topo, 8972), "a 9000-byte packet did not cross the bond unfragmented"

    topo.exec(topo.host, ["ip", "link", "set", "bond0", "mtu", "4000"])
    assert topo.wait_for(lambda: (mtu(topo, "eth0"), mtu(topo, "eth1")) == (4000, 4000), timeout=3), \
        (mtu(topo, "eth0"), mtu(topo, "eth1"))
    st = status_json(topo)
    assert st["mtu"] == 4000
    assert any("MTU changed from 9000 to 4000" in e["message"] for e in st["events"])
    assert dont_fragment_ping(topo, 3972)

    topo.softbond("release", "bond0", "eth1")
    assert mtu(topo, "eth1") == 1500, "a released member keeps the bond's MTU"


def test_a_live_mtu_change_is_followed_after_the_data_path_is_switched(topo):
    # The switch builds a new bond device (a new ifindex): the bond's own
    # link messages must still reach it, or the MTU stops being followed.
    jumbo_switch(topo, 9000)
    up(topo)
    other = "python" if status_json(topo)["datapath"] == "ebpf" else "ebpf"
    topo.softbond("set", "bond0", "datapath", other)
    topo.exec(topo.host, ["ip", "link", "set", "bond0", "mtu", "4000"])
    assert topo.wait_for(lambda: (mtu(topo, "eth0"), mtu(topo, "eth1")) == (4000, 4000), timeout=3), \
        (mtu(topo, "eth0"), mtu(topo, "eth1"))


def test_a_member_refusing_the_mtu_rolls_the_change_back(topo):
    # A macvlan cannot be bigger than its lower device (eth1 here, at 1500).
    topo.exec(topo.host, ["ip", "link", "add", "mv0", "link", "eth1", "type", "macvlan", "mode", "passthru"])
    topo.exec(topo.host, ["ip", "link", "set", "eth1", "up"])
    up(topo, slaves="eth0,mv0")
    topo.exec(topo.host, ["ip", "link", "set", "bond0", "mtu", "9000"])
    assert topo.wait_for(lambda: mtu(topo, "bond0") == 1500, timeout=3), "the bond kept an MTU a member refused"
    assert (mtu(topo, "eth0"), mtu(topo, "mv0")) == (1500, 1500)
    st = status_json(topo)
    assert st["mtu"] == 1500
    messages = [e["message"] for e in st["events"]]
    assert any("cannot change the MTU to 9000: mv0: cannot set MTU 9000" in m and "it stays 1500" in m
               for m in messages), messages
    assert ping_ok(topo)


def test_up_with_an_mtu_a_member_refuses_fails_and_changes_nothing(topo):
    topo.exec(topo.host, ["ip", "link", "add", "mv0", "link", "eth1", "type", "macvlan", "mode", "passthru"])
    proc = up(topo, "--mtu", "9000", slaves="eth0,mv0", check=False)
    assert proc.returncode != 0
    assert "cannot enslave mv0: mv0: cannot set MTU 9000" in proc.stderr, proc.stderr
    assert mtu(topo, "eth0") == 1500, "eth0 kept the MTU of a bond that never came up"
    assert topo.exec(topo.host, ["ip", "link", "show", "bond0"], check=False).returncode != 0


def max_tcp_payload(topo, port, seconds):
    """The largest TCP payload seen on switch port `port` while an iperf3
    stream runs: a GSO super-frame shows as one big segment."""
    dump = topo.popen(topo.switch_ns, ["tcpdump", "-i", port, "-nn", "-q", "-l", "-s", "96",
                                       "--immediate-mode", "tcp", "and", "dst", "port", "5201"],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.5)
        iperf = Iperf(topo, seconds)
        try:
            data = iperf.result()
        finally:
            iperf.close()
    finally:
        dump.terminate()
        out, _ = dump.communicate(timeout=10)
    sizes = [int(n) for n in re.findall(r"tcp (\d+)", out)]
    assert sizes, "tcpdump saw no TCP frames on the member"
    return max(sizes), data["end"]["sum_received"]["bytes"]


def test_the_bond_advertises_its_members_smallest_gso_limits(topo):
    topo.exec(topo.host, ["ip", "link", "set", "eth0", "gso_max_size", "16384", "gso_max_segs", "16"])
    up(topo)
    assert gso(topo, "bond0") == (16384, 16)
    biggest, received = max_tcp_payload(topo, "sw0", 2)
    print(f"largest TCP segment on eth0's wire with gso_max_size 16384: {biggest} bytes")
    assert 1448 < biggest <= 16384, biggest        # still super-frames, none over eth0's limit
    assert received > 10_000_000

    # The kernel announces no change of gso_max_size alone; the member's next
    # link message (here its features) carries it.
    topo.exec(topo.host, ["ip", "link", "set", "eth1", "gso_max_size", "8192"])
    topo.exec(topo.host, ["ethtool", "-K", "eth1", "tso", "off"])
    assert topo.wait_for(lambda: gso(topo, "bond0") == (8192, 16), timeout=3), gso(topo, "bond0")
    topo.softbond("release", "bond0", "eth1")
    assert topo.wait_for(lambda: gso(topo, "bond0") == (16384, 16), timeout=3), gso(topo, "bond0")
    st = status_json(topo)
    assert (st["gso_max_size"], st["gso_max_segs"]) == (16384, 16)


def test_a_member_that_cannot_segment_still_carries_tcp(topo):
    topo.exec(topo.host, ["ethtool", "-K", "eth0", "tso", "off", "gso", "off"])
    up(topo)
    biggest, received = max_tcp_payload(topo, "sw0", 2)
    print(f"largest TCP segment on a member without TSO: {biggest} bytes")
    assert biggest <= 1448, f"a {biggest}-byte segment left a member that cannot segment"
    assert received > 10_000_000
