"""flowlet_gap_auto on real qdiscs: member 0 shaped to 10 Mbit/s (tbf,
queue up to 20 ms) and kept full by a UDP flow the layer3+4 hash puts on
it, member 1 unshaped (noqueue). The gap a bucket must pause before it
moves follows the difference: 2 ms plus about the 20 ms member 0 holds,
back to flowlet_gap alone once the flow stops or the option is off."""
import subprocess
import time

import pytest

from tests.support.framegen import ports_sharing_a_member
from tests.support.modes_util import ADDR, up
from tests.support.netcheck import status_json

GAP_US = 2000


def gap_now(topo) -> int:
    return status_json(topo)["flowlet"]["gap_now_us"]


@pytest.mark.topology(peers=1)
def test_the_gap_follows_the_full_queue(topo):
    up(topo, "balance-xor", "xmit_hash_policy=layer3+4", "xmit_balance=flowlet", f"flowlet_gap={GAP_US}")
    flowlet = status_json(topo)["flowlet"]
    assert flowlet["gap_auto"] == 1 and flowlet["gap_now_us"] == GAP_US
    topo.shape(0, 10)
    peer = topo.peer_ip(0)
    server = topo.popen(topo.peer(0), ["iperf3", "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    cport = ports_sharing_a_member(ADDR.split("/")[0], peer, 5201, member=0, first=23000)
    client = topo.popen(topo.host, ["iperf3", "-c", peer, "-p", "5201", "-u", "-b", "40M", "-t", "30",
                                    "--cport", str(cport)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # 20 ms of tbf queue against none: the gap covers it (a sample may catch the queue part drained)
        assert topo.wait_for(lambda: gap_now(topo) > GAP_US + 10_000, timeout=20), status_json(topo)["flowlet"]
        assert gap_now(topo) < GAP_US + 200_000
        assert topo.softbond("set", "bond0", "flowlet_gap_auto", "off").returncode == 0
        assert gap_now(topo) == GAP_US
        assert topo.softbond("set", "bond0", "flowlet_gap_auto", "on").returncode == 0
        assert gap_now(topo) > GAP_US + 10_000        # the last reading, at once
    finally:
        client.kill()
        client.wait()
        server.kill()
        server.wait()
    # the queue drains: the gap falls back to flowlet_gap alone
    assert topo.wait_for(lambda: gap_now(topo) == GAP_US, timeout=20), status_json(topo)["flowlet"]
