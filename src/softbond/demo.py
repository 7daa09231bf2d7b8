"""`softbond demo`: the seed's "two NICs, one IP" in throwaway namespaces.

Brings bond0 up in active-backup from the seed's own ifcfg files and
modprobe.conf, pings a peer behind a Linux bridge at 1 kHz, pulls the
active member's cable, shows the failover and the ping loss, plugs it
back, and removes everything.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from .netns import Topology

IFCFG_BOND0 = """DEVICE=bond0
IPADDR=192.168.100.199
NETWORK=192.168.100.0
NETMASK=255.255.255.0
USERCTL=no
BOOTPROTO=none
ONBOOT=yes
"""
IFCFG_ETH = """# Intel Corporation 82545EM Gigabit Ethernet Controller (Copper)
DEVICE={name}
USERCTL=no
ONBOOT=yes
MASTER=bond0
SLAVE=yes
BOOTPROTO=none
"""
MODPROBE_CONF = """alias bond0 bonding
options bond0 miimon=100 mode=1
"""


def say(text: str = "") -> None:
    print(text, flush=True)


def _preflight() -> str | None:
    if os.geteuid() != 0:
        return "softbond demo needs root (it creates network namespaces)"
    for tool in ("ip", "ping"):
        if shutil.which(tool) is None:
            return f"softbond demo needs `{tool}` (apt-get install iproute2 iputils-ping)"
    return None


def _ping(topo: Topology, seconds: float) -> subprocess.Popen:
    count = int(seconds * 1000)
    return topo.popen(topo.host, ["ping", "-n", "-q", "-i", "0.001", "-c", str(count), "-W", "1",
                                  topo.peer_ip()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _loss(output: str) -> tuple[int, int]:
    m = re.search(r"(\d+) packets transmitted, (\d+) received", output)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def run(keep_going: bool = False) -> int:
    problem = _preflight()
    if problem:
        print(f"softbond: {problem}", file=sys.stderr)
        return 1
    workdir = tempfile.mkdtemp(prefix="softbond-demo-")
    try:
        with Topology() as topo:
            return _demo(topo, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _demo(topo: Topology, workdir: str) -> int:
    ifcfg = os.path.join(workdir, "network-scripts")
    os.makedirs(ifcfg)
    with open(os.path.join(ifcfg, "ifcfg-bond0"), "w") as f:
        f.write(IFCFG_BOND0)
    for name in ("eth0", "eth1"):
        with open(os.path.join(ifcfg, f"ifcfg-{name}"), "w") as f:
            f.write(IFCFG_ETH.format(name=name))
    modprobe = os.path.join(workdir, "modprobe.conf")
    with open(modprobe, "w") as f:
        f.write(MODPROBE_CONF)

    say("== softbond demo: two NICs, one IP ==")
    say(f"namespaces: {topo.host} (eth0, eth1, bond0)  {topo.switch_ns} (Linux bridge)  "
        f"{topo.peer()} (peer {topo.peer_ip()})")
    say("config: the seed's ifcfg-bond0/ifcfg-eth0/ifcfg-eth1 and modprobe.conf "
        "('options bond0 miimon=100 mode=1')\n")
    say("$ softbond up --config modprobe.conf --config network-scripts/")
    up = topo.softbond("up", "--config", modprobe, "--config", ifcfg, check=False)
    say((up.stdout + up.stderr).rstrip())
    if up.returncode != 0:
        return 1
    try:
        topo.wait_for(lambda: topo.exec(topo.host, ["ping", "-c", "1", "-W", "1", topo.peer_ip()],
                                        check=False).returncode == 0, timeout=10)
        say("\n$ softbond status bond0      # /proc/net/bonding/bond0 format")
        say(topo.softbond("status", "bond0").stdout.rstrip())
        verbose = topo.softbond("status", "bond0", "--verbose").stdout
        say("$ softbond status bond0 --verbose | grep Datapath      # which data path runs\n"
            + _grep(verbose, ("Datapath",)))

        say(f"\n$ ping -i 0.001 {topo.peer_ip()}   (1000 pings a second) and pull eth0's cable")
        ping = _ping(topo, 4.0)
        time.sleep(1.0)
        topo.cut(0)
        t_cut = time.monotonic()
        topo.wait_for(lambda: '"active_slave": "eth1"' in topo.softbond("status", "bond0", "--json").stdout,
                      timeout=5)
        say(f"eth0 down; failover seen by `softbond status` after {1000 * (time.monotonic() - t_cut):.0f} ms")
        say(_grep(topo.softbond("status", "bond0").stdout,
                  ("Currently Active Slave", "Slave Interface", "MII Status", "Link Failure Count")))
        time.sleep(1.0)
        say("\nplug eth0 back in (primary_reselect=always would return to a primary; none is set)")
        topo.plug(0)
        out, _ = ping.communicate(timeout=20)
        sent, received = _loss(out)
        say(f"ping: {sent} sent, {received} received, {sent - received} lost during the failover")
        time.sleep(0.3)
        say("\n$ softbond status bond0")
        say(topo.softbond("status", "bond0").stdout.rstrip())
        ok = sent > 0 and sent - received < 200
    finally:
        say("\n$ softbond down bond0")
        down = topo.softbond("down", "bond0", check=False)
        say((down.stdout + down.stderr).rstrip())
    say("namespaces removed; done." if ok else "the demo saw too much loss")
    return 0 if ok and down.returncode == 0 else 1


def _grep(text: str, keys: tuple[str, ...]) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith(keys))
