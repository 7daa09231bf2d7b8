"""Issue 17 section 3: `softbond up` warns when systemd-networkd manages a
member, with the one command that makes it unmanaged. A real
systemd-networkd runs in the test's namespace (a private /run/systemd in a
mount namespace of its own), configuring eth0 and leaving eth1 alone; a
second test finds no warning where no manager runs."""
import sys

SCRIPT = r"""
set -e
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/netif /run/systemd/network
chown systemd-network:systemd-network /run/systemd/netif
printf '[Match]\nName=eth0\n[Network]\nLinkLocalAddressing=no\n' > /run/systemd/network/10-eth0.network
# A read-only /sys tells networkd there is no udev to wait for (as in a container).
unshare -m sh -c 'mount -o remount,bind,ro /sys && exec /lib/systemd/systemd-networkd' 2>/dev/null &
networkd=$!
trap 'kill $networkd' EXIT
state=/run/systemd/netif/links/$(cat /sys/class/net/eth0/ifindex)
i=0
until grep -qs '^ADMIN_STATE=configured' "$state"; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "networkd did not configure eth0: $(cat $state)" >&2; exit 3; }
    sleep 0.05
done
"$@" up bond0 --slaves eth0,eth1 mode=active-backup miimon=100 datapath=python
"$@" down bond0
"""


def test_up_warns_about_members_networkd_manages(topo):
    proc = topo.exec(topo.host, ["unshare", "-m", "sh", "-c", SCRIPT, "sh", sys.executable, "-m", "softbond"],
                     check=False)
    assert proc.returncode == 0, proc.stderr
    command = ("printf '[Match]\\nName=eth0\\n[Link]\\nUnmanaged=yes\\n' > "
               "/etc/systemd/network/10-softbond-eth0.network && networkctl reload")
    assert proc.stderr == ("bond0: warning: eth0 is managed by systemd-networkd, which may take it back; "
                           f"make it unmanaged with: {command}\n"), proc.stderr
    assert "bond0: up" in proc.stdout


def test_no_warning_without_a_manager_in_the_namespace(topo):
    # networkd's files may be on this machine's /run, but none runs in the test's namespace.
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=active-backup", "miimon=100",
                         "datapath=python")
    assert proc.stderr == "", proc.stderr
    topo.softbond("down", "bond0")
