"""Find the compiled BPF object, compiling bond.bpf.c on demand.

A wheel or a .deb carries bond.bpf.o, built when the package is built (see
setup.py), so an installed softbond needs no compiler. Next to the object
lies bond.bpf.o.sha256: the SHA-256 of the bond.bpf.c it was compiled from.
The object is used only when that digest matches the source beside it, so
an object left over from an older source is never loaded (mtimes cannot
tell: a checkout or an unpacked package sets them arbitrarily).

A source checkout has no object until `make bpf`; without a matching one the
loader compiles into a cache directory (/var/cache/softbond, else the
package directory, else a temporary one), naming the object after the
source's digest so that concurrent processes and different versions never
share a half-written or stale file. That needs clang and libbpf-dev.

Run as a script (stdlib only, so setup.py can use it before anything is
installed): `python3 build.py OUTPUT [SOURCE]` compiles SOURCE (bond.bpf.c)
into OUTPUT and writes OUTPUT.sha256. rescue.bpf.c is built the same way.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

try:
    from ..sha256 import sha256     # not hashlib in the bond process: see datapath/sha256.py
except ImportError:                 # run as a script by setup.py
    from hashlib import sha256

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "bond.bpf.c")
OBJECT = os.path.join(HERE, "bond.bpf.o")
# The member egress program of the carrier rescue (rescue.py): an object of
# its own, so that a kernel that cannot load it still loads the bond's.
RESCUE_SOURCE = os.path.join(HERE, "rescue.bpf.c")
SOURCES = (SOURCE, RESCUE_SOURCE)
DIGEST_SUFFIX = ".sha256"
CACHE_DIRS = ("/var/cache/softbond", HERE)
CFLAGS = ["-O2", "-g", "-Wall", "-target", "bpf"]
NO_CLANG = "clang not installed (apt install clang libbpf-dev)"


def _arch_include() -> list[str]:
    machine = os.uname().machine
    triplet = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}.get(machine, f"{machine}-linux-gnu")
    return [f"-I/usr/include/{triplet}"]


def compile_command(source: str, output: str, clang: str = "clang") -> list[str]:
    return [clang, *CFLAGS, *_arch_include(), "-c", source, "-o", output]


def source_digest(source: str = SOURCE) -> str:
    with open(source, "rb") as f:
        return sha256(f.read()).hexdigest()


def recorded_digest(obj: str) -> str | None:
    """The source digest written beside `obj` when it was compiled, or None."""
    try:
        with open(obj + DIGEST_SUFFIX) as f:
            return f.read().split()[0]
    except (OSError, IndexError):
        return None


def _usable(obj: str, digest: str) -> bool:
    try:
        return os.path.getsize(obj) > 0 and recorded_digest(obj) == digest
    except OSError:
        return False


def compile_object(output: str, source: str = SOURCE, clang: str | None = None) -> str:
    """Compile `source` into `output` (atomically) and record its digest in
    output.sha256. Raises FileNotFoundError with a one-line reason."""
    clang = clang or shutil.which("clang")
    if clang is None:
        raise FileNotFoundError(f"cannot build the BPF object: {NO_CLANG}")
    digest = source_digest(source)
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bond-", suffix=".o", dir=directory)
    os.close(fd)
    try:
        proc = subprocess.run(compile_command(source, tmp, clang), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise FileNotFoundError(f"clang failed on {os.path.basename(source)}: " + (proc.stderr.strip().splitlines() or ["?"])[0])
        # The digest first: a reader that sees the new object also sees its digest.
        with open(tmp + DIGEST_SUFFIX, "w") as f:
            f.write(f"{digest}  {os.path.basename(source)}\n")
        os.replace(tmp + DIGEST_SUFFIX, output + DIGEST_SUFFIX)
        os.replace(tmp, output)
        return output
    finally:
        for leftover in (tmp, tmp + DIGEST_SUFFIX):
            if os.path.exists(leftover):
                os.unlink(leftover)


def object_of(source: str) -> str:
    """Where a package carries the object of `source` (x.bpf.c -> x.bpf.o)."""
    return source[:-len(".c")] + ".o"


def object_path(*, compile: bool = True, source: str = SOURCE) -> str:
    """Path of a BPF object built from the current `source`. Raises
    FileNotFoundError (with a one-line reason) when there is none and it
    cannot be built."""
    if not os.path.exists(source):
        # An installed package without its source cannot check the object.
        raise FileNotFoundError(f"BPF source {source} missing (the object cannot be checked against it)")
    digest = source_digest(source)
    packaged = object_of(source)
    if _usable(packaged, digest):
        return packaged
    stem = os.path.basename(source).split(".")[0]
    name = f"{stem}-{digest[:16]}.bpf.o"
    for d in CACHE_DIRS:
        cached = os.path.join(d, name)
        if _usable(cached, digest):
            return cached
    stale = f"{packaged} does not match {os.path.basename(source)} (stale); " if os.path.exists(packaged) else ""
    if not compile:
        raise FileNotFoundError(f"{stale}BPF object not built (run `make bpf`)")
    clang = shutil.which("clang")
    if clang is None:
        raise FileNotFoundError(f"{stale}BPF object not built and {NO_CLANG}")
    last = None
    for d in (*CACHE_DIRS, tempfile.gettempdir()):
        try:
            return compile_object(os.path.join(d, name), source, clang)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError) and "clang failed" in str(exc):
                raise
            last = str(exc)
    raise FileNotFoundError(f"no writable directory to compile the BPF object into ({last})")


if __name__ == "__main__":
    try:
        # build.py OUTPUT [SOURCE]
        source = sys.argv[2] if len(sys.argv) > 2 else SOURCE
        print(compile_object(sys.argv[1] if len(sys.argv) > 1 else object_of(source), source))
    except OSError as exc:
        print(f"softbond: {exc}", file=sys.stderr)
        sys.exit(1)
