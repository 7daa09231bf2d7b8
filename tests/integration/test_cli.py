"""The operator's first ten minutes (issue 15), against real bonds in
throwaway namespaces: both `set` forms and the kernel's -ADDR removal, a
header per bond in `status`, the bond's name in `ps`, `up --config`
re-run over a running bond, datapath=auto's fallback said at `up`, and an
802.3ad bond without an LACP partner said at `up` and in `status`."""
import json

import pytest

from tests.support.netcheck import ping_ok, status_json

from softbond.lab.netns import SOFTBOND

ADDR = "192.168.100.199/24"
NO_PARTNER = ("bond0: no LACP partner answered on eth0, eth1 within 3 s: is the switch port configured "
              "for LACP? (traffic passes over eth0 alone, as an individual link, until one does)\n")


def options(topo, bond="bond0"):
    return status_json(topo, bond)["options"]


def ps(topo, pid):
    """comm and args of a process, as `ps -o comm,args` shows them."""
    out = topo.exec(topo.host, ["ps", "-o", "comm=", "-o", "args=", "-p", str(pid)]).stdout
    return out.strip()


@pytest.mark.topology(members=3)
def test_set_forms_status_headers_titles_and_up_config_over_a_running_bond(topo, tmp_path):
    topo.softbond("up", "bond0", "--slaves", "eth0", "--address", ADDR, "mode=active-backup", "miimon=100")
    # The kernel's +ADDR / -ADDR, with the value starting with "-" after OPTION.
    topo.softbond("set", "bond0", "arp_ip_target", "+192.168.100.1")
    assert options(topo)["arp_ip_target"] == ["192.168.100.1"]
    topo.softbond("set", "bond0", "arp_ip_target", "-192.168.100.1")
    assert options(topo)["arp_ip_target"] == []
    topo.softbond("set", "bond0", "miimon=50")                # the form `up` takes
    assert options(topo)["miimon"] == 50
    topo.softbond("set", "bond0", "miimon", "70")
    assert options(topo)["miimon"] == 70
    bad = topo.softbond("set", "bond0", "miimom", "50", check=False)
    assert (bad.returncode, bad.stderr) == (1, "softbond: bond0: option miimom: unknown option (did you mean miimon?)\n")
    bad = topo.softbond("set", "bond0", "primary_reselect=beter", check=False)
    assert bad.stderr == ("softbond: bond0: option primary_reselect: invalid value (beter): did you mean better? "
                          "valid values: always, better, failure\n")

    proc = topo.softbond("up", "bond1", "--slaves", "eth1", "mode=active-backup")
    assert proc.stderr == ("bond1: Warning: miimon and arp_interval are both 0; softbond watches carrier "
                           "through netlink link events\n")     # once, though both the CLI and the bond know it
    text = topo.softbond("status").stdout
    assert text.startswith("==> bond0 <==\nEthernet Channel Bonding Driver: ")
    assert "\n\n==> bond1 <==\nEthernet Channel Bonding Driver: " in text
    assert text.count("==> ") == 2
    assert "LACP status" not in text
    assert [s["bond"] for s in json.loads(topo.softbond("status", "--json").stdout)] == ["bond0", "bond1"]
    one = topo.softbond("status", "bond1").stdout
    assert one.startswith("Ethernet Channel Bonding Driver: ") and "==>" not in one

    st = status_json(topo)
    assert ps(topo, st["pid"]) == f"softbond: bond0 softbond: bond0 [{st['datapath']}]"

    config = tmp_path / "softbond.toml"
    config.write_text('[bond0]\nmode = 1\nmiimon = 100\nslaves = ["eth0"]\n'
                      '[bond2]\nmode = 1\nmiimon = 100\nslaves = ["eth2"]\n')
    proc = topo.softbond("up", "--config", str(config), check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"bond0: already running (pid {st['pid']}), skipped\nbond2: up\n"
    assert status_json(topo)["pid"] == st["pid"]
    assert status_json(topo, "bond2")["slaves"][0]["name"] == "eth2"


def test_auto_falling_back_to_python_says_so_at_up(topo):
    """Without CAP_BPF and CAP_SYS_ADMIN the eBPF object does not load;
    `up` says that it runs the Python path, why, and how to silence it."""
    proc = topo.exec(topo.host, ["setpriv", "--inh-caps=-all", "--bounding-set=-bpf,-sys_admin", *SOFTBOND,
                                 "up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=1", "miimon=100"],
                     check=False)
    assert proc.returncode == 0, proc.stderr
    notice = [line for line in proc.stderr.splitlines() if "datapath=auto" in line]
    assert len(notice) == 1, proc.stderr
    assert notice[0].startswith("bond0: datapath=auto: using the Python data path (eBPF unavailable: cannot load ")
    assert notice[0].endswith("Operation not permitted; datapath=python silences this)")
    assert "Traceback" not in proc.stderr
    assert status_json(topo)["datapath"] == "python"
    assert topo.wait_for(lambda: ping_ok(topo), timeout=10)


def up_8023ad(topo):
    return topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "--address", ADDR, "mode=802.3ad",
                         "miimon=100", "lacp_rate=fast", check=False)


def test_8023ad_without_a_partner_says_so_at_up_and_in_status(topo):
    """A Linux bridge speaks no LACP: `up` still succeeds (the switch may
    be configured later) and says how traffic passes meanwhile: over one
    member, as the kernel's 802.3ad does (issue 19)."""
    proc = up_8023ad(topo)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == NO_PARTNER
    assert proc.stdout == "bond0: up\n"
    # eth0 runs as an individual link once its partner has timed out
    # (DEFAULTED: 3 s after enslave, at lacp_rate slow or fast)
    assert topo.wait_for(lambda: "\nMII Status: up\n" in topo.softbond("status", "bond0").stdout, timeout=6)
    text = topo.softbond("status", "bond0").stdout
    assert text.endswith("\n\nLACP status: configured (no partner)\n")
    assert status_json(topo)["lacp_status"] == "configured (no partner)"
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)


@pytest.mark.topology(switch="ovs", ovs_bond_mode="balance-tcp", ovs_lacp="active", ovs_lacp_time="fast")
def test_8023ad_with_a_partner_is_quiet_and_negotiated(topo):
    proc = up_8023ad(topo)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert topo.wait_for(lambda: status_json(topo)["lacp_status"] == "negotiated", timeout=5)
    text = topo.softbond("status").stdout
    assert text.endswith("\n\nLACP status: negotiated\n")
    assert topo.wait_for(lambda: ping_ok(topo), timeout=5)
    # The partner falls silent on both members: once its information times
    # out (3 s at lacp_rate=fast) there is no partner any more.
    topo.silence(0)
    topo.silence(1)
    assert topo.wait_for(lambda: status_json(topo)["lacp_status"] == "configured (no partner)", timeout=8)
