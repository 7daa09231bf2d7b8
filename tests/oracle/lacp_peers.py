"""LACP with the kernel as the partner (issue 19, section 2): 802.3ad bonds
of the kernel's driver in the guest over virtio NICs, softbond on the host
over the TAPs behind those NICs, one pair of namespaces per case.

The two sides meet in the writable share (/oracle in the guest): the guest
builds its bonds, writes lacp/ready, then keeps lacp/CASE.proc (its
/proc/net/bonding text) fresh every POLL seconds until the host writes
lacp/done. The host (lacp_host.py) drives softbond and the cables and reads
both views. A NIC is found in the guest by its MAC, nic_mac(j) for TAP j.

This file runs in the guest too: stdlib only.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass

try:
    from .scenarios import ip_batch, join_netns, sh
except ImportError:       # in the guest this directory is on sys.path, not a package
    from scenarios import ip_batch, join_netns, sh  # type: ignore[no-redef]

POLL = 0.5           # each refresh is a write over 9p, under emulation
GUEST_CAP = 600.0            # the guest stops refreshing after this, done or not
FAST = "mode=802.3ad miimon=100 lacp_rate=fast"
SLOW = "mode=802.3ad miimon=100 lacp_rate=slow"


@dataclass(frozen=True)
class Case:
    kernel: tuple[str, ...]         # each kernel bond's options, in order (bond kb0, kb1, ...)
    nics: tuple[int, ...]           # how many NICs each kernel bond takes
    softbond: str                   # softbond's options, over all of this case's TAPs
    forms: bool = True              # an aggregator with a partner forms
    cut: bool = False               # one cable cut and restored, timed on both sides


CASES: dict[str, Case] = {
    "both-active": Case((FAST,), (2,), FAST, cut=True),
    "kernel-passive": Case((f"{FAST} lacp_active=off",), (2,), FAST),
    "softbond-passive": Case((FAST,), (2,), f"{FAST} lacp_active=off"),
    "both-passive": Case((f"{FAST} lacp_active=off",), (2,), f"{FAST} lacp_active=off", forms=False),
    "lacp_rate-mismatch": Case((SLOW,), (2,), FAST),
    "min_links": Case((FAST,), (2,), f"{FAST} min_links=2", cut=True),
    # softbond's ad_select between two kernel partners: two ports to kb0, one to kb1.
    "ad_select-count": Case((FAST, FAST), (2, 1), f"{FAST} ad_select=count"),
}


def nic_ranges() -> dict[str, list[list[int]]]:
    """Case -> for each of its kernel bonds, the global NIC numbers it takes."""
    out, j = {}, 0
    for name, case in CASES.items():
        out[name] = []
        for count in case.nics:
            out[name].append(list(range(j, j + count)))
            j += count
    return out


def nic_count() -> int:
    return sum(sum(case.nics) for case in CASES.values())


def nic_mac(j: int) -> str:
    return f"52:54:00:0b:00:{j:02x}"


def address(case_index: int, side: int) -> str:
    """side 1: the kernel's bond kb0; side 2: softbond's bond."""
    return f"10.78.{case_index}.{side}"


# --- reading the views -------------------------------------------------------

SECTION = re.compile(r"^Slave Interface: (\S+)$", re.M)


def system_mac(text: str) -> str | None:
    found = re.search(r"^System MAC address: (\S+)$", text, re.M)
    return found.group(1) if found else None


def aggregator(text: str) -> dict:
    """The active aggregator: its ports and partner."""
    ports = re.search(r"^\tNumber of ports: (\d+)$", text, re.M)
    partner = re.search(r"^\tPartner Mac Address: (\S+)$", text, re.M)
    return {"ports": int(ports.group(1)) if ports else 0, "partner": partner.group(1) if partner else None}


def members(text: str) -> dict[str, dict]:
    """Member -> its permanent MAC, MII status, aggregator id, actor and partner port state."""
    out = {}
    parts = SECTION.split(text)
    for name, body in zip(parts[1::2], parts[2::2]):
        states = re.findall(r"^    port state: (\d+)$", body, re.M)
        mac = re.search(r"^Permanent HW addr: (\S+)$", body, re.M)
        agg = re.search(r"^Aggregator ID: (\d+)$", body, re.M)
        out[name] = {"mac": mac.group(1) if mac else None, "mii": re.search(r"^MII Status: (\S+)", body, re.M).group(1),
                     "aggregator": agg.group(1) if agg else None,
                     "actor": int(states[0]) if states else None, "partner": int(states[1]) if len(states) > 1 else None}
    return out


def states_mirror(kernel: str, ours: str, pairs: list[list[str]]) -> bool:
    """Each softbond port's actor and partner states are the kernel port's
    partner and actor states (pairs: softbond's TAP, the guest NIC's MAC)."""
    by_mac = {m["mac"]: m for m in members(kernel).values()}
    mine = members(ours)
    return all(tap in mine and mac in by_mac
               and (mine[tap]["actor"], mine[tap]["partner"]) == (by_mac[mac]["partner"], by_mac[mac]["actor"])
               for tap, mac in pairs)


def active_aggregator_id(text: str) -> str | None:
    found = re.search(r"^Active Aggregator Info:\n\tAggregator ID: (\d+)$", text, re.M)
    return found.group(1) if found else None


def in_aggregator(text: str) -> int:
    """Members with link that sit in the active aggregator with a partner
    that collects and distributes (port state bits 4 and 5); a member
    without link keeps showing its last partner's state."""
    active = active_aggregator_id(text)
    return sum(1 for m in members(text).values() if m["mii"] == "up" and m["aggregator"] == active
               and m["partner"] is not None and m["partner"] & 0x30 == 0x30)


