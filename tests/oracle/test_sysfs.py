"""sysfs writes on an up bond with members against `softbond set`
(compare.py's rule)."""
from __future__ import annotations

import pytest

from .compare import assert_as_kernel
from .differences import SYSFS_ACCEPTANCE, SYSFS_KERNEL_ONLY_LINES, SYSFS_MESSAGES
from .option_cases import SYSFS_CASES, sysfs_key


@pytest.mark.parametrize("key", [sysfs_key(case) for case in SYSFS_CASES])
def test_sysfs_write_as_the_kernel_takes_it(oracle, key):
    assert_as_kernel(key, oracle.kernel["sysfs"][key], oracle.softbond["sysfs"][key],
                     acceptance=SYSFS_ACCEPTANCE, kernel_only_lines=SYSFS_KERNEL_ONLY_LINES, messages=SYSFS_MESSAGES)
