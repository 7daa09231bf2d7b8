"""balance-xor (mode 2): the member is fixed per flow by xmit_hash_policy.

bond_xmit_3ad_xor_slave_get(): usable[bond_xmit_hash(frame) % count]. A
flow's frames all take one member, so nothing is reordered; the mapping
changes only when the set of usable members does. 802.3ad distributes the
same way over its distributing members. The hash is the data path's
(datapath/plan.compile_transmit, bond.bpf.c's xmit_hash).
xmit_balance=flowlet moves flows between members at their pauses
(modes/flowlet.py).
"""

from __future__ import annotations

from .flowlet import FlowletRunner


class Xor(FlowletRunner):
    pass
