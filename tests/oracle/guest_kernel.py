"""Runs in the QEMU guest (tests/oracle/vm.py): every scenario of
scenarios.py on the kernel's bonding driver, results as JSON.

Usage (guest): python3 guest_kernel.py OUT.json
"""
from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import failover  # noqa: E402
import lacp_peers  # noqa: E402
import option_cases  # noqa: E402
import scenarios  # noqa: E402
import xmit_choice  # noqa: E402
from scenarios import sh  # noqa: E402

# `ip link ... type bond` spells a few options differently from sysfs.
IP_LINK_NAMES = {"peer_notif_delay": "peer_notify_delay"}
PARALLEL = 6


class KernelBond(scenarios.Backend):
    def create(self, ns, bond, opts, members, address):
        args = []
        for name, value in scenarios.options(opts):
            args += [IP_LINK_NAMES.get(name, name), value]
        lines = [" ".join(["link", "add", bond, "type", "bond", *args])]
        for member in members:
            lines += [f"link set {member} down", f"link set {member} master {bond}"]
        lines += [f"addr add {address} dev {bond}"] if address else []
        scenarios.ip_batch(ns, [*lines, f"link set {bond} up"])

    def release(self, ns, bond, member):
        sh("ip", "-n", ns, "link", "set", member, "nomaster")

    def set(self, ns, bond, name, value):
        sh("ip", "netns", "exec", ns, "sh", "-c", f"echo {value} > /sys/class/net/{bond}/bonding/{name}")

    def status(self, ns, bond):
        scenarios.join_netns(ns)      # /proc/thread-self/net is this thread's view
        with open(f"/proc/thread-self/net/bonding/{bond}") as f:
            return f.read()

    def destroy(self, ns, bond):
        sh("ip", "-n", ns, "link", "del", bond)


def one(item):
    index, (name, sc) = item
    try:
        return name, {"snaps": scenarios.run(KernelBond(), f"k{index}", sc)}
    except Exception as e:  # noqa: BLE001 - reported to the host test, which fails on it
        return name, {"error": f"{type(e).__name__}: {e}"}


def xmit_case(item):
    index, policy = item
    try:
        return policy, {"choice": xmit_choice.run(KernelBond(), f"x{index}", policy, in_thread=True)}
    except Exception as e:  # noqa: BLE001 - reported to the host test, which fails on it
        return policy, {"error": f"{type(e).__name__}: {e}"}


def module_case(opts: str) -> dict:
    """Loads bonding with opts as module parameters (after max_bonds=1: Debian's
    modprobe.d sets 0); the module must be unloaded before and after."""
    proc = sh("modprobe", "bonding", "max_bonds=1", *opts.split(), check=False)
    said = option_cases.kernel_lines(sh("dmesg", "-c").stdout)
    sh("modprobe", "-r", "bonding", check=False)
    sh("dmesg", "-C")          # what unloading logged is not the next case's
    return {"accepted": proc.returncode == 0, "said": said}


def sysfs_case(index: int, case: tuple[str, str, str]) -> dict:
    """Writes one value to the sysfs file of an up bond with two members.
    The bond's name is unique in the log, so this runs beside the scenarios
    and takes the kernel's errors and warnings from a plain dmesg read."""
    mode, name, value = case
    bond, member = f"sf{index}", f"sf{index}e"
    lines = [f"link add {bond} type bond mode {mode} miimon 100"]
    for i in (0, 1):
        lines += [f"link add {member}{i} type veth peer {member}p{i}", f"link set {member}p{i} up",
                  f"link set {member}{i} master {bond}"]
    scenarios.ip_batch(None, [*lines, f"link set {bond} up"])
    fd = os.open(f"/sys/class/net/{bond}/bonding/{name}", os.O_WRONLY)
    try:                       # one unbuffered write: a buffered file would write again on close
        os.write(fd, value.replace("eth", member).encode() + b"\n")
        errno = 0
    except OSError as e:
        errno = e.errno
    finally:
        os.close(fd)
    said = [line[len(bond) + 2:].replace(member, "eth")
            for line in option_cases.kernel_lines(sh("dmesg", "--level=emerg,alert,crit,err,warn").stdout)
            if line.startswith(f"{bond}: ")]
    scenarios.ip_batch(None, [f"link del {bond}", f"link del {member}0", f"link del {member}1"])
    return {"accepted": errno == 0, "errno": errno, "said": said}


def sysfs_cases() -> dict:
    return {option_cases.sysfs_key(case): sysfs_case(i, case) for i, case in enumerate(option_cases.SYSFS_CASES)}


def main() -> None:
    sh("modprobe", "bonding", "max_bonds=0")
    start = time.monotonic()
    # The LACP peer cases first and alone: the host runs its side and says done.
    lacp_peers.guest_start("/oracle").join()
    lacp_peers.guest_stop()
    print(f"LACP peer cases: {time.monotonic() - start:.1f} s", file=sys.stderr)
    start = time.monotonic()
    failovers = failover.Run()       # softbond's slow start runs beside the scenarios
    # The sysfs cases get a thread of their own: the scenarios' threads join
    # the scenarios' namespaces, the sysfs cases stay in this one.
    with ThreadPoolExecutor(1) as alone, ThreadPoolExecutor(PARALLEL) as pool:
        sysfs = alone.submit(sysfs_cases)
        xmit = pool.map(xmit_case, enumerate(xmit_choice.POLICIES))
        results = dict(pool.map(one, enumerate(scenarios.SCENARIOS.items())))
        xmit = dict(xmit)
        sysfs = sysfs.result()
    failovers.started()
    print(f"scenarios, transmit choice and sysfs cases: {time.monotonic() - start:.1f} s", file=sys.stderr)
    sh("modprobe", "-r", "bonding")
    start = time.monotonic()
    sh("dmesg", "-C")
    modules = {opts: module_case(opts) for opts in option_cases.MODULE_CASES}
    print(f"module parameters: {time.monotonic() - start:.1f} s", file=sys.stderr)
    start = time.monotonic()
    sh("modprobe", "bonding", "max_bonds=0")
    sequences = failovers.finish()
    print(f"failover sequences: {time.monotonic() - start:.1f} s", file=sys.stderr)
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump({"kernel": os.uname().release, "scenarios": results, "module_parameters": modules,
                   "sysfs": sysfs, "xmit": xmit, "failover": sequences}, f, indent=1)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])


if __name__ == "__main__":
    main()
