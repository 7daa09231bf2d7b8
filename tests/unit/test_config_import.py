"""`softbond import PATH --to toml`: every format's corpus converts to TOML
that softbond reads back as the same bonds, warnings kept as comments."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from softbond.config.loader import load_config, merge_configs
from softbond.config.toml_config import parse_toml
from tests.support.toolrun import comparable

DATA = Path(__file__).resolve().parents[1] / "data"
SOURCES = ["netplan/active_backup.yaml", "netplan/balance_tlb.yaml", "netplan/arp.networkd",
           "nmkeyfile", "ifupdown/active_backup.interfaces", "ifupdown/sourced.interfaces",
           "teamd/activebackup_arp_ping_1.conf", "teamd/lacp_1.conf", "seed/network-scripts"]


def softbond(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "softbond", *argv], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("source", SOURCES)
def test_import_round_trips(source, tmp_path):
    done = softbond("import", str(DATA / source), "--to", "toml")
    assert done.returncode == 0, done.stderr
    read = merge_configs(load_config(str(DATA / source)))
    assert comparable(merge_configs(parse_toml(done.stdout, "out.toml"))) == comparable(read)
    warnings = [w for c in read for w in c.warnings]
    assert done.stderr.splitlines() == warnings
    assert [line[2:] for line in done.stdout.splitlines()[1:] if line.startswith("# ")] == warnings


def test_import_refuses_with_one_line(tmp_path):
    bad = tmp_path / "team.json"
    bad.write_text('{"device": "team0", "runner": {"name": "fancy"}}')
    done = softbond("import", str(bad))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"softbond: {bad}:1: runner.name: 'fancy': not a teamd runner " \
                          "(roundrobin, random, activebackup, loadbalance, lacp, broadcast)\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="runs softbond up, which refuses a user other than root")
def test_up_names_every_format_when_it_finds_no_bond(tmp_path):
    empty = tmp_path / "01-empty.yaml"
    empty.write_text("network:\n  version: 2\n")
    done = softbond("up", "--config", str(empty))
    assert (done.returncode, done.stderr.count("\n")) == (1, 1)
    assert done.stderr.startswith(f"softbond: up: no bonds found in {empty} (looked for ifcfg-* files")
    assert "bonds in netplan, networkd, NetworkManager, ifupdown or teamd files)" in done.stderr
