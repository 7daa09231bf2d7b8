"""metrics_textfile: the option's values and the .prom file's text, held
against what Debian's prometheus-node-exporter itself prints for a bond
(tests/data/node_exporter_bonding/capture.sh made metrics.txt)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from softbond.faces import metrics_textfile
from softbond.config.errors import ConfigError
from softbond.config.loader import merge_configs
from softbond.config.options import OptionError, build_options, change_option
from tests.support.configfiles import load_toml
from softbond.core.errors import BondError
from tests.support.webfake import bond_status, fake_statuses, slave

NODE_EXPORTER = Path(__file__).resolve().parents[1] / "data" / "node_exporter_bonding" / "metrics.txt"


def test_node_bonding_series_are_node_exporters_word_for_word():
    """The fake sysfs node_exporter read: bond0 with eth0 up, eth1 down."""
    status = bond_status(slaves=[slave("eth0", 1, state="active"), slave("eth1", 2, mii="down")])
    ours = "".join(line + "\n" for line in metrics_textfile.render(status).decode().splitlines()
                   if "node_bonding_" in line)
    theirs = NODE_EXPORTER.read_text()
    # HELP and TYPE lines exactly (node_exporter refuses one name with two
    # HELP texts); the samples as values (Go prints 1, Python 1.0)
    assert sorted(ln for ln in ours.splitlines() if ln.startswith("#")) == \
        sorted(ln for ln in theirs.splitlines() if ln.startswith("#"))
    assert samples(ours) == samples(theirs) == {("node_bonding_active", (("master", "bond0"),), 1.0),
                                                ("node_bonding_slaves", (("master", "bond0"),), 2.0)}


def samples(text: str) -> set:
    return {(s.name, tuple(sorted(s.labels.items())), s.value)
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_file_holds_only_per_bond_series():
    """node_exporter merges every bond's file: a series without a bond
    label (softbond_bonds) would be in each, and it refuses duplicates."""
    for status in fake_statuses():
        families = list(text_string_to_metric_families(metrics_textfile.render(status).decode()))
        assert "softbond_bonds" not in {f.name for f in families}
        samples = [s for f in families for s in f.samples]
        assert samples
        for sample in samples:
            assert status["bond"] in (sample.labels.get("bond"), sample.labels.get("master")), sample


def test_write_atomically_leaves_only_the_prom_file(tmp_path):
    path = tmp_path / metrics_textfile.file_name("bond0")
    metrics_textfile.write_atomically(str(path), b"one\n")
    metrics_textfile.write_atomically(str(path), b"two\n")
    assert path.read_bytes() == b"two\n"
    assert os.listdir(tmp_path) == ["softbond-bond0.prom"]


@pytest.mark.parametrize("raw", ["relative/dir", "./x", "/a\nb", 5])
def test_metrics_textfile_takes_an_absolute_path_only(raw):
    with pytest.raises(OptionError) as err:
        build_options("bond0", [("mode", "1", None), ("metrics_textfile", raw, "up")])
    message = str(err.value)
    assert message.startswith("up: bond0: option metrics_textfile: invalid value (") and "\n" not in message


def test_metrics_textfile_is_set_live_and_empty_turns_it_off():
    opts, _ = build_options("bond0", [("mode", "1", None), ("metrics_textfile", " /var/lib/x ", None)])
    assert opts.metrics_textfile == "/var/lib/x"
    off, _ = change_option("bond0", opts, "metrics_textfile", "")
    assert off.metrics_textfile == ""


def test_check_dir_names_the_bond_option_and_directory(tmp_path):
    metrics_textfile.check_dir("bond0", str(tmp_path))
    metrics_textfile.check_dir("bond0", "")
    with pytest.raises(BondError, match=f"^bond0: option metrics_textfile: {tmp_path}/nope: no such directory$"):
        metrics_textfile.check_dir("bond0", str(tmp_path / "nope"))
    (tmp_path / "file").write_text("")
    with pytest.raises(BondError, match="file: not a directory$"):
        metrics_textfile.check_dir("bond0", str(tmp_path / "file"))


def test_metrics_textfile_in_toml_for_every_bond_and_refused_with_its_line(tmp_path):
    path = tmp_path / "softbond.toml"
    path.write_text('[bonding]\nmetrics_textfile = "/var/lib/prometheus/node-exporter"\n\n'
                    '[bond0]\nslaves = ["eth0"]\nmode = "active-backup"\n\n'
                    '[bond1]\nslaves = ["eth1"]\nmode = "active-backup"\n')
    configs = merge_configs(load_toml(str(path)))
    assert [c.options.metrics_textfile for c in configs] == ["/var/lib/prometheus/node-exporter"] * 2
    path.write_text('[bond0]\nslaves = ["eth0"]\nmode = "active-backup"\nmetrics_textfile = "prom"\n')
    with pytest.raises(ConfigError) as err:
        merge_configs(load_toml(str(path)))
    assert str(err.value).startswith(f"{path}:4: bond0: option metrics_textfile: invalid value (prom)")
