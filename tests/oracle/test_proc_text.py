"""/proc/net/bonding text: the kernel's against softbond's status, in every
state of scenarios.py, after masking.py and nothing else."""
from __future__ import annotations

import difflib

import pytest

from .compare import snapshots
from .scenarios import SCENARIOS

# Behaviour differences issue 19 lists, left to the engineers who own that
# code: strict, so the test turns red the day softbond matches the kernel.
KNOWN = {
    "802.3ad-no-partner": "802.3ad with no LACP partner: the kernel keeps the bond up on one port as an "
                          "individual link (partner port state 0); softbond is down (port state 2)",
}


# Compared in test_behaviour.py instead.
DELIBERATE = {"ab-arp_interval-no-target"}


def _params():
    for name in SCENARIOS:
        if name in DELIBERATE:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[name])] if name in KNOWN else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", _params())
def test_status_text_matches_kernel(oracle, name):
    kernel = snapshots(oracle.kernel["scenarios"], name, "the kernel")
    ours = snapshots(oracle.softbond["scenarios"], name, "softbond")
    assert len(kernel) == len(ours)
    for step, (want, got) in enumerate(zip(kernel, ours)):
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            f"kernel {oracle.kernel['kernel']}", "softbond"))
        assert want == got, f"{name}, snapshot {step}:\n{diff}"
