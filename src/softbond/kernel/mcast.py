"""What the bond's own IPv4 and IPv6 stacks have joined, for resend_igmp.

After a failover the kernel's bonding raises NETDEV_RESEND_IGMP and
ip_mc_rejoin_groups() reports every group the bond device has joined, so
that snooping switches move the groups to the new port. softbond cannot
raise that notifier on its TAP or veth, so it reads the groups from
/proc/net/igmp and sends the reports itself, in the version the device's
querier state says (igmp_mc_seq_show prints "V1", "V2" or "V3"); the IPv6
groups come from /proc/net/igmp6 (igmp6_mc_seq_show) and are reported
with MLDv2, as ipv6_mc_rejoin_groups does unless MLDv1 is forced.
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


def mld_groups(device: str, text: str | None = None) -> list[str]:
    """IPv6 groups `device` has joined that MLD reports: link scope and
    wider, except all-nodes (ff02::1), from /proc/net/igmp6 (or `text`)."""
    if text is None:
        try:
            with open("/proc/net/igmp6") as f:
                text = f.read()
        except OSError:
            return []
    groups = []
    for line in text.splitlines():
        # "4    bond0           ff0200000000000000000001ff000199     1 00000004 0"
        fields = line.split()
        if len(fields) < 3 or fields[1] != device:
            continue
        try:
            addr = ipaddress.IPv6Address(bytes.fromhex(fields[2]))
        except ValueError:
            continue
        scope = addr.packed[1] & 0x0F
        if addr.is_multicast and scope >= 2 and str(addr) != "ff02::1":
            groups.append(str(addr))
    return groups


def mld_version(device: str) -> int:
    """1 when MLDv1 is forced on `device` (force_mld_version=1), else 2."""
    try:
        with open(f"/proc/sys/net/ipv6/conf/{device}/force_mld_version") as f:
            return 1 if f.read().strip() == "1" else 2
    except OSError:
        return 2
