"""Options given as module parameters (`modprobe bonding OPTS`) against the
same options given to `softbond up bond0 OPTS` (compare.py's rule)."""
from __future__ import annotations

import pytest

from .compare import assert_as_kernel
from .differences import ACCEPTANCE, KERNEL_ONLY_LINES, MESSAGES
from .option_cases import MODULE_CASES


@pytest.mark.parametrize("opts", MODULE_CASES)
def test_module_parameters_as_the_kernel_takes_them(oracle, opts):
    assert_as_kernel(opts, oracle.kernel["module_parameters"][opts], oracle.softbond["module_parameters"][opts],
                     acceptance=ACCEPTANCE, kernel_only_lines=KERNEL_ONLY_LINES, messages=MESSAGES)
