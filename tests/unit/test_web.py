"""softbond web: the HTTP API, its security rules, the SSE stream, /metrics
and the OpenAPI document, on a fake bond source (no sockets, no root)."""
from __future__ import annotations

import asyncio
import json
import os

import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from softbond.faces.web import metrics
from softbond.faces.web.server import SECURITY_HEADERS, STATIC, TOKEN_HEADER, create_app, loopback_hosts, parse_listen
from tests.support.webfake import TOKEN, Fake, bond_status, same_origin, slave, with_client


# ------------------------------------------------------------------ reads
def test_api_bonds_lists_status_dicts_and_one_bond_is_exactly_status():
    async def t(client, fake):
        r = await client.get("/api/bonds")
        assert r.status == 200
        assert await r.json() == fake.statuses
        r = await client.get("/api/bonds/bond1")
        assert r.status == 200
        assert await r.json() == fake.statuses[1]
        r = await client.get("/api/bonds/bond0/counters")
        body = await r.json()
        assert body["members"]["eth1"]["tx_bytes"] == 4000
        assert body["total"] == {"rx_bytes": 3000, "tx_bytes": 6000, "rx_packets": 30, "tx_packets": 60,
                                 "rx_dropped": 3, "tx_dropped": 0}
    with_client(t)


def test_unknown_bond_is_a_json_404_naming_it():
    async def t(client, fake):
        for path in ("/api/bonds/bond9", "/api/bonds/bond9/counters"):
            r = await client.get(path)
            assert r.status == 404
            assert r.content_type == "application/json"
            assert "bond9" in (await r.json())["error"]
        r = await client.post("/api/bonds/bond9/set-active", json={"iface": "eth1"},
                              headers=same_origin(client, **{TOKEN_HEADER: TOKEN}))
        assert r.status == 404 and "bond9" in (await r.json())["error"]
        assert fake.actions == []
        r = await client.get("/api/nothing-here")
        assert r.status == 404 and "error" in await r.json()
    with_client(t, token=TOKEN)


def test_security_headers_on_pages_api_and_errors():
    async def t(client, fake):
        for path, status in (("/", 200), ("/static/app.js", 200), ("/api/bonds", 200),
                             ("/api/bonds/nope", 404), ("/metrics", 200), ("/api/openapi.json", 200)):
            r = await client.get(path)
            assert r.status == status, path
            for key, value in SECURITY_HEADERS.items():
                assert r.headers.get(key) == value, (path, key)
            csp = r.headers["Content-Security-Policy"]
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            if path.startswith("/api/") or path == "/metrics":
                assert r.headers["Cache-Control"] == "no-store", path
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
    with_client(t)


def test_page_has_no_inline_script_and_vendors_its_chart_library():
    html = open(os.path.join(STATIC, "index.html")).read()
    assert "<script>" not in html and "onclick" not in html and "<style" not in html
    assert '<script src="/static/vendor/uplot/uPlot.iife.min.js"' in html
    assert os.path.getsize(os.path.join(STATIC, "vendor", "uplot", "uPlot.iife.min.js")) > 10_000
    assert os.path.exists(os.path.join(STATIC, "vendor", "uplot", "LICENSE"))

    async def t(client, fake):
        r = await client.get("/static/vendor/uplot/uPlot.iife.min.js")
        assert r.status == 200 and "uPlot" in await r.text()
        r = await client.get("/static/../server.py")
        assert r.status in (403, 404)
    with_client(t)


# ----------------------------------------------------------------- writes
def test_read_only_server_refuses_every_write():
    async def t(client, fake):
        for action, body in (("set-active", {"iface": "eth1"}), ("enslave", {"ifaces": ["eth9"]}),
                             ("release", {"ifaces": ["eth1"]})):
            for headers in ({}, same_origin(client, **{TOKEN_HEADER: ""}),
                            same_origin(client, **{TOKEN_HEADER: TOKEN})):
                r = await client.post(f"/api/bonds/bond0/{action}", json=body, headers=headers)
                assert r.status == 403, (action, headers)
                assert "read-only" in (await r.json())["error"]
        r = await client.get("/api/info")
        assert (await r.json())["read_only"] is True
    fake = with_client(t)
    assert fake.actions == []


