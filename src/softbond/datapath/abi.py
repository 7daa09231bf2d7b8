"""The numbers and layouts the three data paths share with the control
plane, defined once. The eBPF programs (ebpf/bond.bpf.c) hold the same
values as #defines and structs; tests/unit/test_datapath_abi.py compiles
those against this module, so a change on one side only fails there.

Mode and xmit_hash_policy numbers are the kernel's option values
(BOND_MODE_* and BOND_XMIT_POLICY_*): they are defined where the options
are (config/registry.py, wire/xmit_hash.py) and only named here by the
names bond.bpf.c gives them.
"""
from __future__ import annotations

import struct

from ..config.registry import BOND_MODE_8023AD, BOND_MODE_ACTIVEBACKUP, BOND_MODE_ALB, BOND_MODE_BROADCAST, BOND_MODE_ROUNDROBIN, BOND_MODE_TLB, BOND_MODE_XOR
from ..wire.protoclass import PC_ARP, PC_IPV4_ICMP, PC_IPV4_OTHER, PC_IPV4_TCP, PC_IPV4_UDP, PC_IPV6_ICMP, PC_IPV6_OTHER, PC_IPV6_TCP, PC_IPV6_UDP, PC_LACP, PC_OTHER, PROTO_CLASSES  # noqa: F401  (PC_*: bond.bpf.c's, checked here)
from ..wire.xmit_hash import ENCAP23, ENCAP34, LAYER2, LAYER23, LAYER34, VLAN_SRCMAC

# Modes: MODE_* in bond.bpf.c; sb_config.mode, ForwardingPlan.mode.
MODE_RR = BOND_MODE_ROUNDROBIN
MODE_AB = BOND_MODE_ACTIVEBACKUP
MODE_XOR = BOND_MODE_XOR
MODE_BCAST = BOND_MODE_BROADCAST
MODE_8023AD = BOND_MODE_8023AD
MODE_TLB = BOND_MODE_TLB
MODE_ALB = BOND_MODE_ALB

# xmit_hash_policy: POL_* in bond.bpf.c; sb_config.policy.
POL_L2 = LAYER2
POL_L34 = LAYER34
POL_L23 = LAYER23
POL_E23 = ENCAP23
POL_E34 = ENCAP34
POL_VLAN_SRCMAC = VLAN_SRCMAC

# Receive policies, per member: RX_* in bond.bpf.c (sb_rx.policy);
# datapath.accept and the workers implement them in Python.
RX_DROP = 0              # inactive slave: read and drop
RX_DELIVER = 1           # deliver everything up to the bond device
RX_NOT_OWN = 2           # deliver, except frames sourced from the bond's own MAC
                         # (a non-trunk switch reflects our floods back)
RX_UNICAST_OWN_MAC = 3   # alb non-active member: unicast only; frames to the
                         # member's own MAC are handed up addressed to the bond

# Sizes: SB_MAX_MEMBERS and SB_BUCKETS in bond.bpf.c. tlb/alb place flows
# in BUCKETS buckets (the kernel's hash & 0xFF) on every data path; the
# Python paths keep per-member counter slots for MAX_MEMBERS members.
MAX_MEMBERS = 32
BUCKETS = 256
# SB_STAT_SLOTS: sb_stats is an array; the control plane gives the bond and
# each member a slot (written into sb_config, sb_members and sb_rx), slot 0
# takes what is no one's and is never read.
STAT_SLOTS = 512
# SB_RX_SLOTS: sb_rx_slots holds the receive entry of member ifindex in slot
# ifindex % RX_SLOTS (when no other member holds it), where sb_ingress finds
# it without hashing; sb_rx holds them all.
RX_SLOTS = 256
# sb_config, sb_members and sb_buckets hold two banks (publish fills the
# one not in use, then flips sb_bank[0]).
BANKS = 2

