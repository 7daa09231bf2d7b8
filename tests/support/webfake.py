"""A fake bond source for `softbond web`'s unit tests: bond statuses as
the daemon reports them, and an app client on them (no sockets, no root)."""
from __future__ import annotations

import asyncio
import copy

from aiohttp.test_utils import TestClient, TestServer

from softbond.faces.cli import CliError
from softbond.faces.web.server import create_app

TOKEN = "s3cret-token"


def slave(name, n, *, mii="up", state="backup", failures=0, ad=None):
    return {"name": name, "mii_status": mii, "speed_mbps": 10000, "duplex": "full",
            "link_failure_count": failures, "perm_hwaddr": f"aa:bb:cc:dd:ee:{n:02x}", "queue_id": 0,
            "state": state, "carrier": mii == "up",
            "counters": {"rx_bytes": 1000 * n, "tx_bytes": 2000 * n, "rx_packets": 10 * n, "tx_packets": 20 * n,
                         "rx_dropped": n, "tx_dropped": 0},
            "ad": ad}


def bond_status(name="bond0", slaves=None, active="eth0", mode="active-backup", failovers=2):
    return {"bond": name, "softbond_version": "0.1.0", "driver_version": "6.1.0", "mode": mode,
            "mode_id": {"active-backup": 1, "802.3ad": 4}[mode],
            "options": {"mode": mode, "miimon": 100, "primary": ""}, "mii_status": "up",
            "active_slave": active, "datapath": "python", "pid": 1234, "hwaddr": "02:00:00:00:00:10",
            "addresses": ["192.168.100.199/24"], "failovers": failovers, "rx_dropped_inactive": 3,
            "slaves": slaves if slaves is not None else [slave("eth0", 1, state="active"),
                                                         slave("eth1", 2, mii="down", failures=1)],
            "ad_info": None,
            "datapath_loop": {"frames_out": 70, "frames_in": 50, "rx_dropped": 3, "tx_errors": 0,
                              "slept": 40, "polled": 25},
            "events": [{"time": 1700000000.0, "kind": "failover", "slave": "eth0",
                        "message": f"{name}: (slave eth0): making interface the new active one"}]}


AD = {"aggregator_id": 1, "actor_churn_state": "none", "partner_churn_state": "none",
      "actor_churned_count": 0, "partner_churned_count": 0,
      "actor": {"system_priority": 65535, "system_mac": "02:00:00:00:00:20", "port_key": 9,
                "port_priority": 255, "port_number": 1, "port_state": 61},
      "partner": {"system_priority": 32768, "system_mac": "A8:F9:4B:00:00:01", "oper_key": 1000,
                  "port_priority": 32768, "port_number": 5, "port_state": 63},
      "counters": {"lacpdu_rx": 12, "lacpdu_tx": 13, "lacpdu_unknown_rx": 0, "lacpdu_illegal_rx": 1,
                   "marker_rx": 0, "marker_tx": 0}}


def fake_statuses():
    lacp = bond_status("bond1", mode="802.3ad", active=None, failovers=0,
                       slaves=[slave("eth2", 3, ad=AD), slave("eth3", 4, ad=None)])
    return [bond_status(), lacp]


class Fake:
    """The injected source and action: no sockets anywhere."""

    def __init__(self):
        self.statuses = fake_statuses()
        self.actions = []

    def source(self):
        return copy.deepcopy(self.statuses)

    def action(self, bond, payload):
        self.actions.append((bond, payload))
        if payload.get("iface") == "nope0" or "nope0" in payload.get("ifaces", []):
            raise CliError("nope0: no such interface")
        return {"ok": True}


def run(coro):
    return asyncio.run(coro)


async def start_client(fake, **kw):
    app = create_app(fake.source, action=fake.action, interval=kw.pop("interval", 0.05), **kw)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def with_client(test, **kw):
    fake = Fake()

    async def go():
        client = await start_client(fake, **kw)
        try:
            await test(client, fake)
        finally:
            await client.close()
    run(go())
    return fake


def same_origin(client, **extra):
    return {"Origin": f"http://{client.host}:{client.port}", **extra}