def test_token_is_required_and_compared():
    async def t(client, fake):
        url = "/api/bonds/bond0/set-active"
        r = await client.post(url, json={"iface": "eth1"})
        assert r.status == 403 and TOKEN_HEADER in (await r.json())["error"]
        for wrong in ("", "s3cret", TOKEN + "x", "S3CRET-TOKEN"):
            r = await client.post(url, json={"iface": "eth1"}, headers={TOKEN_HEADER: wrong})
            assert r.status == 403 and (await r.json())["error"] == "wrong token"
        assert fake.actions == []
        r = await client.post(url, json={"iface": "eth1"}, headers=same_origin(client, **{TOKEN_HEADER: TOKEN}))
        assert r.status == 200 and (await r.json())["ok"] is True
        r = await client.post("/api/bonds/bond0/enslave", json={"ifaces": ["eth7"]}, headers={TOKEN_HEADER: TOKEN})
        assert r.status == 200
        r = await client.post("/api/bonds/bond0/release", json={"iface": "eth1"}, headers={TOKEN_HEADER: TOKEN})
        assert r.status == 200
        assert fake.actions == [("bond0", {"cmd": "set_active", "iface": "eth1"}),
                                ("bond0", {"cmd": "enslave", "ifaces": ["eth7"]}),
                                ("bond0", {"cmd": "release", "ifaces": ["eth1"]})]
        # the bond refusing is reported, not a crash
        r = await client.post("/api/bonds/bond0/enslave", json={"ifaces": ["nope0"]}, headers={TOKEN_HEADER: TOKEN})
        assert r.status == 409 and "nope0" in (await r.json())["error"]
        for body in ({}, {"iface": 5}, {"ifaces": []}, [1, 2]):
            r = await client.post("/api/bonds/bond0/enslave", json=body, headers={TOKEN_HEADER: TOKEN})
            assert r.status == 400, body
        r = await client.post("/api/bonds/bond0/set-active", data=b"{not json", headers={TOKEN_HEADER: TOKEN})
        assert r.status == 400
    with_client(t, token=TOKEN)


def test_cross_site_requests_are_refused_even_with_the_token():
    async def t(client, fake):
        url = "/api/bonds/bond0/set-active"
        for headers in ({"Origin": "http://evil.example"},
                        {"Origin": "null"},
                        {"Origin": f"http://{client.host}:{client.port + 1}"},
                        {"Sec-Fetch-Site": "cross-site"},
                        {"Sec-Fetch-Site": "same-site"}):
            r = await client.post(url, json={"iface": "eth1"}, headers={TOKEN_HEADER: TOKEN, **headers})
            assert r.status == 403, headers
            assert "cross-site" in (await r.json())["error"]
        assert fake.actions == []
        r = await client.post(url, json={"iface": "eth1"},
                              headers=same_origin(client, **{TOKEN_HEADER: TOKEN, "Sec-Fetch-Site": "same-origin"}))
        assert r.status == 200
    with_client(t, token=TOKEN)


def test_host_header_is_checked_on_a_loopback_listener():
    async def t(client, fake):
        r = await client.get("/api/bonds", headers={"Host": "rebound.example:8470"})
        assert r.status == 421
        r = await client.get("/api/bonds", headers={"Host": "127.0.0.1:8470"})
        assert r.status == 200
        r = await client.get("/api/bonds", headers={"Host": "localhost:8470"})
        assert r.status == 200
    with_client(t, allowed_hosts=loopback_hosts("127.0.0.1", 8470))
    assert loopback_hosts("0.0.0.0", 8470) is None
    assert loopback_hosts("192.0.2.1", 8470) is None


