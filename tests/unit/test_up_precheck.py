"""`up`'s precheck when a racing `up` of the same bond wins between its
two reads of the running bonds (issue 16.2's racing ups): the bond is
said to be running, not to own its own members ("cannot enslave eth0: it
is already a slave of bond0", which test_bond_lock once caught)."""
from dataclasses import replace

import pytest

from softbond.config.model import BondConfig
from softbond.config.registry import BondOptions
from softbond.faces import cli
from softbond.kernel import rundir as runtime


def config(name="bond0"):
    return BondConfig(name=name, slaves=("lo",), options=replace(BondOptions()), addresses=(), hwaddr=None,
                      gateway=None, onboot=True, source="test", warnings=())


def test_a_bond_that_came_up_between_the_two_reads_is_already_running(monkeypatch):
    reads = iter([[], ["bond0"]])       # not running at the first read; running, with lo, at the next
    monkeypatch.setattr(runtime, "running_bonds", lambda: next(reads))
    monkeypatch.setattr(runtime, "owner_of", lambda ifname: "bond0" if runtime.running_bonds() else None)
    with pytest.raises(cli.CliError) as refused:
        cli._precheck(config())
    assert str(refused.value) == "bond0: already running (softbond down bond0 first)"


def test_a_member_of_another_bond_is_still_refused_as_such(monkeypatch):
    monkeypatch.setattr(runtime, "running_bonds", lambda: ["bond1"])
    monkeypatch.setattr(runtime, "owner_of", lambda ifname: "bond1")
    with pytest.raises(cli.CliError) as refused:
        cli._precheck(config())
    assert str(refused.value) == "bond0: cannot enslave lo: it is already a slave of bond1"
