"""`softbond web`'s token, listeners and limits, each a finding of issue 16
reproduced against a real server in a topology's host namespace: the token
never on the command line (1), a file others can read refused (1), a
generated token (1), non-loopback listeners (8), a descriptor flood (6),
a read flood (7). Only the last needs a bond; elsewhere the server serves
an empty list."""
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time

from tests.support.webutil import PORT, WebServer, http

SECRET = "correct-horse-battery-staple"
WRITE = "/api/bonds/bond9/set-active"  # no such bond: 404 once the token passes, 403 before


def _write(topo, token, base=f"http://127.0.0.1:{PORT}"):
    status, _, text = http(topo, WRITE, method="POST", body='{"iface": "eth0"}', base=base,
                           headers={"Content-Type": "application/json", "X-Softbond-Token": token})
    return status, json.loads(text)["error"]


def _refused(topo, *args, env=None):
    """A `softbond web` that must refuse: its one line of stderr, after
    checking that nothing listens."""
    proc = topo.exec(topo.host, [sys.executable, "-m", "softbond", "web", *args], check=False, env=env,
                     timeout=20)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("softbond: "), proc.stderr
    assert http(topo, "/api/info", check=False) is None  # nothing was started
    return lines[0]


def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode()


def test_the_token_is_never_taken_from_the_command_line(topo, tmp_path):
    line = _refused(topo, "--token", SECRET)
    assert "SOFTBOND_WEB_TOKEN" in line and "--token -" in line and SECRET not in line
    # from stdin, and from the environment: not in the process's command line
    for how in ("stdin", "env"):
        env = {**os.environ, "SOFTBOND_WEB_TOKEN": SECRET} if how == "env" else None
        server = WebServer(topo, *(["--token", "-"] if how == "stdin" else []), env=env,
                           stdin_text=SECRET + "\n" if how == "stdin" else None)
        try:
            assert SECRET not in _cmdline(server.proc.pid)
            assert _write(topo, "wrong")[0] == 403
            assert _write(topo, SECRET) == (404, "bond9: no such bond"), how
        finally:
            server.close()
    line = _refused(topo, "--token-file", "/nonexistent/token", env={**os.environ, "SOFTBOND_WEB_TOKEN": SECRET})
    assert "one place" in line


