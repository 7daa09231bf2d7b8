"""sysfs writes on an up bond with members against `softbond set`: the
kernel accepts, softbond accepts; the kernel refuses, softbond refuses, with
the kernel's words; except exactly the differences in differences.py."""
from __future__ import annotations

import pytest

from .differences import SYSFS_ACCEPTANCE, SYSFS_KERNEL_ONLY_LINES, SYSFS_MESSAGES
from .option_cases import SYSFS_CASES, sysfs_key


@pytest.mark.parametrize("key", [sysfs_key(case) for case in SYSFS_CASES])
def test_sysfs_write_as_the_kernel_takes_it(oracle, key):
    kernel = oracle.kernel["sysfs"][key]
    ours = oracle.softbond["sysfs"][key]
    if key in SYSFS_ACCEPTANCE:
        accepts, why = SYSFS_ACCEPTANCE[key]
        assert (ours["accepted"], kernel["accepted"]) == (accepts, not accepts), why
        return
    assert ours["accepted"] == kernel["accepted"], (kernel, ours)
    if key in SYSFS_MESSAGES:
        return
    said = "\n".join(ours["said"])
    missing = [line for line in kernel["said"]
               if not any(p.fullmatch(line) for p in SYSFS_KERNEL_ONLY_LINES) and line not in said]
    assert not missing, f"the kernel said {missing}; softbond said {ours['said']}"
