"""Prometheus exposition for `GET /metrics`: a custom Collector that reads the
bonds at scrape time.

The node_exporter bonding collector's two series keep their names and
meaning so that existing alerts keep working:
    node_bonding_slaves{master="bond0"}  number of slaves
    node_bonding_active{master="bond0"}  number of slaves whose MII status is up
Everything else is softbond_*, labelled bond= and (per member) member=.
"""
from __future__ import annotations

import re

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from ..sampling import Source

# status counters key -> (metric stem, help)
MEMBER_COUNTERS = (
    ("rx_bytes", "softbond_member_rx_bytes", "Bytes received by the member NIC."),
    ("tx_bytes", "softbond_member_tx_bytes", "Bytes sent by the member NIC."),
    ("rx_packets", "softbond_member_rx_packets", "Wire packets received by the member (GSO segments counted)."),
    ("tx_packets", "softbond_member_tx_packets", "Wire packets sent by the member (GSO segments counted)."),
    ("rx_dropped", "softbond_member_rx_dropped", "Received packets the member NIC dropped."),
    ("tx_dropped", "softbond_member_tx_dropped", "Packets to send the member NIC dropped."),
)
# 802.3ad per-member counters ("ad"/"counters"): known ones first, with help.
LACP_COUNTERS = {
    "lacpdu_rx": "LACPDUs received.",
    "lacpdu_tx": "LACPDUs sent.",
    "lacpdu_unknown_rx": "Slow-protocol frames of unknown type received.",
    "lacpdu_illegal_rx": "Illegal LACPDUs received.",
    "marker_rx": "Marker PDUs received.",
    "marker_tx": "Marker PDUs sent.",
    "marker_response_rx": "Marker response PDUs received.",
    "marker_response_tx": "Marker response PDUs sent.",
}
_NAME_OK = re.compile(r"^[a-z][a-z0-9_]*$")


