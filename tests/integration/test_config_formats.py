"""`softbond up --config PATH` with each other tool's files, as the tools
write them where they can (netplan generate, nmcli --offline): the bond
comes up on the veth members with the file's mode, primary and address,
and the peer answers through it."""

from tests.support.netcheck import ping_ok, status_json
from tests.support.toolrun import netplan_generate, nmcli_keyfile

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


def written(name: str, text: str):
    def write(directory):
        (directory / name).write_text(text)
        return directory / name
    return write


netplan_yaml = written("01-bond.yaml", NETPLAN)
ifupdown = written("interfaces", IFUPDOWN)
teamd = written("bond0.json", TEAMD)


def networkd(directory):
    return netplan_generate(netplan_yaml(directory), directory / "root")


def nmkeyfile(directory):
    files = {"bond0": ["type", "bond", "ifname", "bond0", "bond.options",
                       "mode=active-backup,miimon=100,primary=eth1", "ipv4.method", "manual",
                       "ipv4.addresses", "192.168.100.199/24", "ipv6.method", "disabled"]}
    files.update({name: ["type", "ethernet", "ifname", name, "master", "bond0",
                         "slave-type", "bond"] for name in ("eth0", "eth1")})
    for name, args in files.items():
        (directory / f"{name}.nmconnection").write_text(nmcli_keyfile(["con-name", name, *args]))
    return directory


def test_up_from_another_tools_files(topo, tmp_path):
    """One topology for every format: each comes up, answers, and goes down."""
    for label, write in (("netplan", netplan_yaml), ("networkd", networkd),
                         ("nmkeyfile", nmkeyfile), ("ifupdown", ifupdown), ("teamd", teamd)):
        directory = tmp_path / label
        directory.mkdir()
        # teamd's JSON has no addresses (they live with the team's ifcfg or NM profile)
        extra = ["bond0", "--address", "192.168.100.199/24"] if write is teamd else []
        topo.softbond("up", *extra, "--config", str(write(directory)))
        assert topo.wait_for(lambda: ping_ok(topo)), label
        st = status_json(topo)
        assert (st["mode"], st["active_slave"], st["addresses"]) == (
            "active-backup", "eth1", ["192.168.100.199/24"]), label
        topo.softbond("down", "bond0")
