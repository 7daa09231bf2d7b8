"""balance-xor (mode 2): the member is fixed per flow by xmit_hash_policy.

bond_xmit_3ad_xor_slave_get(): usable[bond_xmit_hash(frame) % count]. A
flow's frames all take one member, so nothing is reordered; the mapping
changes only when the set of usable members does. 802.3ad distributes the
same way over its distributing members.
"""
from __future__ import annotations

from ..wire.xmit_hash import hash_function
from .base import VNET, Runner


def hashed_transmit(usable, policy: int):
    """usable[hash % count] for frames that carry the virtio-net header."""
    if not usable:
        return None
    sends = tuple(m.send for m in usable)
    if len(sends) == 1:
        return sends[0]
    count = len(sends)
    xmit_hash = hash_function(policy)

    def transmit(frame):
        return sends[xmit_hash(frame, VNET) % count](frame)
    return transmit


class Xor(Runner):
    def transmit(self, usable, active, bond_mac):
        return hashed_transmit(usable, self.opts.xmit_hash_policy)
