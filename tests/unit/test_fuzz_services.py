"""Issue 7, short CI run: the control socket's request handling, the web API
and the /proc parser, fed by hypothesis through the fuzz harnesses
(fuzz/harnesses.py), plus what the fuzzer found, pinned."""

import asyncio
import json

import pytest
from hypothesis import given

from fuzz import harnesses
from fuzz.harnesses import HARNESSES
from fuzz.strategies import ci_settings, inputs, run_many
from tests.support.procparse import parse_proc


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    harnesses.cleanup()


def test_service_seeds_pass():
    for name in ("control", "web", "proc"):
        for seed in HARNESSES[name].seeds():
            HARNESSES[name].func(seed)


def _control_reply(line: bytes) -> dict:
    loop, _, server = harnesses._control()
    return loop.run_until_complete(server.handle(line))


@pytest.mark.parametrize("line", [b"[" * 5000, b'{"cmd": ' * 3000, b"\xff\n", b"", b"null"],
                         ids=["nested-list", "nested-object", "not-utf8", "empty", "null"])
def test_control_refuses_malformed_requests_with_a_reply(line):
    reply = _control_reply(line)
    assert reply["ok"] is False and "malformed request" in reply["error"]
    json.dumps(reply)


def _web_post(path: str, body: bytes) -> tuple[int, bytes]:
    loop, fake, client = harnesses._web()
    host = f"{client.host}:{client.port}"

    async def go():
        async with client.session.post(f"http://{host}{path}", data=body, headers={
                "X-Softbond-Token": harnesses.WEB_TOKEN, "Origin": f"http://{host}"}) as r:
            return r.status, await r.read()
    return loop.run_until_complete(go())


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"iface": ' * 1500], ids=["list", "object"])
def test_web_refuses_deeply_nested_json_with_a_400(body):
    assert len(body) <= 16 * 1024  # under MAX_BODY: reaches json.loads
    status, payload = _web_post("/api/bonds/bond0/set-active", body)
    assert status == 400 and "error" in json.loads(payload)


def test_web_head_of_the_event_stream_has_no_body():
    loop, _, client = harnesses._web()

    async def go():
        reader, writer = await asyncio.open_connection(client.host, client.port)
        host = f"{client.host}:{client.port}"
        writer.write(f"HEAD /api/stream HTTP/1.1\r\nHost: {host}\r\n\r\n"
                     f"GET /api/info HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return data
    data = loop.run_until_complete(go())
    # The second reply follows the first's headers directly: no event data between.
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200") and rest.startswith(b"HTTP/1.1 200"), data[:600]


def test_proc_no_active_aggregator_inside_the_aggregator_block():
    text = ("802.3ad info\nActive Aggregator Info:\nbond bond0 has no active aggregator\n"
            "\tAggregator ID: 1\n\tNumber of ports: 2\n")
    assert parse_proc(text)["ad_info"] == {"active_aggregator": None}


@ci_settings()
@given(inputs("control"))
def test_fuzz_control(data):
    run_many("control", data)


@ci_settings()
@given(inputs("web"))
def test_fuzz_web(data):
    run_many("web", data)


@ci_settings()
@given(inputs("proc"))
def test_fuzz_proc(data):
    run_many("proc", data)
