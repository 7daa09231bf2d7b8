"""Fleet monitoring with Debian's own tools, each run on the test host
namespace's loopback and killed at the end: prometheus-node-exporter
exposing a bond's metrics_textfile (and following a failover), and a
Prometheus server scraping `softbond web`'s /metrics with softbond's rules
loaded."""
from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.parse
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.netcheck import status_json
from tests.support.webutil import PORT as WEB_PORT
from tests.support.webutil import WebServer, http

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus" / "softbond-rules.yml"
NODE_EXPORTER_HELP = ROOT / "tests" / "data" / "node_exporter_bonding" / "metrics.txt"
NODE_EXPORTER_PORT = 9100     # the host namespace's own loopback: nothing else listens there
PROMETHEUS_PORT = 9090


def up(topo, *options):
    proc = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=active-backup", "miimon=100", *options,
                         check=False)
    assert proc.returncode == 0, proc.stderr


@contextlib.contextmanager
def running(topo, argv, log: Path):
    """A server in the host namespace, always killed (and waited for) at the end."""
    with open(log, "wb") as out:
        proc = topo.popen(topo.host, argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def scrape(topo, port: int) -> tuple[dict, str]:
    """{(name, labels): value} of the /metrics at 127.0.0.1:port, and its text."""
    got = http(topo, "/metrics", base=f"http://127.0.0.1:{port}", check=False)
    if not got or got[0] != 200:
        return {}, ""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(got[2]) for s in family.samples}, got[2]


def member(name, bond="bond0"):
    return (("bond", bond), ("member", name))


def test_node_exporter_exposes_the_textfile_and_follows_a_failover(topo, tmp_path):
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    up(topo, f"metrics_textfile={textdir}")
    argv = ["prometheus-node-exporter", "--collector.disable-defaults", "--collector.textfile",
            f"--collector.textfile.directory={textdir}", f"--web.listen-address=127.0.0.1:{NODE_EXPORTER_PORT}"]
    master, bond = (("master", "bond0"),), (("bond", "bond0"),)
    with running(topo, argv, tmp_path / "node_exporter.log"):
        def shows(expected: dict) -> str:
            """node_exporter's /metrics once it has every expected value."""
            def check():
                values, text = scrape(topo, NODE_EXPORTER_PORT)
                return text if all(values.get(k) == v for k, v in expected.items()) else None
            text = topo.wait_for(check, timeout=10, interval=0.3)
            values, _ = scrape(topo, NODE_EXPORTER_PORT)
            assert text, {k: (values.get(k), v) for k, v in expected.items()}
            return text

        text = shows({("node_bonding_slaves", master): 2, ("node_bonding_active", master): 2,
                      ("softbond_member_active", member("eth0")): 1, ("softbond_member_active", member("eth1")): 0,
                      ("softbond_bond_failovers_total", bond): 0, ("node_textfile_scrape_error", ()): 0})
        # node_exporter's own HELP lines for its own names
        for line in NODE_EXPORTER_HELP.read_text().splitlines():
            if line.startswith("# HELP"):
                assert line + "\n" in text, line
        assert "softbond_bonds" not in text

        topo.cut(0)
        shows({("node_bonding_slaves", master): 2, ("node_bonding_active", master): 1,
               ("softbond_member_active", member("eth1")): 1, ("softbond_member_link_up", member("eth0")): 0,
               ("softbond_bond_failovers_total", bond): 1, ("node_textfile_scrape_error", ()): 0})
    assert status_json(topo)["active_slave"] == "eth1"


