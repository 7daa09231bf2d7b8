"""IEEE 802.1AX / 802.3ad Link Aggregation Control Protocol, with no I/O.

Modules:
  port       per-port state machines (receive, periodic, mux, transmit, churn)
  selection  aggregators and the Selection Logic (ad_select)
  system     LacpSystem, the facade a bond drives

Codecs for LACPDUs and Marker PDUs are in ``softbond.wire.lacpdu``.
"""

from .params import (
    AGGREGATE_WAIT_TIME,
    CHURN_DETECTION_TIME,
    FAST_PERIODIC_TIME,
    LONG_TIMEOUT_TIME,
    SHORT_TIMEOUT_TIME,
    SLOW_PERIODIC_TIME,
)
from .system import LOOPBACK_MSG, NO_RESPONSE_MSG, LacpSystem

__all__ = [
    "LacpSystem",
    "NO_RESPONSE_MSG",
    "LOOPBACK_MSG",
    "FAST_PERIODIC_TIME",
    "SLOW_PERIODIC_TIME",
    "SHORT_TIMEOUT_TIME",
    "LONG_TIMEOUT_TIME",
    "CHURN_DETECTION_TIME",
    "AGGREGATE_WAIT_TIME",
]
