"""Issue 17 sections 1 and 3: `softbond install-unit` writes a unit that
runs this softbond and that systemd-analyze accepts, ordered before
network-online.target; its ExecStartPre `softbond wait-members` waits for
members that appear late and fails in one line naming those that never do."""
import os
import subprocess
import sys
import time

import softbond
from softbond.lab.netns import SOFTBOND, ip

UNIT = "softbond@.service"


def _verify(unit_dir):
    os.symlink(UNIT, os.path.join(unit_dir, "softbond@bond0.service"))
    return subprocess.run(["systemd-analyze", "verify", os.path.join(unit_dir, "softbond@bond0.service")],
                          capture_output=True, text=True)


def _install_unit(unit_dir, pythonpath):
    """`softbond install-unit` run with this tree on PYTHONPATH (a source
    checkout) or without it (softbond installed: scripts/setup.sh's
    editable install); the unit's text."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run([*SOFTBOND, "install-unit", "--unit-dir", str(unit_dir), "--config", "/etc/sb/bonds.toml"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return (unit_dir / UNIT).read_text()


def test_install_unit_runs_this_softbond_and_verifies(tmp_path):
    src = os.path.dirname(os.path.dirname(os.path.abspath(softbond.__file__)))
    text = _install_unit(tmp_path, src)
    command = f"{sys.executable} -m softbond"
    assert f"ExecStart={command} up %i --config /etc/sb/bonds.toml --foreground\n" in text, text
    assert f"ExecStartPre={command} wait-members %i --config /etc/sb/bonds.toml --timeout 60\n" in text, text
    assert "Before=network.target network-online.target\n" in text
    # Run from a checkout on PYTHONPATH, which systemd would not pass on: the unit says it.
    assert f"Environment=PYTHONPATH={src}\n" in text, text
    verify = _verify(str(tmp_path))
    assert verify.returncode == 0 and "softbond@" not in verify.stderr, verify.stderr
    # Installed, the interpreter finds softbond itself: no Environment line.
    installed = tmp_path / "installed"
    installed.mkdir()
    assert "Environment=PYTHONPATH" not in _install_unit(installed, None)


def test_install_unit_refusals_change_nothing(tmp_path):
    for args, word in ((["--config", "bonds.toml"], "absolute"), (["--unit-dir", str(tmp_path / "none")], "none")):
        proc = subprocess.run([*SOFTBOND, "install-unit", "--unit-dir", str(tmp_path), *args],
                              capture_output=True, text=True)
        assert proc.returncode == 1 and proc.stderr.startswith("softbond: ") and word in proc.stderr, proc.stderr
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert os.listdir(tmp_path) == []


def _config(tmp_path, members):
    path = tmp_path / "softbond.toml"
    path.write_text(f'[bond0]\nmode = "active-backup"\nslaves = {members!r}\n'.replace("'", '"'))
    return str(path)


def test_wait_members_waits_for_a_late_member(topo, tmp_path):
    config = _config(tmp_path, ["eth0", "eth1", "late0"])
    start = time.monotonic()
    waiter = topo.popen(topo.host, [*SOFTBOND, "wait-members", "bond0", "--config", config, "--timeout", "20"],
                        stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert waiter.poll() is None, waiter.stderr.read()         # still waiting for late0
    ip("-n", topo.host, "link", "add", "late0", "type", "veth", "peer", "name", "late0p")
    assert waiter.wait(timeout=10) == 0, waiter.stderr.read()
    assert time.monotonic() - start < 5


def test_wait_members_names_the_missing_ones(topo, tmp_path):
    config = _config(tmp_path, ["eth0", "gone0", "gone1"])
    proc = topo.softbond("wait-members", "bond0", "--config", config, "--timeout", "0.5", check=False)
    assert proc.returncode == 1
    assert proc.stderr == f"softbond: bond0: members gone0, gone1 did not appear within 0.5 s ({config})\n", \
        proc.stderr
