"""The link-message socket filter in the kernel (kernel/netlink.py): a
listener hears the interfaces it names and nothing else."""
import subprocess
import uuid

import pytest


@pytest.fixture
def netns():
    name = f"sbnlf{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def in_ns(name, script):
    """Run `script` (Python) in the namespace; it prints its answer."""
    proc = subprocess.run(["ip", "netns", "exec", name, "python3", "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stdout.strip().splitlines()[-1])


SCRIPT = """
import socket, subprocess, time
from softbond.kernel import netlink
def sh(c): subprocess.run(c, shell=True, check=True)
sh("ip link add a0 type veth peer name a1; ip link add b0 type veth peer name b1; ip link set a1 up; ip link set b1 up")
ia, ib = socket.if_nametoindex("a0"), socket.if_nametoindex("b0")
s = netlink.open_link_monitor()
def heard(cmd):
    sh(cmd)
    time.sleep(0.2)
    return sorted({e.ifname for e in netlink.read_link_events(s)})
out = []
netlink.set_link_filter(s, [ia])
out.append(heard("ip link set b0 up; ip link set a0 up"))
netlink.set_link_filter(s, [ia, ib])
out.append(heard("ip link set b0 down; ip link set a0 down"))
netlink.set_link_filter(s, [])
out.append(heard("ip link set b0 up; ip link set a0 up"))
netlink.set_link_filter(s, range(1, netlink.MAX_FILTERED + 10))
out.append(heard("ip link set b0 down"))
print(out)
"""


def test_the_filter_passes_named_interfaces_only(netns):
    only_a, both, none, everything = in_ns(netns, SCRIPT)
    assert only_a == ["a0"]
    assert both == ["a0", "b0"]
    assert none == []
    assert "b0" in everything and "b1" in everything      # too many to list: no filter
