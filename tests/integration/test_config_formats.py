"""`softbond up --config PATH` with each other tool's files, as the tools
write them where they can (netplan generate, nmcli --offline): the bond
comes up on the veth members with the file's mode, primary and address,
and the peer answers through it."""

import os
import shutil

from conftest import ping_ok, status_json
from toolrun import run, tool

NETPLAN = """network:
  ethernets: {eth0: {}, eth1: {}}
  bonds:
    bond0:
      interfaces: [eth0, eth1]
      addresses: [192.168.100.199/24]
      parameters: {mode: active-backup, mii-monitor-interval: 100, primary: eth1}
"""
IFUPDOWN = """auto bond0
iface bond0 inet static
    address 192.168.100.199/24
    bond-slaves eth0 eth1
    bond-mode active-backup
    bond-miimon 100
    bond-primary eth1
"""
TEAMD = """{"device": "bond0", "runner": {"name": "activebackup"}, "link_watch": {"name": "ethtool"},
 "ports": {"eth0": {"prio": 0}, "eth1": {"prio": 10}}}
"""


def netplan_yaml(tmp_path):
    path = tmp_path / "01-bond.yaml"
    path.write_text(NETPLAN)
    return path


def networkd(tmp_path):
    root = tmp_path / "root"
    (root / "etc" / "netplan").mkdir(parents=True)
    shutil.copy(netplan_yaml(tmp_path), root / "etc" / "netplan")
    os.chmod(root / "etc" / "netplan" / "01-bond.yaml", 0o600)
    run(tool("netplan", "netplan.io"), "generate", "--root-dir", str(root))
    return root / "run" / "systemd" / "network"


def nmkeyfile(tmp_path):
    nmcli = tool("nmcli", "network-manager")
    files = {"bond0": ["type", "bond", "ifname", "bond0", "bond.options",
                       "mode=active-backup,miimon=100,primary=eth1", "ipv4.method", "manual",
                       "ipv4.addresses", "192.168.100.199/24", "ipv6.method", "disabled"]}
    files.update({name: ["type", "ethernet", "ifname", name, "master", "bond0",
                         "slave-type", "bond"] for name in ("eth0", "eth1")})
    for name, args in files.items():
        text = run(nmcli, "--offline", "connection", "add", "con-name", name, *args)
        (tmp_path / f"{name}.nmconnection").write_text(
            "".join(line for line in text.splitlines(True) if not line.startswith("Warning: ")))
    return tmp_path


def ifupdown(tmp_path):
    path = tmp_path / "interfaces"
    path.write_text(IFUPDOWN)
    return path


def teamd(tmp_path):
    path = tmp_path / "bond0.json"
    path.write_text(TEAMD)
    return path


def test_up_from_another_tools_files(topo, tmp_path):
    """One topology for every format: each comes up, answers, and goes down."""
    for write in (netplan_yaml, networkd, nmkeyfile, ifupdown, teamd):
        directory = tmp_path / write.__name__
        directory.mkdir()
        # teamd's JSON has no addresses (they live with the team's ifcfg or NM profile)
        extra = ["bond0", "--address", "192.168.100.199/24"] if write is teamd else []
        topo.softbond("up", *extra, "--config", str(write(directory)))
        assert topo.wait_for(lambda: ping_ok(topo)), write.__name__
        st = status_json(topo)
        assert (st["mode"], st["active_slave"], st["addresses"]) == (
            "active-backup", "eth1", ["192.168.100.199/24"]), write.__name__
        topo.softbond("down", "bond0")
