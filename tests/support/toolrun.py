"""Running the real configuration tools (netplan, nmcli, ifquery) in tests.

setup.sh --test installs them, so a missing one is a failure naming the
Debian package, never a skip.
"""

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def tool(command: str, package: str) -> str:
    path = shutil.which(command)
    if path is None:
        pytest.fail(f"{command} not found: install the Debian package {package} "
                    "(scripts/setup.sh --test does)")
    return path


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"
    return done.stdout


def netplan_generate(source: Path, root: Path) -> Path:
    """`netplan generate --root-dir` for a YAML file, or a directory of them
    (as /etc/netplan); the networkd directory it wrote."""
    netplan = tool("netplan", "netplan.io")
    (root / "etc" / "netplan").mkdir(parents=True)
    for yaml in sorted(source.glob("*.yaml")) if source.is_dir() else [source]:
        target = root / "etc" / "netplan" / yaml.name
        shutil.copy(yaml, target)
        os.chmod(target, 0o600)     # netplan warns about readable files
    run(netplan, "generate", "--root-dir", str(root))
    return root / "run" / "systemd" / "network"


def nmcli_keyfile(args: list[str]) -> str:
    """The keyfile `nmcli --offline connection add ARGS` writes, without the
    warnings it prints among it (a port's bond is no profile it can see)."""
    out = run(tool("nmcli", "network-manager"), "--offline", "connection", "add", *args)
    return "".join(line for line in out.splitlines(True) if not line.startswith("Warning: "))


def comparable(configs) -> list:
    """BondConfigs without what names the file read (source, warnings), so
    two readings of the same bond in different formats compare equal."""
    return [dataclasses.replace(c, source="", warnings=()) for c in configs]
