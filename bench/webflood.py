"""Does a read flood on `softbond web` reach the data path? (issue 16, finding 7)

One active-backup bond on the Python data path, `softbond web` beside it,
and per round: 10 s of ping at 100/s through the bond with a failover at
3 s (the active member's cable cut, plugged back after), once quiet and
once while READERS processes GET /api/bonds as fast as they can (what the
red team ran: 16 loops). Reported per round: ping rtt avg/max, pings lost
across the failover, CPU seconds of the bond process and of the web server,
and the reads answered (200) and refused (429).

    python3 bench/webflood.py [--rounds 3] [--readers 16]

Run it with PYTHONPATH pointing at the tree under test (the "before"
figures in the report come from main's tree, the "after" ones from this).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# the tree under test: PYTHONPATH if given, else this one; the softbond
# processes started below inherit it
os.environ["PYTHONPATH"] = os.environ.get("PYTHONPATH") or os.path.join(HERE, "..", "src")
sys.path.insert(0, os.environ["PYTHONPATH"].split(os.pathsep)[0])
sys.path.insert(0, HERE)
from benchutil import commit, fmt, loadavg, proc_cpu  # noqa: E402

from softbond.lab.netns import Topology  # noqa: E402

PORT = 8470
READER = """
import http.client, sys, time
end = time.monotonic() + float(sys.argv[1])
ok = limited = 0
c = http.client.HTTPConnection("127.0.0.1", %d, timeout=5)
while time.monotonic() < end:
    try:
        c.request("GET", "/api/bonds")
        r = c.getresponse()
        r.read()
        if r.status == 200:
            ok += 1
        else:
            limited += 1
    except OSError:
        c.close()
        c = http.client.HTTPConnection("127.0.0.1", %d, timeout=5)
print(ok, limited)
""" % (PORT, PORT)


def one_round(topo, web_pid, bond_pid, readers: int) -> dict:
    seconds = 10
    flood = [topo.popen(topo.host, [sys.executable, "-c", READER, str(seconds + 1)], stdout=subprocess.PIPE,
                        text=True) for _ in range(readers)]
    time.sleep(0.5 if readers else 0)
    cpu0 = proc_cpu(bond_pid), proc_cpu(web_pid)
    ping = topo.popen(topo.host, ["ping", "-n", "-q", "-i", "0.01", "-c", str(seconds * 100), "-W", "1",
                                  topo.peer_ip()], stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    topo.cut(0)
    time.sleep(2)
    topo.plug(0)
    out = ping.communicate(timeout=seconds + 20)[0]
    cpu1 = proc_cpu(bond_pid), proc_cpu(web_pid)
    ok = limited = 0
    for p in flood:
        a, b = p.communicate(timeout=30)[0].split()
        ok, limited = ok + int(a), limited + int(b)
    sent, received = (int(x) for x in re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    rtt = re.search(r"= [\d.]+/([\d.]+)/([\d.]+)/", out)
    return {"rtt_avg": float(rtt.group(1)), "rtt_max": float(rtt.group(2)), "lost": sent - received,
            "bond_cpu": cpu1[0] - cpu0[0], "web_cpu": cpu1[1] - cpu0[1], "reads_ok": ok, "reads_429": limited}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--readers", type=int, default=16)
    args = ap.parse_args()
    results = {"quiet": [], "flood": []}
    with Topology(prefix=f"sbwf{os.getpid() % 10000}", datapath="python") as topo:
        topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24",
                      "mode=active-backup", "miimon=100")
        bond_pid = json.loads(topo.softbond("status", "bond0", "--json").stdout)["pid"]
        web = topo.popen(topo.host, [sys.executable, "-m", "softbond", "web"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        try:
            time.sleep(2)
            for _ in range(args.rounds):
                for name, readers in (("quiet", 0), ("flood", args.readers)):
                    results[name].append(one_round(topo, web.pid, bond_pid, readers))
                    time.sleep(1)
        finally:
            web.terminate()
            web.wait(timeout=10)
    print(f"commit {commit()}, load {loadavg()}, {args.rounds} rounds, {args.readers} readers, Python data path")
    print(f"{'':6} {'rtt avg ms':>16} {'rtt max ms':>18} {'lost':>10} {'bond CPU s':>16} {'web CPU s':>16} "
          f"{'reads 200':>18} {'reads 429':>18}")
    for name, rows in results.items():
        col = lambda key, spec=".2f": fmt([r[key] for r in rows], spec)  # noqa: E731
        print(f"{name:6} {col('rtt_avg', '.3f'):>16} {col('rtt_max'):>18} {col('lost', '.0f'):>10} "
              f"{col('bond_cpu'):>16} {col('web_cpu'):>16} {col('reads_ok', '.0f'):>18} {col('reads_429', '.0f'):>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
