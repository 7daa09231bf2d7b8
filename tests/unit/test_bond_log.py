"""The bond's log: repeats collapsed with a count, rotation past a size."""
import logging
import os
import sys

from softbond import daemon
from softbond.kernel import runfiles


def test_repeated_message_written_once_with_its_count(tmp_path, monkeypatch):
    path = tmp_path / "bond0.log"
    with open(path, "w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        handler = daemon.BondLogHandler(None)
        log = logging.getLogger("test-bond-log")
        log.handlers[:] = [handler]
        log.propagate = False
        for _ in range(1900):
            log.warning("bond0: control socket: cannot accept a connection (Too many open files); pausing")
        log.warning("bond0: something else")
    lines = path.read_text().splitlines()
    assert lines == ["bond0: control socket: cannot accept a connection (Too many open files); pausing",
                     "(the previous message repeated 1899 times)", "bond0: something else"]


def test_log_rotated_past_its_size(tmp_path):
    path = str(tmp_path / "bond0.log")
    fd = runfiles.open_log(path)
    spare = os.dup(2)
    try:
        os.dup2(fd, 2)
        os.write(2, b"x" * 2048)
        assert not runfiles.rotate_log(path, fds=(2,), max_bytes=4096)
        os.write(2, b"y" * 4096)
        assert runfiles.rotate_log(path, fds=(2,), max_bytes=4096)
        os.write(2, b"after\n")
    finally:
        os.dup2(spare, 2)
        os.close(spare)
        os.close(fd)
    assert os.path.getsize(path + ".1") == 2048 + 4096
    assert open(path).read() == "after\n"
    # Not the file this process writes to (systemd's journal): left alone.
    assert not runfiles.rotate_log(path + ".1", fds=(1,), max_bytes=10)
