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