# sb_config.flags: SB_F_* in bond.bpf.c.
F_DYNAMIC = 1            # tlb/alb: the bucket table is in use
F_ARP_SLOWPATH = 2       # alb: outgoing ARP goes to the hidden peer
F_FLOWLET = 4            # xor/802.3ad/tlb, xmit_balance=flowlet: the bucket table
                         # is where buckets are wanted, moved at a pause of
                         # sb_config.flowlet_gap_us (sb_flowlet)
# flowlet's queue model looks for the shortest queue among the first this
# many members (SB_FLOWLET_SCAN: the verifier walks the scan per member)
FLOWLET_SCAN = 8
F_FLOWLET_QUEUES = 8     # flowlet with every member's line rate known: the data
                         # path models each member's queue (sb_member_queue,
                         # sb_member.ps_per_byte) and places the buckets itself

# sb_rx.flags: control plane only (bond.bpf.c never reads them): what
# attach_member found, so that any later process can undo it.
RXF_HAD_FILTER = 1       # a filter (isolate's drop) sat at our prio before
RXF_MADE_CLSACT = 2      # we added the clsact qdisc

# The objects of bond.bpf.c: its maps (SEC(".maps")) and programs (SEC("tc")).
MAP_NAMES = ("sb_bank", "sb_config", "sb_members", "sb_buckets", "sb_bucket_bytes", "sb_rr", "sb_rx", "sb_stats",
             "sb_flowlet", "sb_flow_moves", "sb_rx_slots", "sb_rx_rescue", "sb_member_queue")
PROG_NAMES = ("sb_egress", "sb_ingress", "sb_rescued_in", "sb_peer", "sb_hash")
# sb_rx_rescue's slots (bond.bpf.c RESCUE_IN_*): the rescue's check, the verdict
RESCUE_IN_CHECK, RESCUE_IN_VERDICT = 0, 1

# Map value layouts, field for field as the structs in bond.bpf.c.
CONFIG = struct.Struct("=IIIIIiII6sHIII")      # struct sb_config
FLOWLET = struct.Struct("=QiIQ")               # struct sb_flowlet
MEMBER = struct.Struct("=I6sHII")              # struct sb_member
RX = struct.Struct("=II6sH")                   # struct sb_rx
RX_SLOT = struct.Struct("=II6sHI")             # struct sb_rx_slot: struct sb_rx, then whose it is
STAT_NAMES = ("tx_packets", "tx_bytes", "tx_drops", "rx_packets", "rx_bytes", "rx_drops",
              "tx_gso_extra", "rx_gso_extra")  # struct sb_stats' fields in order, then `proto`

# Protocol classes (wire/protoclass.py): PC_* in bond.bpf.c. Each member
# counts, per direction and class, packets then bytes: one block of
# PROTO_BLOCK u64s, sb_stats.proto in the eBPF programs, a slice of the
# loop's counters on the Python paths (inprocess.C_PROTO). The class names
# are the fixed labels of status JSON and /metrics.
PROTO_DIRECTIONS = ("rx", "tx")
PROTO_RX, PROTO_TX = 0, 1
PROTO_CLASS_COUNT = len(PROTO_CLASSES)
PROTO_BLOCK = len(PROTO_DIRECTIONS) * PROTO_CLASS_COUNT * 2
STATS = struct.Struct(f"=8Q{PROTO_BLOCK}Q")    # struct sb_stats


def proto_index(direction: int, proto_class: int) -> int:
    """The packets counter of `proto_class` in a member's block (bytes: + 1)."""
    return (direction * PROTO_CLASS_COUNT + proto_class) * 2


def protocols(block) -> dict:
    """A member's block as status JSON: direction -> class -> packets, bytes."""
    return {direction: {name: {"packets": block[proto_index(d, c)], "bytes": block[proto_index(d, c) + 1]}
                        for c, name in enumerate(PROTO_CLASSES)}
            for d, direction in enumerate(PROTO_DIRECTIONS)}
