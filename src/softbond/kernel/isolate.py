"""Keep the kernel's own stack off a member NIC.

A member is an ordinary netdev: without care the kernel would answer ARP
for the bond's address on it and deliver IP packets arriving on it a second
time (Linux accepts a packet for any local address on any interface), so
the bond would see duplicates. The kernel's bonding steals frames with an
rx_handler; softbond attaches a two-instruction eBPF program on the
member's tc ingress that drops everything. AF_PACKET sockets that listen on
all protocols are fed before tc ingress runs, so the data path and the
monitors still see every frame.

Where BPF cannot be loaded, sysctls do most of the job (arp_ignore=8,
rp_filter=1) and a warning says what is left.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rtnl import Rtnl

BPF_PROG_LOAD = 5
BPF_PROG_TYPE_SCHED_CLS = 3
SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
TC_ACT_SHOT = 2
CLSACT_PARENT = 0xFFFFFFF2  # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
CLSACT_EGRESS = 0xFFFFFFF3  # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)
FILTER_PRIO = 0xC0DE

# r0 = TC_ACT_SHOT; exit
DROP_PROGRAM = struct.pack("<BBhi", 0xB7, 0, 0, TC_ACT_SHOT) + struct.pack("<BBhi", 0x95, 0, 0, 0)

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.syscall.restype = ctypes.c_long


def load_drop_program() -> int:
    insns = ctypes.create_string_buffer(DROP_PROGRAM, len(DROP_PROGRAM))
    license_ = ctypes.create_string_buffer(b"GPL")
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("=IIQQIIQII16s", attr, 0, BPF_PROG_TYPE_SCHED_CLS, len(DROP_PROGRAM) // 8,
                     ctypes.addressof(insns), ctypes.addressof(license_), 0, 0, 0, 0, 0, b"softbond_drop")
    fd = _libc.syscall(SYS_BPF, BPF_PROG_LOAD, attr, ctypes.c_uint(128))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot load BPF program: {os.strerror(err)}")
    return fd


def sysctl(path: str, value: str | None = None) -> str | None:
    try:
        if value is None:
            with open(path) as f:
                return f.read().strip()
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        return None
    return value


def apply(rtnl: Rtnl, name: str, ifindex: int, had_clsact: bool) -> str | None:
    """Attach the drop filter; returns a warning when only the fallback worked."""
    try:
        fd = load_drop_program()
        try:
            try:
                rtnl.add_clsact(ifindex)
            except OSError:     # already there (ours, adopted, or the user's)
                pass
            try:
                # A member adopted after a crash still has our filter.
                rtnl.del_filter(ifindex, CLSACT_PARENT, FILTER_PRIO)
            except OSError:     # none there: the normal case
                pass
            rtnl.set_bpf_filter(ifindex, CLSACT_PARENT, FILTER_PRIO, fd, "softbond_drop", replace=False)
            return None
        finally:
            os.close(fd)
    except Exception as exc:  # noqa: BLE001 - any failure means: fall back
        for key, value in (("arp_ignore", "8"), ("rp_filter", "1")):
            sysctl(f"/proc/sys/net/ipv4/conf/{name}/{key}", value)
        return (f"cannot attach the ingress drop filter ({exc}); using arp_ignore/rp_filter instead, "
                "some traffic may reach the bond twice")


def undo(rtnl: Rtnl, name: str, ifindex: int, had_clsact: bool, sysctls: dict[str, str | None]) -> None:
    """Remove what `apply` did (also after a crash: it only needs the
    recorded original state)."""
    try:
        if not had_clsact:
            rtnl.del_clsact(ifindex)
        else:
            rtnl.del_filter(ifindex, CLSACT_PARENT, FILTER_PRIO)
    except OSError:     # nothing attached, or the member is gone
        pass
    if had_clsact:
        try:
            # The eBPF path's carrier rescue (datapath/ebpf/rescue.bpf.c),
            # left by a crash: on a plain NIC it would send the NIC's
            # frames elsewhere whenever its carrier went.
            rtnl.del_filter(ifindex, CLSACT_EGRESS, FILTER_PRIO)
        except OSError:     # none there: the normal case
            pass
    for key, value in sysctls.items():
        if value is not None:
            sysctl(f"/proc/sys/net/ipv4/conf/{name}/{key}", value)
