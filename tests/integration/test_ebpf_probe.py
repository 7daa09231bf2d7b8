"""Whether the eBPF data path can run (ebpf.available) loads the object
once, so the verifier's answer is covered; a file in the run directory,
named by the object file's identity and the boot's id, then says so to later
`up`s, which skip that load (0.3 s: the bond loads its object for itself
anyway). A file not root's is never believed."""
import os
import shutil

from softbond.datapath import ebpf
from softbond.datapath.ebpf import build, loader
from softbond.kernel import rundir


def counting_loads(monkeypatch) -> list:
    loads = []
    real = loader.load

    def load(path, reuse=None):
        loads.append(path)
        return real(path, reuse)
    monkeypatch.setattr(loader, "load", load)
    return loads


def test_a_verified_object_is_not_loaded_again_to_ask(monkeypatch, tmp_path):
    monkeypatch.setattr(rundir, "RUN_ROOT", str(tmp_path))
    loads = counting_loads(monkeypatch)
    assert ebpf._probe() == (True, "")
    mark = ebpf.verified_mark(build.object_path())
    assert mark is not None and mark.startswith(str(tmp_path)) and os.path.isfile(mark)
    assert len(loads) == 1
    assert ebpf._probe() == (True, "") and len(loads) == 1          # the mark answers
    # another object (another build): its own mark, so it is loaded
    other = tmp_path / "copy" / "bond.bpf.o"
    other.parent.mkdir()
    shutil.copy(build.object_path(), other)
    assert ebpf.verified_mark(str(other)) != mark


def test_a_mark_not_roots_is_not_believed(monkeypatch, tmp_path):
    monkeypatch.setattr(rundir, "RUN_ROOT", str(tmp_path))
    loads = counting_loads(monkeypatch)
    mark = ebpf.verified_mark(build.object_path())
    os.makedirs(os.path.dirname(mark), mode=0o700)
    with open(mark, "w") as f:
        f.write("verified\n")
    os.chown(mark, 65534, 65534)                                       # planted as nobody's
    assert ebpf._probe() == (True, "") and len(loads) == 1             # loaded to ask, as if unmarked
