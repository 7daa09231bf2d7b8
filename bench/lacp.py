"""LACP convergence and failure detection (issue 4): softbond's 802.3ad
beside Open vSwitch's own figures for the same events, in the same run.

    sudo python3 bench/lacp.py [--runs N] [--datapath auto|python|ebpf] [--json FILE]

bench/run.py will dispatch to this file; it also runs on its own as above.
N runs (default 5), each in a fresh Topology(switch="ovs",
ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast") with
one peer; softbond `mode=802.3ad lacp_rate=fast miimon=100`. Two pollers
run in threads throughout, every 20 ms: our state from the bond's control
socket (the same request `softbond status --json` makes, without starting a
Python process per sample) and OVS's from `ovs-appctl lacp/show bond0`.
Every instant is time.time(); a figure's resolution is the 20 ms poll plus
one sample's duration (about 1 ms for ours, 5 ms for OVS).

(a) Convergence, from the moment `softbond up` is started:
    ours          both members' mux_state COLLECTING_DISTRIBUTING;
    OVS current   both of OVS's members "current attached" with "collecting
                  distributing" in the actor state (the issue's criterion;
                  OVS's actor state says collecting distributing even while
                  expired or defaulted, so this is "OVS has our LACPDU");
    OVS enabled   both members also may_enable: true (OVS has seen us in
                  sync and will forward on them).
    `softbond up` itself returns once the daemon is ready; that is given too.
(b) Failure detection, the partner falls silent on one member with the link
    up, timed from the instant a tc egress drop is attached (bench/tcdrop.py,
    Topology.silence()'s program, timestamped):
    ours          the switch stops sending on sw1 (Topology.silence(1)'s
                  drop): time until eth1's mux_state leaves
                  COLLECTING_DISTRIBUTING;
    OVS           we stop sending on eth1 (the same drop on eth1's egress in
                  the host namespace): time until OVS's lacp/show shows sw1
                  not "current" (expired/defaulted) or may_enable: false.
    Each also from the last LACPDU that got through before the drop (the
    last increment of eth1's lacpdu_rx, resp. lacpdu_tx, in our status):
    with lacp_rate=fast that is the protocol's short timeout, 3 s.
    Between the two, the drop is removed and both sides reconverge (that
    time is reported as "rejoin").
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from benchutil import commit, fmt, loadavg

from softbond.faces.cli import CliError, request_at
from softbond.lab.netns import Topology

ADDR = "192.168.100.199/24"
LACP_OVS = {"switch": "ovs", "ovs_bond_mode": "balance-tcp", "ovs_lacp": "active", "ovs_lacp_time": "fast"}
CD = "COLLECTING_DISTRIBUTING"
POLL = 0.02
TCDROP = [sys.executable, os.path.join(HERE, "tcdrop.py")]


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# -- the two views ------------------------------------------------------------

def our_status(path: str) -> dict | None:
    """The bond's status over its control socket (the CLI's own request);
    None while it is not up."""
    try:
        return request_at(path, {"cmd": "status"}, timeout=2).get("status")
    except (CliError, OSError):
        return None


def ours_view(path: str) -> dict | None:
    """member -> (mux_state, rx_state, lacpdu_rx, lacpdu_tx)."""
    st = our_status(path)
    if st is None:
        return None
    out = {}
    for s in st["slaves"]:
        ad = s.get("ad") or {}
        counters = ad.get("counters") or {}
        out[s["name"]] = (ad.get("mux_state"), ad.get("rx_state"), counters.get("lacpdu_rx", 0),
                          counters.get("lacpdu_tx", 0))
    out["_datapath"] = st.get("datapath")
    return out


def ovs_view(topo: Topology) -> dict | None:
    """member -> (status line, may_enable, actor state, partner state)."""
    try:
        text = topo.ovs.lacp_show("bond0")
    except Exception:  # noqa: BLE001 - the switch going away at the end
        return None
    out = {}
    for block in re.split(r"\n(?=member: )", text)[1:]:
        name, status = re.match(r"member: (\S+): (.*)", block).groups()
        may = re.search(r"may_enable: (\S+)", block)
        actor = re.search(r"  actor state: (.*)", block)
        partner = re.search(r"  partner state: (.*)", block)
        out[name] = (status.strip(), bool(may and may.group(1) == "true"), actor.group(1) if actor else "",
                     partner.group(1) if partner else "")
    return out


class Poller(threading.Thread):
    """Samples `probe` every POLL s; `watch(name, predicate)` records the
    first sample instant at which predicate(sample) holds. Every sample is
    kept (time, value) for the counters' history."""

    def __init__(self, probe, keep: bool = False):
        super().__init__(daemon=True)
        self.probe, self.keep = probe, keep
        self.watches: dict[str, tuple] = {}
        self.hits: dict[str, float] = {}
        self.samples: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, name: str, predicate) -> None:
        with self.lock:
            self.hits.pop(name, None)
            self.watches[name] = predicate

    def hit(self, name: str) -> float | None:
        with self.lock:
            return self.hits.get(name)

    def run(self) -> None:
        while not self.stopping.is_set():
            t0 = time.time()
            value = self.probe()
            t1 = time.time()
            at = (t0 + t1) / 2
            if value is not None:
                with self.lock:
                    if self.keep:
                        self.samples.append((at, value))
                    for name, predicate in self.watches.items():
                        if name not in self.hits:
                            with contextlib.suppress(Exception):
                                if predicate(value):
                                    self.hits[name] = at
            self.stopping.wait(max(0.0, POLL - (time.time() - t0)))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)

    def wait(self, name: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.hit(name)
            if t is not None:
                return t
            time.sleep(0.01)
        return self.hit(name)

    def last_change_before(self, key, index: int, instant: float) -> float | None:
        """The first sample instant at which value[key][index] took the value
        it had at the last sample before `instant` (when a counter last went up)."""
        with self.lock:
            before = [(t, v) for t, v in self.samples if t <= instant and key in v]
        if not before:
            return None
        final = before[-1][1][key][index]
        first = None
        for t, v in reversed(before):
            if v[key][index] != final:
                break
            first = t
        return first


# -- one run ------------------------------------------------------------------

def both_cd(v: dict) -> bool:
    return v.get("eth0", (None,))[0] == CD and v.get("eth1", (None,))[0] == CD


def ovs_current(v: dict) -> bool:
    return len(v) == 2 and all(m[0].startswith("current attached") and "collecting distributing" in m[2]
                               for m in v.values())


def ovs_enabled(v: dict) -> bool:
    return ovs_current(v) and all(m[1] for m in v.values())


def timed_drop(ns: str, dev: str) -> dict:
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *TCDROP, dev], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"tcdrop.py {dev} did not start")
    out, _ = proc.communicate("go\n", timeout=10)
    return json.loads(out)


