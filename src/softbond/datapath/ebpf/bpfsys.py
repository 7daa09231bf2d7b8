"""The bpf(2) commands a running bond makes, straight to the kernel.

libbpf is needed to open and load the objects, which a child process
does (loadchild.py); after that the bond only reads and writes maps and
looks up objects, and libbpf's wrappers for those are one syscall each.
Doing them here keeps libbpf (with libelf and libz) out of the bond: 0.4
MiB of its RSS (issue 19, bench/RESULTS.md "Footprint"). Every call
raises OSError on failure, like libbpf.py's wrappers did.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct

BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2

# enum bpf_cmd
_LOOKUP_ELEM, _UPDATE_ELEM, _DELETE_ELEM, _GET_NEXT_KEY = 1, 2, 3, 4
_OBJ_PIN, _OBJ_GET = 6, 7
_PROG_GET_FD_BY_ID, _MAP_GET_FD_BY_ID, _OBJ_GET_INFO_BY_FD = 13, 14, 15
_MAP_LOOKUP_BATCH, _MAP_UPDATE_BATCH = 24, 26
_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0

# union bpf_attr, the members these commands read (little or big endian: native)
_ELEM = struct.Struct("=I4xQQQ")           # map_fd, key, value/next_key, flags
_BATCH = struct.Struct("=QQQQIIQQ")        # in_batch, out_batch, keys, values, count, map_fd, elem_flags, flags
_OBJ = struct.Struct("=QII")               # pathname, bpf_fd, file_flags
_BY_ID = struct.Struct("=III")             # prog_id/map_id, next_id, open_flags
_INFO = struct.Struct("=IIQ")              # bpf_fd, info_len, info

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "loongarch64": 280, "armv7l": 386, "armv6l": 386,
            "i686": 357, "i386": 357, "ppc64le": 361, "ppc64": 361, "s390x": 351, "mips64": 5315}.get(os.uname().machine)

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def bpf(cmd: int, attr: ctypes.Array, what: str) -> int:
    """bpf(cmd, attr, sizeof attr): the result, or OSError naming `what`."""
    if _SYS_BPF is None:
        raise OSError(errno.ENOSYS, f"{what}: bpf(2) syscall number unknown on {os.uname().machine}")
    ret = _syscall(ctypes.c_long(_SYS_BPF), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr)))
    if ret < 0:
        err = ctypes.get_errno() or errno.EINVAL
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _addr(buf) -> int:
    return ctypes.addressof(buf) if buf is not None else 0


def _buf(data: bytes) -> ctypes.Array:
    return ctypes.create_string_buffer(data, len(data))


def _elem(cmd: int, fd: int, key, value, flags: int, what: str, *, absent_ok: bool = False) -> bool:
    """One map element command; False when the key is not there (ENOENT)
    and absent_ok."""
    try:
        bpf(cmd, _buf(_ELEM.pack(fd, _addr(key), _addr(value), flags)), what)
    except OSError as exc:
        if absent_ok and exc.errno == errno.ENOENT:
            return False
        raise
    return True


def num_cpus() -> int:
    """Possible CPUs, as libbpf_num_possible_cpus() counts them: the
    per-CPU maps' values hold one slot for each."""
    with open("/sys/devices/system/cpu/possible") as f:
        spans = f.read().strip()
    count = 0
    for span in spans.split(","):
        first, _, last = span.partition("-")
        count += int(last or first) - int(first) + 1
    return count


# -- maps ---------------------------------------------------------------------

