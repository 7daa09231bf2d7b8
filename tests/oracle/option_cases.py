"""Option cases: the same options given to the kernel as module parameters
(`modprobe bonding OPTS`, what `options bonding ...` in modprobe.conf does)
and to `softbond up bond0 OPTS`. Each side reports whether it accepted them
and what it said. Runs in the guest too: stdlib only."""
from __future__ import annotations

MODULE_CASES: tuple[str, ...] = (
    "mode=active-backup miimon=100",
    "miimon=-1",
    "updelay=-5 miimon=100",
    "downdelay=-5 miimon=100",
    "max_bonds=-1",
    "num_grat_arp=300",
    "num_unsol_na=-1",
    "mode=active-backup arp_interval=100 arp_ip_target=0.0.0.0",
    "mode=active-backup arp_interval=100",
    "mode=active-backup lacp_rate=fast",
    "mode=balance-rr primary=eth0",
    "mode=802.3ad ad_actor_system=01:00:5e:00:00:01",
    "mode=802.3ad ad_actor_system=00:00:00:00:00:00",
    "mode=balance-rr arp_validate=all",
    "mode=7",
    "mode=blance-rr",
    "xmit_hash_policy=bogus",
    "mode=active-backup miimon=100 updelay=150",
    "mode=802.3ad",
    "mode=802.3ad miimon=0",
    "mode=802.3ad min_links=-1",
    "resend_igmp=300",
    "lp_interval=0",
    "packets_per_slave=70000",
    "mode=802.3ad ad_actor_sys_prio=0",
    "mode=802.3ad ad_user_port_key=2000",
    "mode=active-backup miimon=100 arp_interval=100 arp_ip_target=10.77.0.1",
    "mode=active-backup fail_over_mac=2",
    "mode=balance-xor xmit_hash_policy=layer3+4 lacp_rate=1",
)


def kernel_lines(dmesg: str) -> list[str]:
    """The module's lines of a `dmesg` read, without timestamps and the
    driver's banner (softbond has its own version)."""
    lines = []
    for line in dmesg.splitlines():
        text = line.split("] ", 1)[1] if line.startswith("[") and "] " in line else line
        if text.startswith("Ethernet Channel Bonding Driver"):
            continue
        lines.append(text)
    return lines


# sysfs writes on an up bond with members eth0, eth1 (mode, miimon=100):
# (mode, option, value), against `softbond set bond0 OPTION VALUE`.
SYSFS_CASES: tuple[tuple[str, str, str], ...] = (
    ("active-backup", "miimon", "50"),
    ("active-backup", "miimon", "-1"),
    ("active-backup", "updelay", "150"),
    ("active-backup", "num_grat_arp", "300"),
    ("active-backup", "arp_ip_target", "+10.77.0.1"),
    ("active-backup", "arp_ip_target", "+0.0.0.0"),
    ("active-backup", "arp_ip_target", "-10.77.0.9"),
    ("active-backup", "arp_validate", "all"),
    ("active-backup", "primary", "eth1"),
    ("active-backup", "primary", "eth9"),
    ("balance-rr", "primary", "eth0"),
    ("active-backup", "lacp_rate", "fast"),
    ("active-backup", "xmit_hash_policy", "layer3+4"),
    ("active-backup", "packets_per_slave", "3"),
    ("balance-rr", "packets_per_slave", "70000"),
    ("802.3ad", "ad_actor_system", "01:00:5e:00:00:01"),
    ("802.3ad", "ad_actor_sys_prio", "0"),
    ("802.3ad", "lacp_rate", "fast"),
    ("active-backup", "mode", "balance-rr"),
    ("active-backup", "fail_over_mac", "active"),
)


def sysfs_key(case: tuple[str, str, str]) -> str:
    return "{}: {} {}".format(*case)
