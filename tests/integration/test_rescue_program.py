"""rescue.bpf.c's decisions, frame by frame, on a real member without
carrier (BPF_PROG_TEST_RUN on that device): a frame goes to the member's
rescue; a frame already rescued once is dropped and counted, never sent
on again (no loops); LACPDUs stay on their member; a member with carrier
or without a rescue sends as without the program."""
import json
import os
import sys

import softbond
from softbond.lab.netns import Topology

SRC = os.path.dirname(os.path.dirname(os.path.abspath(softbond.__file__)))
PROBE = r"""
import json, struct
from softbond.datapath.ebpf import libbpf
from softbond.datapath.ebpf.rescue import CarrierRescue
from softbond.kernel.rtnl import Rtnl

RESCUE_MARK = 0x5B5E5C0E
rtnl = Rtnl()
eth0, eth1 = (rtnl.link(name=n).index for n in ("eth0", "eth1"))
rescue, state = CarrierRescue.start(rtnl, "bond0")
assert rescue is not None, state
prog = rescue.obj.progs["sb_rescue"]
udp = bytes.fromhex("02cc0000000102bb000000010800") + bytes(46)
lacpdu = bytes.fromhex("0180c200000202bb000000018809") + bytes([1, 1]) + bytes(44)

def run(ifindex, frame, mark=0):
    ctx = bytearray(192)                    # struct __sk_buff: ifindex at 40, cb[0] at 48
    struct.pack_into("=I", ctx, 40, ifindex)
    struct.pack_into("=I", ctx, 48, mark)
    return libbpf.test_run(prog, frame, bytes(ctx))[0]

out = {"no rescue yet": run(eth0, udp)}
rescue.attach(eth0)
rescue.set(eth0, eth1)
out["udp"] = run(eth0, udp)
out["lacpdu"] = run(eth0, lacpdu)
out["rescued before"] = run(eth0, udp, RESCUE_MARK)
out["with carrier"] = run(eth1, udp)
out["counters"] = rescue.counters(eth0)
rescue.detach(eth0)
rescue.close()
print(json.dumps(out))
"""
TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT = 0, 2, 7


def test_the_rescue_program_redirects_once_and_leaves_lacpdus_alone():
    with Topology(prefix=f"sbq{os.getpid() % 10000}") as topo:
        topo.exec(topo.host, ["tc", "qdisc", "add", "dev", "eth0", "clsact"])
        topo.cut(0)                 # eth0: no carrier; eth1 has it
        out = json.loads(topo.exec(topo.host, [sys.executable, "-c", PROBE],
                                   env={**os.environ, "PYTHONPATH": SRC}).stdout)
        assert out == {"no rescue yet": TC_ACT_OK, "udp": TC_ACT_REDIRECT, "lacpdu": TC_ACT_OK,
                       "rescued before": TC_ACT_SHOT, "with carrier": TC_ACT_OK,
                       "counters": {"rescued_frames": 1, "rescue_dropped": 1, "rescued_in": 0}}, out
