"""Find the compiled BPF object, compiling bond.bpf.c on demand.

`make bpf` puts bond.bpf.o next to the source. When that object is missing
or older than the source, the loader compiles into a cache directory
(/var/cache/softbond, else the package directory, else a temporary one),
naming the object after the source's hash so that concurrent processes and
different versions never share a half-written or stale file.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "bond.bpf.c")
OBJECT = os.path.join(HERE, "bond.bpf.o")
CACHE_DIRS = ("/var/cache/softbond", HERE)
CFLAGS = ["-O2", "-g", "-Wall", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu"]


def _arch_include() -> list[str]:
    machine = os.uname().machine
    triplet = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}.get(machine, f"{machine}-linux-gnu")
    return [f"-I/usr/include/{triplet}"]


def compile_command(source: str, output: str, clang: str = "clang") -> list[str]:
    flags = [f for f in CFLAGS if not f.startswith("-I/usr/include/")] + _arch_include()
    return [clang, *flags, "-c", source, "-o", output]


def _fresh(obj: str, source: str) -> bool:
    try:
        return os.stat(obj).st_mtime >= os.stat(source).st_mtime and os.path.getsize(obj) > 0
    except OSError:
        return False


def source_digest(source: str = SOURCE) -> str:
    with open(source, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def object_path(*, compile: bool = True) -> str:
    """Path of a BPF object built from the current source. Raises
    FileNotFoundError (with a one-line reason) when there is none and it
    cannot be built."""
    if _fresh(OBJECT, SOURCE):
        return OBJECT
    if not os.path.exists(SOURCE):
        if os.path.exists(OBJECT):
            return OBJECT
        raise FileNotFoundError(f"BPF source {SOURCE} missing")
    name = f"bond-{source_digest()}.bpf.o"
    for d in CACHE_DIRS:
        cached = os.path.join(d, name)
        if os.path.exists(cached) and os.path.getsize(cached) > 0:
            return cached
    if not compile:
        raise FileNotFoundError("BPF object not built (run `make bpf`)")
    clang = shutil.which("clang")
    if clang is None:
        raise FileNotFoundError("BPF object not built and clang not installed (apt install clang libbpf-dev)")
    last = None
    for d in (*CACHE_DIRS, tempfile.gettempdir()):
        try:
            os.makedirs(d, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".bond-", suffix=".o", dir=d)
            os.close(fd)
        except OSError as exc:
            last = str(exc)
            continue
        try:
            proc = subprocess.run(compile_command(SOURCE, tmp, clang), capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise FileNotFoundError("clang failed on bond.bpf.c: "
                                        + (proc.stderr.strip().splitlines() or ["?"])[0])
            target = os.path.join(d, name)
            os.replace(tmp, target)
            return target
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise FileNotFoundError(f"no writable directory to compile the BPF object into ({last})")
