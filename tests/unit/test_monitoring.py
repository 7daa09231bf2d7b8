"""monitoring/: the Prometheus rules (checked and unit-tested by Debian's
promtool) and the Grafana dashboard, against the series softbond exports."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from softbond.faces.web import metrics
from tests.support.webfake import fake_statuses

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus" / "softbond-rules.yml"
RULE_TESTS = ROOT / "monitoring" / "prometheus" / "softbond-rules.test.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "softbond-dashboard.json"
# Series the rules read that softbond web does not make: node_exporter's own.
NOT_OURS = {"node_textfile_mtime_seconds"}
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "rate", "irate", "increase", "floor", "ceil", "time",
    "max_over_time", "min_over_time", "avg_over_time", "label_values", "topk", "bottomk", "abs", "e",
}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: scripts/setup.sh --test installs Debian's prometheus", pytrace=False)
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def exported() -> set[str]:
    """Every family and sample name softbond's /metrics has for bonds of
    both kinds (active-backup on the Python path, 802.3ad with LACP)."""
    text = metrics.render(lambda: fake_statuses()).decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers left once
    strings, label matchers, ranges and grouping clauses are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"label_values\(([^,)]*),[^)]*\)", r"\1", expr)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"\d+e\d*|e\d+", w)}


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    queries += [v["query"]["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    return queries


def test_series_in_finds_metric_names_only():
    assert series_in('sum by (instance, bond) (rate(a_total{bond=~"$bond",x="y z"}[$__rate_interval])) * 8 / 1e6'
                     ) == {"a_total"}
    assert series_in('label_values(softbond_bond_info{instance=~"$instance"}, bond)') == {"softbond_bond_info"}
    assert series_in("node_bonding_active < node_bonding_slaves") == {"node_bonding_active", "node_bonding_slaves"}


def test_promtool_checks_the_rules():
    proc = promtool("check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_of_the_rules_pass():
    proc = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_every_alert_of_the_issue_is_there_and_unit_tested():
    alerts = {r["alert"] for r in rules() if "alert" in r}
    assert alerts >= {"SoftbondMemberDown", "SoftbondBondDegraded", "SoftbondLacpPartnerLost",
                      "SoftbondLacpPartnerDefaulted", "SoftbondFailoverStorm", "SoftbondDatapathFellBackToPython",
                      "SoftbondBondProcessNotRunning", "SoftbondTextfileStale"}
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    assert alerts == tested, alerts ^ tested


def test_rules_read_only_series_softbond_exports():
    ours = exported()
    recorded = {r["record"] for r in rules() if "record" in r}
    for rule in rules():
        unknown = series_in(rule["expr"]) - ours - recorded - NOT_OURS
        assert not unknown, (rule.get("alert") or rule.get("record"), unknown)


def test_dashboard_queries_name_only_series_softbond_exports():
    ours = exported()
    queries = dashboard_queries()
    assert len(queries) > 20
    named = set()
    for query in queries:
        names = series_in(query)
        assert names, query
        assert names <= ours, (query, names - ours)
        named |= names
    # what the issue asks the dashboard to show
    for name in ("softbond_member_rx_bytes_total", "softbond_member_tx_packets_total", "softbond_bond_failovers_total",
                 "softbond_member_lacp_actor_port_state", "softbond_member_rx_dropped_total"):
        assert name in named, name


def test_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses each query, Grafana's variables given values."""
    values = {"$__rate_interval": "1m", "$__range": "1h", "$instance": ".*", "$bond": ".*"}
    exprs = []
    for query in dashboard_queries():
        if query.startswith("label_values("):
            continue        # Grafana's, not PromQL
        for var, value in values.items():
            query = query.replace(var, value)
        assert "$" not in query, query
        exprs.append(query)
    group = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{i}", "expr": e}
                                                        for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(group))
    proc = promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