def test_metrics_textfile_moves_stops_and_is_refused_live(topo, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    # a refused up changes nothing: no bond, no file
    bad = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=1", f"metrics_textfile={tmp_path}/nope",
                        check=False)
    assert bad.returncode != 0
    assert bad.stderr.strip() == f"softbond: bond0: option metrics_textfile: {tmp_path}/nope: no such directory"
    assert topo.exec(topo.host, ["ip", "link", "show", "bond0"], check=False).returncode != 0
    relative = topo.softbond("up", "bond0", "--slaves", "eth0,eth1", "mode=1", "metrics_textfile=x/y", check=False)
    assert relative.returncode != 0 and len(relative.stderr.splitlines()) == 1
    assert "option metrics_textfile: invalid value (x/y)" in relative.stderr

    up(topo, f"metrics_textfile={first}")
    assert topo.wait_for(lambda: (first / "softbond-bond0.prom").exists(), timeout=5)
    assert "node_bonding_slaves{master=\"bond0\"} 2.0" in (first / "softbond-bond0.prom").read_text()
    topo.softbond("set", "bond0", "metrics_textfile", str(second))
    assert topo.wait_for(lambda: (second / "softbond-bond0.prom").exists(), timeout=5)
    assert not (first / "softbond-bond0.prom").exists()

    refused = topo.softbond("set", "bond0", "metrics_textfile", str(tmp_path / "gone"), check=False)
    assert refused.returncode != 0
    assert refused.stderr.strip().endswith(f"bond0: option metrics_textfile: {tmp_path}/gone: no such directory")
    assert status_json(topo)["options"]["metrics_textfile"] == str(second)

    topo.softbond("set", "bond0", "metrics_textfile", "")
    assert topo.wait_for(lambda: not (second / "softbond-bond0.prom").exists(), timeout=5)
    topo.softbond("set", "bond0", "metrics_textfile", str(first))
    assert topo.wait_for(lambda: (first / "softbond-bond0.prom").exists(), timeout=5)
    topo.softbond("down", "bond0")
    assert not (first / "softbond-bond0.prom").exists()
    assert sorted(p.name for p in first.iterdir()) == []     # no temporary file left either


def prometheus_query(topo, query: str) -> list:
    got = http(topo, "/api/v1/query", method="POST", body=urllib.parse.urlencode({"query": query}),
               headers={"Content-Type": "application/x-www-form-urlencoded"},
               base=f"http://127.0.0.1:{PROMETHEUS_PORT}", check=False)   # http() sends no query string
    if not got or got[0] != 200:
        return []
    return json.loads(got[2])["data"]["result"]


def test_prometheus_scrapes_softbond_web_with_the_rules_loaded(topo, tmp_path):
    up(topo)
    web = WebServer(topo, "--listen", f"127.0.0.1:{WEB_PORT}")
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({   # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "softbond", "static_configs": [{"targets": [f"127.0.0.1:{WEB_PORT}"]}]}]}))
    argv = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"]
    try:
        with running(topo, argv, tmp_path / "prometheus.log"):
            def value(query):
                result = prometheus_query(topo, query)
                return [float(r["value"][1]) for r in result]

            assert topo.wait_for(lambda: value('up{job="softbond"}') == [1.0], timeout=20, interval=0.5), \
                (value('up{job="softbond"}'), (tmp_path / "prometheus.log").read_text()[-2000:])
            assert topo.wait_for(lambda: value('node_bonding_slaves{master="bond0"}') == [2.0], timeout=5)
            assert value('node_bonding_active{master="bond0"}') == [2.0]
            assert value('softbond_member_active{bond="bond0",member="eth0"}') == [1.0]
            assert value('softbond_bond_failovers_total{bond="bond0"}') == [0.0]

            def rules_evaluated():
                got = http(topo, "/api/v1/rules", base=f"http://127.0.0.1:{PROMETHEUS_PORT}", check=False)
                rules = [r for g in json.loads(got[2])["data"]["groups"] for r in g["rules"]] if got else []
                return rules if rules and all(r["lastEvaluation"][:4] != "0001" for r in rules) else None

            rules = topo.wait_for(rules_evaluated, timeout=10, interval=0.5)
            assert rules, "the rules were never evaluated"
            assert [r["name"] for r in rules if r["health"] != "ok"] == []
            # a recording rule over softbond's series has a value per member
            assert topo.wait_for(lambda: len(value("softbond:member_rx_mbits:rate1m")) == 2, timeout=10)
    finally:
        web.close()
