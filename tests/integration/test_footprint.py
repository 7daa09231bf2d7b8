"""Several bonds from one `softbond up --config` (issue 19, footprint): each
is its own process, forked from the one `up`, so the pages `up` had when it
forked them stay shared (each bond's PSS well under its RSS); and a bond
killed with SIGKILL takes no other down."""
import os
import signal

import pytest

from tests.support.netcheck import ping_ok, status_json


def memory(pid: int) -> dict[str, int]:
    """Rss and Pss of one process, kB."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {key: int(fields[key].split()[0]) for key in ("Rss", "Pss")}


@pytest.mark.topology(members=2)
def test_bonds_of_one_up_share_pages_and_outlive_each_other(topo, tmp_path):
    config = tmp_path / "softbond.toml"
    config.write_text('[bond0]\nmode = "active-backup"\nmiimon = 100\nslaves = ["eth0"]\n'
                      'address = "192.168.100.199/24"\n'
                      '[bond1]\nmode = "active-backup"\nmiimon = 100\nslaves = ["eth1"]\n'
                      'address = "192.168.101.199/24"\n')
    proc = topo.softbond("up", "--config", str(config))
    assert proc.stdout == "bond0: up\nbond1: up\n"
    pids = [status_json(topo, bond)["pid"] for bond in ("bond0", "bond1")]
    assert pids[0] != pids[1] and os.getsid(pids[0]) != os.getsid(pids[1])
    for pid in pids:
        mem = memory(pid)
        # A page shared by the two counts half in each one's Pss.
        assert mem["Pss"] < 0.85 * mem["Rss"], mem

    os.kill(pids[1], signal.SIGKILL)
    assert topo.wait_for(lambda: not os.path.exists(f"/proc/{pids[1]}/stat")
                         or open(f"/proc/{pids[1]}/stat").read().split()[2] == "Z", timeout=5)
    assert status_json(topo, "bond0")["pid"] == pids[0]
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)
