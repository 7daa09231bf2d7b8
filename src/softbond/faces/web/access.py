"""Where `softbond web` takes its token and TLS from, and what it refuses.

The token is a bearer secret, so it never comes from the command line (any
local user reads /proc/PID/cmdline with `ps`): it comes from the environment
(SOFTBOND_WEB_TOKEN; /proc/PID/environ is readable by the owner only), from
stdin (`--token -`), from a file only its owner can read (`--token-file F`),
or `--actions` generates one into a 0600 file in the run directory.

Every function raises AccessError with a one-line message naming the file,
option or mode.
"""
from __future__ import annotations

import os
import secrets
import ssl
import stat
import sys

ENV_TOKEN = "SOFTBOND_WEB_TOKEN"
TOKEN_FILE_NAME = "web.token"


class AccessError(Exception):
    pass


def argv_token_refused() -> AccessError:
    return AccessError(f"web: --token VALUE would show the token to every local user (ps); pass it as "
                       f"{ENV_TOKEN}=VALUE in the environment, as one line on stdin with --token -, "
                       f"or in a file only root can read with --token-file F")


def read_token_file(path: str) -> str:
    """The token in `path`, which must be a regular file owned by this user
    (root) and not readable or writable by group or other."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY)
    except OSError as exc:
        raise AccessError(f"{path}: {exc.strerror}") from None
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())  # the file opened, not whatever the name points at now
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode):
            raise AccessError(f"{path}: not a regular file")
        if st.st_uid != os.geteuid():
            raise AccessError(f"{path}: owned by uid {st.st_uid}, not by uid {os.geteuid()} (root) "
                              f"who runs softbond web; chown it")
        if mode & 0o077:
            raise AccessError(f"{path}: mode {mode:04o} lets group or other read the token; chmod 600 {path}")
        return check_token(f.read(), path)


def read_token_stdin() -> str:
    return check_token(sys.stdin.readline(), "--token -: stdin")


def check_token(text: str, where: str) -> str:
    token = text.strip()
    if not token:
        raise AccessError(f"{where}: the token is empty")
    if not all(c.isprintable() for c in token):  # it travels in an HTTP header
        raise AccessError(f"{where}: the token must be one line of printable characters")
    return token


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_token(directory: str, token: str) -> str:
    """Write `token` to DIRECTORY/web.token (mode 0600, replaced atomically)
    and return the path."""
    path = os.path.join(directory, TOKEN_FILE_NAME)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise AccessError(f"{exc.filename or path}: cannot write the token: {exc.strerror}") from None
    return path


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not cert or not key:
        raise AccessError("web: --tls-cert and --tls-key go together")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    for path in (cert, key):
        if not os.path.isfile(path):
            raise AccessError(f"{path}: no such file")
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise AccessError(f"{cert}, {key}: not a certificate and its key: {exc}") from None
    return ctx