def one_run(n: int, datapath: str) -> dict:
    res: dict = {}
    with Topology(prefix=f"sbl{os.getpid() % 10000}{n}", **LACP_OVS) as topo:
        path = topo.control_socket()
        ours = Poller(lambda: ours_view(path), keep=True)
        ovs = Poller(lambda: ovs_view(topo))
        ours.watch("converged", both_cd)
        ovs.watch("current", ovs_current)
        ovs.watch("enabled", ovs_enabled)
        ours.start()
        ovs.start()
        try:
            # (a) convergence
            extra = () if datapath == "auto" else (f"datapath={datapath}",)
            t0 = time.time()
            topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=802.3ad", "miimon=100",
                          "lacp_rate=fast", "xmit_hash_policy=layer3+4", *extra)
            res["up_returned"] = time.time() - t0
            t_ours, t_cur, t_en = ours.wait("converged", 15), ovs.wait("current", 15), ovs.wait("enabled", 15)
            res["conv_ours"] = t_ours - t0 if t_ours else None
            res["conv_ovs_current"] = t_cur - t0 if t_cur else None
            res["conv_ovs_enabled"] = t_en - t0 if t_en else None
            res["datapath"] = (ours.samples[-1][1].get("_datapath") if ours.samples else None)
            time.sleep(1.0)

            # (b1) the switch falls silent on sw1: we detect.
            ours.watch("eth1_left", lambda v: v["eth1"][0] != CD)
            ovs.watch("sw1_out", lambda v: not v["sw1"][0].startswith("current") or not v["sw1"][1])
            drop = timed_drop(topo.switch_ns, topo.switch_port(1))
            t_ours = ours.wait("eth1_left", 10)
            res["detect_ours"] = t_ours - drop["after"] if t_ours else None
            last = ours.last_change_before("eth1", 2, drop["after"])
            res["detect_ours_from_last_pdu"] = t_ours - last if t_ours and last else None
            t_follow = ovs.wait("sw1_out", 3)
            res["ovs_follows_ours"] = t_follow - drop["after"] if t_follow else None
            topo.unsilence(1)
            t_back = time.time()
            ours.watch("rejoined", both_cd)
            ovs.watch("rejoined", ovs_enabled)
            a, b = ours.wait("rejoined", 15), ovs.wait("rejoined", 15)
            res["rejoin_ours"] = a - t_back if a else None
            res["rejoin_ovs"] = b - t_back if b else None
            time.sleep(1.0)

            # (b2) we fall silent on eth1: OVS detects.
            ovs.watch("sw1_out2", lambda v: not v["sw1"][0].startswith("current") or not v["sw1"][1])
            ours.watch("eth1_left2", lambda v: v["eth1"][0] != CD)
            drop = timed_drop(topo.host, "eth1")
            t_ovs = ovs.wait("sw1_out2", 10)
            res["detect_ovs"] = t_ovs - drop["after"] if t_ovs else None
            last = ours.last_change_before("eth1", 3, drop["before"])
            res["detect_ovs_from_last_pdu"] = t_ovs - last if t_ovs and last else None
            t_follow = ours.wait("eth1_left2", 3)
            res["ours_follows_ovs"] = t_follow - drop["after"] if t_follow else None
            final = ovs_view(topo) or {}
            res["ovs_sw1_after"] = list(final.get("sw1", ()))
        finally:
            ours.stop()
            ovs.stop()
            topo.softbond("down", "bond0", check=False)
    return res


