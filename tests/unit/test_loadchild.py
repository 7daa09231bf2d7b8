"""datapath/ebpf/loadchild.py: a load run in a forked child hands back
working fds, its OSError (errno and text) or a one-line reason when it
died; nothing of the child stays open here."""
import errno
import os

import pytest

from softbond.datapath.ebpf import loadchild


def open_fds() -> set[int]:
    return set(os.listdir("/proc/self/fd"))


def test_the_fds_a_child_opened_work_here():
    def load():
        r, w = os.pipe()
        return {"reader": r}, {"writer": w}, {"reused": True}

    before = open_fds()
    maps, progs, extra = loadchild.in_child(load, "pipe")
    assert extra == {"reused": True}
    os.write(progs["writer"], b"through the child")
    assert os.read(maps["reader"], 64) == b"through the child"
    os.close(maps["reader"])
    os.close(progs["writer"])
    assert open_fds() == before


def test_an_oserror_in_the_child_is_raised_here_with_its_errno_and_text():
    def load():
        raise OSError(errno.EPERM, "load bond.bpf.o: Operation not permitted")

    before = open_fds()
    with pytest.raises(OSError) as raised:
        loadchild.in_child(load, "bond.bpf.o")
    assert raised.value.errno == errno.EPERM
    assert str(raised.value) == "[Errno 1] load bond.bpf.o: Operation not permitted"
    assert open_fds() == before


def test_an_oserror_without_errno_keeps_its_text():
    def load():
        raise OSError("BPF object not built (run `make bpf`)")

    with pytest.raises(OSError) as raised:
        loadchild.in_child(load, "bond.bpf.o")
    assert str(raised.value) == "BPF object not built (run `make bpf`)"


def test_a_child_that_dies_is_one_line_naming_what_it_loaded():
    def load():
        raise ValueError("not an OSError: the child says nothing")

    before = open_fds()
    with pytest.raises(OSError) as raised:
        loadchild.in_child(load, "rescue.bpf.o")
    assert str(raised.value) == "rescue.bpf.o: the loading process died"
    assert open_fds() == before
