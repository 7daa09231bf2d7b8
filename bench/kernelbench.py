"""softbond against the kernel's bonding driver in the same QEMU guest, the
same run (issue 19, section 3): one and eight TCP streams, 64-byte UDP
packets/s, CPU per Gbit and the failover gap of a 10 kHz UDP stream, for
plain veth, the kernel bond (active-backup), softbond eBPF and softbond
Python. The guest runs under TCG (tests/oracle/vm.py): absolute numbers
mean nothing, so each figure is also given as a ratio to plain veth
measured in the same guest.

Topology in the guest: namespace A holds the bond (or, for plain veth,
eth0 alone) over veths eth0, eth1, whose far ends p0, p1 are in a bridge in
namespace B (10.66.0.2); the bond is 10.66.0.1. The failover gap: the
far end of the active member (p0) goes down 1 s into a 3 s stream; the
gap is the receiver's longest time without a datagram (bench/udpgap.py).
The kernel bond's gap is taken at miimon=100 and miimon=1 (it has no
carrier events: it polls); softbond reacts to the carrier event.

  python3 bench/kernelbench.py [SECONDS [RUNS]]   (host: boots the guest, prints the table;
                                                    defaults 3 s, 3 runs: about 8 minutes)
  python3 bench/kernelbench.py --guest OUT.json SECONDS RUNS   (in the guest)
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
PY = "/usr/bin/python3"          # the guest sees the host's system Python, not a venv under /root
A, B = "kba", "kbb"
ADDRESS, SERVER = "10.66.0.1/24", "10.66.0.2"
GAP_RATE = 10000
SETUPS = ("veth", "kernel", "softbond-ebpf", "softbond-python")


def sh(*argv: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(TREE / "src")})
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ip_batch(ns: str | None, lines: list[str]) -> None:
    proc = subprocess.run(["ip", *(["-n", ns] if ns else []), "-batch", "-"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"ip -batch: {proc.stderr.strip()}")


def build(setup: str, miimon: int = 100) -> None:
    for ns in (A, B):
        sh("ip", "netns", "add", ns)
    ip_batch(None, [f"link add eth{i} netns {A} type veth peer p{i} netns {B}" for i in (0, 1)])
    ip_batch(B, ["link add br0 type bridge", "link set p0 master br0", "link set p1 master br0",
                 "link set p0 up", "link set p1 up", f"addr add {SERVER}/24 dev br0", "link set br0 up"])
    if setup == "veth":
        ip_batch(A, [f"addr add {ADDRESS} dev eth0", "link set eth0 up"])
    elif setup == "kernel":
        ip_batch(A, [f"link add bond0 type bond mode active-backup miimon {miimon}",
                     "link set eth0 master bond0", "link set eth1 master bond0",
                     f"addr add {ADDRESS} dev bond0", "link set bond0 up"])
    else:
        sh("ip", "netns", "exec", A, PY, "-m", "softbond", "up", "bond0", "--slaves", "eth0,eth1",
           "--address", ADDRESS, "mode=active-backup", "miimon=100", f"datapath={setup.split('-')[1]}")
    sh("ip", "netns", "exec", A, "ping", "-c", "1", "-W", "5", SERVER)


def teardown(setup: str) -> None:
    if setup.startswith("softbond"):
        sh("ip", "netns", "exec", A, PY, "-m", "softbond", "down", "bond0", check=False)
    for ns in (A, B):
        sh("ip", "netns", "del", ns, check=False)


def busy_seconds() -> float:
    """CPU time spent by the whole guest (every vCPU), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def iperf(seconds: float, *args: str) -> tuple[dict, float]:
    """One iperf3 run from A to B: its JSON and the guest's CPU seconds."""
    server = subprocess.Popen(["ip", "netns", "exec", B, "iperf3", "-s", "-1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        before = busy_seconds()
        out = sh("ip", "netns", "exec", A, "iperf3", "-c", SERVER, "-t", str(seconds), "-J", *args,
                 timeout=seconds + 120).stdout
        return json.loads(out), busy_seconds() - before
    finally:
        server.wait(timeout=30)


def failover_gap(seconds: float) -> dict:
    """A 10 kHz stream; p0 (the active member's far end) down after 1 s."""
    recv = subprocess.Popen(["ip", "netns", "exec", B, PY, str(HERE / "udpgap.py"), "9000", str(seconds + 3)],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1.5)
    send = subprocess.Popen(["ip", "netns", "exec", A, PY, str(HERE / "udpstream.py"), "send", SERVER, "9000",
                             str(GAP_RATE), str(seconds)], stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    sh("ip", "-n", B, "link", "set", "p0", "down")
    send.wait(timeout=seconds + 60)
    result = json.loads(recv.communicate(timeout=seconds + 60)[0])
    result["rate"] = round((result["highest"] + 1) / seconds)
    return result


def measure(setup: str, seconds: float) -> dict:
    out: dict = {}
    build(setup)
    try:
        one, cpu = iperf(seconds)
        bits = one["end"]["sum_received"]["bytes"] * 8
        out["tcp1_gbit"] = bits / one["end"]["sum_received"]["seconds"] / 1e9
        out["cpu_s_per_gbit"] = cpu / (bits / 1e9)
        eight, _ = iperf(seconds, "-P", "8")
        out["tcp8_gbit"] = eight["end"]["sum_received"]["bits_per_second"] / 1e9
        udp, _ = iperf(seconds, "-u", "-b", "0", "-l", "64")
        total = udp["end"]["sum_received"]
        out["udp64_kpps"] = (total["packets"] - total["lost_packets"]) / total["seconds"] / 1e3
        if setup != "veth":
            out["gap_ms"] = failover_gap(seconds)
    finally:
        teardown(setup)
    if setup == "kernel":          # the kernel polls carrier: its gap at the fastest miimon too
        build(setup, miimon=1)
        try:
            out["gap_ms_miimon1"] = failover_gap(seconds)
        finally:
            teardown(setup)
    return out


def guest(path: str, seconds: float, runs: int) -> None:
    for module in ("tun", "cls_bpf", "sch_ingress", "veth", "bridge"):
        sh("modprobe", module)
    if not os.path.ismount("/sys/fs/bpf"):
        sh("mount", "-t", "bpf", "bpf", "/sys/fs/bpf")
    results: dict = {"release": os.uname().release, "cpus": os.cpu_count(), "seconds": seconds,
                     "runs": {setup: [] for setup in SETUPS}}
    for run in range(runs):          # setups interleaved: a slow spell of the host hits all of them
        for setup in SETUPS:
            start = time.monotonic()
            try:
                results["runs"][setup].append(measure(setup, seconds))
            except Exception as e:  # noqa: BLE001 - the host prints it in the table
                results["runs"][setup].append({"error": f"{type(e).__name__}: {e}"})
            print(f"run {run + 1} {setup}: {time.monotonic() - start:.0f} s", file=sys.stderr)
    Path(path).write_text(json.dumps(results, indent=1))


COLUMNS = (("tcp1_gbit", "1 TCP stream Gbit/s", ".3f"), ("tcp8_gbit", "8 TCP streams Gbit/s", ".3f"),
           ("udp64_kpps", "64 B UDP kpps", ".1f"), ("cpu_s_per_gbit", "guest CPU s per Gbit (1 stream)", ".2f"))


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], spec: str) -> str:
    """median (min-max), or the value alone for one run."""
    if len(values) == 1:
        return f"{values[0]:{spec}}"
    return f"{median(values):{spec}} ({min(values):{spec}}-{max(values):{spec}})"


def gap(results: list[dict]) -> str:
    """The longest silence at the receiver, and the largest run of lost
    datagrams as ms at the rate the sender reached (under emulation a
    Python sender falls short of 10 kHz)."""
    silence = [r["max_gap_ms"] for r in results]
    hole = [(r["hole"]["missing"] if r["hole"] else 0) / r["rate"] * 1000 for r in results]
    lost = [r["lost"] for r in results]
    rate = [r["rate"] for r in results]
    return (f"{spread(silence, '.1f')} ms; hole {spread(hole, '.1f')} ms; lost in all {spread(lost, '.0f')} "
            f"at {spread(rate, '.0f')}/s")


def table(results: dict) -> str:
    runs = results["runs"]
    rows = ["| setup | " + " | ".join(f"{title} | ratio to veth" for _, title, _ in COLUMNS)
            + " | failover: longest silence; largest hole; lost in all |",
            "|---" * (2 * len(COLUMNS) + 2) + "|"]
    base = runs["veth"]
    for setup in SETUPS:
        errors = [r["error"] for r in runs[setup] if "error" in r]
        if errors:
            rows.append(f"| {setup} | {errors[0]} |")
            continue
        cells = []
        for key, _, spec in COLUMNS:
            values = [r[key] for r in runs[setup]]
            ratios = [r[key] / b[key] for r, b in zip(runs[setup], base) if "error" not in b]
            cells += [spread(values, spec), spread(ratios, ".2f") if ratios else "-"]
        gaps = [gap([r[k] for r in runs[setup]]) + label for k, label in
                (("gap_ms", " (miimon=100)" if setup == "kernel" else ""), ("gap_ms_miimon1", " (miimon=1)"))
                if k in runs[setup][0]]
        rows.append(f"| {setup} | " + " | ".join(cells) + f" | {'<br>'.join(gaps) or 'n/a'} |")
    return "\n".join(rows)


def host(seconds: float, runs: int) -> int:
    sys.path.insert(0, str(TREE))
    from tests.oracle import vm
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="softbond-kbench-") as share:
        share_path = Path(share)
        (share_path / "run.sh").write_text(f"modprobe bonding max_bonds=0\n"
                                          f"exec {PY} {HERE / 'kernelbench.py'} --guest /oracle/out.json {seconds} {runs}\n")
        qemu = vm.start(share_path, share_path / "console.log")
        qemu.wait(timeout=1800)
        out = share_path / "out.json"
        if not out.exists():
            log = (share_path / "guest.log").read_text(errors="replace")[-3000:]
            print(f"kernelbench: the guest left no results:\n{log}", file=sys.stderr)
            return 1
        results = json.loads(out.read_text())
        guest_log = (share_path / "guest.log").read_text(errors="replace").strip().replace("\n", "; ")
    print(f"kernel {results['release']} under TCG, {results['cpus']} vCPUs, {seconds:g} s per measurement, {runs} runs (median, min-max); "
          f"host load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after; guest: {guest_log}")
    print(table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--guest"]:
        guest(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        try:
            seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
            runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
        except ValueError:
            sys.exit(__doc__.split("\n\n")[-1].rstrip())      # the usage lines
        sys.exit(host(seconds, runs))