def _num(value, default=0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class BondCollector:
    """prometheus_client collector over a monitor Source."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def describe(self):
        return []  # collected at scrape time only; no descriptions up front

    def collect(self):
        everything = self.source()
        statuses = [s for s in everything if s.get("bond")]
        yield from self.metrics(statuses, [s["name"] for s in everything if s.get("managed") is False])

    @staticmethod
    def metrics(statuses: list[dict], unmanaged: list[str] = ()):
        g = GaugeMetricFamily
        managed = g("softbond_bond_managed", "1 while the bond's process runs it; 0 once it died (an eBPF bond "
                    "forwards on, unmanaged; a Python one has stopped).", labels=["master"])
        for name in unmanaged:
            managed.add_metric([name], 0)
        c = CounterMetricFamily
        # node_exporter's own HELP texts, word for word (tests/data/node_exporter_bonding):
        # it refuses a scrape where one name comes with two.
        slaves = g("node_bonding_slaves", "Number of configured slaves per bonding interface.", labels=["master"])
        active = g("node_bonding_active", "Number of active slaves per bonding interface.", labels=["master"])
        info = g("softbond_bond_info", "Bond mode and version (always 1).",
                 labels=["bond", "mode", "mode_id", "datapath", "version"])
        bond_up = g("softbond_bond_up", "1 when the bond has carrier (MII up).", labels=["bond"])
        failovers = c("softbond_bond_failovers", "Changes of the active member.", labels=["bond"])
        inactive = c("softbond_bond_rx_dropped_inactive",
                     "Frames dropped because they arrived on an inactive member.", labels=["bond"])
        loop_frames = c("softbond_datapath_frames",
                        "Frames the Python data path's loop moved (a GSO super-frame counts once).",
                        labels=["bond", "direction"])
        loop_wakeups = c("softbond_datapath_wakeups",
                         "Times the Python data path's loop found frames: after a sleep, or by busy polling.",
                         labels=["bond", "how"])
        fallback = g("softbond_datapath_fallback", "1 when datapath=auto runs the Python data path because the "
                     "eBPF one cannot run here, else 0.", labels=["bond"])
        lacp_fallback = g("softbond_lacp_fallback", "802.3ad: 1 while lacp_fallback runs the bond as "
                          "active-backup (no LACPDU for lacp_fallback_timeout), else 0.", labels=["master"])
        flowlet_moves = c("softbond_flowlet_moves", "xmit_balance=flowlet: buckets of flows moved to another "
                          "member after a pause longer than flowlet_gap.", labels=["bond"])
        bonds = g("softbond_bonds", "Number of bonds answering in this network namespace.")
        bonds.add_metric([], len(statuses))
        ml = ["bond", "member"]
        counters = {key: c(stem, text, labels=ml) for key, stem, text in MEMBER_COUNTERS}
        link = g("softbond_member_link_up", "1 when the member's MII status is up, else 0.", labels=ml)
        carrier = g("softbond_member_carrier", "1 when the member NIC has carrier, else 0.", labels=ml)
        failures = c("softbond_member_link_failures", "Link failures seen on the member.", labels=ml)
        is_active = g("softbond_member_active", "1 on the bond's active member, else 0.", labels=ml)
        speed = g("softbond_member_speed_bits_per_second", "The member's link speed.", labels=ml)
        lacp: dict[str, CounterMetricFamily] = {}
        actor_state = g("softbond_member_lacp_actor_port_state",
                        "802.3ad actor port state bits of the member.", labels=ml)
        partner_state = g("softbond_member_lacp_partner_port_state",
                          "802.3ad partner port state bits of the member.", labels=ml)
        aggregator = g("softbond_member_lacp_aggregator_id", "802.3ad aggregator the member is in.", labels=ml)
        proto_labels = ["master", "member", "direction", "protocol"]
        proto_packets = c("softbond_protocol_packets", "Packets on the member's wire by protocol class (GSO "
                          "segments counted); the bond's are the sum over its members.", labels=proto_labels)
        proto_bytes = c("softbond_protocol_bytes", "Bytes on the member's wire by protocol class.",
                        labels=proto_labels)
        path_loss = g("softbond_member_path_loss_ratio", "path_monitor: share of the window's probes lost on "
                      "the member's path (0-1).", labels=ml)
        path_rtt = g("softbond_member_path_rtt_seconds", "path_monitor: median round-trip time of the window's "
                     "answered probes on the member's path.", labels=ml)
        path_in = g("softbond_member_path_in_service", "path_monitor: 1 while the member's path is good enough "
                    "to carry traffic, 0 while taken out.", labels=ml)
        rescued = c("softbond_member_rescued_frames", "eBPF carrier rescue: frames the member was to send after "
                    "its carrier went off, sent by another member instead.", labels=ml)
        rescued_in = c("softbond_member_rescued_in_frames", "carrier rescue: frames the member delivered while "
                       "the member it stands in for had no carrier (its receive policy drops them otherwise).",
                       labels=ml)
        path_out = c("softbond_member_path_taken_out", "path_monitor: times the member was taken out of service.",
                     labels=ml)
        partner_info = g("softbond_member_lacp_partner_info", "802.3ad partner of the member (always 1).",
                         labels=["bond", "member", "partner_system_mac", "partner_oper_key"])

        for st in statuses:
            name = st["bond"]
            managed.add_metric([name], 1)
            members = st.get("slaves") or []
            slaves.add_metric([name], len(members))
            active.add_metric([name], sum(1 for m in members if m.get("mii_status") == "up"))
            info.add_metric([name, str(st.get("mode", "")), str(st.get("mode_id", "")),
                             str(st.get("datapath", "")), str(st.get("softbond_version", ""))], 1)
            bond_up.add_metric([name], 1 if st.get("mii_status") == "up" else 0)
            failovers.add_metric([name], _num(st.get("failovers")))
            inactive.add_metric([name], _num(st.get("rx_dropped_inactive")))
            configured = (st.get("options") or {}).get("datapath")
            fallback.add_metric([name], 1 if configured == "auto" and st.get("datapath") == "python" else 0)
            ad_info = st.get("ad_info")
            if ad_info:
                lacp_fallback.add_metric([name], 1 if (ad_info.get("lacp_fallback") or {}).get("active") else 0)
            if st.get("flowlet"):
                flowlet_moves.add_metric([name], _num(st["flowlet"].get("moves")))
            loop = st.get("datapath_loop")
            if loop:        # the Python path (eBPF: null)
                loop_frames.add_metric([name, "out"], _num(loop.get("frames_out")))
                loop_frames.add_metric([name, "in"], _num(loop.get("frames_in")))
                loop_wakeups.add_metric([name, "slept"], _num(loop.get("slept")))
                loop_wakeups.add_metric([name, "polled"], _num(loop.get("polled")))
            for m in members:
                labels = [name, m["name"]]
                values = m.get("counters") or {}
                for key, family in counters.items():
                    family.add_metric(labels, _num(values.get(key)))
                link.add_metric(labels, 1 if m.get("mii_status") == "up" else 0)
                if m.get("carrier") is not None:
                    carrier.add_metric(labels, 1 if m.get("carrier") else 0)
                failures.add_metric(labels, _num(m.get("link_failure_count")))
                if "rescued_frames" in values:      # the eBPF path with its carrier rescue on
                    rescued.add_metric(labels, _num(values["rescued_frames"]))
                if "rescued_in" in values:          # the carrier rescue's receive side on
                    rescued_in.add_metric(labels, _num(values["rescued_in"]))
                is_active.add_metric(labels, 1 if m["name"] == st.get("active_slave") else 0)
                if m.get("speed_mbps"):
                    speed.add_metric(labels, _num(m["speed_mbps"]) * 1e6)
                for direction, classes in (m.get("protocols") or {}).items():
                    for proto, counts in classes.items():
                        proto_packets.add_metric(labels + [direction, proto], _num(counts.get("packets")))
                        proto_bytes.add_metric(labels + [direction, proto], _num(counts.get("bytes")))
                path = m.get("path")
                if path:
                    path_loss.add_metric(labels, _num(path.get("loss_pct")) / 100)
                    if path.get("rtt_ms") is not None:
                        path_rtt.add_metric(labels, _num(path["rtt_ms"]) / 1000)
                    path_in.add_metric(labels, 1 if path.get("state") == "in service" else 0)
                    path_out.add_metric(labels, _num(path.get("taken_out")))
                ad = m.get("ad")
                if not ad:
                    continue
                for key, value in sorted((ad.get("counters") or {}).items()):
                    if not _NAME_OK.match(key) or isinstance(value, bool) or not isinstance(value, (int, float)):
                        continue
                    family = lacp.get(key)
                    if family is None:
                        family = lacp[key] = c(f"softbond_member_{key}",
                                               LACP_COUNTERS.get(key, f"802.3ad counter {key}."), labels=ml)
                    family.add_metric(labels, value)
                actor, partner = ad.get("actor") or {}, ad.get("partner") or {}
                if actor.get("port_state") is not None:
                    actor_state.add_metric(labels, _num(actor["port_state"]))
                if partner.get("port_state") is not None:
                    partner_state.add_metric(labels, _num(partner["port_state"]))
                if ad.get("aggregator_id") is not None:
                    aggregator.add_metric(labels, _num(ad["aggregator_id"]))
                if partner.get("system_mac"):
                    partner_info.add_metric(labels + [str(partner["system_mac"]).lower(),
                                                      str(partner.get("oper_key", ""))], 1)

        yield slaves
        yield active
        yield bonds
        yield managed
        yield info
        yield bond_up
        yield failovers
        yield inactive
        yield loop_frames
        yield loop_wakeups
        yield fallback
        yield lacp_fallback
        yield flowlet_moves
        yield from counters.values()
        yield link
        yield carrier
        yield failures
        yield is_active
        yield speed
        yield proto_packets
        yield proto_bytes
        yield rescued
        yield rescued_in
        yield from (path_loss, path_rtt, path_in, path_out)
        yield from (lacp[k] for k in sorted(lacp))
        yield actor_state
        yield partner_state
        yield aggregator
        yield partner_info


def registry_for(source: Source) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BondCollector(source))
    return registry


def render(source: Source) -> bytes:
    """The /metrics body (Prometheus text format 0.0.4)."""
    return generate_latest(registry_for(source))
