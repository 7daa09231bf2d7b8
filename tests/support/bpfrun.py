"""The data path's tc programs run on one frame with BPF_PROG_TEST_RUN (no
device, no attachment; needs root): what the eBPF integration tests share."""
import contextlib
import struct

TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT = 0, 2, 7
SKB_CTX = 192                 # sizeof(struct __sk_buff)
MARK_OFFSET = 8


def kernel_refuses(frame):
    """BPF_PROG_TEST_RUN rejects (EINVAL) untagged IPv4/IPv6 frames whose IP
    header is truncated; the stack would not hand such a frame to tc
    either."""
    etype = frame[12] << 8 | frame[13]
    return (etype == 0x0800 and len(frame) < 34) or (etype == 0x86DD and len(frame) < 54)


def run(obj, prog, frame, mark=0):
    """(return code, frame out, ...) of program `prog` of the loaded object on `frame`."""
    from softbond.datapath.ebpf import libbpf
    ctx = bytearray(SKB_CTX)
    struct.pack_into("=I", ctx, MARK_OFFSET, mark)
    return libbpf.test_run(obj.progs[prog], frame, bytes(ctx))


@contextlib.contextmanager
def loaded_bond(bond_ifindex: int, bond_mac: bytes):
    """bond.bpf.o loaded (no device, nothing attached), its maps set up for
    a bond with no member: (object, BondMaps). Fails, never skips, where
    the eBPF data path cannot run."""
    import pytest

    from softbond.datapath import ebpf
    ok, why = ebpf.available()
    if not ok:
        pytest.fail(f"eBPF data path unavailable: {why}")
    from softbond.datapath.ebpf import build, loader
    from softbond.datapath.ebpf.state import BondMaps
    obj, _ = loader.load(build.object_path())
    try:
        maps = BondMaps(obj.maps)
        maps.initialize(bond_ifindex, bond_mac)
        yield obj, maps
    finally:
        obj.close()
