"""The systemd unit: `softbond install-unit` writes softbond@.service with
the command of the softbond that runs it (a venv, pipx or pip install lives
wherever its owner put it), and `softbond wait-members`, the unit's
ExecStartPre, waits at boot for a bond's members to exist."""
from __future__ import annotations

import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "softbond@.service")
UNIT_NAME = "softbond@.service"
# What the template (and the .deb's unit) runs, replaced by install-unit.
PACKAGED_COMMAND = "/usr/bin/softbond"
PACKAGED_CONFIG = "/etc/softbond/softbond.toml"
DEFAULT_UNIT_DIR = "/etc/systemd/system"


class UnitError(Exception):
    pass


def running_command() -> list[str]:
    """How to start the softbond that is running now: its console script
    (venv/bin/softbond; a pipx symlink is resolved to the venv's script so
    the unit does not depend on the user's PATH), else this interpreter
    with -m softbond."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(script) == "softbond" and os.access(script, os.X_OK):
        return [os.path.realpath(script)]
    return [sys.executable, "-m", "softbond"]


def package_path(command: list[str]) -> str | None:
    """Where `python -m softbond` finds softbond when that is not the
    interpreter's own site-packages (a source checkout on PYTHONPATH):
    systemd starts the unit without the caller's environment."""
    if command[1:] != ["-m", "softbond"] or not os.environ.get("PYTHONPATH"):
        return None
    import softbond
    return os.path.dirname(os.path.dirname(os.path.abspath(softbond.__file__)))


def unit_text(command: list[str], config: str = PACKAGED_CONFIG) -> str:
    with open(TEMPLATE) as f:
        text = f.read()
    quoted = " ".join(shlex.quote(part) for part in command)
    extra = package_path(command)
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("ExecStart=", "ExecStartPre=")):
            line = line.replace(PACKAGED_COMMAND, quoted, 1).replace(PACKAGED_CONFIG, shlex.quote(config))
        lines.append(line)
        if line.startswith("Type=") and extra:
            lines.append(f"Environment={shlex.quote('PYTHONPATH=' + extra)}\n")
    return "".join(lines)


def install_unit(unit_dir: str, config: str, command: list[str] | None = None) -> str:
    if not os.path.isabs(config):
        raise UnitError(f"--config {config}: give an absolute path (systemd starts in /)")
    if not os.path.isdir(unit_dir):
        raise UnitError(f"{unit_dir}: no such directory")
    path = os.path.join(unit_dir, UNIT_NAME)
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as f:
            f.write(unit_text(command or running_command(), config))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise UnitError(f"{path}: {exc.strerror}") from None
    return path


def missing_members(members) -> list[str]:
    return [m for m in members if not os.path.exists(f"/sys/class/net/{m}")]


def wait_members(members, timeout: float, interval: float = 0.1) -> list[str]:
    """Waits until every member exists or `timeout` passes; returns the
    ones still missing (none: all there)."""
    deadline = time.monotonic() + timeout
    while True:
        missing = missing_members(members)
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(interval)
