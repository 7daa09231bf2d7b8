"""Issue 17 section 3: `softbond up` warns when systemd-networkd or
NetworkManager manages a member, with the one command that makes it
unmanaged. The real daemons run in the test's namespace, in a mount
namespace of their own; a last test finds no warning where none runs."""
import sys

import pytest

# Each manager starts in the namespace with a private /run (and /etc for
# NetworkManager, so it never writes the host's), configures eth0 and leaves
# eth1 alone; a read-only /sys tells it there is no udev to wait for (as in
# a container). Then the script waits for eth0's state file and runs up.
NETWORKD = r"""
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/netif /run/systemd/network
chown systemd-network:systemd-network /run/systemd/netif
printf '[Match]\nName=eth0\n[Network]\nLinkLocalAddressing=no\n' > /run/systemd/network/10-eth0.network
unshare -m sh -c 'mount -o remount,bind,ro /sys && exec /lib/systemd/systemd-networkd' 2>/dev/null &
pids=$!
state=/run/systemd/netif/links/$(cat /sys/class/net/eth0/ifindex)
ready='^ADMIN_STATE=configured'
"""
NETWORK_MANAGER = r"""
for d in /run/dbus /run/NetworkManager /var/lib/NetworkManager /etc/NetworkManager; do
    mkdir -p $d && mount -t tmpfs tmpfs $d
done
printf '[main]\nplugins=keyfile\nno-auto-default=*\ndns=none\nrc-manager=unmanaged\n[connectivity]\nenabled=false\n'\
'[keyfile]\nunmanaged-devices=interface-name:eth1\n' > /etc/NetworkManager/NetworkManager.conf
pids=$(dbus-daemon --system --fork --nopidfile --print-pid)
unshare -m sh -c 'mount -o remount,bind,ro /sys && exec NetworkManager --no-daemon' 2>/dev/null &
pids="$pids $!"
state=/run/NetworkManager/devices/$(cat /sys/class/net/eth0/ifindex)
ready='^managed=true'
"""
UP = r"""
trap 'kill $pids' EXIT
i=0
until grep -qs "$ready" "$state"; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "eth0 not managed: $(cat $state)" >&2; exit 3; }
    sleep 0.05
done
"$@" up bond0 --slaves eth0,eth1 mode=active-backup miimon=100 datapath=python
"$@" down bond0
"""
COMMANDS = {
    "systemd-networkd": ("printf '[Match]\\nName=eth0\\n[Link]\\nUnmanaged=yes\\n' > "
                         "/etc/systemd/network/10-softbond-eth0.network && networkctl reload"),
    "NetworkManager": "nmcli device set eth0 managed no",
}


@pytest.mark.parametrize("manager, start", [("systemd-networkd", NETWORKD), ("NetworkManager", NETWORK_MANAGER)],
                         ids=["networkd", "NetworkManager"])
def test_up_warns_about_members_a_manager_manages(topo, manager, start):
    script = "set -e\n" + start + UP
    proc = topo.exec(topo.host, ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "softbond"],
                     check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (f"bond0: warning: eth0 is managed by {manager}, which may take it back; "
                           f"make it unmanaged with: {COMMANDS[manager]}\n"), proc.stderr
    assert "bond0: up" in proc.stdout


def test_no_warning_without_a_manager_in_the_namespace(topo):
    # networkd's files may be on this machine's /run, but none runs in the test's namespace.
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=active-backup", "miimon=100",
                         "datapath=python")
    assert proc.stderr == "", proc.stderr
    topo.softbond("down", "bond0")