def test_a_token_file_others_can_read_is_refused(topo, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    token_file.chmod(0o644)
    line = _refused(topo, "--token-file", str(token_file))
    assert str(token_file) in line and "0644" in line
    token_file.chmod(0o640)
    assert "0640" in _refused(topo, "--token-file", str(token_file))
    token_file.chmod(0o600)
    os.chown(token_file, 65534, 65534)  # nobody's
    line = _refused(topo, "--token-file", str(token_file))
    assert str(token_file) in line and "uid 65534" in line
    os.chown(token_file, 0, 0)
    server = WebServer(topo, "--token-file", str(token_file))
    try:
        assert _write(topo, SECRET)[0] == 404
    finally:
        server.close()


def test_actions_without_a_token_generate_one_into_a_0600_file(topo):
    server = WebServer(topo)  # no token, no --actions: read-only
    try:
        assert "read-only" in _write(topo, "")[1]
    finally:
        server.close()
    server = WebServer(topo, "--actions")
    try:
        assert json.loads(http(topo, "/api/info")[2])["read_only"] is False
        banner = server.proc.stdout.readline() + server.proc.stdout.readline()
        path = banner.split("actions need the token in ")[1].split()[0]
        st = os.stat(path)
        assert st.st_mode & 0o777 == 0o600 and st.st_uid == 0, oct(st.st_mode)
        with open(path) as f:
            token = f.read().strip()
        assert len(token) >= 32 and token not in _cmdline(server.proc.pid)
        assert _write(topo, token)[0] == 404
    finally:
        out, err = server.output()
    assert token not in out + err
    server = WebServer(topo, "--actions")  # a new token each start, the file replaced
    try:
        with open(path) as f:
            token2 = f.read().strip()
        assert token2 != token
        assert _write(topo, token)[0] == 403
        assert _write(topo, token2)[0] == 404
    finally:
        server.close()
    assert not os.path.exists(path)  # the token dies with its server


def test_non_loopback_listeners_need_tls_or_an_explicit_insecure_flag(topo, tmp_path):
    line = _refused(topo, "--listen", f"0.0.0.0:{PORT}")
    assert "--tls-cert" in line and "--insecure-listen" in line
    assert "--tls-key" in _refused(topo, "--listen", f"0.0.0.0:{PORT}", "--tls-cert", str(tmp_path / "c"))
    server = WebServer(topo, "--listen", f"0.0.0.0:{PORT}", "--insecure-listen")
    try:
        # DNS rebinding: a name that is not this server is refused on every listener
        for host, status in (("rebound.example:8470", 421), ("127.0.0.1:8470", 200), ("10.9.8.7:8470", 200),
                             ("localhost:8470", 421), ("127.0.0.1:8471", 421)):
            assert http(topo, "/api/bonds", headers={"Host": host})[0] == status, host
    finally:
        out, err = server.output()
    assert "warning" in err and "plain HTTP" in err and "Traceback" not in err
    # TLS: a self-signed certificate
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=softbond-test", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    base = f"https://127.0.0.1:{PORT}"
    server = WebServer(topo, "--listen", f"0.0.0.0:{PORT}", "--tls-cert", str(cert), "--tls-key", str(key),
                       "--allow-host", "bonds.example", env={**os.environ, "SOFTBOND_WEB_TOKEN": SECRET}, base=base)
    try:
        assert http(topo, "/api/bonds", base=base)[0] == 200
        assert http(topo, "/api/bonds", base=base, headers={"Host": f"bonds.example:{PORT}"})[0] == 200
        assert http(topo, "/api/bonds", base=base, headers={"Host": f"other.example:{PORT}"})[0] == 421
        assert _write(topo, SECRET, base=base)[0] == 404
        assert http(topo, "/api/bonds", check=False) is None  # no plain HTTP on that port
    finally:
        out, err = server.output()
    assert out.startswith(f"softbond web: https://0.0.0.0:{PORT}/") and "plain HTTP" not in err


def test_a_connection_flood_does_not_take_the_server_down(topo):
    """400 idle connections from 30 loopback addresses against a server
    limited to 256 descriptors: it keeps answering, and says so in a few
    lines (it wrote tracebacks in a loop and stopped answering)."""
    def few_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    server = WebServer(topo, preexec_fn=few_files)
    flood = (
        "import socket, sys\n"
        "held = []\n"
        "for i in range(400):\n"
        "    s = socket.socket(); s.settimeout(2); s.bind((f'127.0.0.{2 + i % 30}', 0))\n"
        "    try:\n"
        "        s.connect(('127.0.0.1', int(sys.argv[1]))); held.append(s)\n"
        "    except OSError:\n"
        "        s.close()\n"
        "print(len(held), flush=True)\n"
        "sys.stdin.read()\n")
    attacker = topo.popen(topo.host, [sys.executable, "-c", flood, str(PORT)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    try:
        opened = int(attacker.stdout.readline())
        assert opened >= 100, opened
        for _ in range(5):
            status, _, text = http(topo, "/api/bonds")
            assert status == 200 and json.loads(text) == []
    finally:
        attacker.stdin.close()
        attacker.wait(timeout=20)
        err = server.output()[1]
    assert "Traceback" not in err and len(err) < 4000, (len(err), err[:2000])
    assert all(line.startswith("softbond web: ") for line in err.splitlines()), err[:2000]


class CountingRelay:
    """A control socket in front of the bond's: every request goes through
    to the real bond process, and the status calls are counted on the way."""

    def __init__(self, path, target):
        self.target, self.status_calls, self.lock = target, 0, threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn):
        with conn, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bond:
            request = conn.makefile("rb").readline()
            if json.loads(request).get("cmd") == "status":
                with self.lock:
                    self.status_calls += 1
            bond.connect(self.target)
            bond.sendall(request)
            conn.sendall(bond.makefile("rb").readline())

    def close(self):
        self.sock.close()


READERS = """
import http.client, sys, threading
ok = []
def reader(i):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10, source_address=(f"127.0.0.{2 + i}", 0))
    for n in range(20):
        c.request("GET", ["/api/bonds", "/api/bonds/bond0", "/api/bonds/bond0/counters", "/metrics"][n % 4])
        r = c.getresponse()
        r.read()
        ok.append(r.status == 200)
threads = [threading.Thread(target=reader, args=(i,)) for i in range(20)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(ok), len(ok))
"""


def test_a_read_flood_makes_no_status_calls_into_the_bond(topo, tmp_path):
    """400 reads from 20 addresses: the status calls that reach the bond
    process are the sampler's (one a second), not one per read."""
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=active-backup", "miimon=100", check=False)
    assert proc.returncode == 0, proc.stderr
    # softbond web looks for control sockets in $SOFTBOND_RUN_DIR/netns-<inode>/
    run_dir = tmp_path / f"netns-{os.stat(f'/run/netns/{topo.host}').st_ino}"
    run_dir.mkdir(mode=0o700)
    relay = CountingRelay(str(run_dir / "bond0.sock"), topo.control_socket("bond0"))
    # The bonds that exist are those with a state record (runtime.list_bonds).
    shutil.copy(os.path.join(os.path.dirname(topo.control_socket("bond0")), "bond0.json"), run_dir)
    server = WebServer(topo, env={**os.environ, "SOFTBOND_RUN_DIR": str(tmp_path)})
    try:
        assert [b["bond"] for b in json.loads(http(topo, "/api/bonds")[2])] == ["bond0"]
        before, started = relay.status_calls, time.monotonic()
        out = topo.exec(topo.host, [sys.executable, "-c", READERS, str(PORT)], timeout=60).stdout
        elapsed = time.monotonic() - started
        calls = relay.status_calls - before
        print(f"{out.strip()} reads answered/made in {elapsed:.2f} s; status calls into the bond: {calls}")
        assert out.split() == ["400", "400"]
        assert calls <= elapsed / 1.0 + 2, (calls, elapsed)  # the sampler's, once a second
    finally:
        server.close()
        relay.close()
