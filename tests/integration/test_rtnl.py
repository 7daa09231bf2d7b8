"""kernel/rtnl.py against the kernel: every request the bond makes, in a
namespace of its own, checked with iproute2's view (ip -j, tc -j)."""
import json
import os
import subprocess
import sys

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")

SCRIPT = r'''
import errno, json, os, socket
from softbond.kernel import isolate
from softbond.kernel.rtnl import NetlinkError, Rtnl

rtnl = Rtnl()
out = {}

def refused(call):
    try:
        call()
    except NetlinkError as exc:
        return errno.errorcode[exc.code]
    return "done"

rtnl.add_veth("rt0", "rt0p")
a, b = rtnl.link(name="rt0"), rtnl.link(name="rt0p")
out["made"] = [a.name, a.kind, a.link == b.index, b.link == a.index, a.link_netnsid, a.min_mtu, a.max_mtu]
os.system("ip link property add dev rt0 altname rt0alt")
out["missing"] = [rtnl.link(name="nope") is None, rtnl.link(name="x" * 16) is None, rtnl.link(index=9999) is None,
                  rtnl.link(name="rt0alt") is None]
rtnl.set_link(a.index, up=True, promisc=True, mac="02:00:00:00:0a:01", mtu=1400, gso_max_size=32768,
              gso_max_segs=100)
rtnl.set_link(b.index, up=True)
a = rtnl.link(index=a.index)
out["set"] = [a.mac, a.mtu, a.gso_max_size, a.gso_max_segs, bool(a.flags & 0x100)]
out["refused"] = [refused(lambda: rtnl.set_link(a.index, mtu=10)), refused(lambda: rtnl.del_link(9999)),
                  refused(lambda: rtnl.add_veth("rt0", "rt0q"))]
rtnl.add_address(a.index, "10.7.0.2", 24, "10.7.0.255")
rtnl.add_address(a.index, "fd00:7::2", 64, None)
out["refused"].append(refused(lambda: rtnl.add_address(a.index, "10.7.0.2", 24, None)))
rtnl.replace_default_route(a.index, "10.7.0.1")
rtnl.replace_default_route(a.index, "10.7.0.9")
os.system("ip route add 10.8.0.0/16 via 10.7.0.1 dev rt0 proto static metric 7 mtu 1300 congctl reno")
out["addresses"] = sorted([x["address"], x["prefixlen"], x["broadcast"]] for x in rtnl.addresses(a.index)
                          if x["scope"] == 0)
out["routes"] = sorted(([x["dst"], x["dst_len"], x["gateway"], x["oif"] == a.index, x["priority"], x["proto"],
                         x["metrics"]] for x in rtnl.routes(socket.AF_INET) if x["table"] == 254), key=str)
rtnl.add_clsact(a.index)
fd = isolate.load_drop_program()
rtnl.set_bpf_filter(a.index, isolate.CLSACT_PARENT, isolate.FILTER_PRIO, fd, "softbond_drop", replace=False)
out["refused"].append(refused(lambda: rtnl.set_bpf_filter(a.index, isolate.CLSACT_PARENT, isolate.FILTER_PRIO, fd,
                                                          "softbond_drop", replace=False)))
rtnl.set_bpf_filter(a.index, isolate.CLSACT_PARENT, isolate.FILTER_PRIO, fd, "softbond_drop", replace=True)
out["qdiscs"] = rtnl.qdisc_kinds(a.index)
out["filters"] = rtnl.bpf_filters(a.index, isolate.CLSACT_PARENT)
out["links"] = sorted(link.name for link in rtnl.links())
print(json.dumps(out))
'''

CLEANUP = r'''
from softbond.kernel import isolate
from softbond.kernel.rtnl import Rtnl
rtnl = Rtnl()
index = rtnl.link(name="rt0").index
rtnl.del_filter(index, isolate.CLSACT_PARENT, isolate.FILTER_PRIO)
after_filter = rtnl.bpf_filters(index, isolate.CLSACT_PARENT)
rtnl.del_clsact(index)
after_qdisc = "clsact" in rtnl.qdisc_kinds(index)
rtnl.del_link(index)
print(after_filter, after_qdisc, rtnl.link(name="rt0"), rtnl.link(name="rt0p"))
'''


@pytest.fixture
def netns():
    name = f"sbrt{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def in_ns(ns, argv):
    proc = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.path.abspath(SRC)))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_rtnl_requests_as_iproute2_sees_them(netns):
    out = json.loads(in_ns(netns, [sys.executable, "-c", SCRIPT]))
    assert out["made"] == ["rt0", "veth", True, True, None, 68, 65535]
    assert out["missing"] == [True, True, True, True]     # an altname is not a name
    assert out["set"] == ["02:00:00:00:0a:01", 1400, 32768, 100, True]
    assert out["refused"] == ["EINVAL", "ENODEV", "EEXIST", "EEXIST", "EEXIST"]
    assert out["addresses"] == [["10.7.0.2", 24, "10.7.0.255"], ["fd00:7::2", 64, None]]
    assert out["routes"] == [
        ["10.7.0.0", 24, None, True, None, 2, []],            # the kernel's prefix route
        ["10.8.0.0", 16, "10.7.0.1", True, 7, 4, [["RTAX_MTU", 1300], ["RTAX_CC_ALGO", "reno"]]],
        [None, 0, "10.7.0.9", True, None, 3, []],             # replaced, not added
    ]
    assert out["qdiscs"].count("clsact") == 1
    link = json.loads(in_ns(netns, ["ip", "-j", "-d", "link", "show", "rt0"]))[0]
    assert (link["address"], link["mtu"], link["promiscuity"], link["gso_max_size"]) == \
        ("02:00:00:00:0a:01", 1400, 1, 32768)
    tc = [f for f in json.loads(in_ns(netns, ["tc", "-j", "filter", "show", "dev", "rt0", "ingress"]))
          if "options" in f]
    assert [(f["pref"], f["kind"], f["options"].get("bpf_name"), f["options"].get("direct-action"))
            for f in tc] == [(0xC0DE, "bpf", "softbond_drop", True)]
    assert out["filters"] == [[0xC0DE, tc[0]["options"]["prog"]["id"]]]
    assert out["links"] == ["lo", "rt0", "rt0p"]
    assert in_ns(netns, [sys.executable, "-c", CLEANUP]).split() == ["[]", "False", "None", "None"]
