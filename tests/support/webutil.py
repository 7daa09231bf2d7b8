"""`softbond web` from integration tests: start it in a topology's host
namespace and make HTTP(S) requests there."""
import json
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

PORT = 8470  # the default; every topology has its own loopback


def http(topo, path, method="GET", headers=None, body=None, check=True, base=f"http://127.0.0.1:{PORT}",
         source=None):
    """(status, headers, body text) of a request to the web server, made
    inside the host namespace (HTTPS without checking the certificate;
    from the local address `source` if given); None when it got no answer
    and check is False."""
    script = (
        "import http.client, json, ssl, sys, urllib.parse\n"
        "url, method, headers, body, source = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], "
        "sys.argv[5]\n"
        "u = urllib.parse.urlsplit(url)\n"
        "kw = {'timeout': 10, 'source_address': (source, 0) if source else None}\n"
        "if u.scheme == 'https':\n"
        "    c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl._create_unverified_context(), **kw)\n"
        "else:\n"
        "    c = http.client.HTTPConnection(u.hostname, u.port, **kw)\n"
        "if 'Host' in headers:\n"
        "    c.putrequest(method, u.path or '/', skip_host=True)\n"
        "else:\n"
        "    c.putrequest(method, u.path or '/')\n"
        "data = body.encode() if body else b''\n"
        "for k, v in {**headers, 'Content-Length': str(len(data))}.items():\n"
        "    c.putheader(k, v)\n"
        "c.endheaders(data)\n"
        "r = c.getresponse()\n"
        "print(json.dumps([r.status, dict(r.headers), r.read().decode()]))\n")
    proc = topo.exec(topo.host, [sys.executable, "-c", script, base + path, method, json.dumps(headers or {}),
                                 body or "", source or ""], check=check)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)


class WebServer:
    """`softbond web ARGS` in the host namespace, up once /api/info answers."""

    def __init__(self, topo, *args, env=None, stdin_text=None, base=f"http://127.0.0.1:{PORT}", preexec_fn=None):
        self.topo = topo
        self.proc = topo.popen(topo.host, [sys.executable, "-m", "softbond", "web", *args],
                               stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=preexec_fn)
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text)
            self.proc.stdin.close()
            self.proc.stdin = None  # communicate() below must not flush it
        ok = topo.wait_for(lambda: self.proc.poll() is not None or
                           (http(topo, "/api/info", check=False, base=base) or [0])[0] == 200,
                           timeout=15, interval=0.2)
        assert ok and self.proc.poll() is None, f"softbond web did not start: {self.output()}"

    def output(self):
        """(stdout, stderr) once it has stopped (it is told to)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


@pytest.fixture
def web(topo):
    """start(*args): a `softbond web` server in the topology's host namespace,
    closed after the test."""
    servers = []

    def start(*args):
        server = WebServer(topo, *args)
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.close()


def metric_samples(text):
    """{(sample name, sorted label pairs): value} of a /metrics text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out
