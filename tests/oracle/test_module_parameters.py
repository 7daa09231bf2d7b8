"""Options given as module parameters (`modprobe bonding OPTS`) against the
same options given to `softbond up bond0 OPTS`: a config the kernel accepts,
softbond accepts, with the kernel's warnings; one it refuses, softbond
refuses; except exactly the differences listed in differences.py."""
from __future__ import annotations

import pytest

from .differences import ACCEPTANCE, KERNEL_ONLY_LINES, MESSAGES
from .option_cases import MODULE_CASES


@pytest.mark.parametrize("opts", MODULE_CASES)
def test_module_parameters_as_the_kernel_takes_them(oracle, opts):
    kernel = oracle.kernel["module_parameters"][opts]
    ours = oracle.softbond["module_parameters"][opts]
    if opts in ACCEPTANCE:
        accepts, why = ACCEPTANCE[opts]
        assert (ours["accepted"], kernel["accepted"]) == (accepts, not accepts), why
        return
    assert ours["accepted"] == kernel["accepted"], (kernel, ours)
    if opts in MESSAGES:
        return
    said = "\n".join(ours["said"])
    missing = [line for line in kernel["said"]
               if not any(p.fullmatch(line) for p in KERNEL_ONLY_LINES) and line not in said]
    assert not missing, f"the kernel said {missing}; softbond said {ours['said']}"
