"""The states the oracle compares: each scenario is built once by the kernel
driver (in the guest, guest_kernel.py) and once by softbond (on the host,
softbond_side.py), each in a namespace of its own, by the same driver below.

Topology of a scenario's namespace: members eth0, eth1 are veths whose far
ends p0, p1 sit in bridge br0 (10.77.0.1 and .3, fd77::1): the ARP and NS
monitors get answers. An 802.3ad scenario with a partner puts p0, p1 in a
second bond, bondp, of the same implementation instead (kernel with kernel,
softbond with softbond), so both sides show an LACP partner.

This file runs in the guest too (the host's Python over 9p): stdlib only.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
import time
from dataclasses import dataclass

ADDRESS = "10.77.0.2/24"
BRIDGE_ADDRESSES = ("10.77.0.1/24", "10.77.0.3/24", "fd77::1/64")
SETTLE_POLL = 0.3
SETTLE_CAP = 25.0


@dataclass(frozen=True)
class Scenario:
    opts: str                       # as `softbond up` and modprobe take them
    steps: tuple = ()               # after the first snapshot; ("snap",) takes another once settled
    partner: str | None = None      # 802.3ad: bondp's options; None: the bridge
    wait: float = 0.0               # least time before a snapshot counts as settled


AB = "mode=active-backup miimon=100"
AD_PARTNER = "mode=802.3ad miimon=100"
FAILOVER = (("carrier", "eth1", "down"), ("snap",), ("carrier", "eth1", "up"), ("snap",))

SCENARIOS: dict[str, Scenario] = {
    "balance-rr": Scenario("mode=balance-rr miimon=100"),
    "balance-rr-release": Scenario("mode=balance-rr miimon=100", steps=(("release", "eth0"), ("snap",))),
    "active-backup": Scenario(AB),
    "ab-primary-failover": Scenario(f"{AB} primary=eth1", steps=FAILOVER),
    "ab-reselect-better": Scenario(f"{AB} primary=eth1 primary_reselect=better", steps=FAILOVER),
    "ab-reselect-failure": Scenario(f"{AB} primary=eth1 primary_reselect=failure", steps=FAILOVER),
    "ab-fail_over_mac-active": Scenario(f"{AB} fail_over_mac=active", steps=FAILOVER),
    "ab-fail_over_mac-follow": Scenario(f"{AB} fail_over_mac=follow"),
    "ab-delays": Scenario(f"{AB} updelay=200 downdelay=300", steps=FAILOVER, wait=0.6),
    "ab-release-active": Scenario(AB, steps=(("release", "eth0"), ("snap",))),
    "ab-arp": Scenario("mode=active-backup arp_interval=300 arp_ip_target=10.77.0.1", wait=1.0),
    "ab-arp-validate-all": Scenario("mode=active-backup arp_interval=300 arp_ip_target=10.77.0.1,10.77.0.3 "
                                    "arp_validate=all arp_all_targets=all", wait=1.0),
    "ab-ns-monitor": Scenario("mode=active-backup arp_interval=300 ns_ip6_target=fd77::1", wait=1.0),
    "balance-xor-layer2": Scenario("mode=balance-xor miimon=100 xmit_hash_policy=layer2"),
    "balance-xor-layer3+4": Scenario("mode=balance-xor miimon=100 xmit_hash_policy=layer3+4"),
    "balance-xor-layer2+3": Scenario("mode=balance-xor miimon=100 xmit_hash_policy=layer2+3"),
    "balance-xor-encap2+3": Scenario("mode=balance-xor miimon=100 xmit_hash_policy=encap2+3"),
    "balance-xor-encap3+4": Scenario("mode=balance-xor miimon=100 xmit_hash_policy=encap3+4"),
    "balance-xor-vlan+srcmac": Scenario("mode=balance-xor miimon=100 xmit_hash_policy=vlan+srcmac"),
    "broadcast": Scenario("mode=broadcast miimon=100"),
    "balance-tlb": Scenario("mode=balance-tlb miimon=100", steps=FAILOVER),
    "balance-tlb-static": Scenario("mode=balance-tlb miimon=100 tlb_dynamic_lb=0"),
    "balance-alb": Scenario("mode=balance-alb miimon=100", steps=FAILOVER),
    "802.3ad": Scenario("mode=802.3ad miimon=100", partner=AD_PARTNER, wait=4.0),
    "802.3ad-fast-layer3+4": Scenario("mode=802.3ad miimon=100 lacp_rate=fast xmit_hash_policy=layer3+4",
                                      partner=AD_PARTNER, wait=4.0),
    "802.3ad-bandwidth-encap3+4": Scenario("mode=802.3ad miimon=100 ad_select=bandwidth xmit_hash_policy=encap3+4",
                                           partner=AD_PARTNER, wait=4.0),
    "802.3ad-count-min_links": Scenario("mode=802.3ad miimon=100 ad_select=count min_links=2",
                                        partner=AD_PARTNER, wait=4.0),
    "802.3ad-passive": Scenario("mode=802.3ad miimon=100 lacp_active=off", partner=AD_PARTNER, wait=4.0),
    "802.3ad-port-down": Scenario("mode=802.3ad miimon=100 lacp_rate=fast", partner=AD_PARTNER, wait=4.0,
                                  steps=(("carrier", "eth1", "down"), ("snap",))),
    # Deliberate difference (test_behaviour.py): the kernel takes the members
    # down and flaps them, softbond keeps them up on carrier.
    "ab-arp_interval-no-target": Scenario(AB, steps=(("set", "arp_interval", "100"), ("sleep", 3.0),
                                                     ("snap-now",))),
    # No LACP partner (issue 19): the bond is up on one port as an
    # individual link, in the kernel and in softbond.
    "802.3ad-no-partner": Scenario("mode=802.3ad miimon=100", wait=4.0),
}


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


CLONE_NEWNET = 0x40000000


def join_netns(ns: str) -> None:
    """Moves the calling thread (only it) into namespace ns: reading
    /proc/thread-self/net or opening sockets there then costs no exec, which
    is slow under emulation."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def options(opts: str) -> list[tuple[str, str]]:
    return [tuple(word.split("=", 1)) for word in opts.split()]


