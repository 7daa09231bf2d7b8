"""LACP with the kernel's 802.3ad as the partner (issue 19, section 2): both
views (the guest's /proc text, softbond's status) agree on the partner, the
aggregator and each port's state; traffic passes; a cable cut and restored
is seen by both, softbond first (it sees the TAP's carrier, the kernel's
NIC keeps its carrier and waits out the LACP timeout)."""
from __future__ import annotations

import re

import pytest

from . import lacp_peers as lp

BOND_MII = re.compile(r"^MII Status: (\S+)$", re.M)


def result(oracle, name: str) -> dict:
    found = oracle.lacp[name]
    if "error" in found:
        pytest.fail(f"{name}: {found['error']}", pytrace=False)
    return found


def assert_views_agree(kernel: str, ours: str, found: dict) -> None:
    assert lp.aggregator(kernel)["partner"] == lp.system_mac(ours), (kernel, ours)
    assert lp.aggregator(ours)["partner"] == lp.system_mac(kernel), (kernel, ours)
    assert lp.aggregator(kernel)["ports"] == lp.aggregator(ours)["ports"] == found["ports"], (kernel, ours)
    by_mac = {m["mac"]: m for m in lp.members(kernel).values()}
    mine = lp.members(ours)
    for tap, mac in found["members"]:       # softbond's TAP and the guest NIC behind it
        assert (mine[tap]["actor"], mine[tap]["partner"]) == (by_mac[mac]["partner"], by_mac[mac]["actor"]), \
            (tap, kernel, ours)


@pytest.mark.parametrize("name", [n for n, case in lp.CASES.items() if case.forms])
def test_forms_with_the_kernel_and_both_views_agree(oracle, name):
    found = result(oracle, name)
    assert found["formed_s"] is not None, (found["kernel"], found["softbond"])
    assert_views_agree(found["kernel"], found["softbond"], found)
    assert found["ping_ok"]


def test_both_passive_never_forms(oracle):
    found = result(oracle, "both-passive")
    assert lp.in_aggregator(found["kernel"]) == 0 and lp.in_aggregator(found["softbond"]) == 0, found


@pytest.mark.parametrize("name", [n for n, case in lp.CASES.items() if case.cut])
def test_a_cut_cable_is_seen_by_both_and_restored(oracle, name):
    found = result(oracle, name)
    assert found["cut_softbond_s"] is not None and found["cut_kernel_s"] is not None, found
    # softbond sees the TAP go down; the kernel's NIC keeps carrier: three
    # missed fast LACPDUs (3 s) at least.
    assert found["cut_softbond_s"] < found["cut_kernel_s"], found
    assert found["cut_kernel_s"] >= 2.0, found
    assert found["restore_s"] is not None, found
    if "min_links=2" in lp.CASES[name].softbond:     # one port left: softbond's bond loses carrier
        assert BOND_MII.findall(found["cut_softbond"])[0] == "down", found["cut_softbond"]
        assert BOND_MII.findall(found["cut_kernel"])[0] == "up", found["cut_kernel"]
    else:
        assert BOND_MII.findall(found["cut_softbond"])[0] == "up", found["cut_softbond"]