def update(fd: int, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
    _elem(_UPDATE_ELEM, fd, _buf(key), _buf(value), flags, "bpf_map_update_elem")


def lookup(fd: int, key: bytes, size: int) -> bytes | None:
    buf = ctypes.create_string_buffer(size)
    return buf.raw if _elem(_LOOKUP_ELEM, fd, _buf(key), buf, 0, "bpf_map_lookup_elem", absent_ok=True) else None


def delete(fd: int, key: bytes) -> bool:
    return _elem(_DELETE_ELEM, fd, _buf(key), None, 0, "bpf_map_delete_elem", absent_ok=True)


def keys(fd: int, key_size: int) -> list[bytes]:
    out: list[bytes] = []
    prev = None
    nxt = ctypes.create_string_buffer(key_size)
    while _elem(_GET_NEXT_KEY, fd, prev, nxt, 0, "bpf_map_get_next_key", absent_ok=True):
        out.append(nxt.raw)
        prev = _buf(nxt.raw)
        if len(out) > 1 << 20:
            break
    return out


def update_batch(fd: int, keys_blob: bytes, values_blob: bytes, count: int) -> None:
    k, v = _buf(keys_blob), _buf(values_blob)
    bpf(_MAP_UPDATE_BATCH, _buf(_BATCH.pack(0, 0, _addr(k), _addr(v), count, fd, 0, 0)), "bpf_map_update_batch")


def lookup_batch(fd: int, key_size: int, value_size: int, count: int) -> bytes:
    """The values of an array map's first `count` entries, in key order:
    one BPF_MAP_LOOKUP_BATCH (ENOENT only says the map ended; a short
    answer raises)."""
    k = ctypes.create_string_buffer(key_size * count)
    v = ctypes.create_string_buffer(value_size * count)
    out_batch = ctypes.create_string_buffer(key_size)
    attr = _buf(_BATCH.pack(0, _addr(out_batch), _addr(k), _addr(v), count, fd, 0, 0))
    try:
        bpf(_MAP_LOOKUP_BATCH, attr, "bpf_map_lookup_batch")
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
    got = struct.unpack_from("=I", attr, 32)[0]   # the kernel writes back how many it copied
    if got != count:
        raise OSError(errno.EIO, f"bpf_map_lookup_batch: {got} of {count} entries")
    return v.raw


# -- objects ------------------------------------------------------------------

def _obj(cmd: int, path: str, fd: int, what: str) -> int:
    name = ctypes.create_string_buffer(path.encode())
    return bpf(cmd, _buf(_OBJ.pack(_addr(name), fd, 0)), what)


def obj_pin(fd: int, path: str) -> None:
    _obj(_OBJ_PIN, path, fd, f"bpf_obj_pin {path}")


def obj_get(path: str) -> int:
    return _obj(_OBJ_GET, path, 0, f"bpf_obj_get {path}")


def _info(fd: int, buf) -> bytes:
    bpf(_OBJ_GET_INFO_BY_FD, _buf(_INFO.pack(fd, len(buf), _addr(buf))), "bpf_obj_get_info_by_fd")
    return buf.raw


def map_info(fd: int) -> dict:
    """struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags, name."""
    raw = _info(fd, ctypes.create_string_buffer(128))
    t, ident, ks, vs, me, flags = (int.from_bytes(raw[i:i + 4], "little") for i in range(0, 24, 4))
    return {"type": t, "id": ident, "key_size": ks, "value_size": vs, "max_entries": me, "flags": flags,
            "name": raw[24:40].split(b"\0", 1)[0].decode(errors="replace")}


def prog_info(fd: int) -> dict:
    """struct bpf_prog_info: id, name, the ids of the maps it uses, its
    size (xlated_len, jited_len: bytes) and, while run-time statistics are
    on (enable_stats() or kernel.bpf_stats_enabled), run_time_ns and
    run_cnt: the time its runs took and how many there were."""
    ids = (ctypes.c_uint32 * 64)()
    buf = ctypes.create_string_buffer(256)
    ctypes.memmove(ctypes.addressof(buf) + 52, (ctypes.c_uint32 * 1)(64), 4)            # nr_map_ids
    ctypes.memmove(ctypes.addressof(buf) + 56, (ctypes.c_uint64 * 1)(ctypes.addressof(ids)), 8)  # map_ids
    raw = _info(fd, buf)
    nr = int.from_bytes(raw[52:56], "little")
    return {"id": int.from_bytes(raw[4:8], "little"), "map_ids": list(ids[:min(nr, 64)]),
            "name": raw[64:80].split(b"\0", 1)[0].decode(errors="replace"),
            "jited_len": int.from_bytes(raw[16:20], "little"), "xlated_len": int.from_bytes(raw[20:24], "little"),
            "run_time_ns": int.from_bytes(raw[192:200], "little"), "run_cnt": int.from_bytes(raw[200:208], "little")}


def enable_stats() -> int:
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): every program's run_time_ns
    and run_cnt count while the returned fd is open (the caller closes
    it). Unlike writing kernel.bpf_stats_enabled, nothing is left on if
    the caller dies, and another user's setting is neither read nor
    overwritten."""
    return bpf(_ENABLE_STATS, _buf(struct.pack("=I", BPF_STATS_RUN_TIME)), "bpf_enable_stats")


def _by_id(cmd: int, ident: int, what: str) -> int:
    return bpf(cmd, _buf(_BY_ID.pack(ident, 0, 0)), what)


def prog_fd_by_id(ident: int) -> int:
    return _by_id(_PROG_GET_FD_BY_ID, ident, f"bpf_prog_get_fd_by_id {ident}")


def map_fd_by_id(ident: int) -> int:
    return _by_id(_MAP_GET_FD_BY_ID, ident, f"bpf_map_get_fd_by_id {ident}")
