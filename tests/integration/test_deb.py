"""Issue 17 section 1: `make deb`'s package installs on this Debian 12
machine with its dependencies from Debian, puts softbond on PATH with a
unit systemd-analyze accepts, man pages, completions and the BPF object,
brings up an eBPF bond without a compiler, serves softbond web on Debian's
aiohttp, and purges without a trace.

It installs into the real system (a chroot would need the network to
bootstrap) and always purges again; the test suite's own softbond (the
pyenv interpreter's editable install) never sees /usr/lib/python3."""
import json
import os
import subprocess
import sys

import pytest

from tests.support.netcheck import ping_ok
from tests.support.packageutil import ROOT, path_without_compilers, shared_wheel

SOFTBOND = "/usr/bin/softbond"
INSTALLED = ("/usr/bin/softbond", "/lib/systemd/system/softbond@.service", "/usr/share/man/man8/softbond.8.gz",
             "/usr/share/man/man5/softbond.toml.5.gz", "/usr/share/bash-completion/completions/softbond",
             "/usr/share/zsh/vendor-completions/_softbond",
             "/usr/lib/python3/dist-packages/softbond/datapath/ebpf/bond.bpf.o",
             "/usr/lib/python3/dist-packages/softbond/datapath/ebpf/rescue.bpf.o",
             "/usr/bin/softbond-cni", "/usr/lib/cni/softbond-cni")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return shared_wheel(tmp_path_factory)


def _dpkg(*args):
    return subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=120)


def _get(topo, url):
    proc = topo.exec(topo.host, ["curl", "--noproxy", "*", "-sf", url], check=False)
    return proc.stdout if proc.returncode == 0 else None


def test_deb_installs_runs_and_purges(topo, tmp_path, wheel):
    if _dpkg("-s", "softbond").returncode == 0:
        pytest.fail("a softbond package is installed here already; this test installs and purges its own")
    build = subprocess.run([sys.executable, os.path.join(ROOT, "packaging", "build-deb.py"), "--wheel", wheel,
                            "--out", str(tmp_path)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    deb = build.stdout.strip()
    try:
        install = _dpkg("-i", deb)        # its Depends are Debian's packages, installed by setup.sh --test
        assert install.returncode == 0, install.stderr
        for path in INSTALLED:
            assert os.path.exists(path), path
        env = {"PATH": path_without_compilers(str(tmp_path / "bin")), "LANG": "C.UTF-8", "HOME": str(tmp_path)}
        version = subprocess.run([SOFTBOND, "--version"], capture_output=True, text=True, env=env)
        assert version.stdout.startswith("softbond "), version.stderr
        cni = subprocess.run(["/usr/lib/cni/softbond-cni"], input='{"cniVersion": "1.0.0"}', capture_output=True,
                             text=True, env={**env, "CNI_COMMAND": "VERSION"})
        assert json.loads(cni.stdout)["cniVersion"] == "1.0.0", cni.stderr

        units = tmp_path / "units"
        units.mkdir()
        os.symlink("/lib/systemd/system/softbond@.service", units / "softbond@bond0.service")
        verify = subprocess.run(["systemd-analyze", "verify", str(units / "softbond@bond0.service")],
                                capture_output=True, text=True)
        assert verify.returncode == 0 and "softbond@" not in verify.stderr, verify.stderr

        up = topo.exec(topo.host, [SOFTBOND, "up", "bond0", "--slaves", "eth0,eth1", "--address",
                                   "192.168.100.199/24", "mode=active-backup", "miimon=100", "datapath=ebpf"],
                       env=env, check=False)
        assert up.returncode == 0, up.stderr
        status = json.loads(topo.exec(topo.host, [SOFTBOND, "status", "bond0", "--json"], env=env).stdout)
        assert status["datapath"] == "ebpf", status
        assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the .deb's bond"
        # Debian has no usable textual: top says what to install, in one line.
        top = topo.exec(topo.host, [SOFTBOND, "top", "bond0"], env=env, check=False)
        assert top.returncode == 1 and top.stderr.startswith("softbond: top needs textual"), top.stderr
        assert len(top.stderr.splitlines()) == 1, top.stderr
        # softbond web on Debian's aiohttp (3.8) and prometheus-client (0.16), on the namespace's loopback.
        web = topo.popen(topo.host, [SOFTBOND, "web", "--listen", "127.0.0.1:8470"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            bonds = topo.wait_for(lambda: _get(topo, "http://127.0.0.1:8470/api/bonds"), timeout=10)
            assert bonds and "bond0" in bonds, bonds
            assert "softbond_" in _get(topo, "http://127.0.0.1:8470/metrics")
        finally:
            web.terminate()
            assert web.wait(timeout=10) is not None
        assert "Traceback" not in web.stderr.read()
        topo.exec(topo.host, [SOFTBOND, "down", "bond0"], env=env)
    finally:
        purge = _dpkg("-P", "softbond")
    assert purge.returncode == 0, purge.stderr
    left = [p for p in (*INSTALLED, "/usr/lib/python3/dist-packages/softbond") if os.path.lexists(p)]
    assert left == [], left
