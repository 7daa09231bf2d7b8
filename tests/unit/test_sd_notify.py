"""daemon.sd_notify: systemd's readiness message, over a real datagram
socket; a socket that is not there is said in the log, never raised."""
import logging
import socket

from softbond import daemon


def test_ready_reaches_the_notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        daemon.sd_notify("READY=1")
        assert sock.recv(64) == b"READY=1"


def test_a_missing_notify_socket_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    with caplog.at_level(logging.WARNING, logger="softbond"):
        daemon.sd_notify("READY=1")
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot tell systemd 'READY=1' at {tmp_path / 'gone'}: No such file or directory"]
