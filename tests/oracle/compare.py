"""The rule both option tests apply: a config the kernel accepts, softbond
accepts; one it refuses, softbond refuses; softbond says what the kernel
said; except exactly the listed differences (differences.py). And the
/proc texts both sides wrote in a scenario, masked, for the text and
behaviour tests."""
from __future__ import annotations

import pytest

from .masking import mask
from .scenarios import SCENARIOS


def assert_as_kernel(key: str, kernel: dict, ours: dict, *, acceptance: dict, kernel_only_lines: tuple,
                     messages: dict) -> None:
    if key in acceptance:
        accepts, why = acceptance[key]
        assert (ours["accepted"], kernel["accepted"]) == (accepts, not accepts), why
        return
    assert ours["accepted"] == kernel["accepted"], (kernel, ours)
    if key in messages:
        return
    said = "\n".join(ours["said"])
    missing = [line for line in kernel["said"]
               if not any(p.fullmatch(line) for p in kernel_only_lines) and line not in said]
    assert not missing, f"the kernel said {missing}; softbond said {ours['said']}"


def snapshots(side: dict, name: str, who: str) -> list[str]:
    """Scenario `name`'s /proc texts from one side's results, masked; a
    scenario that side could not build fails the test."""
    result = side[name]
    if "error" in result:
        pytest.fail(f"{who} could not build {name}: {result['error']}", pytrace=False)
    return [mask(text, SCENARIOS[name].opts) for text in result["snaps"]]
