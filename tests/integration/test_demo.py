"""`softbond demo` end to end, as a user runs it: the command builds its
own namespaces, runs real traffic, prints what each mode does with numbers,
and removes everything. Each test reads the printed facts (the numbers are
measured, so they are checked against what the mode must give, not against
fixed values). Every mode runs once; together about a minute."""
import os
import re
import shutil
import subprocess

from softbond.lab.netns import SOFTBOND


def demo(*args, timeout=90, env=None):
    """Run the demo; its exit code and output, after checking that it left
    no namespace behind and printed no traceback."""
    proc = subprocess.Popen([*SOFTBOND, "demo", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    print(out)
    assert "Traceback" not in out
    assert not namespaces_of(proc.pid)
    return proc.returncode, out


def namespaces_of(pid):
    """Namespaces named with Topology's default prefix for process `pid`."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    return [name for name in listed if name.startswith(f"sb{pid % 100000}-")]


def number(pattern, text, cast=float):
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in the demo's output"
    return cast(m.group(1).replace(",", ""))


def check_next_steps(out, shown):
    tail = out[out.index("\nnext:"):]
    assert "softbond top" in tail and "softbond web" in tail and "softbond demo --mode X" in tail
    assert shown not in tail.split("--mode X", 1)[1]


def check_flow_map(out):
    """Each probed flow went out the member the layer3+4 hash names, and
    both members carried some."""
    flows = re.findall(r"port \d+: .* -> (eth\d) \(the layer3\+4 hash says (eth\d)\)", out)
    assert len(flows) == 4 and all(got == want for got, want in flows), flows
    assert {got for got, _ in flows} == {"eth0", "eth1"}
    one = number(r"1 flow: .*together (\d+) Mbit/s", out)
    four = number(r"4 flows: .*together (\d+) Mbit/s", out)
    assert 70 <= one <= 105 and four >= 1.6 * one, (one, four)


def test_failover_demo_measured_by_the_data_mode_given_by_number():
    """--mode 1 is active-backup: the seed's failover, timed at the peer."""
    rc, out = demo("--mode", "1")
    assert rc == 0
    assert "two NICs, one IP (active-backup)" in out
    lost = number(r"lost in all: (\d+) of 6000", out, int)
    assert lost < 400, lost
    # On a quiet machine the data path can switch between two datagrams
    # (0.5 ms apart): then there is no hole to time, and the demo says so.
    if "no datagram was lost" in out:
        assert "traffic flowed again" not in out
    else:
        resumed = number(r"traffic flowed again ([\d.]+) ms after the cut", out)
        assert 0 < resumed < 1000, resumed
        hole = number(r"the hole: (\d+) datagrams missing", out, int)
        assert 0 < hole <= lost
    # the timeline: the bond's own events, timed from the cut
    assert re.search(r"\+\s*[\d.]+ ms  link     bond0: \(slave eth0\): link status definitely down", out)
    assert re.search(r"\+\s*[\d.]+ ms  failover bond0: \(slave eth1\): making interface the new active one", out)
    check_next_steps(out, "active-backup")


def test_8023ad_demo_negotiates_with_ovs_and_spreads_flows_by_hash():
    rc, out = demo("--mode", "802.3ad")
    assert rc == 0
    assert re.search(r"LACP negotiated: partner [0-9a-f:]{17} key \d+, aggregator \d+ with 2 port\(s\)", out)
    assert re.search(r"eth0: actor ATGSCD\.\. partner ATGSCD\.\.  collecting_distributing", out)
    assert re.search(r"eth1: actor ATGSCD\.\. partner ATGSCD\.\.  collecting_distributing", out)
    check_flow_map(out)
    check_next_steps(out, "802.3ad")


def test_balance_xor_demo_keeps_each_flow_on_its_hashed_member():
    rc, out = demo("--mode", "balance-xor")
    assert rc == 0
    check_flow_map(out)


def test_balance_rr_and_broadcast_demos(tmp_path):
    rc, out = demo("--mode", "0")
    assert rc == 0 and "balance-rr" in out
    shares = [int(s) for s in re.findall(r"frames of the one flow: eth0 [\d,]+ frames \((\d+)%\)  "
                                         r"eth1 [\d,]+ frames \((\d+)%\)", out)[0]]
    assert all(40 <= s <= 60 for s in shares), shares
    both = number(r"4 TCP flows for \d s:\n  out: .*together (\d+) Mbit/s", out)
    one = number(r"eth1's cable pulled; the 4 flows again for \d s:\n  out: .*together (\d+) Mbit/s", out)
    assert both > 1.6 * one and 70 <= one <= 105, (both, one)

    # broadcast where Open vSwitch is not installed: on a Linux bridge
    rc, out = demo("--mode", "broadcast", env=without_ovs(tmp_path))
    assert rc == 0
    assert "(Open vSwitch is not installed: a Linux bridge stands in" in out and "(Linux bridge)" in out
    copies = number(r"the peer got ([\d,]+) copies of 2000 different datagrams", out, int)
    assert copies > 2500, copies       # eth0's copies until its cable went, eth1's all along
    assert "lost when eth0's cable went: 0 of 2000" in out


def test_balance_tlb_and_alb_demos():
    rc, out = demo("--mode", "balance-tlb")
    assert rc == 0
    shares = re.search(r"after it \([\d-]+ s\)\s+out: eth0 \d+ Mbit/s \((\d+)%\)  eth1 \d+ Mbit/s \((\d+)%\)", out)
    assert shares and all(int(s) >= 20 for s in shares.groups()), out

    rc, out = demo("--mode", "6")
    assert rc == 0 and "balance-alb" in out
    senders = re.findall(r"peer (192\.168\.100\.\d) sends to (eth\d)", out)
    assert len(senders) == 2 and {member for _, member in senders} == {"eth0", "eth1"}, senders
    incoming = number(r"in: eth0 .*together (\d+) Mbit/s", out)
    assert incoming > 120, incoming    # more than one 100 Mbit/s member can take


def test_an_unknown_mode_is_one_line_and_changes_nothing():
    rc, out = demo("--mode", "7")
    assert rc == 1
    assert out.startswith("softbond: demo --mode 7: unknown mode; expected one of balance-rr (0)")
    assert out.count("\n") == 1



def without_ovs(directory):
    """An environment whose PATH has every tool the demo needs but Open
    vSwitch: /usr/bin, and the two it needs from /usr/sbin (where OVS is)."""
    assert not os.path.exists("/usr/bin/ovs-vswitchd")
    for tool in ("tc", "ip"):
        os.symlink(shutil.which(tool), directory / tool)
    return dict(os.environ, PATH=f"{directory}:/usr/bin")


def test_8023ad_without_open_vswitch_says_what_to_install(tmp_path):
    proc = subprocess.Popen([*SOFTBOND, "demo", "--mode", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=without_ovs(tmp_path))
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (1, "")
    assert err == ("softbond: demo --mode 802.3ad: needs `ovs-vswitchd` (Open vSwitch is the LACP partner): "
                   "apt-get install openvswitch-switch\n")
    assert not namespaces_of(proc.pid)

