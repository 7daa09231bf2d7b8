"""The carrier thread (core/carrierthread.py): an eBPF active-backup bond
switches to the bank armed for its active member's carrier loss before
the loop hears of it; the loop then publishes the same decision. Carrier
losses during a flip and a flap storm end with the eBPF maps and the
control plane agreeing (no split brain), and traffic through the bond."""
import json
import os
import sys
import time

import softbond
from softbond.lab.netns import Topology
from tests.support.netcheck import ping_ok, status_json

SRC = os.path.dirname(os.path.dirname(os.path.abspath(softbond.__file__)))
# The live bank's sb_config, read through the program attached to bond0's
# egress (the daemon's pinned maps live in its own mount namespace).
LIVE_CONFIG = """
import json
from softbond.datapath.ebpf import loader
from softbond.datapath.ebpf.device import CLSACT_EGRESS
from softbond.datapath.ebpf.state import BondMaps
from softbond.kernel.isolate import FILTER_PRIO
from softbond.kernel.rtnl import Rtnl
rtnl = Rtnl()
index = rtnl.link(name="bond0").index
prog_id = next(p for prio, p in rtnl.bpf_filters(index, CLSACT_EGRESS) if prio == FILTER_PRIO)
rtnl.close()
fds = loader.maps_of_program(prog_id)
print(json.dumps(BondMaps(fds).config(), default=lambda b: b.hex()))
loader.close_fds(fds)
"""


def live_config(topo):
    out = topo.exec(topo.host, [sys.executable, "-c", LIVE_CONFIG], env={**os.environ, "PYTHONPATH": SRC})
    return json.loads(out.stdout)


def ifindex(topo, name):
    return json.loads(topo.exec(topo.host, ["ip", "-j", "link", "show", name]).stdout)[0]["ifindex"]


def up(topo, *options):
    topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24",
                  "mode=active-backup", "miimon=100", "datapath=ebpf", *options)
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond"


def failover_after(topo, since):
    """The first failover event logged at or after `since` (time.time())."""
    return next(e for e in status_json(topo)["events"] if e["kind"] == "failover" and e["time"] >= since)


def agreed(topo):
    """The control plane's active member, and the eBPF maps' (0: none)."""
    st = status_json(topo)
    want = ifindex(topo, st["active_slave"]) if st["active_slave"] else 0
    return want == live_config(topo)["active_ifindex"]


def test_the_thread_flips_first_and_the_core_publishes_the_same(request):
    with Topology(prefix=f"sbc{os.getpid() % 10000}a") as topo:
        up(topo)
        assert status_json(topo)["active_slave"] == "eth0"
        for cut, now_active in ((0, "eth1"), (1, "eth0")):
            if cut == 1:
                topo.plug(0)
                assert topo.wait_for(lambda: status_json(topo)["slaves"][0]["mii_status"] == "up", timeout=5)
            since = time.time()
            topo.cut(cut)
            assert topo.wait_for(lambda: status_json(topo)["active_slave"] == now_active, timeout=5)
            event = failover_after(topo, since)
            # "flipped": the armed bank was selected by whichever of the
            # carrier thread and the loop heard the loss first; the failover
            # the core then logged is the same member.
            assert "flipped" in event.get("stamps", {}), event
            assert event["slave"] == now_active
            assert event["stamps"]["flipped"] <= event["time"]
            assert topo.wait_for(lambda: agreed(topo), timeout=5)
            assert live_config(topo)["active_ifindex"] == ifindex(topo, now_active)
            assert topo.wait_for(lambda: ping_ok(topo), timeout=5)


def test_carrier_loss_during_a_flip_and_flap_storms_leave_no_split_brain(request):
    with Topology(prefix=f"sbc{os.getpid() % 10000}b") as topo:
        up(topo)
        # Both cables pulled back to back: the thread flips to eth1, whose
        # carrier goes too; the core ends with no active member and the
        # maps must say so, not eth1.
        topo.cut(0)
        topo.cut(1)
        assert topo.wait_for(lambda: status_json(topo)["active_slave"] is None, timeout=5)
        assert topo.wait_for(lambda: live_config(topo)["active_ifindex"] == 0, timeout=5), live_config(topo)
        topo.plug(1)
        assert topo.wait_for(lambda: status_json(topo)["active_slave"] == "eth1", timeout=5)
        topo.plug(0)
        assert topo.wait_for(lambda: all(s["mii_status"] == "up" for s in status_json(topo)["slaves"]), timeout=5)
        # A flap storm on both members, no pause between changes.
        for n in range(40):
            topo.cut(n % 2)
            topo.plug(n % 2)
        assert topo.wait_for(lambda: all(s["mii_status"] == "up" for s in status_json(topo)["slaves"]), timeout=5)
        assert topo.wait_for(lambda: agreed(topo), timeout=5), (status_json(topo)["active_slave"], live_config(topo))
        assert topo.wait_for(lambda: ping_ok(topo), timeout=5)
        # And the thread is armed again afterwards: the next cut flips.
        active = status_json(topo)["active_slave"]
        since = time.time()
        topo.cut(int(active[-1]))
        other = "eth1" if active == "eth0" else "eth0"
        assert topo.wait_for(lambda: status_json(topo)["active_slave"] == other, timeout=5)
        assert "flipped" in failover_after(topo, since).get("stamps", {})
        assert topo.wait_for(lambda: agreed(topo), timeout=5)
