"""The OpenAPI 3 description of `softbond web`'s HTTP API (/api/openapi.json)."""
from __future__ import annotations

from ...datapath import inprocess as datapath
from ...datapath.abi import PROTO_DIRECTIONS
from ...wire.protoclass import PROTO_CLASSES

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
# The forwarding loop's counters, all integers.
LOOP_COUNTERS = {name: {"type": "integer"} for name, _slot in datapath.LOOP_COUNTERS}
_BOND_PARAM = {"name": "bond", "in": "path", "required": True, "description": "Bond name, e.g. bond0",
               "schema": {"type": "string", "pattern": "^[^/\\s]{1,15}$"}}


def _write(summary: str, body_ref: str) -> dict:
    return {
        "post": {
            "summary": summary,
            "description": "Only when the server was started with a token (SOFTBOND_WEB_TOKEN, --token -, "
                           "--token-file, or one --actions generated); the token goes in the X-Softbond-Token "
                           "header. Cross-site requests are refused.",
            "security": [{"token": []}],
            "parameters": [_BOND_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{body_ref}"}}}},
            "responses": {
                "200": {"description": "Done", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}}}},
                "400": _ERROR, "403": _ERROR, "404": _ERROR, "409": _ERROR,
            },
        }
    }


def document(version: str) -> dict:
    doc = _document(version)
    for item in doc["paths"].values():  # what the server's guard answers on any path
        for operation in item.values():
            operation["responses"].setdefault("421", {**_ERROR, "description": "Host header not this server"})
            operation["responses"].setdefault("429", {**_ERROR, "description": "Too many requests from this "
                                                      "address (see the Retry-After header)"})
    return doc


