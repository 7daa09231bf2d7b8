"""Helpers for the packaging tests: a wheel built from this tree (as
`make wheel` builds it, in a copy so the tree gets no build/ directory),
and a PATH on which clang and LLVM do not exist."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPILERS = ("clang", "llc", "llvm", "gcc", "cc", "c++", "g++")


def copy_tree(dest: str) -> str:
    ignore = shutil.ignore_patterns("__pycache__", "*.o", "*.sha256", "*.egg-info", "build", "dist")
    os.makedirs(dest)
    for name in ("pyproject.toml", "setup.py", "README.md", "Makefile"):
        shutil.copy2(os.path.join(ROOT, name), dest)
    for name in ("src", "packaging"):
        if os.path.isdir(os.path.join(ROOT, name)):
            shutil.copytree(os.path.join(ROOT, name), os.path.join(dest, name), ignore=ignore)
    return dest


def build_wheel(workdir: str) -> str:
    tree = copy_tree(os.path.join(workdir, "tree"))
    dist = os.path.join(workdir, "dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SOFTBOND_REQUIRE_BPF"] = "1"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
                           "-w", dist, tree], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = [os.path.join(dist, n) for n in os.listdir(dist) if n.endswith(".whl")]
    return wheel


_built: list[str] = []


def shared_wheel(tmp_path_factory) -> str:
    """One wheel per test session, for every module that installs it."""
    if not _built:
        _built.append(build_wheel(str(tmp_path_factory.mktemp("wheel"))))
    return _built[0]


def path_without_compilers(farm: str) -> str:
    """A directory of symlinks to everything in the system's bin directories
    except compilers: the PATH of a host where none is installed."""
    os.makedirs(farm, exist_ok=True)
    for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(d) or os.path.islink(d):
            continue
        for name in os.listdir(d):
            if name.startswith(COMPILERS) or os.path.lexists(os.path.join(farm, name)):
                continue
            os.symlink(os.path.join(d, name), os.path.join(farm, name))
    return farm