# -- report -------------------------------------------------------------------

ROWS = (
    ("(a) convergence from `softbond up`", "softbond: both members COLLECTING_DISTRIBUTING", "conv_ours"),
    ("", "OVS: both members current attached, actor collecting distributing", "conv_ovs_current"),
    ("", "OVS: both members also may_enable (forwarding)", "conv_ovs_enabled"),
    ("", "(`softbond up` returned: daemon ready)", "up_returned"),
    ("(b) silent partner on one member, link up, from the drop",
     "softbond detects: eth1 leaves COLLECTING_DISTRIBUTING (switch silent on sw1)", "detect_ours"),
    ("", "OVS detects: sw1 expired/defaulted or not may_enable (we are silent on eth1)", "detect_ovs"),
    ("(b) the same, from the last LACPDU that got through", "softbond", "detect_ours_from_last_pdu"),
    ("", "OVS", "detect_ovs_from_last_pdu"),
    ("consequences", "OVS takes sw1 out after softbond's detection (from the drop)", "ovs_follows_ours"),
    ("", "softbond takes eth1 out after OVS's detection (from the drop)", "ours_follows_ovs"),
    ("rejoin after the drop is removed", "softbond: both COLLECTING_DISTRIBUTING again", "rejoin_ours"),
    ("", "OVS: both may_enable again", "rejoin_ovs"),
)


def table(runs: list[dict]) -> str:
    lines = ["| event | measured | seconds, median (min-max) | runs with a figure |", "|---|---|---|---|"]
    for group, label, key in ROWS:
        values = [r.get(key) for r in runs]
        lines.append(f"| {group} | {label} | {fmt(values, '.3f')} | {sum(v is not None for v in values)}/{len(runs)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs to take medians over (default 5)")
    parser.add_argument("--datapath", choices=("auto", "python", "ebpf"), default="auto",
                        help="the bond's data path (default: auto, eBPF where it loads)")
    parser.add_argument("--json", help="also write every raw figure to this file")
    args = parser.parse_args()
    rev = commit()
    started = time.monotonic()
    before = loadavg()
    runs = []
    for n in range(args.runs):
        r = one_run(n, args.datapath)
        runs.append(r)
        log(f"run {n + 1}/{args.runs}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                      for k, v in r.items()))
    seconds = round(time.monotonic() - started)
    paths = sorted({str(r.get("datapath")) for r in runs})
    print(f"# softbond LACP convergence and failure detection, commit {rev}, {args.runs} runs "
          f"({time.strftime('%Y-%m-%d')})\n")
    print(f"OVS userspace balance-tcp, lacp=active, lacp-time=fast; softbond mode=802.3ad lacp_rate=fast "
          f"miimon=100, data path {', '.join(paths)}; polls every {POLL * 1000:.0f} ms; {seconds} s in all; "
          f"load average before {before}, after {loadavg()}\n")
    print(table(runs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"commit": rev, "runs": runs, "seconds": seconds}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