class Backend:
    """One bonding implementation, driven inside namespace ns."""

    def create(self, ns: str, bond: str, opts: str, members: list[str], address: str | None) -> None:
        raise NotImplementedError

    def release(self, ns: str, bond: str, member: str) -> None:
        raise NotImplementedError

    def set(self, ns: str, bond: str, name: str, value: str) -> None:
        raise NotImplementedError

    def status(self, ns: str, bond: str) -> str:
        raise NotImplementedError

    def destroy(self, ns: str, bond: str) -> None:
        raise NotImplementedError


def ip_batch(ns: str | None, lines: list[str]) -> None:
    """Several ip commands in one exec (each exec is slow under emulation);
    ns None: this namespace."""
    proc = subprocess.run(["ip", *(["-n", ns] if ns else []), "-batch", "-"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"ip -n {ns} -batch: {proc.stderr.strip()}")


def build_namespace(ns: str, bridged: bool) -> None:
    sh("ip", "netns", "add", ns)
    lines = []
    for i in (0, 1):
        lines += [f"link add eth{i} type veth peer p{i}", f"link set p{i} up"]
    if bridged:
        lines.append("link add br0 type bridge")
        lines += [f"link set p{i} master br0" for i in (0, 1)]
        lines += [f"addr add {address} dev br0 nodad" for address in BRIDGE_ADDRESSES]
        lines.append("link set br0 up")
    ip_batch(ns, lines)


def settled(backend: Backend, ns: str, least: float) -> str:
    """The status text once two reads SETTLE_POLL apart agree, no sooner
    than `least` seconds from now."""
    start = time.monotonic()
    last = None
    while True:
        text = backend.status(ns, "bond0")
        elapsed = time.monotonic() - start
        if (text == last and elapsed >= least) or elapsed > SETTLE_CAP:
            return text
        last = text
        time.sleep(SETTLE_POLL)


def run(backend: Backend, ns: str, sc: Scenario) -> list[str]:
    """Builds the scenario in ns, returns its snapshots, removes ns."""
    snaps: list[str] = []
    build_namespace(ns, bridged=sc.partner is None)
    try:
        if sc.partner:
            backend.create(ns, "bondp", sc.partner, ["p0", "p1"], None)
        backend.create(ns, "bond0", sc.opts, ["eth0", "eth1"], ADDRESS)
        if "ns_ip6_target" in sc.opts:
            sh("ip", "-n", ns, "addr", "add", "fd77::2/64", "dev", "bond0", "nodad")
        snaps.append(settled(backend, ns, sc.wait))
        for step in sc.steps:
            if step[0] == "snap":
                snaps.append(settled(backend, ns, sc.wait))
            elif step[0] == "carrier":       # the far end down takes the member's carrier
                sh("ip", "-n", ns, "link", "set", "p" + step[1][-1], step[2])
            elif step[0] == "release":
                backend.release(ns, "bond0", step[1])
            elif step[0] == "set":
                backend.set(ns, "bond0", step[1], step[2])
            elif step[0] == "sleep":
                time.sleep(step[1])
            elif step[0] == "snap-now":       # a state that does not settle (flapping)
                snaps.append(backend.status(ns, "bond0"))
        return snaps
    finally:
        teardown(backend, ns, ("bond0", "bondp"))


def teardown(backend: Backend, ns: str, bonds: tuple[str, ...] = ("bond0",)) -> None:
    """Takes the bonds down (softbond restores its members) and removes ns."""
    for bond in bonds:
        try:
            backend.destroy(ns, bond)
        except Exception:   # noqa: BLE001 - the namespace goes below either way
            pass
    sh("ip", "netns", "del", ns, check=False)
