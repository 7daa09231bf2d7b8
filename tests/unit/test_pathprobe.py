"""The path monitor's probe addresses (core/pathprobe.py): a MAC of each
member's own, never its permanent one, and that MAC's link-local address."""
from softbond.core.pathprobe import link_local, probe_mac


def test_probe_mac_is_local_unicast_and_not_the_permanent_one():
    for perm in ("00:11:22:33:44:55", "02:00:00:00:00:01", "fe:ff:ff:ff:ff:ff", "06:00:00:00:00:01"):
        mac = probe_mac(perm)
        assert mac[0] & 0x02 and not mac[0] & 0x01, (perm, mac.hex(":"))
        assert mac != bytes.fromhex(perm.replace(":", ""))
        assert mac[1:] == bytes.fromhex(perm.replace(":", ""))[1:]
    assert probe_mac("02:00:00:00:00:01") != probe_mac("02:00:00:00:00:02")


def test_link_local_is_the_eui64_of_the_mac():
    assert link_local(bytes.fromhex("065b00000001")) == "fe80::45b:ff:fe00:1"
