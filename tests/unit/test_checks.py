"""The checks that keep the architecture so (issue 18): `make test` (what
.ci/run runs) lints with ruff and mypy and runs the unit tests before the
suites that need root; mypy holds the packages pyproject.toml lists to
--strict, and only those; tests share helpers through tests/support alone."""
import ast
import io
import subprocess
import tomllib
from pathlib import Path

from mypy.main import process_options
from mypy.options import PER_MODULE_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
STRICT_PACKAGES = {"softbond.config.*", "softbond.wire.*", "softbond.lacp.*", "softbond.monitors.*"}


def mypy_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]


def strict_flags() -> dict[str, object]:
    """What --strict changes, as this mypy has it (the set grows with releases)."""
    out = io.StringIO()
    _, strict = process_options(["--strict", "--config-file", "", "-c", "pass"], stdout=out, stderr=out)
    _, plain = process_options(["--config-file", "", "-c", "pass"], stdout=out, stderr=out)
    names = [n for n in dir(strict) if not n.startswith("_") and not callable(getattr(strict, n))]
    return {n: getattr(strict, n) for n in names if getattr(strict, n) != getattr(plain, n)}


def test_the_listed_packages_get_every_flag_of_strict_and_no_override_says_strict():
    config = mypy_config()
    overrides = config["overrides"]
    # "strict = true" in an override would turn the flags on for every
    # module: mypy's config parser sets them globally, whatever the section.
    assert not [o["module"] for o in overrides if "strict" in o]
    strict = next(o for o in overrides if STRICT_PACKAGES <= set(o["module"]))
    flags = strict_flags()
    assert flags, "mypy --strict changed no option: the comparison is broken"
    per_module = {n: v for n, v in flags.items() if n in PER_MODULE_OPTIONS}
    assert {n: strict.get(n) for n in per_module} == per_module
    global_only = {n: v for n, v in flags.items() if n not in PER_MODULE_OPTIONS}
    assert {n: config.get(n) for n in global_only} == global_only


def test_make_test_lints_then_runs_the_unit_tests_before_the_suites_that_need_root():
    ci = (ROOT / ".ci" / "run").read_text().split("\n")
    assert [line for line in ci if line.strip() and not line.startswith("#")][-1] == "make test"
    dry = subprocess.run(["make", "-n", "--no-print-directory", "test", "PYTHON=python3"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
    steps = ["scripts/setup.sh --test", "python3 -m ruff check", "python3 -m mypy",
             "python3 -m pytest -q -ra tests/unit", "python3 -m pytest -q -ra --durations=15 tests/integration",
             "python3 -m pytest -q -ra --durations=5 tests/oracle"]
    found = [next((i for i, line in enumerate(dry) if line.startswith(step)), None) for step in steps]
    assert None not in found, dict(zip(steps, found))
    assert found == sorted(found), dry


def _test_sources():
    for top in ("tests", "fuzz"):
        for path in sorted((ROOT / top).rglob("*.py")):
            # Runs inside the QEMU guest as a script, not under pytest.
            if path != ROOT / "tests" / "oracle" / "guest_kernel.py":
                yield path


# This tree's test modules, by name (aiohttp.test_utils is not one).
TEST_MODULES = {p.stem for p in (ROOT / "tests").rglob("*.py") if p.stem.startswith("test_") or p.stem == "conftest"}


def _is_test_module(name: str) -> bool:
    return name.rpartition(".")[2] in TEST_MODULES


def test_tests_share_helpers_through_tests_support_only():
    wrong = []
    for path in _test_sources():
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                wrong += [f"{where}:{node.lineno}: import {a.name}" for a in node.names if _is_test_module(a.name)]
            elif isinstance(node, ast.ImportFrom) and (
                    _is_test_module(node.module or "") or any(_is_test_module(a.name) for a in node.names)):
                wrong.append(f"{where}:{node.lineno}: from {'.' * node.level}{node.module} import")
            elif (isinstance(node, ast.Attribute) and node.attr in ("insert", "append")
                  and ast.unparse(node.value) == "sys.path"):
                wrong.append(f"{where}:{node.lineno}: sys.path.{node.attr}")
    assert not wrong