# --- the guest's side --------------------------------------------------------

def _nic_names() -> dict[str, str]:
    """MAC -> interface name in the guest's first namespace."""
    out = {}
    for name in os.listdir("/sys/class/net"):
        if not os.path.isdir(f"/sys/class/net/{name}"):      # bonding_masters
            continue
        with open(f"/sys/class/net/{name}/address") as f:
            out[f.read().strip()] = name
    return out


def _refresh(share: str, name: str, ns: str, stop: threading.Event) -> None:
    """This thread joins ns and keeps share/lacp/NAME.proc fresh."""
    join_netns(ns)
    path = f"{share}/lacp/{name}.proc"
    texts = [f"/proc/thread-self/net/bonding/kb{b}" for b in range(len(CASES[name].kernel))]
    while not stop.is_set():
        text = "\n=====\n".join(open(p).read() for p in texts)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        stop.wait(POLL)


def guest_start(share: str) -> threading.Thread:
    """Builds every case's kernel bonds and keeps their views fresh in the
    share until the host says done (or GUEST_CAP). Returns the thread to join.
    A failure is written to lacp/ready for the host, which reports it."""
    try:
        return _guest_start(share)
    except Exception as e:  # noqa: BLE001 - the host's test fails on it
        os.makedirs(f"{share}/lacp", exist_ok=True)
        with open(f"{share}/lacp/ready", "w") as f:
            f.write(f"error: {type(e).__name__}: {e}")
        thread = threading.Thread(target=lambda: None)
        thread.start()
        return thread


def _guest_start(share: str) -> threading.Thread:
    sh("modprobe", "virtio_net")
    os.makedirs(f"{share}/lacp", exist_ok=True)
    deadline = time.monotonic() + 30
    while len(_nic_names()) < nic_count() + 1 and time.monotonic() < deadline:   # + lo
        time.sleep(0.2)
    names = _nic_names()
    stop = threading.Event()
    threads = []
    for index, (name, nics) in enumerate(nic_ranges().items()):
        ns = f"lk{index}"
        sh("ip", "netns", "add", ns)
        ip_batch(None, [f"link set {names[nic_mac(j)]} netns {ns}" for group in nics for j in group])
        lines = []
        for b, (opts, group) in enumerate(zip(CASES[name].kernel, nics)):
            args = " ".join(f"{k} {v}" for k, v in (w.split("=", 1) for w in opts.split()))
            lines.append(f"link add kb{b} type bond {args}")
            lines += [f"link set {names[nic_mac(j)]} master kb{b}" for j in group]
            lines.append(f"link set kb{b} up")
        ip_batch(ns, [*lines, f"addr add {address(index, 1)}/24 dev kb0"])
        thread = threading.Thread(target=_refresh, args=(share, name, ns, stop), daemon=True)
        thread.start()
        threads.append(thread)
    with open(f"{share}/lacp/ready", "w") as f:
        f.write(" ".join(names.get(nic_mac(j), "?") for j in range(nic_count())))

    def wait_done():
        deadline = time.monotonic() + GUEST_CAP
        while not os.path.exists(f"{share}/lacp/done") and time.monotonic() < deadline:
            time.sleep(POLL)
        stop.set()
        for thread in threads:
            thread.join()
    waiter = threading.Thread(target=wait_done, daemon=True)
    waiter.start()
    return waiter


def guest_stop() -> None:
    for index in range(len(CASES)):
        sh("ip", "netns", "del", f"lk{index}", check=False)
