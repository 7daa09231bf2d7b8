"""Hypothesis strategies and a timed runner for the fuzz harnesses, for the
short CI runs in tests/unit/test_fuzz_*.py (atheris is for the long runs).

Inputs are a mix of random bytes, the harness's seeds and seeds mutated the
way libFuzzer does it (bit flips, byte sets, truncation, insertion and
deletion, dictionary tokens spliced in), so a few thousand examples reach
deep into each parser.
"""

from __future__ import annotations

import os
import random
import time
import zlib

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .harnesses import HARNESSES, Harness, Violation

BUDGET_S = 0.100  # per input
# Hypothesis examples per harness in CI (raise it for a longer local run);
# each runs the drawn input and MUTANTS cheap mutations of it, as hypothesis's
# own per-example cost is larger than most parsers'.
EXAMPLES = int(os.environ.get("SOFTBOND_FUZZ_EXAMPLES", "800"))
MUTANTS = 3


def ci_settings(examples: int = EXAMPLES):
    return settings(max_examples=examples, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def inputs(name: str):
    """Fuzz inputs for the harness ``name``."""
    h: Harness = HARNESSES[name]
    seeds = h.seeds()
    tokens = h.dictionary or [b"\0"]
    cap = min(h.max_len, 1024)

    @st.composite
    def mutated(draw):
        f = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, 8))):
            op = draw(st.integers(0, 6))
            i = draw(st.integers(0, len(f)))
            if op == 0 and i < len(f):
                f[i] ^= 1 << draw(st.integers(0, 7))
            elif op == 1 and i < len(f):
                f[i] = draw(st.integers(0, 255))
            elif op == 2:
                del f[i:]
            elif op == 3:
                f[i:i] = draw(st.binary(min_size=1, max_size=16))
            elif op == 4:
                del f[i:i + draw(st.integers(1, 16))]
            elif op == 5:
                f[i:i] = draw(st.sampled_from(tokens))
            elif f:  # copy a piece of the input elsewhere
                j = draw(st.integers(0, len(f) - 1))
                f[i:i] = f[j:j + draw(st.integers(1, 32))]
        return bytes(f[:cap])

    return st.one_of(st.binary(max_size=cap), mutated(), mutated(), st.sampled_from(seeds))


def mutants(name: str, data: bytes, count: int = MUTANTS) -> list[bytes]:
    """``count`` cheap libFuzzer-style mutations of ``data``, chosen by a
    generator seeded from the input itself (so a failure reproduces)."""
    tokens = HARNESSES[name].dictionary or [b"\0"]
    rng = random.Random(zlib.crc32(data))
    out = []
    for _ in range(count):
        f = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randint(0, len(f))
            op = rng.randrange(5)
            if op == 0 and i < len(f):
                f[i] ^= 1 << rng.randrange(8)
            elif op == 1 and i < len(f):
                f[i] = rng.randrange(256)
            elif op == 2:
                f[i:i] = rng.choice(tokens)
            elif op == 3:
                del f[i:i + rng.randint(1, 16)]
            else:
                f[i:i] = rng.randbytes(rng.randint(1, 8))
        out.append(bytes(f))
    return out


def run_many(name: str, data: bytes) -> None:
    """``data`` and its mutants through run_timed; a failure names the input."""
    for one in [data, *mutants(name, data)]:
        try:
            run_timed(name, one)
        except Exception as exc:
            raise Violation(f"{name} fails on {one!r}: {exc!r}") from exc


def run_timed(name: str, data: bytes) -> None:
    """Run one input; fail if it breaks the harness or takes over the
    budget (re-timed best of 3 first, so a busy machine does not fail CI)."""
    func = HARNESSES[name].func
    start = time.perf_counter()
    func(data)
    took = time.perf_counter() - start
    if took > BUDGET_S:
        best = took
        for _ in range(3):
            start = time.perf_counter()
            func(data)
            best = min(best, time.perf_counter() - start)
        if best > BUDGET_S:
            raise Violation(f"input of {len(data)} bytes takes {best * 1000:.0f} ms "
                            f"(budget {BUDGET_S * 1000:.0f} ms): {data[:200]!r}")
