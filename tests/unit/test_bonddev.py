"""Choosing the data path: auto falls back with a notice, ebpf refuses."""
import pytest

from softbond.datapath import devices as bonddev, ebpf


class Made:
    def __init__(self, name, **kw):
        self.name = name


def test_auto_falls_back_to_python_and_says_why(monkeypatch):
    monkeypatch.setattr(ebpf, "available", lambda: (False, "clang not found"))
    monkeypatch.setattr(bonddev, "PythonDevice", Made)
    device, notice = bonddev.choose("bond0", "auto", mac=None)
    assert isinstance(device, Made)
    assert notice == ("bond0: datapath=auto: using the Python data path (eBPF unavailable: clang not found; "
                      "datapath=python silences this)")


def test_ebpf_refuses_clearly_where_it_cannot_run(monkeypatch):
    monkeypatch.setattr(ebpf, "available", lambda: (False, "needs root (CAP_BPF and CAP_NET_ADMIN)"))
    with pytest.raises(RuntimeError) as info:
        bonddev.choose("bond0", "ebpf", mac=None)
    assert str(info.value) == ("bond0: datapath=ebpf: the eBPF data path cannot run here: "
                               "needs root (CAP_BPF and CAP_NET_ADMIN)")


def test_auto_and_ebpf_take_ebpf_where_it_loads(monkeypatch):
    monkeypatch.setattr(ebpf, "available", lambda: (True, ""))
    monkeypatch.setattr(bonddev, "EbpfDevice", Made)
    for choice in ("auto", "ebpf"):
        device, notice = bonddev.choose("bond0", choice, mac=None)
        assert isinstance(device, Made) and notice is None


def test_python_never_touches_bpf(monkeypatch):
    def explode():
        raise AssertionError("probed eBPF")
    monkeypatch.setattr(ebpf, "available", explode)
    monkeypatch.setattr(bonddev, "PythonDevice", Made)
    device, notice = bonddev.choose("bond0", "python", mac=None)
    assert isinstance(device, Made) and notice is None
