"""Errors reach the terminal as one line: `softbond: ...`, never a Python
traceback. Non-root runs are real (setpriv to nobody), against a run
directory that is root's as /run/softbond is."""
import os
import shutil
import subprocess
import sys

import pytest

import softbond
from softbond.kernel import rundir as runtime

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# Softbond as root (and these tests dropping to nobody) needs root; `make
# unit` runs without it too, and .ci/run runs it as root.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="runs softbond as root")
SRC = os.path.dirname(os.path.dirname(softbond.__file__))      # the tree under test

# Every verb, with the arguments it needs to get past argparse.
VERB_ARGS = [
    ["status"], ["status", "--json"], ["status", "bond0"], ["up", "bond0", "--slaves", "eth0", "mode=1"],
    ["up", "--config", "/dev/null"], ["down", "bond0"], ["enslave", "bond0", "eth1"],
    ["release", "bond0", "eth1"], ["set-active", "bond0", "eth1"], ["set", "bond0", "miimon", "50"],
    ["top"], ["top", "bond0"], ["demo"],
]


def softbond(*args, user=(), env=None):
    environ = dict(os.environ, PYTHONPATH=os.path.abspath(SRC), **(env or {}))
    return subprocess.run([*user, sys.executable, "-m", "softbond", *args], capture_output=True, text=True,
                          timeout=60, env=environ, cwd="/")


@pytest.fixture
def root_only_run_dir(tmp_path):
    """A run directory like /run/softbond with a bond's files in it: the
    namespace's directory is 0700 root, as runtime.run_dir() makes it."""
    tmp_path.chmod(0o755)
    ns_dir = tmp_path / runtime.netns_id()
    ns_dir.mkdir(mode=0o700)
    (ns_dir / "bond0.json").write_text('{"bond": "bond0", "pid": 1, "members": []}')
    return str(tmp_path)


@needs_root
@pytest.mark.parametrize("argv", VERB_ARGS, ids=" ".join)
def test_every_verb_as_non_root_says_run_as_root(argv, root_only_run_dir):
    assert shutil.which("setpriv"), "the test drops from root to nobody with setpriv"
    proc = softbond(*argv, user=NOBODY, env={"SOFTBOND_RUN_DIR": root_only_run_dir})
    assert proc.returncode == 1
    assert proc.stderr == f"softbond: {argv[0]}: permission denied (run as root)\n"


@needs_root
def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_a_log(tmp_path):
    """The run directory is a file (a broken /run): nothing anticipated that."""
    broken = tmp_path / "run"
    broken.write_text("")
    cache = tmp_path / "cache"
    proc = softbond("status", env={"SOFTBOND_RUN_DIR": str(broken), "XDG_CACHE_HOME": str(cache)})
    log = cache / "softbond" / "cli.log"
    assert proc.returncode == 1
    assert proc.stderr == f"softbond: unexpected error (NotADirectoryError); the details are in {log}\n"
    text = log.read_text()
    assert "softbond status\nTraceback (most recent call last):" in text
    assert "NotADirectoryError: [Errno 20] Not a directory" in text


@needs_root
def test_up_with_a_config_that_has_no_bond_says_so(tmp_path):
    empty = tmp_path / "network-scripts"
    empty.mkdir()
    for path in (str(empty), "/dev/null"):
        proc = softbond("up", "--config", path)
        assert proc.returncode == 1
        assert proc.stderr.startswith(f"softbond: up: no bonds found in {path} (looked for ifcfg-* files")
        assert "\n" not in proc.stderr.rstrip("\n")
