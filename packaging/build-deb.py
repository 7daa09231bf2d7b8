#!/usr/bin/env python3
"""Build softbond_<version>-1_<arch>.deb as a plain dpkg-deb tree from the
wheel (`make deb`): the wheel already holds the BPF object, the man pages
and the completions, so this only lays its files out where Debian wants
them and writes the control files.

    python3 packaging/build-deb.py [--wheel WHEEL] [--out DIR]

Dependencies come from Debian (python3-aiohttp,
python3-prometheus-client, libbpf1); textual is not among them (Debian's is
far too old), so `softbond top` says what to install instead.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "packaging", "debian")
SITE = "usr/lib/python3/dist-packages"
# Wheel data (share/...) -> where Debian keeps it.
SHARE_MAP = {
    "share/man/": "usr/share/man/",
    "share/bash-completion/completions/": "usr/share/bash-completion/completions/",
    "share/zsh/site-functions/": "usr/share/zsh/vendor-completions/",
}


def build_wheel(out: str) -> str:
    env = dict(os.environ, SOFTBOND_REQUIRE_BPF="1")
    env.pop("PYTHONPATH", None)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", out, ROOT],
                   check=True, env=env)
    return max(glob.glob(os.path.join(out, "softbond-*.whl")), key=os.path.getmtime)


def _data_target(name: str) -> str | None:
    rel = name.split(".data/data/", 1)[1]
    for prefix, target in SHARE_MAP.items():
        if rel.startswith(prefix):
            return target + rel[len(prefix):]
    return None


def lay_out(wheel: str, tree: str) -> str:
    """Unpacks the wheel into the package tree; returns the version."""
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.endswith("/"):
                continue
            if ".data/data/" in name:
                target = _data_target(name)
                if target is None:
                    raise SystemExit(f"build-deb: {name}: no place for it in the package")
            elif ".dist-info/" in name:
                if name.rsplit("/", 1)[1] in ("RECORD", "INSTALLER", "REQUESTED"):
                    continue
                target = f"{SITE}/{name}"
            else:
                target = f"{SITE}/{name}"
            path = os.path.join(tree, target)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = zf.read(name)
            if target.startswith("usr/share/man/"):
                path += ".gz"
                data = gzip.compress(data, 9, mtime=0)
            with open(path, "wb") as f:
                f.write(data)
        version = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")).split("-")[1].split(".dist")[0]
    if not os.path.exists(os.path.join(tree, SITE, "softbond/datapath/ebpf/bond.bpf.o")):
        raise SystemExit("build-deb: the wheel has no BPF object (build it with clang and libbpf-dev)")
    _install(os.path.join(HERE, "softbond"), os.path.join(tree, "usr/bin/softbond"), 0o755)
    # The CNI plugin: on PATH, and where Debian's containernetworking-plugins keep theirs.
    _install(os.path.join(HERE, "softbond-cni"), os.path.join(tree, "usr/bin/softbond-cni"), 0o755)
    os.makedirs(os.path.join(tree, "usr/lib/cni"), exist_ok=True)
    os.symlink("../../bin/softbond-cni", os.path.join(tree, "usr/lib/cni/softbond-cni"))
    _install(os.path.join(tree, SITE, "softbond/faces/systemd/softbond@.service"),
             os.path.join(tree, "lib/systemd/system/softbond@.service"), 0o644)
    _install(os.path.join(HERE, "copyright"), os.path.join(tree, "usr/share/doc/softbond/copyright"), 0o644)
    return version


def _install(src: str, dest: str, mode: int) -> None:
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copyfile(src, dest)
    os.chmod(dest, mode)


def control(tree: str, version: str, arch: str) -> None:
    debian = os.path.join(tree, "DEBIAN")
    os.makedirs(debian)
    with open(os.path.join(HERE, "control")) as f:
        text = f.read().replace("@VERSION@", version).replace("@ARCH@", arch)
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(tree) for n in names) // 1024
    with open(os.path.join(debian, "control"), "w") as f:
        f.write(text.rstrip("\n") + f"\nInstalled-Size: {size}\n")
    for script in ("postinst", "prerm", "postrm"):
        _install(os.path.join(HERE, script), os.path.join(debian, script), 0o755)


def main() -> int:
    parser = argparse.ArgumentParser(prog="build-deb.py", description="build softbond's .deb")
    parser.add_argument("--wheel", help="a wheel built by `make wheel` (default: build one)")
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"), help="output directory (default dist/)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="softbond-deb-") as work:
        wheel = args.wheel or build_wheel(work)
        tree = os.path.join(work, "tree")
        version = lay_out(wheel, tree)
        control(tree, version, arch)
        deb = os.path.join(args.out, f"softbond_{version}-1_{arch}.deb")
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", tree, deb], check=True,
                       stdout=subprocess.DEVNULL)
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
