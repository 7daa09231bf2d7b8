"""Frame parsing and building; no I/O.

Modules: ethernet (ethertypes, MACs, VLAN-aware l3_info), arp, ndisc
(IPv6 NS/NA), igmp (reports for resend_igmp), vnet (virtio-net header)
and xmit_hash (the kernel's bond_xmit_hash for every xmit_hash_policy).
Import the submodule you need; nothing is re-exported here so that
importing one stays cheap.
"""
