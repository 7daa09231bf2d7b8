"""Issue 16.2: racing `softbond up`s of one bond. Exactly one wins (the
bond's lock, taken before anything is touched and held by the bond process
for its life); the members' original state is recorded once, so `down`
puts back their MAC, MTU, flags and addresses exactly."""
import json
import os
import random
import re
import subprocess
import time

from softbond.lab.netns import SOFTBOND

ROUNDS = 20
LOSER = re.compile(r"bond0: already (being brought up \(pid \d+\)|running)")


def member_states(topo):
    """`ip -d link` and `ip addr` of the members, minus traffic counters
    (two `ip -n` calls a round: the rounds are timed)."""
    links = json.loads(subprocess.run(["ip", "-n", topo.host, "-j", "-d", "link", "show"], check=True,
                                      capture_output=True, text=True).stdout)
    addrs = json.loads(subprocess.run(["ip", "-n", topo.host, "-j", "addr", "show"], check=True,
                                      capture_output=True, text=True).stdout)
    return {link["ifname"]: (link, next(a["addr_info"] for a in addrs if a["ifname"] == link["ifname"]))
            for link in links if link["ifname"] in ("eth0", "eth1")}


def softbond_pids(topo):
    """The softbond processes in the topology's host namespace."""
    netns = os.stat(f"/run/netns/{topo.host}").st_ino
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != netns:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"softbond" in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def test_racing_ups_one_winner_and_members_restored_exactly(topo):
    # Members in a state of their own, so that a restore to anything else shows.
    for sysctl in ("net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.eth1.accept_dad=0"):
        topo.exec(topo.host, ["sysctl", "-qw", sysctl])
    topo.exec(topo.host, ["ip", "link", "set", "eth0", "mtu", "1400", "up"])
    topo.exec(topo.host, ["ip", "link", "set", "eth1", "mtu", "1300", "promisc", "on", "up"])
    topo.exec(topo.host, ["ip", "link", "set", "eth1", "down"])
    before = member_states(topo)
    rng = random.Random(16)
    started = time.monotonic()
    for round_ in range(ROUNDS):
        racers = rng.randint(2, 4)
        procs = [topo.popen(topo.host, [*SOFTBOND, "up", "bond0", "--slaves", "eth0,eth1", "datapath=python",
                                        "mode=active-backup"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(racers)]
        results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        winners = [err for code, err in results if code == 0]
        losers = [err for code, err in results if code != 0]
        assert len(winners) == 1, f"round {round_}: {results}"
        assert all(LOSER.search(err) and "Traceback" not in err for err in losers), results
        assert len(softbond_pids(topo)) == 1, f"round {round_}: more than one bond process"
        topo.softbond("down", "bond0")
        assert softbond_pids(topo) == []
        after = member_states(topo)
        assert after == before, f"round {round_}: members not restored exactly"
    print(f"{ROUNDS} rounds of 2-4 racing ups in {time.monotonic() - started:.1f} s")
