"""A refused `up`, `enslave` or `release` changes nothing: every member is
checked before the first one is touched. The checks involve no data path,
so the default one stands for all three."""
import subprocess
import time

from tests.support.netcheck import status_json


def link_facts(topo, dev):
    """What a member's neighbours could notice: flags, MAC, MTU, oper state
    and how often its carrier changed."""
    read = lambda attr: topo.exec(topo.host, ["cat", f"/sys/class/net/{dev}/{attr}"]).stdout.strip()  # noqa: E731
    return {attr: read(attr) for attr in ("flags", "address", "mtu", "operstate", "carrier_changes")}


def watch_links(topo):
    proc = topo.popen(topo.host, ["ip", "-o", "monitor", "link"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)     # subscribed before the command under test runs
    return proc


def seen(proc):
    time.sleep(0.2)
    proc.terminate()
    return proc.communicate(timeout=5)[0]


def test_refused_up_touches_no_member(topo):
    topo.exec(topo.host, ["ip", "link", "set", "eth0", "up"])
    topo.exec(topo.host, ["ip", "addr", "add", "192.168.100.77/24", "dev", "eth1"])
    topo.wait_for(lambda: link_facts(topo, "eth0")["operstate"] == "up", timeout=5)
    before = link_facts(topo, "eth0")
    monitor = watch_links(topo)
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=active-backup", check=False)
    events = seen(monitor)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("softbond: bond0: cannot enslave eth1: it has address 192.168.100.77/24; "
                                   "remove its addresses first (the bond holds the IP)"), proc.stderr
    assert link_facts(topo, "eth0") == before
    assert events.strip() == "", events         # not even a down/up blip, and no bond device came and went
    assert "bond0" not in topo.exec(topo.host, ["ip", "-o", "link"]).stdout


def test_refused_enslave_or_release_of_several_changes_nothing(topo):
    assert topo.softbond("up", "bond0", "--slaves", "eth0", "mode=active-backup").returncode == 0
    before = link_facts(topo, "eth1")
    proc = topo.softbond("enslave", "bond0", "eth1", "lo", check=False)
    assert (proc.returncode, proc.stderr.strip()) == \
        (1, "softbond: bond0: cannot enslave lo: not an Ethernet interface")
    assert link_facts(topo, "eth1") == before
    proc = topo.softbond("release", "bond0", "eth0", "eth1", check=False)
    assert (proc.returncode, proc.stderr.strip()) == (1, "softbond: bond0: eth1 is not a slave of bond0")
    assert [s["name"] for s in status_json(topo)["slaves"]] == ["eth0"]
