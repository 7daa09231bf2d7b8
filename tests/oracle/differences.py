"""Where softbond differs from the kernel on purpose, for the option cases
of option_cases.py: one table, also in docs/kernel-differences.md. The
oracle test asserts exactly these differences, so a change on either side
shows up."""
from __future__ import annotations

import re

# Module-parameter case -> (softbond accepts it?, why it differs from the kernel).
ACCEPTANCE = {
    "mode=802.3ad ad_actor_system=01:00:5e:00:00:01":
        (False, "not a module parameter: the kernel ignores it; softbond takes every sysfs option at up "
                "and checks it as sysfs does (a multicast MAC is refused)"),
    "mode=802.3ad ad_actor_sys_prio=0":
        (False, "not a module parameter (ignored by the kernel); checked as sysfs does: 1-65535"),
    "mode=802.3ad ad_user_port_key=2000":
        (False, "not a module parameter (ignored by the kernel); checked as sysfs does: 0-1023"),
    "xmit_hash_policy=bogus":
        (False, "the kernel does not even parse xmit_hash_policy outside xor/802.3ad/tlb; softbond checks "
                "every value given"),
    "mode=802.3ad min_links=-1":
        (False, "the kernel silently reads -1 as 4294967295, a bond that never gets carrier"),
}

# Kernel lines softbond does not print, in any case.
KERNEL_ONLY_LINES = (
    re.compile(r"MII link monitoring set to \d+ ms"),         # pr_info: the status text shows it
    re.compile(r"bonding: unknown parameter '\w+' ignored"),  # see ACCEPTANCE
)

# Case -> why softbond refuses with other words than the kernel's.
MESSAGES = {
    "mode=7": "softbond gives the sysfs message, which lists the valid modes",
    "mode=blance-rr": "softbond gives the sysfs message, with the nearest name (did you mean balance-rr?)",
}

# sysfs case (option_cases.sysfs_key) -> (softbond accepts it?, why).
SYSFS_ACCEPTANCE = {
    "802.3ad: lacp_rate fast": (True, "the kernel changes lacp_rate only with the bond down; softbond live"),
    "active-backup: mode balance-rr": (True, "the kernel changes mode only without slaves; softbond live"),
    "active-backup: fail_over_mac active": (True, "the kernel changes fail_over_mac only without slaves; "
                                                  "softbond live"),
}

# Kernel lines softbond does not print after a sysfs write.
SYSFS_KERNEL_ONLY_LINES = (
    # The kernel follows its specific error with a generic line; softbond's
    # one line names the option and the specific error.
    re.compile(r"option \w+: invalid value \(.*\)"),
)

# sysfs case -> why softbond refuses with other words than the kernel's.
SYSFS_MESSAGES = {
    "802.3ad: ad_actor_system 01:00:5e:00:00:01": "the kernel says 'Invalid ad_actor_system MAC address.'; "
                                                  "softbond says why: not a unicast MAC address",
}
