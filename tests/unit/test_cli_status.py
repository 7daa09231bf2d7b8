"""What `softbond status` adds around the kernel's text: a header per bond
when several run, and the LACP summary line below an 802.3ad bond."""
import pytest

from softbond.faces.status_text import lacp_line, lacp_status, render_several


def test_one_bond_is_the_kernel_text_alone():
    assert render_several([("bond0", "TEXT0\n")]) == "TEXT0\n"


def test_several_bonds_each_under_its_name():
    assert render_several([("bond0", "TEXT0\n"), ("bond1", "TEXT1\n")]) == (
        "==> bond0 <==\nTEXT0\n\n==> bond1 <==\nTEXT1\n")


def port(rx_state):
    return {"ad": {"rx_state": rx_state, "mux_state": "DETACHED", "counters": {"lacpdu_rx": 3}}}


@pytest.mark.parametrize("mode, slaves, summary", [
    ("active-backup", [{"ad": None}], "off"),
    ("802.3ad", [port("DEFAULTED"), port("PORT_DISABLED")], "configured (no partner)"),
    ("802.3ad", [], "configured (no partner)"),
    ("802.3ad", [port("CURRENT"), port("DEFAULTED")], "negotiated"),
    ("802.3ad", [port("DEFAULTED"), port("EXPIRED")], "configured (no partner)"),   # a port coming up
])
def test_lacp_status(mode, slaves, summary):
    status = {"mode": mode, "slaves": slaves}
    assert lacp_status(status) == summary
    assert lacp_line(status) == ("" if mode != "802.3ad" else f"\nLACP status: {summary}\n")


def test_lacp_fallback_line_follows_the_status_line_only_while_it_runs():
    def status(active):
        fallback = {"mode": "active-backup", "timeout": 90, "active": active,
                    "member": "eth0" if active else None, "silent_for": 95.4}
        return {"mode": "802.3ad", "slaves": [port("DEFAULTED")], "ad_info": {"lacp_fallback": fallback}}
    assert lacp_line(status(True)) == ("\nLACP status: configured (no partner)\n"
                                       "LACP fallback: active-backup (no LACPDU for 95 s)\n")
    assert lacp_line(status(False)) == "\nLACP status: configured (no partner)\n"
