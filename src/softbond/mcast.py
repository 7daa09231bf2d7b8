"""What the bond's own IPv4 stack has joined, for resend_igmp.

After a failover the kernel's bonding raises NETDEV_RESEND_IGMP and
ip_mc_rejoin_groups() reports every group the bond device has joined, so
that snooping switches move the groups to the new port. softbond cannot
raise that notifier on its TAP or veth, so it reads the groups from
/proc/net/igmp and sends the reports itself, in the version the device's
querier state says (igmp_mc_seq_show prints "V1", "V2" or "V3").
"""
from __future__ import annotations

import ipaddress
import sys

ALL_HOSTS = "224.0.0.1"      # never reported (ip_mc_rejoin_groups skips it)


def igmp_groups(device: str, text: str | None = None) -> tuple[int, list[str]]:
    """(IGMP version in use, joined groups except all-hosts) of `device`,
    from /proc/net/igmp (or `text`). No such device: (3, [])."""
    if text is None:
        try:
            with open("/proc/net/igmp") as f:
                text = f.read()
        except OSError:
            return 3, []
    version, groups, ours = 3, [], False
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        if not line.startswith("\t"):
            # "4\tbond0     :     2      V3"
            name, _, rest = line.partition("\t")[2].partition(":")
            ours = name.strip() == device
            if ours:
                fields = rest.split()
                if fields and fields[-1] in ("V1", "V2", "V3"):
                    version = int(fields[-1][1])
            continue
        if ours:
            # "\t\t\t\t010000E0     1 0:00000000\t\t0": the group as a
            # host-order print of a network-order u32
            word = line.split()[0]
            try:
                addr = str(ipaddress.IPv4Address(int(word, 16).to_bytes(4, sys.byteorder)))
            except ValueError:
                continue
            if addr != ALL_HOSTS:
                groups.append(addr)
    return version, groups
