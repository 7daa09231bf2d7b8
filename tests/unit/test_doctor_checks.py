"""doctor's checks where no test setup can build the broken thing: veth
members have no settable speed or duplex, and neither NetworkManager nor
systemd-networkd runs here (their runtime files, in their own format, are
written to a temporary directory instead)."""
from softbond.faces.doctor import checks
from softbond.kernel import hostnet


def slave(name, speed, duplex):
    return {"name": name, "speed_mbps": speed, "duplex": duplex, "mtu": 1500}


def ids(found):
    return sorted(f.id for f in found)


def test_members_with_different_speed_and_duplex():
    st = {"bond": "bond0", "mtu": 1500, "slaves": [slave("eth0", 10000, "full"), slave("eth1", 1000, "half")]}
    found = checks.members_differ(st)
    assert ids(found) == ["member.duplex_differs", "member.speed_differs"]
    assert found[0].evidence == "eth0 10000, eth1 1000"
    st["slaves"][1] = slave("eth1", 10000, "full")
    assert checks.members_differ(st) == []


def test_a_managers_state_file_says_whether_it_manages_a_link(tmp_path):
    # The files as each daemon writes them (their formats; the daemons' own
    # runs are in tests/integration/test_hostnet.py).
    files = {hostnet.NM: str(tmp_path / "nm-{ifindex}"), hostnet.NETWORKD: str(tmp_path / "networkd-{ifindex}")}

    def who():
        return [m for m in (hostnet.NM, hostnet.NETWORKD) if hostnet.manages(m, 1, files)]
    assert who() == []
    (tmp_path / "networkd-1").write_text("# This is private data. Do not parse.\nADMIN_STATE=unmanaged\n"
                                         "OPER_STATE=carrier\n")
    assert who() == []
    (tmp_path / "networkd-1").write_text("ADMIN_STATE=linger\n")
    assert who() == []
    (tmp_path / "networkd-1").write_text("ADMIN_STATE=configured\nOPER_STATE=routable\n")
    assert who() == [hostnet.NETWORKD]
    (tmp_path / "nm-1").write_text("[device]\nmanaged=false\n")
    assert who() == [hostnet.NETWORKD]
    (tmp_path / "nm-1").write_text("[device]\nmanaged=true\nperm-hw-address-fake=false\n")
    assert who() == [hostnet.NM, hostnet.NETWORKD]
