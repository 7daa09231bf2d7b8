"""The scenarios of scenarios.py on softbond, on the host, each in its own
namespace (named after this process, so concurrent runs never collide)."""
from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from . import scenarios, xmit_choice
from .option_cases import MODULE_CASES, SYSFS_CASES, sysfs_key
from .scenarios import sh

SOFTBOND = [sys.executable, "-m", "softbond"]
PARALLEL = 4


class Softbond(scenarios.Backend):
    def __init__(self, datapath: str = "python"):
        self.datapath = datapath

    def _run(self, ns, *args):
        return sh("ip", "netns", "exec", ns, *SOFTBOND, *args)

    def create(self, ns, bond, opts, members, address):
        where = ["--address", address] if address else []
        self._run(ns, "up", bond, "--slaves", ",".join(members), *where, *opts.split(), f"datapath={self.datapath}")

    def release(self, ns, bond, member):
        self._run(ns, "release", bond, member)

    def set(self, ns, bond, name, value):
        self._run(ns, "set", bond, name, value)

    def status(self, ns, bond):
        return self._run(ns, "status", bond).stdout

    def destroy(self, ns, bond):
        self._run(ns, "down", bond)


def module_case(ns: str, opts: str) -> dict:
    """`softbond up bond0 OPTS` over one veth: accepted, and its stderr."""
    scenarios.build_namespace(ns, bridged=True)
    try:
        proc = sh("ip", "netns", "exec", ns, *SOFTBOND, "up", "bond0", "--slaves", "eth0", *opts.split(),
                  "datapath=python", check=False)
        if proc.returncode == 0:
            sh("ip", "netns", "exec", ns, *SOFTBOND, "down", "bond0")
        return {"accepted": proc.returncode == 0, "said": proc.stderr.splitlines()}
    finally:
        sh("ip", "netns", "del", ns, check=False)


def sysfs_case(ns: str, case: tuple[str, str, str]) -> dict:
    """`softbond set bond0 OPTION VALUE` on an up bond with two members."""
    mode, name, value = case
    scenarios.build_namespace(ns, bridged=True)
    try:
        sh("ip", "netns", "exec", ns, *SOFTBOND, "up", "bond0", "--slaves", "eth0,eth1", f"mode={mode}",
           "miimon=100", "datapath=python")
        proc = sh("ip", "netns", "exec", ns, *SOFTBOND, "set", "bond0", name, value, check=False)
        sh("ip", "netns", "exec", ns, *SOFTBOND, "down", "bond0", check=False)
        return {"accepted": proc.returncode == 0, "said": proc.stderr.splitlines()}
    finally:
        sh("ip", "netns", "del", ns, check=False)


# The data paths the transmit choice is compared on (test_xmit_choice.py).
XMIT_DATAPATHS = ("python", "ebpf")


def prefix() -> str:
    """This session's namespaces' and TAPs' prefix: concurrent runs never collide."""
    return f"sbo{os.getpid() % 100000}"


def run_all(names: list[str]) -> dict[str, dict]:
    """Every scenario in names, the transmit choice of each policy on each
    data path, then every module-parameter and sysfs case."""
    ns = prefix()

    def xmit(item):
        index, (datapath, policy) = item
        try:       # this host's kernel has no 8021q: VLAN flows go in-band
            return f"{datapath} {policy}", {"choice": xmit_choice.run(
                Softbond(datapath), f"{ns}-x{index}", policy, vlan_devices=False)}
        except Exception as e:  # noqa: BLE001 - the comparing test fails on it
            return f"{datapath} {policy}", {"error": f"{type(e).__name__}: {e}"}

    def one(item):
        index, name = item
        try:
            return name, {"snaps": scenarios.run(Softbond(), f"{ns}-{index}", scenarios.SCENARIOS[name])}
        except Exception as e:  # noqa: BLE001 - the comparing test fails on it
            return name, {"error": f"{type(e).__name__}: {e}"}

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = {"scenarios": dict(pool.map(one, enumerate(names)))}
        results["xmit"] = dict(pool.map(xmit, enumerate(
            (datapath, policy) for datapath in XMIT_DATAPATHS for policy in xmit_choice.POLICIES)))
        results["module_parameters"] = dict(zip(MODULE_CASES, pool.map(
            lambda item: module_case(f"{ns}-m{item[0]}", item[1]), enumerate(MODULE_CASES))))
        results["sysfs"] = dict(zip(map(sysfs_key, SYSFS_CASES), pool.map(
            lambda item: sysfs_case(f"{ns}-s{item[0]}", item[1]), enumerate(SYSFS_CASES))))
    return results
