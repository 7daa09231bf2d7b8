"""softbond-cni driven as a container runtime drives a CNI plugin: the
executable named by "type" found on CNI_PATH, the CNI_* variables, the
network configuration on stdin; chained with Debian's reference plugins
(host-local for addresses, macvlan to make the links first as Multus
would). The Topology's host namespace plays the node, a namespace of the
test's own the container; the peer behind the switch answers pings."""
import json
import os
import shutil
import subprocess
import sys
import time

import jsonschema
import pytest

from softbond.datapath.ebpf import libbpf
from softbond.lab.netns import ip
from tests.support.netcheck import ping_ok

REFERENCE = "/usr/lib/cni"
DATA = os.path.join(os.path.dirname(__file__), "..", "data", "cni")
RUN_ROOT = "/run/softbond"


@pytest.fixture(scope="module", autouse=True)
def _reference_plugins():
    missing = [p for p in ("host-local", "macvlan") if not os.access(os.path.join(REFERENCE, p), os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing from {REFERENCE}: scripts/setup.sh --test installs "
                    "containernetworking-plugins", pytrace=False)


def process_gone(pid):
    """Exited: no /proc entry, or a zombie its reaper (PID 1 of whatever
    runs the tests) has not collected yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


class Runtime:
    """What a container runtime does with plugins, for one node and one
    container namespace."""

    def __init__(self, topo, tmp_path):
        self.topo = topo
        self.node = topo.host
        self.ctr = f"{topo.prefix}-ctr"
        self.netns = f"/run/netns/{self.ctr}"
        self.bin = tmp_path / "cni-bin"
        self.ipam_dir = str(tmp_path / "ipam")
        self.bin.mkdir()
        for plugin in ("host-local", "macvlan"):
            os.symlink(os.path.join(REFERENCE, plugin), self.bin / plugin)
        # softbond-cni as installed (the console script), run by this tree's Python.
        script = self.bin / "softbond-cni"
        script.write_text(f"#!/bin/sh\nexec {sys.executable} -m softbond.faces.cni\n")
        script.chmod(0o755)

    def __call__(self, command, conf, *, ifname="net0", containerid="ctr1", netns=None):
        """Run the plugin named by conf["type"]: (exit status, parsed stdout)."""
        # The spec sets no PATH for plugins: one without the tools' directories must do.
        env = {"PATH": "/nonexistent", "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
               "CNI_COMMAND": command, "CNI_CONTAINERID": containerid, "CNI_IFNAME": ifname,
               "CNI_NETNS": self.netns if netns is None else netns, "CNI_PATH": str(self.bin)}
        proc = subprocess.run([shutil.which("ip"), "netns", "exec", self.node, str(self.bin / conf["type"])],
                              input=json.dumps(conf), capture_output=True, text=True, env=env, timeout=120)
        assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None

    def ok(self, command, conf, **kw):
        rc, out = self(command, conf, **kw)
        assert rc == 0, out
        return out

    def bond_conf(self, version="1.0.0", **extra):
        conf = {"cniVersion": version, "name": "bondnet", "type": "softbond-cni", "ifname": "bond0",
                "mode": "active-backup", "miimon": "100", "mtu": 1400,
                "links": [{"name": "eth0"}, {"name": "eth1"}], "linksInContainer": False,
                "ipam": {"type": "host-local", "dataDir": self.ipam_dir, "subnet": "192.168.100.0/24",
                         "rangeStart": "192.168.100.10", "rangeEnd": "192.168.100.20",
                         "routes": [{"dst": "10.9.0.0/16", "gw": self.topo.peer_ip()}]}}
        conf.update(extra)
        return conf

    def leases(self):
        path = os.path.join(self.ipam_dir, "bondnet")
        return sorted(n for n in os.listdir(path) if n[0].isdigit()) if os.path.isdir(path) else []

    def links(self, ns):
        return sorted(link["ifname"] for link in json.loads(ip("-n", ns, "-j", "link", "show").stdout))

    def status(self):
        return json.loads(self.topo.softbond("status", "bond0", "--json", ns=self.ctr).stdout)

    def prog_ids(self, devices, ns=None):
        """The BPF programs tc runs on `devices` in the container (or `ns`)."""
        ids = set()
        ns = ns or self.ctr
        for dev in devices:
            for hook in ("ingress", "egress"):
                out = ip("-n", ns, "link", "show", dev, check=False)
                if out.returncode:
                    continue
                tc = subprocess.run(["tc", "-n", ns, "-j", "filter", "show", "dev", dev, hook],
                                    capture_output=True, text=True, check=True).stdout
                for entry in json.loads(tc or "[]"):
                    prog = (entry.get("options") or {}).get("prog") or {}
                    if prog.get("id"):
                        ids.add(prog["id"])
        return ids

    def assert_nothing_left(self, prog_ids=(), pids=(), containerid="ctr1", ifname="net0"):
        assert self.links(self.ctr) == ["lo"]
        assert ip("netns", "pids", self.ctr).stdout.split() == []
        for pid in pids:
            assert self.topo.wait_for(lambda: process_gone(pid), timeout=5), f"bond process {pid} still runs"
        assert not os.path.exists(f"{RUN_ROOT}/cni/{containerid}-{ifname}.json")
        inode = os.stat(self.netns).st_ino
        assert not os.path.exists(f"{RUN_ROOT}/netns-{inode}"), os.listdir(f"{RUN_ROOT}/netns-{inode}")
        assert self.leases() == []
        assert self.prog_ids(["eth0", "eth1"], ns=self.node) == set()      # the links came back clean
        for ident in prog_ids:
            with pytest.raises(OSError):
                os.close(libbpf.prog_fd_by_id(ident))


@pytest.fixture
def runtime(topo, tmp_path):
    rt = Runtime(topo, tmp_path)
    ip("netns", "add", rt.ctr)
    try:
        ip("-n", rt.ctr, "link", "set", "lo", "up")
        yield rt
    finally:
        topo.stop_softbond(rt.ctr)
        ip("netns", "del", rt.ctr, check=False)


def test_add_ping_failover_check_del_twice(runtime, topo):
    conf = runtime.bond_conf()
    result = runtime.ok("ADD", conf)
    jsonschema.validate(result, json.load(open(os.path.join(DATA, "result.schema.json"))))
    assert result["cniVersion"] == "1.0.0"
    assert [i["name"] for i in result["interfaces"]] == ["bond0", "eth0", "eth1"]
    assert {i["sandbox"] for i in result["interfaces"]} == {runtime.netns}
    [addr] = result["ips"]
    assert addr["interface"] == 0 and addr["address"] == "192.168.100.10/24"
    assert result["routes"] == [{"dst": "10.9.0.0/16", "gw": topo.peer_ip()}]
    # The links moved from the node into the container, under the bond.
    assert "eth0" not in runtime.links(runtime.node)
    status = runtime.status()
    assert status["datapath"] == "ebpf" and status["mode"] == "active-backup" and status["mtu"] == 1400
    assert sorted(s["name"] for s in status["slaves"]) == ["eth0", "eth1"]
    assert result["interfaces"][0]["mac"] == status["hwaddr"]
    assert "10.9.0.0/16 via" in ip("-n", runtime.ctr, "route").stdout
    assert ping_ok(topo, ns=runtime.ctr, count=2)

    topo.cut(0)                                  # the active member's cable
    assert topo.wait_for(lambda: ping_ok(topo, ns=runtime.ctr), timeout=5)
    assert runtime.status()["active_slave"] == "eth1"

    assert runtime.ok("CHECK", {**conf, "prevResult": result}) is None
    rc, error = runtime("CHECK", {**conf, "mode": "balance-xor", "prevResult": result})
    assert rc == 1 and error["code"] == 102 and "active-backup" in error["msg"]

    # The bond's process dies: the eBPF path goes on forwarding, and DEL
    # still cleans up after it.
    progs = runtime.prog_ids(["eth0", "eth1", "bond0"])
    assert progs
    os.kill(status["pid"], 9)
    assert topo.wait_for(lambda: process_gone(status["pid"]), timeout=5)
    assert ping_ok(topo, ns=runtime.ctr, count=2)

    assert runtime.ok("DEL", conf) is None
    assert runtime.ok("DEL", conf) is None        # idempotent
    assert {"eth0", "eth1"} <= set(runtime.links(runtime.node))
    runtime.assert_nothing_left(progs, [status["pid"]])


@pytest.mark.parametrize("version", ["0.3.1", "0.4.0"])
def test_links_made_by_macvlan_in_the_container(runtime, topo, version):
    """As under Multus: macvlan (the reference plugin) puts net1 and net2 in
    the container first; the bond takes them where they are (linksInContainer)
    and leaves them there, unbonded, on DEL."""
    for i, link in enumerate(("net1", "net2")):
        ip("-n", runtime.node, "link", "set", topo.member(i), "up")
        runtime.ok("ADD", {"cniVersion": version, "name": f"mv{i}", "type": "macvlan", "master": topo.member(i),
                           "mode": "bridge", "ipam": {}}, ifname=link)
    conf = runtime.bond_conf(version, linksInContainer=True, links=[{"name": "net1"}, {"name": "net2"}],
                             mode="balance-xor", xmit_hash_policy="layer3+4")
    del conf["mtu"]
    result = runtime.ok("ADD", conf)
    jsonschema.validate(result, json.load(open(os.path.join(DATA, "result.schema.json"))))
    assert result["cniVersion"] == version
    assert [i["name"] for i in result["interfaces"]] == ["bond0", "net1", "net2"]
    assert result["ips"][0]["version"] == "4" and result["ips"][0]["interface"] == 0
    status = runtime.status()
    assert status["mode"] == "balance-xor" and status["options"]["xmit_hash_policy"] == "layer3+4"
    assert ping_ok(topo, ns=runtime.ctr, count=2)
    # A second attachment of the same bond name is refused and leaves the first alone.
    rc, error = runtime("ADD", conf, containerid="ctr2")
    assert rc == 1 and error["code"] == 7 and "bond0 already exists" in error["msg"], error
    assert runtime.status()["pid"] == status["pid"] and ping_ok(topo, ns=runtime.ctr)
    rc, error = runtime("CHECK", conf)
    assert (rc, error["code"]) == (1, 1) if version == "0.3.1" else (rc, error) == (0, None)

    pid = status["pid"]
    runtime.ok("DEL", conf)
    runtime.ok("DEL", conf)
    assert runtime.links(runtime.ctr) == ["lo", "net1", "net2"]
    assert topo.wait_for(lambda: process_gone(pid), timeout=5) and runtime.leases() == []
    for i, link in enumerate(("net1", "net2")):
        runtime.ok("DEL", {"cniVersion": version, "name": f"mv{i}", "type": "macvlan", "master": topo.member(i),
                           "mode": "bridge", "ipam": {}}, ifname=link)
    runtime.assert_nothing_left()


def test_failed_add_changes_nothing_and_del_after_it_succeeds(runtime, topo):
    conf = runtime.bond_conf(links=[{"name": "eth0"}, {"name": "eth1"}, {"name": "eth7"}])
    rc, error = runtime("ADD", conf)
    assert rc == 1 and error["code"] == 7 and "eth7" in error["msg"]
    assert {"eth0", "eth1"} <= set(runtime.links(runtime.node))
    # softbond itself refuses, once the links moved and host-local gave an
    # address: the address is released, the links go back.
    conf = runtime.bond_conf(mtu=70000)
    rc, error = runtime("ADD", conf)
    assert rc == 1 and error["code"] == 100 and "70000" in error["msg"], error
    assert {"eth0", "eth1"} <= set(runtime.links(runtime.node))
    runtime.ok("DEL", conf)
    runtime.assert_nothing_left()


CYCLES = int(os.environ.get("SOFTBOND_CNI_CYCLES", "50"))


def test_add_del_cycles_leak_nothing(runtime, topo):
    conf = runtime.bond_conf()
    started, cpu0 = time.monotonic(), os.times()
    pids, progs = set(), set()
    for cycle in range(CYCLES):
        result = runtime.ok("ADD", conf, containerid=f"cycle{cycle}")
        assert result["ips"][0]["address"].startswith("192.168.100.")
        if cycle in (0, CYCLES - 1):
            pids.add(runtime.status()["pid"])
            progs |= runtime.prog_ids(["eth0", "eth1", "bond0"])
        runtime.ok("DEL", conf, containerid=f"cycle{cycle}")
    elapsed, cpu = time.monotonic() - started, os.times()
    print(f"{CYCLES} ADD/DEL cycles in {elapsed:.1f} s, {cpu.children_user - cpu0.children_user:.1f} s user "
          f"{cpu.children_system - cpu0.children_system:.1f} s system in the plugins and softbond commands")
    assert progs, "no BPF program ran the bond (datapath=auto chose Python?)"
    runtime.assert_nothing_left(progs, pids, containerid=f"cycle{CYCLES - 1}")
    assert {"eth0", "eth1"} <= set(runtime.links(runtime.node))


def test_del_after_the_runtime_dropped_the_namespace(runtime, topo):
    """The spec lets DEL come when CNI_NETNS is gone. The bond's process
    still holds the namespace: DEL finds it through the attachment's record,
    takes the bond down and gives the links back."""
    conf = runtime.bond_conf()
    runtime.ok("ADD", conf)
    pid, inode = runtime.status()["pid"], os.stat(runtime.netns).st_ino
    ip("netns", "del", runtime.ctr)               # the name goes; the process keeps the namespace alive
    assert runtime.ok("DEL", conf) is None
    assert runtime.ok("DEL", conf, netns="") is None
    assert topo.wait_for(lambda: process_gone(pid), timeout=5)
    assert {"eth0", "eth1"} <= set(runtime.links(runtime.node))
    assert not os.path.exists(f"{RUN_ROOT}/cni/ctr1-net0.json") and runtime.leases() == []
    assert not os.path.exists(f"{RUN_ROOT}/netns-{inode}")
