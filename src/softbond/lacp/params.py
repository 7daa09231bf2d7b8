"""LACP constants and parameter records: timers, state names, the port key
layout (bond_3ad.c), and the partner parameter record (802.1AX 6.4.7).
"""

from __future__ import annotations

from ..wire.lacpdu import LacpInfo

# Timers (802.1AX 6.4.4, bond_3ad.c), seconds.
FAST_PERIODIC_TIME = 1.0
SLOW_PERIODIC_TIME = 30.0
SHORT_TIMEOUT_TIME = 3.0
LONG_TIMEOUT_TIME = 90.0
CHURN_DETECTION_TIME = 60.0
AGGREGATE_WAIT_TIME = 2.0
MAX_TX_IN_SECOND = 3
MAX_MARKER_TX_IN_SECOND = 5  # Annex 43B: <= 10 slow-protocol frames/s in all

# Receive machine states.
INITIALIZE, PORT_DISABLED, LACP_DISABLED = "INITIALIZE", "PORT_DISABLED", "LACP_DISABLED"
EXPIRED_STATE, DEFAULTED_STATE, CURRENT = "EXPIRED", "DEFAULTED", "CURRENT"
# Periodic transmission machine states.
NO_PERIODIC, FAST_PERIODIC = "NO_PERIODIC", "FAST_PERIODIC"
SLOW_PERIODIC, PERIODIC_TX = "SLOW_PERIODIC", "PERIODIC_TX"
# Mux machine states (coupled control).
DETACHED, WAITING, ATTACHED = "DETACHED", "WAITING", "ATTACHED"
COLLECTING_DISTRIBUTING = "COLLECTING_DISTRIBUTING"
# Churn machine states, as /proc prints them.
CHURN_MONITOR, CHURNED, NO_CHURN = "monitoring", "churned", "none"

ZERO_MAC = bytes(6)

# Port key layout (bond_3ad.c): bit 0 duplex, bits 1-5 speed code, 6-15 user key.
DUPLEX_KEY_MASK, SPEED_KEY_MASK, USER_KEY_MASK = 0x1, 0x3E, 0xFFC0
SPEED_CODES = {
    10: 2,
    100: 3,
    1000: 4,
    2500: 5,
    5000: 6,
    10000: 7,
    14000: 8,
    20000: 9,
    25000: 10,
    40000: 11,
    50000: 12,
    56000: 13,
    100000: 14,
    200000: 15,
    400000: 16,
    800000: 17,
}
SPEED_OF_CODE = {code: mbps for mbps, code in SPEED_CODES.items()}

COUNTER_NAMES = (
    "lacpdu_rx",
    "lacpdu_tx",
    "lacpdu_unknown_rx",
    "lacpdu_illegal_rx",
    "marker_rx",
    "marker_tx",
    "marker_response_rx",
    "marker_response_tx",
    "dropped_rate_limited",
    "partner_changes",
    "reselect_held",
)


def speed_code(speed_mbps: int) -> int:
    """__get_link_speed: the 5-bit speed code, 0 when unknown."""
    return SPEED_CODES.get(speed_mbps, 0)


class PortParams:
    """Partner (or default partner) parameters: 802.1AX Partner_Oper_*."""

    __slots__ = ("system_priority", "system", "key", "port_priority", "port", "state")

    def __init__(
        self,
        system_priority: int = 0xFFFF,
        system: bytes = ZERO_MAC,
        key: int = 1,
        port_priority: int = 0xFF,
        port: int = 1,
        state: int = 0,
    ):
        # Defaults are the kernel's partner_admin (ad_initialize_port).
        self.system_priority = system_priority
        self.system = system
        self.key = key
        self.port_priority = port_priority
        self.port = port
        self.state = state

    def copy_from(self, other: PortParams | LacpInfo) -> None:
        self.system_priority = other.system_priority
        self.system = other.system
        self.key = other.key
        self.port_priority = other.port_priority
        self.port = other.port
        self.state = other.state

    def same_identity(self, info: PortParams | LacpInfo) -> bool:
        """The fields update_Selected compares.

        The standard (and the kernel) also compare the Aggregation bit. We
        do not: selection here never depends on it (see Port.is_individual),
        so unselecting on it only costs a 2 s aggregate wait with nothing
        to gain, and Open vSwitch flips it whenever its bond gains or loses
        its second member, which would stall the surviving port exactly
        when it is needed."""
        return (
            info.port == self.port
            and info.port_priority == self.port_priority
            and info.system == self.system
            and info.system_priority == self.system_priority
            and info.key == self.key
        )

    def as_info(self) -> LacpInfo:
        return LacpInfo(self.system_priority, bytes(self.system), self.key, self.port_priority, self.port, self.state)
