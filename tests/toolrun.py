"""Running the real configuration tools (netplan, nmcli, ifquery) in tests.

setup.sh --test installs them, so a missing one is a failure naming the
Debian package, never a skip.
"""

import dataclasses
import shutil
import subprocess

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


def comparable(configs) -> list:
    """BondConfigs without what names the file read (source, warnings), so
    two readings of the same bond in different formats compare equal."""
    return [dataclasses.replace(c, source="", warnings=()) for c in configs]
