"""`softbond set` on a running bond, beyond the mode (test_live_set.py):
the warnings a change raises reach the terminal and the log names the value
applied."""
import os

from conftest import status_json

ADDR = "192.168.100.199/24"


def up(topo, *options):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "miimon=100", *options,
                         check=False)
    assert proc.returncode == 0, proc.stderr


def bond_log(topo):
    with open(os.path.join(os.path.dirname(topo.control_socket()), "bond0.log")) as f:
        return f.read()


def test_set_warnings_reach_stderr_and_the_log_names_the_value_applied(topo):
    up(topo, "mode=active-backup", "primary=eth0")
    rounded = topo.softbond("set", "bond0", "downdelay", "120")
    assert rounded.stderr.strip() == ("bond0: down delay (120) is not a multiple of miimon (100), "
                                      "value rounded to 100 ms")
    assert status_json(topo)["options"]["downdelay"] == 100
    log = bond_log(topo)
    assert "bond0: option downdelay set to 100\n" in log and "set to 120" not in log, log
    # With a primary set the kernel warns that a prio changes nothing yet.
    moot = topo.softbond("set", "bond0", "prio", "eth1:5")
    assert moot.stderr.strip() == ("bond0: (slave eth1): prio updated, but will not affect failover "
                                   "re-selection as primary slave have been set")
    assert moot.stderr.strip() in bond_log(topo)
    assert topo.softbond("set", "bond0", "miimon", "50").stderr.strip() == (
        "bond0: Note: Updating downdelay (to 50) since it is a multiple of the miimon value")
