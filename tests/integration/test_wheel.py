"""Issue 17 section 1: a wheel built from this tree carries the BPF object,
so `pip install` on a host without clang runs the eBPF data path; an object
that does not match its source is refused, never loaded."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.netcheck import ping_ok
from tests.support.packageutil import path_without_compilers, shared_wheel

BOND_UP = ["up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24",
           "mode=active-backup", "miimon=100", "datapath=ebpf"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return shared_wheel(tmp_path_factory)


def _venv(tmp_path, wheel_path):
    venv = str(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True)
    env = {"PATH": f"{venv}/bin:{path_without_compilers(str(tmp_path / 'bin'))}", "HOME": str(tmp_path),
           "LANG": "C.UTF-8"}
    # pip from the base interpreter installs into the venv that runs it.
    proc = subprocess.run([f"{venv}/bin/python", "-m", "pip", "install", "-q", "--no-deps", wheel_path],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return venv, env


def test_wheel_in_fresh_venv_without_clang_runs_ebpf(topo, tmp_path, wheel):
    venv, env = _venv(tmp_path, wheel)
    assert shutil.which("clang", path=env["PATH"]) is None
    for shared in ("man/man8/softbond.8", "man/man5/softbond.toml.5", "bash-completion/completions/softbond",
                   "zsh/site-functions/_softbond"):
        assert os.path.getsize(f"{venv}/share/{shared}") > 0, shared
    python = f"{venv}/bin/python"
    where = subprocess.run([python, "-c", "from softbond.datapath.ebpf import build; print(build.object_path(compile=False))"],
                           capture_output=True, text=True, env=env)
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(venv + "/lib/"), where.stdout   # the wheel's, not a cache's

    softbond = f"{venv}/bin/softbond"
    cni = subprocess.run([f"{venv}/bin/softbond-cni"], input='{"cniVersion": "1.0.0"}', capture_output=True,
                         text=True, env={**env, "CNI_COMMAND": "VERSION"})     # the console script
    assert json.loads(cni.stdout)["cniVersion"] == "1.0.0", cni.stderr
    up = topo.exec(topo.host, [softbond, *BOND_UP], env=env, check=False)
    assert up.returncode == 0, up.stderr
    status = json.loads(topo.exec(topo.host, [softbond, "status", "bond0", "--json"], env=env).stdout)
    assert status["datapath"] == "ebpf", status
    assert status["carrier_rescue"] == "on", status["carrier_rescue"]    # the wheel has rescue.bpf.o too
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the wheel's eBPF bond"
    topo.exec(topo.host, [softbond, "down", "bond0"], env=env)
    # The unit install-unit writes runs the venv's own script.
    units = tmp_path / "units"
    units.mkdir()
    subprocess.run([softbond, "install-unit", "--unit-dir", str(units)], env=env, check=True, capture_output=True)
    assert f"\nExecStart={softbond} up %i --config" in (units / "softbond@.service").read_text()

    # A rescue object that cannot be used (stale here, and no clang to
    # rebuild it; on an old kernel it would not load): the bond comes up
    # as without the rescue, and says why.
    rescue_source = os.path.join(os.path.dirname(where.stdout.strip()), "rescue.bpf.c")
    with open(rescue_source, "a") as f:
        f.write("\n/* edited after the wheel was built */\n")
    up = topo.exec(topo.host, [softbond, *BOND_UP], env=env, check=False)
    assert up.returncode == 0 and "Traceback" not in up.stderr, up.stderr
    status = json.loads(topo.exec(topo.host, [softbond, "status", "bond0", "--json"], env=env).stdout)
    assert status["carrier_rescue"].startswith("off: ") and "stale" in status["carrier_rescue"], status
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the bond without its rescue"
    topo.exec(topo.host, [softbond, "down", "bond0"], env=env)

    # The same object beside a changed source is stale: refused in one line, nothing created.
    source = where.stdout.strip().replace(".bpf.o", ".bpf.c")
    with open(source, "a") as f:
        f.write("\n/* edited after the wheel was built */\n")
    up = topo.exec(topo.host, [softbond, *BOND_UP], env=env, check=False)
    assert up.returncode == 1, up.stdout
    assert "stale" in up.stderr and "clang not installed" in up.stderr, up.stderr
    assert len(up.stderr.strip().splitlines()) == 1 and "Traceback" not in up.stderr, up.stderr
    assert topo.exec(topo.host, ["ip", "link", "show", "bond0"], check=False).returncode != 0