def test_parse_listen():
    assert parse_listen("127.0.0.1:8470") == ("127.0.0.1", 8470)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen(":8080") == ("0.0.0.0", 8080)
    for bad in ("127.0.0.1", "127.0.0.1:0", "host.example:80", "1.2.3.4:99999"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_empty_token_is_not_a_token():
    with pytest.raises(ValueError):
        create_app(Fake().source, token="")


# ---------------------------------------------------------------- openapi
def test_openapi_document_lists_the_paths():
    async def t(client, fake):
        r = await client.get("/api/openapi.json")
        assert r.status == 200
        doc = json.loads(await r.text())
        assert doc["openapi"].startswith("3.")
        for path in ("/api/bonds", "/api/bonds/{bond}", "/api/bonds/{bond}/counters",
                     "/api/bonds/{bond}/set-active", "/api/bonds/{bond}/enslave", "/api/bonds/{bond}/release",
                     "/api/stream", "/metrics"):
            assert path in doc["paths"], path
        assert "404" in doc["paths"]["/api/bonds/{bond}"]["get"]["responses"]
        assert doc["components"]["securitySchemes"]["token"]["name"] == TOKEN_HEADER
        validate(doc)  # raises on anything that is not valid OpenAPI 3
    with_client(t)


# ------------------------------------------------------------------- SSE
async def _read_events(response, count):
    events, kind, buf = [], None, b""
    while len(events) < count:
        line = await asyncio.wait_for(response.content.readline(), timeout=5)
        if line.startswith(b"event: "):
            kind = line[7:].strip().decode()
        elif line.startswith(b"data: "):
            buf = line[6:]
        elif line == b"\n" and kind:
            events.append((kind, json.loads(buf)))
            kind = None
    return events


def test_stream_pushes_samples_with_rates_and_new_events():
    async def t(client, fake):
        r = await client.get("/api/stream")
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert r.headers["Cache-Control"] == "no-store"
        for s in fake.statuses:  # traffic: eth0 sends 125 kB between samples
            s["slaves"][0]["counters"]["tx_bytes"] += 125_000
        events = await _read_events(r, 4)
        assert events[0][0] == "full"
        first = events[0][1]
        assert first["read_only"] is True and first["units"] == ["Mbit/s", "Kbit/s", "packets/s"]
        updates = [e for k, e in events if k == "update"]
        assert updates, events
        names = [b["bond"] for b in updates[-1]["bonds"]]
        assert names == ["bond0", "bond1"]
        assert updates[-1]["bonds"][0]["status"]["active_slave"] == "eth0"
        # some update carries the rate of the traffic above
        tx = [b["point"]["members"]["eth0"][1] for u in updates for b in u["bonds"]
              if b["bond"] == "bond0" and b["point"]]
        assert any(v > 0 for v in tx), tx
        r.close()
    with_client(t, interval=0.05)


# ---------------------------------------------------------------- metrics
def _families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(families, name, **labels):
    for family in families.values():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not found")


def test_metrics_node_bonding_names_and_softbond_series():
    fake = Fake()
    fake.statuses[0]["slaves"].append(slave("eth5", 5, mii="up"))  # bond0: 3 slaves, 2 up
    text = metrics.render(fake.source).decode()
    fams = _families(text)
    assert fams["node_bonding_slaves"].type == "gauge"
    assert _value(fams, "node_bonding_slaves", master="bond0") == 3
    assert _value(fams, "node_bonding_active", master="bond0") == 2
    assert _value(fams, "node_bonding_slaves", master="bond1") == 2
    assert _value(fams, "node_bonding_active", master="bond1") == 2
    # counters per member, with _total
    assert fams["softbond_member_rx_bytes"].type == "counter"
    assert _value(fams, "softbond_member_rx_bytes_total", bond="bond0", member="eth1") == 2000
    assert _value(fams, "softbond_member_tx_packets_total", bond="bond0", member="eth0") == 20
    assert _value(fams, "softbond_member_rx_dropped_total", bond="bond0", member="eth5") == 5
    assert _value(fams, "softbond_member_link_up", bond="bond0", member="eth1") == 0
    assert _value(fams, "softbond_member_link_up", bond="bond0", member="eth0") == 1
    assert _value(fams, "softbond_member_link_failures_total", bond="bond0", member="eth1") == 1
    assert _value(fams, "softbond_member_active", bond="bond0", member="eth0") == 1
    assert _value(fams, "softbond_member_active", bond="bond0", member="eth1") == 0
    assert _value(fams, "softbond_bond_failovers_total", bond="bond0") == 2
    assert _value(fams, "softbond_bond_info", bond="bond1", mode="802.3ad", mode_id="4") == 1
    assert _value(fams, "softbond_bonds") == 2
    # LACP, only where the member has 802.3ad details
    assert _value(fams, "softbond_member_lacpdu_rx_total", bond="bond1", member="eth2") == 12
    assert _value(fams, "softbond_member_lacpdu_illegal_rx_total", bond="bond1", member="eth2") == 1
    assert _value(fams, "softbond_member_lacp_actor_port_state", bond="bond1", member="eth2") == 61
    assert _value(fams, "softbond_member_lacp_partner_port_state", bond="bond1", member="eth2") == 63
    assert _value(fams, "softbond_member_lacp_partner_info", bond="bond1", member="eth2",
                  partner_system_mac="a8:f9:4b:00:00:01") == 1
    with pytest.raises(AssertionError):
        _value(fams, "softbond_member_lacp_actor_port_state", bond="bond0", member="eth0")
    # the Python data path's loop; none on eBPF
    assert _value(fams, "softbond_datapath_frames_total", bond="bond0", direction="out") == 70
    assert _value(fams, "softbond_datapath_wakeups_total", bond="bond0", how="polled") == 25
    assert _value(fams, "softbond_datapath_wakeups_total", bond="bond0", how="slept") == 40


def test_metrics_leave_out_the_loop_on_ebpf():
    fake = Fake()
    for st in fake.statuses:
        st["datapath"], st["datapath_loop"] = "ebpf", None
    fams = _families(metrics.render(fake.source).decode())
    with pytest.raises(AssertionError):
        _value(fams, "softbond_datapath_frames_total", bond="bond0", direction="out")


def test_metrics_endpoint_serves_the_latest_sample():
    async def t(client, fake):
        r = await client.get("/metrics")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        fams = _families(await r.text())
        assert _value(fams, "node_bonding_active", master="bond0") == 1
        fake.statuses[0]["slaves"][1]["mii_status"] = "up"
        fake.statuses = fake.statuses[:1]
        for _ in range(100):  # the next sample (every 0.05 s) has it
            fams = _families(await (await client.get("/metrics")).text())
            if _value(fams, "node_bonding_active", master="bond0") == 2:
                break
            await asyncio.sleep(0.02)
        assert _value(fams, "node_bonding_active", master="bond0") == 2
        with pytest.raises(AssertionError):
            _value(fams, "node_bonding_slaves", master="bond1")
    with_client(t, interval=0.05)


def test_metrics_with_no_bonds():
    fams = _families(metrics.render(lambda: []).decode())
    assert _value(fams, "softbond_bonds") == 0


def test_metrics_say_which_bonds_are_managed():
    dead = {"name": "bond1", "managed": False, "pid": 4242,
            "reason": "bond1: process not running; forwarding stopped (python); run `softbond up` to adopt it"}
    fams = _families(metrics.render(lambda: [bond_status("bond0"), dead]).decode())
    assert _value(fams, "softbond_bond_managed", master="bond0") == 1
    assert _value(fams, "softbond_bond_managed", master="bond1") == 0
    assert _value(fams, "softbond_bonds") == 1
    with pytest.raises(AssertionError):
        _value(fams, "node_bonding_slaves", master="bond1")


def test_metrics_path_monitor_series_only_where_it_runs():
    fake = Fake()
    fake.statuses[0]["slaves"][0]["path"] = {"state": "in service", "loss_pct": 2.5, "rtt_ms": 0.25, "probes": 40,
                                             "taken_out": 1, "reason": "", "target": "10.0.0.1"}
    fake.statuses[0]["slaves"][1]["path"] = {"state": "out of service", "loss_pct": 40.0, "rtt_ms": None,
                                             "probes": 40, "taken_out": 3, "reason": "lost 16", "target": "10.0.0.1"}
    fams = _families(metrics.render(fake.source).decode())
    assert _value(fams, "softbond_member_path_loss_ratio", bond="bond0", member="eth0") == 0.025
    assert _value(fams, "softbond_member_path_rtt_seconds", bond="bond0", member="eth0") == 0.00025
    assert _value(fams, "softbond_member_path_in_service", bond="bond0", member="eth0") == 1
    assert _value(fams, "softbond_member_path_in_service", bond="bond0", member="eth1") == 0
    assert _value(fams, "softbond_member_path_taken_out_total", bond="bond0", member="eth1") == 3
    with pytest.raises(AssertionError):     # no answered probe: no RTT sample
        _value(fams, "softbond_member_path_rtt_seconds", bond="bond0", member="eth1")
    with pytest.raises(AssertionError):     # bond1 runs no path monitor
        _value(fams, "softbond_member_path_in_service", bond="bond1", member="eth2")
