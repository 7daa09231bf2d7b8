"""The few libbpf (libbpf1, the system library) calls softbond needs, via ctypes.

libbpf >= 1.0 semantics: functions returning int return a negative errno on
failure; functions returning a pointer return NULL and set errno. Every
wrapper here raises OSError instead.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2

BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_ARRAY = 2
BPF_MAP_TYPE_PERCPU_HASH = 5
BPF_MAP_TYPE_PERCPU_ARRAY = 6
PERCPU_TYPES = (BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY)

BPF_FS_MAGIC = 0xCAFE4A11

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
    "libbpf_num_possible_cpus": (ctypes.c_int, []),
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
    "bpf_map_update_elem": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64]),
    "bpf_map_lookup_elem": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]),
    "bpf_map_delete_elem": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p]),
    "bpf_map_get_next_key": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]),
    "bpf_map_update_batch": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p]),
    "bpf_obj_pin": (ctypes.c_int, [ctypes.c_int, ctypes.c_char_p]),
    "bpf_obj_get": (ctypes.c_int, [ctypes.c_char_p]),
    "bpf_obj_get_info_by_fd": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]),
    "bpf_prog_get_fd_by_id": (ctypes.c_int, [ctypes.c_uint32]),
    "bpf_map_get_fd_by_id": (ctypes.c_int, [ctypes.c_uint32]),
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
    _lib_error = f"libbpf (libbpf1) not usable: {last}"
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


def num_cpus() -> int:
    return check(lib().libbpf_num_possible_cpus(), "libbpf_num_possible_cpus")


# -- maps ---------------------------------------------------------------------

def update(fd: int, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
    check(lib().bpf_map_update_elem(fd, key, value, flags), "bpf_map_update_elem")


def lookup(fd: int, key: bytes, size: int) -> bytes | None:
    buf = ctypes.create_string_buffer(size)
    ret = lib().bpf_map_lookup_elem(fd, key, buf)
    if ret == -errno.ENOENT:
        return None
    check(ret, "bpf_map_lookup_elem")
    return buf.raw


def delete(fd: int, key: bytes) -> bool:
    ret = lib().bpf_map_delete_elem(fd, key)
    if ret == -errno.ENOENT:
        return False
    check(ret, "bpf_map_delete_elem")
    return True


def keys(fd: int, key_size: int) -> list[bytes]:
    out = []
    prev = None
    nxt = ctypes.create_string_buffer(key_size)
    while True:
        ret = lib().bpf_map_get_next_key(fd, prev, nxt)
        if ret == -errno.ENOENT:
            return out
        check(ret, "bpf_map_get_next_key")
        out.append(nxt.raw)
        prev = ctypes.create_string_buffer(nxt.raw, key_size)
        if len(out) > 1 << 20:
            return out


def update_batch(fd: int, keys_blob: bytes, values_blob: bytes, count: int) -> None:
    n = ctypes.c_uint32(count)
    check(lib().bpf_map_update_batch(fd, keys_blob, values_blob, ctypes.byref(n), None), "bpf_map_update_batch")


# -- objects ------------------------------------------------------------------

def obj_pin(fd: int, path: str) -> None:
    check(lib().bpf_obj_pin(fd, path.encode()), f"bpf_obj_pin {path}")


def obj_get(path: str) -> int:
    return check(lib().bpf_obj_get(path.encode()), f"bpf_obj_get {path}")


def _info(fd: int, buf) -> bytes:
    n = ctypes.c_uint32(len(buf))
    check(lib().bpf_obj_get_info_by_fd(fd, buf, ctypes.byref(n)), "bpf_obj_get_info_by_fd")
    return buf.raw


def map_info(fd: int) -> dict:
    """struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags, name."""
    raw = _info(fd, ctypes.create_string_buffer(128))
    t, ident, ks, vs, me, flags = (int.from_bytes(raw[i:i + 4], "little") for i in range(0, 24, 4))
    return {"type": t, "id": ident, "key_size": ks, "value_size": vs, "max_entries": me, "flags": flags,
            "name": raw[24:40].split(b"\0", 1)[0].decode(errors="replace")}


def prog_info(fd: int) -> dict:
    """struct bpf_prog_info: id, name and the ids of the maps it uses."""
    ids = (ctypes.c_uint32 * 64)()
    buf = ctypes.create_string_buffer(256)
    ctypes.memmove(ctypes.addressof(buf) + 52, (ctypes.c_uint32 * 1)(64), 4)            # nr_map_ids
    ctypes.memmove(ctypes.addressof(buf) + 56, (ctypes.c_uint64 * 1)(ctypes.addressof(ids)), 8)  # map_ids
    raw = _info(fd, buf)
    nr = int.from_bytes(raw[52:56], "little")
    return {"id": int.from_bytes(raw[4:8], "little"), "map_ids": list(ids[:min(nr, 64)]),
            "name": raw[64:80].split(b"\0", 1)[0].decode(errors="replace")}


def prog_fd_by_id(ident: int) -> int:
    return check(lib().bpf_prog_get_fd_by_id(ident), f"bpf_prog_get_fd_by_id {ident}")


def map_fd_by_id(ident: int) -> int:
    return check(lib().bpf_map_get_fd_by_id(ident), f"bpf_map_get_fd_by_id {ident}")


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
