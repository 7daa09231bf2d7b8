"""The few libbpf (libbpf1, the system library) calls softbond needs, via ctypes:
opening and loading bond.bpf.o, and BPF_PROG_TEST_RUN for the tests and
benches. The map and object calls a running bond makes are bpf(2) calls
in bpfsys.py (re-exported here): the bond never maps libbpf, a child
process loads its objects (loadchild.py).

libbpf >= 1.0 semantics: functions returning int return a negative errno on
failure; functions returning a pointer return NULL and set errno. Every
wrapper here raises OSError instead.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

from .bpfsys import (BPF_ANY, BPF_EXIST, BPF_NOEXIST, delete, keys, lookup, map_fd_by_id,  # noqa: F401
                     map_info, num_cpus, obj_get, obj_pin, prog_fd_by_id, prog_info, update, update_batch)

BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_ARRAY = 2
BPF_MAP_TYPE_PERCPU_HASH = 5
BPF_MAP_TYPE_PERCPU_ARRAY = 6
PERCPU_TYPES = (BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY)

BPF_FS_MAGIC = 0xCAFE4A11

UNUSABLE = "libbpf (libbpf1) not usable"
_lib: ctypes.CDLL | None = None
_lib_error: str | None = None


class TestRunOpts(ctypes.Structure):
    """struct bpf_test_run_opts (libbpf/bpf.h)."""
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("data_in", ctypes.c_void_p),
        ("data_out", ctypes.c_void_p),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_void_p),
        ("ctx_out", ctypes.c_void_p),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("repeat", ctypes.c_int),
        ("duration", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
    ]


_PROTOS = {
    # name: (restype, argtypes)
    "libbpf_set_print": (ctypes.c_void_p, [ctypes.c_void_p]),
    "bpf_object__open_file": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_void_p]),
    "bpf_object__load": (ctypes.c_int, [ctypes.c_void_p]),
    "bpf_object__close": (None, [ctypes.c_void_p]),
    "bpf_object__find_program_by_name": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "bpf_object__find_map_by_name": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p]),
    "bpf_program__fd": (ctypes.c_int, [ctypes.c_void_p]),
    "bpf_map__fd": (ctypes.c_int, [ctypes.c_void_p]),
    "bpf_map__reuse_fd": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "bpf_map__type": (ctypes.c_int, [ctypes.c_void_p]),
    "bpf_map__key_size": (ctypes.c_uint32, [ctypes.c_void_p]),
    "bpf_map__value_size": (ctypes.c_uint32, [ctypes.c_void_p]),
    "bpf_map__max_entries": (ctypes.c_uint32, [ctypes.c_void_p]),
    "bpf_prog_test_run_opts": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(TestRunOpts)]),
}


def lib() -> ctypes.CDLL:
    """The loaded libbpf; OSError when it cannot be used."""
    global _lib, _lib_error
    if _lib is not None:
        return _lib
    if _lib_error is not None:
        raise OSError(errno.ENOENT, _lib_error)
    names = ["libbpf.so.1"]
    found = ctypes.util.find_library("bpf")
    if found and found not in names:
        names.append(found)
    last = None
    for name in names:
        try:
            cdll = ctypes.CDLL(name, use_errno=True)
        except OSError as exc:
            last = exc
            continue
        try:
            for fn, (restype, argtypes) in _PROTOS.items():
                f = getattr(cdll, fn)
                f.restype = restype
                f.argtypes = argtypes
        except AttributeError as exc:
            last = exc
            continue
        if not os.environ.get("SOFTBOND_BPF_DEBUG"):
            cdll.libbpf_set_print(None)      # libbpf's warnings would go to stderr
        _lib = cdll
        return cdll
    _lib_error = f"{UNUSABLE}: {last}"
    raise OSError(errno.ENOENT, _lib_error)


def check(ret: int, what: str) -> int:
    if ret < 0:
        err = -ret if ret != -1 else (ctypes.get_errno() or errno.EINVAL)
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def check_ptr(ptr, what: str):
    if not ptr:
        err = ctypes.get_errno() or errno.EINVAL
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ptr


def test_run(prog_fd: int, data: bytes, ctx: bytes | None = None, repeat: int = 1) -> tuple[int, bytes, int]:
    """BPF_PROG_TEST_RUN: (retval, data_out, duration ns)."""
    data_in = ctypes.create_string_buffer(data, len(data))
    out = ctypes.create_string_buffer(len(data) + 256)
    opts = TestRunOpts()
    opts.sz = ctypes.sizeof(TestRunOpts)
    opts.data_in = ctypes.addressof(data_in)
    opts.data_size_in = len(data)
    opts.data_out = ctypes.addressof(out)
    opts.data_size_out = len(out)
    opts.repeat = repeat
    if ctx is not None:
        ctx_in = ctypes.create_string_buffer(ctx, len(ctx))
        opts.ctx_in = ctypes.addressof(ctx_in)
        opts.ctx_size_in = len(ctx)
    check(lib().bpf_prog_test_run_opts(prog_fd, ctypes.byref(opts)), "bpf_prog_test_run_opts")
    return opts.retval, out.raw[:opts.data_size_out], opts.duration


def is_bpffs(path: str) -> bool:
    """statfs(path).f_type == BPF_FS_MAGIC."""
    buf = ctypes.create_string_buffer(128)      # struct statfs, f_type first
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.statfs(path.encode(), buf) != 0:
        return False
    return int.from_bytes(buf.raw[:8], "little") == BPF_FS_MAGIC