def _document(version: str) -> dict:
    counters = {"type": "object", "additionalProperties": {"type": "integer"},
                "properties": {k: {"type": "integer"} for k in
                               ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_dropped", "tx_dropped",
                                "nic_rx_packets", "nic_tx_packets")}}
    counted = {"type": "object", "properties": {"packets": {"type": "integer"}, "bytes": {"type": "integer"}}}
    protocols = {"type": "object", "nullable": True,
                 "description": "rx/tx -> protocol class (" + ", ".join(PROTO_CLASSES) + ") -> packets and "
                                "bytes on the wire (GSO segments counted)",
                 "properties": {d: {"type": "object", "properties": {c: counted for c in PROTO_CLASSES}}
                                for d in PROTO_DIRECTIONS}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "softbond web",
            "version": version,
            "description": "Read the bonds of this network namespace (and, with a token, change their "
                           "members). Bond dicts are exactly what `softbond status BOND --json` prints. "
                           "Reads serve the server's last sample (taken once per interval, and right after "
                           "a change), never a call into the bond per request.",
        },
        "paths": {
            "/api/bonds": {"get": {
                "summary": "Status of every bond",
                "responses": {"200": {"description": "One status dict per bond", "content": {"application/json": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/BondStatus"}}}}}},
            }},
            "/api/bonds/{bond}": {"get": {
                "summary": "Status of one bond (as `softbond status BOND --json`)",
                "parameters": [_BOND_PARAM],
                "responses": {"200": {"description": "The status dict", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/BondStatus"}}}}, "404": _ERROR},
            }},
            "/api/bonds/{bond}/counters": {"get": {
                "summary": "Member NIC counters and the bond's totals (the sum of its members)",
                "parameters": [_BOND_PARAM],
                "responses": {"200": {"description": "Counters", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["bond", "members", "total"],
                    "properties": {"bond": {"type": "string"},
                                   "members": {"type": "object", "additionalProperties": counters},
                                   "total": counters}}}}}, "404": _ERROR},
            }},
            "/api/bonds/{bond}/set-active": _write("Make a member the active one", "SetActive"),
            "/api/bonds/{bond}/enslave": _write("Add members to the bond", "Ifaces"),
            "/api/bonds/{bond}/release": _write("Remove members from the bond", "Ifaces"),
            "/api/stream": {"get": {
                "summary": "Server-Sent Events: a `full` event (statuses, rate history, event timeline), "
                           "then an `update` event per sample (at least once per second)",
                "responses": {"200": {"description": "Event stream",
                                      "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
            }},
            "/api/info": {"get": {
                "summary": "Server facts: read-only or not, units, sampling interval",
                "responses": {"200": {"description": "Info", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "read_only": {"type": "boolean"}, "version": {"type": "string"},
                        "units": {"type": "array", "items": {"type": "string"}},
                        "interval": {"type": "number"}, "token_header": {"type": "string"}}}}}}},
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics (node_bonding_* and softbond_*) of the last sample",
                "responses": {"200": {"description": "Prometheus text format 0.0.4",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
        },
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Softbond-Token"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "SetActive": {"type": "object", "required": ["iface"], "properties": {"iface": {"type": "string"}}},
                "Ifaces": {"type": "object", "required": ["ifaces"],
                           "properties": {"ifaces": {"type": "array", "minItems": 1, "items": {"type": "string"}}}},
                "Slave": {"type": "object", "required": ["name", "mii_status", "state", "counters"],
                          "properties": {
                              "name": {"type": "string"}, "mii_status": {"type": "string"},
                              "speed_mbps": {"type": "integer", "nullable": True},
                              "duplex": {"type": "string", "nullable": True},
                              "link_failure_count": {"type": "integer"},
                              "perm_hwaddr": {"type": "string"}, "queue_id": {"type": "integer"},
                              "prio": {"type": "integer",
                                       "description": "failover priority (option prio; higher wins)"},
                              "state": {"type": "string", "enum": ["active", "backup"]},
                              "carrier": {"type": "boolean"}, "counters": counters,
                              "hwaddr": {"type": "string", "description": "its MAC now"},
                              "mtu": {"type": "integer", "description": "its MTU now"},
                              "mtu_below_bond": {"type": "boolean",
                                                 "description": "its MTU is below the bond's: larger frames drop"},
                              "control_send_errors": {"type": "integer",
                                                      "description": "control frames (GARP, ARP probes, LACPDUs) "
                                                                     "the member's socket refused"},
                              "protocols": protocols,
                              "ad": {"type": "object", "nullable": True,
                                     "description": "802.3ad details (actor, partner, counters), or null"},
                              "path": {"type": "object", "nullable": True,
                                       "description": "path_monitor=on: state (in service, out of service), "
                                                      "loss_pct, rtt_ms, probes, taken_out, reason, target; "
                                                      "else null"}}},
                "Event": {"type": "object", "properties": {
                    "time": {"type": "number"}, "kind": {"type": "string"},
                    "slave": {"type": "string", "nullable": True}, "message": {"type": "string"}}},
                "BondStatus": {"type": "object", "required": ["bond", "mode", "slaves"], "properties": {
                    "bond": {"type": "string"}, "softbond_version": {"type": "string"},
                    "driver_version": {"type": "string"}, "mode": {"type": "string"},
                    "mode_id": {"type": "integer"}, "options": {"type": "object"},
                    "mii_status": {"type": "string"},
                    "active_slave": {"type": "string", "nullable": True},
                    "datapath": {"type": "string"}, "pid": {"type": "integer"},
                    "datapath_workers": {
                        "type": "array", "nullable": True,
                        "description": "datapath_workers > 1: per worker process, its pid and counters",
                        "items": {"type": "object", "properties": {
                            "pid": {"type": "integer"}, **LOOP_COUNTERS}}},
                    "datapath_loop": {
                        "type": "object", "nullable": True,
                        "description": "the Python data path's forwarding loop (summed over the workers): "
                                       "frames moved, dropped and failed, wakeups from a sleep and polls "
                                       "that found frames (datapath_busy_poll); null on eBPF",
                        "properties": LOOP_COUNTERS},
                    "hwaddr": {"type": "string"},
                    "mtu": {"type": "integer", "description": "the bond device's MTU; its slaves carry it"},
                    "gso_max_size": {"type": "integer",
                                     "description": "the bond device's, the smallest of its slaves' (at most 65536)"},
                    "gso_max_segs": {"type": "integer"},
                    "addresses": {"type": "array", "items": {"type": "string"}},
                    "failovers": {"type": "integer"}, "rx_dropped_inactive": {"type": "integer"},
                    "carrier_rescue": {"type": "string", "nullable": True,
                                       "description": "eBPF: \"on\" while a member that lost its carrier has "
                                                      "its frames sent by another (counters.rescued_frames) "
                                                      "and one standing in for it receives (counters.rescued_in), "
                                                      "else why it is off"},
                    "member_packets": {"type": "string", "description": "what the slaves' rx/tx_packets count: "
                                       "wire segments (nic_*_packets: the NIC's own count)"},
                    "slaves": {"type": "array", "items": {"$ref": "#/components/schemas/Slave"}},
                    "protocols": dict(protocols, description="the sum of the slaves' protocols"),
                    "ad_info": {"type": "object", "nullable": True, "properties": {
                        "lacp_fallback": {
                            "type": "object",
                            "description": "lacp_fallback: its mode and timeout, whether it runs now, the "
                                           "member that carries the traffic, seconds without a LACPDU "
                                           "(null before any member had a link)",
                            "properties": {"mode": {"type": "string", "enum": ["off", "active-backup"]},
                                           "timeout": {"type": "number"}, "active": {"type": "boolean"},
                                           "member": {"type": "string", "nullable": True},
                                           "silent_for": {"type": "number", "nullable": True}}}}},
                    "lacp_status": {
                        "type": "string", "enum": ["negotiated", "configured (no partner)", "off"],
                        "description": "the bond's LACP, as ovs-appctl bond/show words it: negotiated while a "
                                       "partner's information is current on some member (its receive machine "
                                       "CURRENT), configured (no partner) when none is (802.3ad then runs over "
                                       "one member, as an individual link or, with lacp_fallback, as "
                                       "active-backup: ad_info.lacp_fallback says which), off outside "
                                       "802.3ad; softbond top, the dashboard and `softbond status` all show "
                                       "this one value"},
                    "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}},
            },
        },
    }
