"""The other tools' readers on mutated corpus files: whatever the text, a
reader returns bonds or raises one ConfigError that starts with a file and
a line of it that has text, never another exception; which reader a file
goes to by its content."""

import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softbond.config.errors import ConfigError
from softbond.config.foreign import timespan_ms
from softbond.config.loader import load_config, merge_configs
from tests.support.toolrun import comparable

DATA = Path(__file__).resolve().parents[1] / "data"
# (corpus file mutated, what load_config is given: the file or its copied directory)
TARGETS = {"netplan": ("netplan/active_backup.yaml", False),
           "networkd": ("netplan/active_backup.networkd/10-netplan-bond0.netdev", True),
           "networkd_network": ("netplan/active_backup.networkd/10-netplan-bond0.network", True),
           "nmkeyfile": ("nmkeyfile/active_backup.nmconnection", True),
           "nmkeyfile_port": ("nmkeyfile/port_eth0.nmconnection", True),
           "ifupdown": ("ifupdown/active_backup.interfaces", False),
           "teamd": ("teamd/activebackup_arp_ping_2.conf", False)}
TOKENS = ["", " ", "=", ":", "[", "]", "{", "}", "-", ",", "#", "\\", "\t", "0", "-1", "1s",
          "99999999999", "bond0", "eth0", "mode", "Bond=bond0", "[Bond]", "[bond]", "[ipv4]",
          "address1=", "iface", "bond-master", "auto", "source", "interfaces", "parameters",
          "\"name\"", "null", "true", "192.0.2.1/24", "::/0", "02:00:00:00:00:01", "ü", "\x00"]
# Examples per file in CI; SOFTBOND_FUZZ_EXAMPLES raises it for a longer local run.
SETTINGS = settings(max_examples=int(os.environ.get("SOFTBOND_FUZZ_EXAMPLES", "150")) // 5,
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def mutate(text: str, data) -> str:
    lines = text.split("\n")
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        cut = data.draw(st.integers(0, len(line)))
        action = data.draw(st.sampled_from(["insert", "replace", "delete", "duplicate"]))
        token = data.draw(st.sampled_from(TOKENS))
        if action == "insert":
            lines[index] = line[:cut] + token + line[cut:]
        elif action == "replace":
            lines[index] = line[:cut] + token
        elif action == "delete":
            del lines[index]
            lines = lines or [""]
        else:
            lines.insert(index, line)
    return "\n".join(lines)


def check_error(message: str, path: Path, text: str) -> None:
    """One file of the directory and a line of it that has text (the
    mutated file's lines are known; any other file's must at least be named)."""
    match = re.match(rf"{re.escape(str(path.parent))}/[^:]+:[0-9]+: ", message)
    assert match or re.match(rf"{re.escape(str(path.parent))}\S*: not UTF-8", message), message
    match = re.match(rf"{re.escape(str(path))}:([0-9]+): ", message)
    if match:
        lines = text.split("\n")
        assert 1 <= int(match.group(1)) <= len(lines), message
        assert lines[int(match.group(1)) - 1].strip(" \t"), message   # as fuzz/harnesses.py asks


@pytest.mark.parametrize("target", TARGETS)
def test_mutated_files_give_bonds_or_one_config_error(target, tmp_path_factory):
    source, whole_directory = TARGETS[target]
    original = (DATA / source).read_text()

    @SETTINGS
    @given(st.data())
    def run(data):
        root = tmp_path_factory.mktemp(target)
        if whole_directory:
            shutil.copytree((DATA / source).parent, root, dirs_exist_ok=True)
        path = root / Path(source).name
        text = mutate(original, data)
        path.write_text(text)
        try:
            merge_configs(load_config(str(root if whole_directory else path)))
        except ConfigError as exc:
            check_error(str(exc), path, text)
        shutil.rmtree(root)

    run()


@pytest.mark.parametrize("text, unit, ms", [("100ms", "s", 100), ("1s", "ms", 1000),
                                            ("2", "s", 2000), ("2", "ms", 2),
                                            ("1min 30s", "s", 90000), ("1.5s", "s", 1500),
                                            ("0.1", "s", 100), ("2000000ns", "s", 2),
                                            ("9" * 400, "ms", int("9" * 400))])
def test_timespans(text, unit, ms):
    assert timespan_ms(text, unit) == ms


@pytest.mark.parametrize("text", ["", "1x", "1.5ms", "ms", "-1s", "1S", "1e3ms", "9" * 5000])
def test_bad_timespans(text):
    with pytest.raises(ValueError):
        timespan_ms(text)


@pytest.mark.parametrize("source", ["netplan/active_backup.yaml", "nmkeyfile/active_backup.nmconnection",
                                    "ifupdown/lacp.interfaces", "teamd/lacp_1.conf",
                                    "netplan/active_backup.networkd/10-netplan-bond0.netdev"])
def test_a_file_without_its_usual_name_is_read_by_its_content(source, tmp_path):
    shutil.copytree((DATA / source).parent, tmp_path, dirs_exist_ok=True)
    renamed = tmp_path / "bonds.conf"
    (tmp_path / Path(source).name).rename(renamed)
    assert comparable(merge_configs(load_config(str(renamed)))) == comparable(
        merge_configs(load_config(str(DATA / source))))


def test_toml_that_looks_like_another_format_stays_toml(tmp_path):
    path = tmp_path / "bonds.conf"
    path.write_text('[connection]\nmode = "active-backup"\nauto = 1\n')
    with pytest.raises(ConfigError, match=r":3: connection: option auto: unknown option"):
        load_config(str(path))
