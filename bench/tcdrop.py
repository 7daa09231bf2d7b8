"""Drop everything a device sends, at a known instant: Topology.silence()'s
tc egress drop (softbond.kernel.isolate's two-instruction program on the
clsact egress hook), attached on request and timestamped, for
bench/lacp.py. Run inside the device's namespace (ip netns exec ...).

  tcdrop.py IFNAME   -> prints "ready"; on a line "go" on stdin attaches the drop and
                        prints JSON {"before": t0, "after": t1} (time.time())

Undo with `tc filter del dev IFNAME egress pref 1` (or, where nothing else
uses it, `tc qdisc del dev IFNAME clsact`).
"""
import contextlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from pyroute2 import IPRoute

from softbond.kernel import isolate

EGRESS = 0xFFFFFFF3  # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)


def main() -> int:
    name = sys.argv[1]
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=name)[0]
        # Already there on a member (softbond's own ingress filters): fine.
        with contextlib.suppress(Exception):
            ipr.tc("add", "clsact", index)
        fd = isolate.load_drop_program()
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 1
        before = time.time()
        ipr.tc("add-filter", "bpf", index, ":1", fd=fd, name="silence", parent=EGRESS, prio=1, direct_action=True)
        after = time.time()
    print(json.dumps({"before": before, "after": after}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
