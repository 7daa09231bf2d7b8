"""Open and load bond.bpf.o with the system libbpf, reusing existing maps.

Maps outlive a daemon restart in two ways, tried in this order by the bond:
- pinned in a bpffs under <base>/softbond/<netns inode>:<bond>/<map name>;
  <base> is $SOFTBOND_BPF_PIN_BASE, else /sys/fs/bpf or /run/softbond/bpf
  when a bpffs is mounted there, else a bpffs that softbond mounts on
  /run/softbond/bpf. (Under `ip netns exec` that mount is private to the
  process's mount namespace and goes with it; so does a /sys/fs/bpf, which
  `ip netns exec` hides behind a fresh sysfs.)
- held by the programs still attached to the bond device: the cls_bpf
  filter on its egress reports its program's id, the program lists its
  maps' ids. This needs no bpffs at all.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

from ..abi import MAP_NAMES, PROG_NAMES
from . import bpfsys, libbpf, loadchild

PIN_BASES = ("/sys/fs/bpf", "/run/softbond/bpf")
MOUNT_AT = "/run/softbond/bpf"


class BpfObject:
    """bpf_object__open_file -> (reuse maps) -> bpf_object__load. Once
    loaded it keeps only fds of its own for the maps and programs (what
    the bond needs) and frees libbpf's object: the ELF, BTF and
    instructions libbpf holds are of no use to a running bond."""

    def __init__(self, path: str, map_names=MAP_NAMES, prog_names=PROG_NAMES) -> None:
        self.path = path
        self.map_names, self.prog_names = map_names, prog_names
        self.obj = libbpf.check_ptr(libbpf.lib().bpf_object__open_file(path.encode(), None), f"open {path}")
        self.loaded = False
        self.maps: dict[str, int] = {}
        self.progs: dict[str, int] = {}

    @classmethod
    def of_fds(cls, path: str, maps: dict[str, int], progs: dict[str, int]) -> "BpfObject":
        """An object loaded elsewhere (loadchild.in_child): its fds only."""
        obj = cls.__new__(cls)
        obj.path, obj.map_names, obj.prog_names = path, tuple(maps), tuple(progs)
        obj.obj, obj.loaded, obj.maps, obj.progs = None, True, maps, progs
        return obj

    def _map(self, name: str):
        return libbpf.check_ptr(libbpf.lib().bpf_object__find_map_by_name(self.obj, name.encode()), f"map {name}")

    def definition(self, name: str) -> tuple[int, int, int, int]:
        m, lib = self._map(name), libbpf.lib()
        return (lib.bpf_map__type(m), lib.bpf_map__key_size(m), lib.bpf_map__value_size(m),
                lib.bpf_map__max_entries(m))

    def compatible(self, name: str, fd: int) -> bool:
        try:
            info = bpfsys.map_info(fd)
        except OSError:
            return False
        return (info["type"], info["key_size"], info["value_size"], info["max_entries"]) == self.definition(name)

    def reuse(self, fds: dict[str, int]) -> None:
        for name, fd in fds.items():
            libbpf.check(libbpf.lib().bpf_map__reuse_fd(self._map(name), fd), f"reuse map {name}")

    def load(self) -> None:
        lib = libbpf.lib()
        libbpf.check(lib.bpf_object__load(self.obj), f"load {os.path.basename(self.path)}")
        self.loaded = True
        try:
            for name in self.map_names:
                self.maps[name] = os.dup(libbpf.check(lib.bpf_map__fd(self._map(name)), f"fd of map {name}"))
            for name in self.prog_names:
                prog = libbpf.check_ptr(lib.bpf_object__find_program_by_name(self.obj, name.encode()),
                                        f"program {name}")
                self.progs[name] = os.dup(libbpf.check(lib.bpf_program__fd(prog), f"fd of program {name}"))
        finally:
            self._release()

    def _release(self) -> None:
        if self.obj:
            libbpf.lib().bpf_object__close(self.obj)
            self.obj = None

    def close(self) -> None:
        """Closes the object's fds; maps and programs live on while a filter
        or a pin holds them."""
        self._release()
        close_fds(self.maps)
        close_fds(self.progs)
        self.maps.clear()
        self.progs.clear()


# Maps only the member programs use: when no member program is attached
# there is nothing in them worth keeping.
MEMBER_ONLY_MAPS = frozenset({"sb_rx", "sb_rx_slots", "sb_rx_rescue"})


def load(path: str, reuse: dict[str, int] | None = None) -> tuple[BpfObject, bool]:
    """Load the object, with `reuse` maps when they match the object's
    definitions and are all there (MEMBER_ONLY_MAPS may be missing: they
    start empty). Returns (object, reused). Closes `reuse` fds. The
    loading runs in a child process (loadchild.py)."""
    try:
        maps, progs, reused = loadchild.in_child(lambda: _load_here(path, reuse), os.path.basename(path))
    finally:
        for fd in (reuse or {}).values():
            os.close(fd)
    return BpfObject.of_fds(path, maps, progs), bool(reused)


def load_object(path: str, map_names: tuple[str, ...], prog_names: tuple[str, ...],
                reuse: dict[str, int] | None = None) -> BpfObject:
    """Load an object (rescue.bpf.c) with the `reuse` maps of another
    (left open), in a child process."""
    def here() -> loadchild.Loaded:
        obj = BpfObject(path, map_names, prog_names)
        try:
            obj.reuse(reuse or {})
            obj.load()
        except BaseException:
            obj.close()
            raise
        return obj.maps, obj.progs, None
    maps, progs, _ = loadchild.in_child(here, os.path.basename(path))
    return BpfObject.of_fds(path, maps, progs)


def _load_here(path: str, reuse: dict[str, int] | None) -> loadchild.Loaded:
    obj = BpfObject(path)
    try:
        reused = False
        if (reuse and set(MAP_NAMES) - MEMBER_ONLY_MAPS <= set(reuse) <= set(MAP_NAMES)
                and all(obj.compatible(n, fd) for n, fd in reuse.items())):
            obj.reuse(reuse)
            reused = True
        obj.load()
        return obj.maps, obj.progs, reused
    except BaseException:
        obj.close()
        raise


# -- pins ------------------------------------------------------------------------

def netns_key() -> str:
    return str(os.stat("/proc/self/ns/net").st_ino)


def _mount_bpffs(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.mount(b"bpf", path.encode(), b"bpf", 0, b"mode=0700") != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount bpffs on {path}: {os.strerror(err)}")


def pin_base(create: bool = True) -> str | None:
    env = os.environ.get("SOFTBOND_BPF_PIN_BASE")
    if env:
        return env if libbpf.is_bpffs(env) else None
    for base in PIN_BASES:
        if libbpf.is_bpffs(base):
            return base
    if not create:
        return None
    try:
        _mount_bpffs(MOUNT_AT)
    except OSError:
        return None
    return MOUNT_AT if libbpf.is_bpffs(MOUNT_AT) else None


def pin_dir(bond: str, base: str | None) -> str | None:
    if base is None:
        return None
    # bpffs refuses names with dots; interface names never contain ':'.
    return os.path.join(base, "softbond", f"{netns_key()}:{bond.replace('.', ':')}")


def pinned_maps(directory: str | None) -> dict[str, int] | None:
    """fds of all pinned maps in `directory`, or None unless all are there."""
    if directory is None or not os.path.isdir(directory):
        return None
    fds: dict[str, int] = {}
    try:
        for name in MAP_NAMES:
            fds[name] = bpfsys.obj_get(os.path.join(directory, name))
    except OSError:
        for fd in fds.values():
            os.close(fd)
        return None
    return fds


def pin_maps(directory: str, fds: dict[str, int]) -> None:
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for name, fd in fds.items():
        path = os.path.join(directory, name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        bpfsys.obj_pin(fd, path)


def unpin(directory: str | None) -> None:
    if directory is None or not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:     # unpinned meanwhile by another stop of the same bond
            pass
    for d in (directory, os.path.dirname(directory)):
        try:
            os.rmdir(d)
        except OSError:
            break


def maps_of_program(prog_id: int) -> dict[str, int] | None:
    """fds of the maps used by the program `prog_id`, by map name (None
    when the program is gone). The caller closes them."""
    try:
        pfd = bpfsys.prog_fd_by_id(prog_id)
    except OSError:
        return None
    try:
        ids = bpfsys.prog_info(pfd)["map_ids"]
    finally:
        os.close(pfd)
    fds: dict[str, int] = {}
    for ident in ids:
        try:
            fd = bpfsys.map_fd_by_id(ident)
        except OSError:
            continue
        name = bpfsys.map_info(fd)["name"]
        if name in MAP_NAMES and name not in fds:
            fds[name] = fd
        else:
            os.close(fd)
    return fds


def close_fds(fds: dict[str, int] | None) -> None:
    for fd in (fds or {}).values():
        os.close(fd)

