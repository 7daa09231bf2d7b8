"""`softbond demo [--mode MODE]`: bonding shown in throwaway namespaces.

Without --mode (or with --mode active-backup): the seed's "two NICs, one
IP". bond0 comes up in active-backup from the seed's own ifcfg files and
modprobe.conf, a numbered UDP stream runs to a peer behind a Linux bridge
at 2000 datagrams a second, the active member's cable is pulled, and the
demo prints the failover as the peer saw it (when the first datagram sent
after the cut arrived, the largest gap, how many were lost), next to when
`softbond status` noticed, and the bond's events as a timeline around the
cut. With --mode, demomodes.py shows what that mode does with numbers.
Everything is removed at the end.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

from ..config.registry import MODE_NAMES
from .demolab import Cables, DemoError, Lab, say
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


STREAM_RATE = 2000  # datagrams a second: a 0.5 ms resolution on the gap
STREAM_SECONDS = 3.0
CUT_AT = 1.0  # seconds into the stream


def parse_mode(text: str | None) -> str | None:
    """A mode's name from its name or number (as `mode=` takes it)."""
    if text is None:
        return None
    word = text.strip().lower()
    for number, name in MODE_NAMES.items():
        if word in (name, str(number)):
            return name
    choices = ", ".join(f"{name} ({number})" for number, name in MODE_NAMES.items())
    raise DemoError(f"demo --mode {text}: unknown mode; expected one of {choices}")


def _preflight(mode: str | None) -> str | None:
    if os.geteuid() != 0:
        return "demo: needs root (it creates network namespaces)"
    tools = [("ip", "iproute2"), ("ping", "iputils-ping")]
    if mode not in (None, "active-backup"):
        tools.append(("iperf3", "iperf3"))
    if mode == "802.3ad":
        tools.append(("ovs-vswitchd", "openvswitch-switch"))
    for tool, package in tools:
        if shutil.which(tool) is None:
            why = " (Open vSwitch is the LACP partner)" if package == "openvswitch-switch" else ""
            return f"demo{' --mode ' + mode if mode else ''}: needs `{tool}`{why}: apt-get install {package}"
    return None


def run(mode: str | None = None) -> int:
    try:
        name = parse_mode(mode)
    except DemoError as exc:
        print(f"softbond: {exc}", file=sys.stderr)
        return 1
    problem = _preflight(name)
    if problem:
        print(f"softbond: {problem}", file=sys.stderr)
        return 1
    try:
        if name in (None, "active-backup"):
            ok = _failover_demo()
        else:
            from . import demomodes
            ok = demomodes.run(name)
    except DemoError as exc:
        print(f"softbond: demo: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a tool failing under the demo: one line, not a traceback
        print(f"softbond: demo{' --mode ' + name if name else ''}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    _next_steps(name or "active-backup")
    if not ok:
        print(f"softbond: demo: the figures above fall short of what {name or 'active-backup'} should show",
              file=sys.stderr)
    return 0 if ok else 1


def _next_steps(shown: str) -> None:
    others = " ".join(m for m in MODE_NAMES.values() if m != shown)
    say("\nnext:")
    say("  softbond top             a live view of a bond in the terminal (rates, links, LACP, events)")
    say("  softbond web             the same as a web page, with /metrics for Prometheus")
    say(f"  softbond demo --mode X   what mode X does, with numbers: X is one of {others} (or 0-6)")


def _failover_demo() -> bool:
    workdir = tempfile.mkdtemp(prefix="softbond-demo-")
    try:
        with Topology() as topo:
            return _seed_failover(topo, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_seed_config(workdir: str) -> tuple[str, str]:
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
    return ifcfg, modprobe


def _seed_failover(topo: Topology, workdir: str) -> bool:
    ifcfg, modprobe = _write_seed_config(workdir)
    lab = Lab(topo)
    say("== softbond demo: two NICs, one IP (active-backup) ==")
    say(f"namespaces: {topo.host} (eth0, eth1, bond0)  {topo.switch_ns} (Linux bridge)  "
        f"{topo.peer()} (peer {topo.peer_ip()})")
    say("config: the seed's ifcfg-bond0/ifcfg-eth0/ifcfg-eth1 and modprobe.conf "
        "('options bond0 miimon=100 mode=1')\n")
    say("$ softbond up --config modprobe.conf --config network-scripts/")
    up = topo.softbond("up", "--config", modprobe, "--config", ifcfg, check=False)
    say((up.stdout + up.stderr).rstrip())
    if up.returncode != 0:
        return False
    try:
        if not topo.wait_for(lambda: lab.ping(), timeout=10):
            raise DemoError(f"bond0: no answer from the peer {topo.peer_ip()} 10 s after up")
        say("\n$ softbond status bond0      # /proc/net/bonding/bond0 format")
        say(topo.softbond("status", "bond0").stdout.rstrip())
        verbose = topo.softbond("status", "bond0", "--verbose").stdout
        say("$ softbond status bond0 --verbose | grep Datapath      # which data path runs\n"
            + _grep(verbose, ("Datapath",)))

        say(f"\na numbered UDP stream to {topo.peer_ip()}, {STREAM_RATE} datagrams a second for "
            f"{STREAM_SECONDS:.0f} s; {CUT_AT} s in, eth0's cable is pulled")
        noticed: list[float] = []
        cables = Cables(topo)

        def cut() -> tuple[float, float]:
            instants = cables.cut(0)
            # what a status poll sees, for comparison (asks the socket, no process to start)
            topo.wait_for(lambda: lab.status().get("active_slave") == "eth1", timeout=5, interval=0.01)
            noticed.append(time.monotonic() - instants[0])
            return instants

        try:
            gap, _, cut_wall = lab.stream(STREAM_SECONDS, STREAM_RATE, cut_at=CUT_AT, cut=cut)
        finally:
            cables.close()
        say("\nthe failover as the data saw it (arrivals at the peer):")
        if gap.resumed_ms is None:
            say("  no datagram was lost: the data path had switched before the next one was sent")
        else:
            say(f"  traffic flowed again {gap.resumed_ms:.1f} ms after the cut (the first datagram after the hole)")
            seen_ms = lab.first_event_ms(cut_wall, "link")
            if seen_ms is not None:
                # The cut is when the demo asked for the link to go down; the
                # kernel takes the carrier away some time later (milliseconds
                # on a busy machine): time the bond from when it heard of it.
                say(f"  the bond heard of the carrier loss {seen_ms:.1f} ms after the cut; "
                    f"traffic flowed {gap.resumed_ms - seen_ms:+.1f} ms from then")
            say(f"  the hole: {gap.hole} datagrams missing, {gap.gap_ms:.1f} ms between the arrivals around it")
        say(f"  lost in all: {gap.lost} of {gap.sent}")
        if noticed:
            say(f"  (a status poll saw eth1 active {1000 * noticed[0]:.0f} ms after the cut: "
                "what a monitor reports, not when the data moved)")
        say("\nbond0's events around the cut (ms from the cut):")
        for line in lab.timeline(cut_wall):
            say(line)
        say(_grep(topo.softbond("status", "bond0").stdout,
                  ("Currently Active Slave", "Slave Interface", "MII Status", "Link Failure Count")))
        say("\nplug eth0 back in (primary_reselect=always would return to a primary; none is set)")
        topo.plug(0)
        ok = gap.received > 0 and gap.lost < STREAM_RATE // 5
    finally:
        down = lab.down()
    say("namespaces removed; done." if ok else "the demo saw too much loss")
    return ok and down


def _grep(text: str, keys: tuple[str, ...]) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith(keys))
