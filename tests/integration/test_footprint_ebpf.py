"""A bond's footprint (issue 19): libbpf, and libelf and libz with it, are
never in the bond's process. A child process loads bond.bpf.o and
rescue.bpf.o (datapath/ebpf/loadchild.py) and hands over the fds; the bond
writes the maps with bpf(2) itself (datapath/ebpf/bpfsys.py): 0.4 MiB of
every bond's RSS, and the kernel BTF libbpf parses for the rescue's CO-RE
reads never enters its heap. The bond still fails over and forwards
afterwards, which is the maps written without libbpf."""
from tests.support.netcheck import ping_ok, status_json, wait_active

UNLOADED = ("libbpf.so", "libelf")


def mapped_libraries(pid: int) -> set[str]:
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line}


def loaded(pid: int) -> list[str]:
    return sorted(lib for lib in mapped_libraries(pid) if any(name in lib for name in UNLOADED))


def test_an_ebpf_bond_runs_without_libbpf_mapped(topo):
    topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24",
                  "mode=active-backup", "miimon=100", "datapath=ebpf")
    status = status_json(topo)
    assert status["datapath"] == "ebpf" and status["active_slave"] == "eth0", status
    pid = status["pid"]
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the eBPF bond"
    assert loaded(pid) == []

    topo.cut(0)
    wait_active(topo, "eth1", timeout=10)
    # eth0's switch port is down: this ping went by eth1, which the bond
    # wrote into its maps after libbpf was gone.
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping after the failover"
    assert status_json(topo)["pid"] == pid
    assert loaded(pid) == []


def test_a_python_bond_runs_its_carrier_rescue_without_libbpf_mapped(topo):
    topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", "192.168.100.199/24",
                  "mode=active-backup", "miimon=100", "datapath=python")
    status = status_json(topo)
    assert status["datapath"] == "python" and status["carrier_rescue"] == "on", status
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10), "no ping through the Python bond"
    assert loaded(status["pid"]) == []
