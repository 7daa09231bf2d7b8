"""Pull a member's cable at a known instant, for bench/datapath.py's
failover figures: run in the switch namespace (ip netns exec ...), it sets
the switch-side port down over rtnetlink (what Topology.cut() does with
`ip link set PORT down`) and reports time.time() just before and just after
the request. veth takes the peer's carrier down inside that request, so
"before" is the carrier event to within the call's own duration, on the
clock the bond's event log uses (its "time" field).

  linkcut.py PORT   -> prints "ready"; on a line "cut" on stdin sets PORT down and
                       prints JSON {"before": t0, "after": t1}
"""
import json
import sys
import time

from pyroute2 import IPRoute


def main() -> int:
    port = sys.argv[1]
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=port)[0]
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "cut":
            return 1
        before = time.time()
        ipr.link("set", index=index, state="down")
        after = time.time()
    print(json.dumps({"before": before, "after": after}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
