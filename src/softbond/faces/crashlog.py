"""Where an unexpected error's traceback goes, so that the terminal gets
one line and whoever reports the bug still has the whole story."""
from __future__ import annotations

import os
import sys
import time
import traceback

from ..kernel import rundir as runtime


def log_paths() -> list[str]:
    """/run/softbond/cli.log for root; the user's cache directory otherwise
    (/run/softbond is root's), and for root when /run cannot take it."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    paths = [os.path.join(cache, "softbond", "cli.log")]
    if os.geteuid() == 0:
        paths.insert(0, os.path.join(runtime.RUN_ROOT, "cli.log"))
    return paths


def record(exc: BaseException, argv: list[str]) -> str | None:
    """Append the traceback of `exc` to the first log that can be written;
    its path, or None when none could."""
    for path in log_paths():
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "a") as log:
                log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: "
                          f"softbond {' '.join(argv)}\n")
                traceback.print_exception(exc, file=log)
        except OSError:
            continue
        return path
    return None


def report(exc: BaseException, argv: list[str]) -> int:
    """One line on stderr for an error nobody anticipated; exit status 1."""
    path = record(exc, argv)
    where = f"the details are in {path}" if path else "no log could be written"
    print(f"softbond: unexpected error ({exc.__class__.__name__}); {where}", file=sys.stderr)
    return 1
