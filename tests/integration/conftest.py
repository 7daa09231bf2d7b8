"""Integration tests: real namespaces, veth pairs, a Linux bridge, real
traffic. They need root; without it they fail loudly rather than skip, so a
run that could not test the real thing never looks green."""
import os
import shutil

import pytest

from softbond.lab.netns import Topology


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _root_and_tools():
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (network namespaces); run `make test` as root", pytrace=False)
    missing = [t for t in ("ip", "ping", "iperf3") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"integration tests need {', '.join(missing)}: run scripts/setup.sh --test", pytrace=False)


@pytest.fixture
def topo(request, datapath):
    marker = request.node.get_closest_marker("topology")
    kwargs = marker.kwargs if marker else {}
    with Topology(prefix=f"sbt{os.getpid() % 10000}{_counter()}", datapath=datapath, **kwargs) as t:
        yield t


def pytest_generate_tests(metafunc):
    """A module with ALL_DATAPATHS = True runs every test unchanged on the
    eBPF path, the pure-Python path, and the Python path in worker
    processes (datapath_workers, netns.TEST_WORKERS); one with
    PYTHON_DATAPATHS = True on the last two; elsewhere the default (auto)."""
    if "datapath" in metafunc.fixturenames:
        if getattr(metafunc.module, "ALL_DATAPATHS", False):
            metafunc.parametrize("datapath", ["python", "ebpf", "workers"])
        elif getattr(metafunc.module, "PYTHON_DATAPATHS", False):
            metafunc.parametrize("datapath", ["python", "workers"])
        else:
            metafunc.parametrize("datapath", [None], ids=["auto"])


_count = [0]


def _counter():
    _count[0] += 1
    return _count[0]
