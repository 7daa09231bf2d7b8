"""The words of `softbond --help` and `softbond VERB --help`: what each
verb does and examples of it (argparse epilogs), kept apart from the
parser so that cli.py stays about behaviour."""
from __future__ import annotations

from . import options_table

DESCRIPTIONS = {
    "up": "Create a bond and enslave its members, from the command line or from config files "
          "(ifcfg network-scripts, modprobe.conf, softbond TOML, netplan, systemd-networkd, "
          "NetworkManager keyfiles, ifupdown, teamd). Returns once the bond is up "
          "with its address; the bond runs in a process of its own.",
    "down": "Remove a bond: its members get back their MAC, MTU, addresses and state as found.",
    "status": "The bond's /proc/net/bonding text (every running bond's, under its name, when no bond "
              "is named), or JSON; --verbose adds softbond's data path and counters.",
    "enslave": "Add members to a running bond (ifenslave bond0 eth2).",
    "release": "Remove members from a running bond, restoring them (ifenslave -d bond0 eth0).",
    "set-active": "Make a member the active one (active-backup, balance-tlb, balance-alb).",
    "set": "Change an option of a running bond, as writing /sys/class/net/BOND/bonding/OPTION would. "
           "OPTION VALUE and OPTION=VALUE both work; a value starting with - is taken as a value "
           "(arp_ip_target -ADDR removes a target).",
    "options": "The bonding options softbond knows: values, default, the modes that take them, and "
               "whether a running bond takes a change (softbond set).",
    "demo": "A self-contained demo in throwaway network namespaces: a bond over two veth members, "
            "a failover under a 1 kHz ping.",
    "top": "A live view of a bond in the terminal: per-member rates, link states, events.",
}

_UP = """examples:
  softbond up bond0 --slaves eth0,eth1 --address 192.168.100.199/24 mode=active-backup miimon=100
  softbond up bond0 --slaves eth0,eth1 mode=802.3ad lacp_rate=fast xmit_hash_policy=layer3+4
  softbond up --config /etc/modprobe.conf --config /etc/sysconfig/network-scripts
  softbond up bond1 --config /etc/softbond/softbond.toml      # just that bond
  softbond up bond0 --slaves eth0,eth1 --inherit mode=active-backup   # bond0 takes over eth0's addresses

"""

EPILOGS = {
    "softbond": """examples:
  softbond up bond0 --slaves eth0,eth1 mode=active-backup miimon=100
  softbond status
  softbond set bond0 miimon 50
  softbond options lacp_rate
  softbond down bond0

softbond VERB --help tells more about each verb.""",
    "down": "examples:\n  softbond down bond0\n  softbond down --force bond0    # its process hung: kill it, repair the members",
    "status": "examples:\n  softbond status\n  softbond status bond0 --json\n  softbond status bond0 --verbose",
    "enslave": "example:\n  softbond enslave bond0 eth2 eth3",
    "release": "example:\n  softbond release bond0 eth0",
    "set-active": "example:\n  softbond set-active bond0 eth1",
    "options": "examples:\n  softbond options\n  softbond options xmit_hash_policy",
    "top": "example:\n  softbond top bond0",
}


def epilog(verb: str) -> str | None:
    """The text after VERB's arguments in its --help (built on demand: the
    option listing is only needed when someone asks for help)."""
    if verb == "up":
        return _UP + options_table.help_listing()
    if verb == "set":
        return ("examples:\n  softbond set bond0 miimon 50\n  softbond set bond0 miimon=50\n"
                "  softbond set bond0 arp_ip_target +192.168.77.9\n"
                "  softbond set bond0 arp_ip_target -192.168.77.9\n\n" + options_table.help_listing())
    return EPILOGS.get(verb)
