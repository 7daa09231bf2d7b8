"""Per-port LACP state machines (IEEE 802.1AX clause 6.4; Linux bond_3ad.c).

One ``Port`` holds the actor and partner parameters of one member and runs
its receive, periodic transmission, mux (coupled control), transmit and
churn detection machines.  Timers are absolute deadlines on the caller's
clock (seconds, float), so calling the machines more often than every
100 ms never makes a timer run faster.  The Selection Logic lives in
``selection.py``; the port only reads ``aggregator.is_active`` and the
READY_N of the other ports of its aggregator.

Differences from the kernel, on purpose:
  * a loopback LACPDU is refused before the receive machine runs (the
    kernel enters CURRENT first and leaves current_while stopped);
  * the transmit machine sends nothing while the periodic machine is in
    NO_PERIODIC (both ends passive, as the BSDs' lacp_sm_tx), so two passive
    ends never form, and it allows at most 3 LACPDUs in any 1 s window
    (sliding, not the kernel's 300 ms slots);
  * COLLECTING_DISTRIBUTING falls back to ATTACHED when the aggregator is
    no longer the active one, so the partner learns it at once;
  * the default partner's LACP_Timeout is our own lacp_rate, so a DEFAULTED
    port sends at our rate and a returning partner is found quickly.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..wire.lacpdu import (
    AGGREGATION,
    COLLECTING,
    DEFAULTED,
    DISTRIBUTING,
    EXPIRED,
    LACP_ACTIVITY,
    LACP_TIMEOUT,
    SYNCHRONIZATION,
    LacpInfo,
    Lacpdu,
)
from .params import (
    AGGREGATE_WAIT_TIME,
    ATTACHED,
    CHURN_DETECTION_TIME,
    CHURN_MONITOR,
    CHURNED,
    COLLECTING_DISTRIBUTING,
    COUNTER_NAMES,
    CURRENT,
    DEFAULTED_STATE,
    DETACHED,
    DUPLEX_KEY_MASK,
    EXPIRED_STATE,
    FAST_PERIODIC,
    FAST_PERIODIC_TIME,
    INITIALIZE,
    LACP_DISABLED,
    LONG_TIMEOUT_TIME,
    MAX_MARKER_TX_IN_SECOND,
    MAX_TX_IN_SECOND,
    NO_CHURN,
    NO_PERIODIC,
    PERIODIC_TX,
    PORT_DISABLED,
    SHORT_TIMEOUT_TIME,
    SLOW_PERIODIC,
    SLOW_PERIODIC_TIME,
    SPEED_KEY_MASK,
    USER_KEY_MASK,
    WAITING,
    PortParams,
    speed_code,
)

if TYPE_CHECKING:  # selection.py imports this module
    from .selection import Aggregator

# The receive machine's state after current_while expires in each state.
_RX_TIMED_OUT: dict[str | None, str | None] = {CURRENT: EXPIRED_STATE, EXPIRED_STATE: DEFAULTED_STATE}


class Port:
    """One aggregation port and its state machines."""

    def __init__(
        self,
        name: str,
        number: int,
        mac: bytes,
        *,
        system: bytes,
        system_priority: int,
        user_port_key: int,
        lacp_fast: bool,
        lacp_active: bool,
        speed_mbps: int,
        full_duplex: bool,
        link_up: bool,
        own_aggregator: Aggregator,
    ):
        self.name = name
        self.number = number
        self.mac = mac
        self.speed_mbps = speed_mbps
        self.full_duplex = full_duplex
        self.link_up = link_up  # the kernel's port->is_enabled
        self.own_aggregator = own_aggregator  # the one created with this port
        self.aggregator: Aggregator | None = None  # the one it is attached to (Selection Logic)

        # Actor.
        self.actor_system = system
        self.actor_system_priority = system_priority
        self.actor_port_priority = 0xFF
        self.actor_admin_key = (user_port_key << 6) & USER_KEY_MASK
        self.actor_oper_key = 0
        self.actor_state = AGGREGATION
        if lacp_active:
            self.actor_state |= LACP_ACTIVITY
        if lacp_fast:
            self.actor_state |= LACP_TIMEOUT
        # Partner.  The default (admin) partner asks for our own rate, so a
        # DEFAULTED port keeps probing at lacp_rate (the kernel: every 30 s).
        self.partner_admin = PortParams(state=LACP_TIMEOUT if lacp_fast else 0)
        self.partner = PortParams()

        # 802.1AX variables (the kernel's sm_vars).
        self.begin = True
        self.lacp_enabled = True
        self.selected = False
        self.standby = False
        self.matched = False
        self.ready_n = False
        self.churned = False
        self.ntt = False

        self.rx_state: str | None = None
        self.current_while: float | None = None
        self.periodic_state: str | None = None
        self.periodic_deadline: float | None = None
        self.mux_state: str | None = None
        self.wait_while: float | None = None
        self.actor_churn_state = CHURN_MONITOR
        self.partner_churn_state = CHURN_MONITOR
        self.actor_churn_deadline: float | None = None
        self.partner_churn_deadline: float | None = None
        self.actor_churned_count = 0
        self.partner_churned_count = 0

        # Transmit rate limiting: times of the last sends in a sliding window.
        self.tx_times: deque[float] = deque(maxlen=MAX_TX_IN_SECOND)
        self.tx_held = False
        self.marker_times: deque[float] = deque(maxlen=MAX_MARKER_TX_IN_SECOND)
        self.marker_out: deque[bytes] = deque(maxlen=MAX_MARKER_TX_IN_SECOND)

        # Selection bookkeeping (see selection.py).
        self.joined_at: float | None = None
        self.joined_with_partner = False
        self.split_reason: str | None = None
        self.loopback_warned = False
        self.flap_warned = False

        self.counters = dict.fromkeys(COUNTER_NAMES, 0)
        self.update_keys(reset=not link_up)

    # -- helpers -----------------------------------------------------------

    @property
    def is_individual(self) -> bool:
        """Half duplex: such a port aggregates with nothing.

        As in the kernel, a partner clearing its Aggregation bit does not
        make the port individual for selection (it only counts as matched
        and unselects the port once). Open vSwitch clears the bit whenever
        its bond is down to one member; treating that as "individual" would
        move the port to an aggregator of its own, away from the active one,
        and stop all traffic."""
        return not (self.actor_oper_key & DUPLEX_KEY_MASK)

    def request_ntt(self) -> None:
        if self.ntt and self.tx_held:
            self.counters["dropped_rate_limited"] += 1
        self.ntt = True

    def set_rate(self, fast: bool) -> None:
        """lacp_rate changed: our Timeout bit and the default partner's."""
        self.set_actor(LACP_TIMEOUT, fast)
        if fast:
            self.partner_admin.state |= LACP_TIMEOUT
        else:
            self.partner_admin.state &= ~LACP_TIMEOUT
        if self.actor_state & DEFAULTED:
            self.partner.state = (self.partner.state & ~LACP_TIMEOUT) | (self.partner_admin.state & LACP_TIMEOUT)

    def set_actor(self, bit: int, on: bool) -> None:
        if on:
            self.actor_state |= bit
        else:
            self.actor_state &= ~bit

    def update_keys(self, reset: bool) -> bool:
        """ad_update_actor_keys: recompute the oper key from speed/duplex
        (zero when *reset*, i.e. link down).  Sets BEGIN when a full-duplex
        port comes up at another speed; returns whether the key changed."""
        old = self.actor_oper_key
        self.actor_admin_key &= ~(SPEED_KEY_MASK | DUPLEX_KEY_MASK)
        speed = duplex = 0
        if not reset:
            speed = speed_code(self.speed_mbps)
            duplex = 1 if self.full_duplex else 0
            self.actor_admin_key |= (speed << 1) | duplex
        self.actor_oper_key = self.actor_admin_key
        if old == self.actor_oper_key:
            return False
        self.lacp_enabled = bool(duplex)
        if not reset and speed and duplex and ((old & SPEED_KEY_MASK) >> 1) != speed:
            self.begin = True
        return True

    def lacpdu(self) -> Lacpdu:
        """__update_lacpdu_from_port."""
        actor = LacpInfo(
            self.actor_system_priority,
            self.actor_system,
            self.actor_oper_key,
            self.actor_port_priority,
            self.number,
            self.actor_state,
        )
        return Lacpdu(actor, self.partner.as_info(), 0)

    def farewell(self) -> Lacpdu:
        """The last LACPDU sent when the port leaves the bond: not in sync,
        not collecting or distributing, not aggregatable."""
        self.actor_state &= ~(SYNCHRONIZATION | COLLECTING | DISTRIBUTING | AGGREGATION)
        return self.lacpdu()

    # -- receive machine ---------------------------------------------------

    def rx_machine(self, pdu: Lacpdu | None, now: float) -> None:
        last = self.rx_state
        state: str | None
        if self.begin:
            state = INITIALIZE
            self.churned = True
        elif not self.link_up:
            state = PORT_DISABLED
        elif pdu is not None and last in (EXPIRED_STATE, DEFAULTED_STATE, CURRENT):
            if last != CURRENT:
                self.churned = True
            state = CURRENT
        elif self.current_while is not None and now >= self.current_while:
            self.current_while = None
            state = _RX_TIMED_OUT.get(last, last)
        elif last == PORT_DISABLED:
            state = EXPIRED_STATE if self.lacp_enabled else LACP_DISABLED
        else:
            state = last
        # The kernel re-runs the entry actions for every PDU whatever the
        # state; only CURRENT has any use for one (LACP_DISABLED would clear
        # SELECTED on each frame and make a half-duplex port re-select).
        if state != last or (pdu is not None and state == CURRENT):
            self._rx_enter(state, pdu, now, last)

    def _rx_enter(self, state: str | None, pdu: Lacpdu | None, now: float, last: str | None) -> None:
        self.rx_state = state
        if state == INITIALIZE:
            self.lacp_enabled = bool(self.actor_oper_key & DUPLEX_KEY_MASK)
            self.selected = False
            self._record_default()
            self.actor_state &= ~EXPIRED
            self._rx_enter(PORT_DISABLED, None, now, state)
            if self.link_up:  # the next step of the diagram, without a tick's wait
                self._rx_enter(EXPIRED_STATE if self.lacp_enabled else LACP_DISABLED, None, now, PORT_DISABLED)
        elif state == PORT_DISABLED:
            self.matched = False
            self.partner.state &= ~SYNCHRONIZATION
            self.current_while = None
        elif state == LACP_DISABLED:
            self.selected = False
            self._record_default()
            self.partner.state &= ~AGGREGATION
            self.matched = True
            self.actor_state &= ~EXPIRED
            self.current_while = None
        elif state == EXPIRED_STATE:
            self.matched = False
            self.partner.state &= ~SYNCHRONIZATION
            self.partner.state |= LACP_TIMEOUT
            self.current_while = now + SHORT_TIMEOUT_TIME
            self.actor_state |= EXPIRED
            self.churned = True
        elif state == DEFAULTED_STATE:
            self._update_default_selected()
            self._record_default()
            self.matched = True
            self.actor_state &= ~EXPIRED
        elif state == CURRENT and pdu is not None:
            self._update_selected(pdu, last)
            self._update_ntt(pdu)
            self._record_pdu(pdu)
            fast = self.actor_state & LACP_TIMEOUT
            self.current_while = now + (SHORT_TIMEOUT_TIME if fast else LONG_TIMEOUT_TIME)
            self.actor_state &= ~EXPIRED

    def _record_default(self) -> None:
        self.partner.copy_from(self.partner_admin)
        self.actor_state |= DEFAULTED

    def _record_pdu(self, pdu: Lacpdu) -> None:
        self._choose_matched(pdu)
        self.partner.copy_from(pdu.actor)
        self.actor_state &= ~DEFAULTED
        if self.matched and pdu.actor.state & SYNCHRONIZATION:
            self.partner.state |= SYNCHRONIZATION
        else:
            self.partner.state &= ~SYNCHRONIZATION

    def _choose_matched(self, pdu: Lacpdu) -> None:
        p = pdu.partner
        self.matched = (
            p.port == self.number
            and p.port_priority == self.actor_port_priority
            and p.system == self.actor_system
            and p.system_priority == self.actor_system_priority
            and p.key == self.actor_oper_key
            and (p.state & AGGREGATION) == (self.actor_state & AGGREGATION)
        ) or not (pdu.actor.state & AGGREGATION)

    def _update_selected(self, pdu: Lacpdu, last: str | None) -> None:
        if not self.partner.same_identity(pdu.actor):
            if last == CURRENT:
                self.counters["partner_changes"] += 1
            self.selected = False

    def _update_default_selected(self) -> None:
        if not self.partner.same_identity(self.partner_admin):
            self.selected = False

    def _update_ntt(self, pdu: Lacpdu) -> None:
        p = pdu.partner
        mask = LACP_ACTIVITY | LACP_TIMEOUT | SYNCHRONIZATION | AGGREGATION
        if (
            p.port != self.number
            or p.port_priority != self.actor_port_priority
            or p.system != self.actor_system
            or p.system_priority != self.actor_system_priority
            or p.key != self.actor_oper_key
            or (p.state & mask) != (self.actor_state & mask)
        ):
            self.request_ntt()

    # -- periodic transmission machine -------------------------------------

    def periodic_machine(self, now: float) -> None:
        last = self.periodic_state
        state: str | None
        partner_fast = bool(self.partner.state & LACP_TIMEOUT)
        if (
            self.begin
            or not self.lacp_enabled
            or not self.link_up
            or not (self.actor_state & LACP_ACTIVITY or self.partner.state & LACP_ACTIVITY)
        ):
            state = NO_PERIODIC
        elif self.periodic_deadline is not None:
            if now >= self.periodic_deadline:
                state = PERIODIC_TX
            elif last == FAST_PERIODIC and not partner_fast:
                state = SLOW_PERIODIC
            elif last == SLOW_PERIODIC and partner_fast:
                self.periodic_deadline = None
                state = PERIODIC_TX
            else:
                state = last
        elif last in (None, NO_PERIODIC):
            state = FAST_PERIODIC
        else:
            state = last
        if state == last:
            return
        self.periodic_state = state
        if state == NO_PERIODIC:
            self.periodic_deadline = None
        elif state == FAST_PERIODIC:
            self.periodic_deadline = now + FAST_PERIODIC_TIME
        elif state == SLOW_PERIODIC:
            self.periodic_deadline = now + SLOW_PERIODIC_TIME
        elif state == PERIODIC_TX:
            self.request_ntt()
            # Straight back to FAST/SLOW; keep the period from drifting by
            # counting from the deadline that fired, not from "now".
            period = FAST_PERIODIC_TIME if partner_fast else SLOW_PERIODIC_TIME
            base = self.periodic_deadline
            nxt = now + period if base is None or base + period <= now else base + period
            self.periodic_state = FAST_PERIODIC if partner_fast else SLOW_PERIODIC
            self.periodic_deadline = nxt

    # -- mux machine (coupled control) -------------------------------------

    def _agg_ready(self) -> bool:
        agg = self.aggregator
        return agg is None or all(p.ready_n for p in agg.ports)

    def _agg_active(self) -> bool:
        return self.aggregator is not None and self.aggregator.is_active

    def _actor_in_sync(self) -> bool:
        """Actor.Sync in ATTACHED. The standard keeps it while the partner
        is EXPIRED; we clear it then. When only the partner's direction of
        a link has failed it still hears us, and a partner such as Open
        vSwitch enables a port on our Sync alone: without this it keeps
        sending into the dead direction for another 3 s, until we reach
        DEFAULTED."""
        return self._agg_active() and self.rx_state != EXPIRED_STATE

    def mux_machine(self, now: float) -> None:
        for _ in range(4):  # follow immediate transitions within one call
            state = self._mux_next(now)
            if state == self.mux_state:
                return
            self._mux_enter(state, now)
            if self.begin:
                return

    def _mux_next(self, now: float) -> str:
        state = self.mux_state
        if self.begin or state is None:
            return DETACHED
        partner_sync = self.partner.state & SYNCHRONIZATION
        if state == DETACHED:
            return WAITING if (self.selected or self.standby) and self.aggregator else DETACHED
        if state == WAITING:
            if not self.selected:
                self.ready_n = False
                return DETACHED
            expired = self.wait_while is None or now >= self.wait_while
            if expired:
                self.ready_n = True
            return ATTACHED if expired and self._agg_ready() else WAITING
        if state == ATTACHED:
            if self.selected and not self.standby and partner_sync and self._agg_active():
                return COLLECTING_DISTRIBUTING
            if not self.selected or self.standby:
                self.ready_n = False
                return DETACHED
            sync = self._actor_in_sync()
            if bool(self.actor_state & SYNCHRONIZATION) != sync:
                self.set_actor(SYNCHRONIZATION, sync)
                self.request_ntt()
            return ATTACHED
        # COLLECTING_DISTRIBUTING
        if (
            not self.selected
            or self.standby
            or not partner_sync
            or not self.actor_state & SYNCHRONIZATION
            or not self._agg_active()
        ):
            return ATTACHED
        return state

    def _mux_enter(self, state: str, now: float) -> None:
        self.mux_state = state
        if state == DETACHED:
            self.actor_state &= ~(SYNCHRONIZATION | COLLECTING | DISTRIBUTING)
            self.wait_while = None
            self.request_ntt()
        elif state == WAITING:
            self.wait_while = now + AGGREGATE_WAIT_TIME
        elif state == ATTACHED:
            self.wait_while = None
            self.set_actor(SYNCHRONIZATION, self._actor_in_sync())
            self.actor_state &= ~(COLLECTING | DISTRIBUTING)
            self.request_ntt()
        elif state == COLLECTING_DISTRIBUTING:
            self.actor_state |= COLLECTING | DISTRIBUTING | SYNCHRONIZATION
            self.request_ntt()

    @property
    def collecting_distributing(self) -> bool:
        return self.mux_state == COLLECTING_DISTRIBUTING and self.link_up and self._agg_active()

    # -- transmit machine --------------------------------------------------

    def tx_rate_limited(self, now: float) -> bool:
        times = self.tx_times
        return len(times) == MAX_TX_IN_SECOND and now - times[0] < 1.0

    def tx_machine(self, now: float) -> Lacpdu | None:
        """A LACPDU to send now, or None.  NTT stays set while held back."""
        if not self.ntt or not self.lacp_enabled or not self.link_up or self.periodic_state in (None, NO_PERIODIC):
            return None
        if self.tx_rate_limited(now):
            if not self.tx_held:
                self.tx_held = True
                self.counters["dropped_rate_limited"] += 1
            return None
        self.tx_times.append(now)
        self.tx_held = False
        self.ntt = False
        self.counters["lacpdu_tx"] += 1
        return self.lacpdu()

    def marker_allowed(self, now: float) -> bool:
        times = self.marker_times
        if len(times) == MAX_MARKER_TX_IN_SECOND and now - times[0] < 1.0:
            return False
        times.append(now)
        return True

    # -- churn detection ---------------------------------------------------

    def churn_machine(self, now: float) -> None:
        if self.churned:
            self.churned = False
            self.actor_churn_state = self.partner_churn_state = CHURN_MONITOR
            self.actor_churn_deadline = self.partner_churn_deadline = now + CHURN_DETECTION_TIME
            return
        if self.actor_churn_deadline is not None and now >= self.actor_churn_deadline:
            self.actor_churn_deadline = None
            if self.actor_churn_state == CHURN_MONITOR:
                if self.actor_state & SYNCHRONIZATION:
                    self.actor_churn_state = NO_CHURN
                else:
                    self.actor_churn_state = CHURNED
                    self.actor_churned_count += 1
        if self.partner_churn_deadline is not None and now >= self.partner_churn_deadline:
            self.partner_churn_deadline = None
            if self.partner_churn_state == CHURN_MONITOR:
                if self.partner.state & SYNCHRONIZATION:
                    self.partner_churn_state = NO_CHURN
                else:
                    self.partner_churn_state = CHURNED
                    self.partner_churned_count += 1

    # -- scheduling hint ---------------------------------------------------

    def tx_ready(self) -> bool:
        """NTT is pending and the transmit machine could send it now."""
        return (
            self.ntt
            and not self.tx_held
            and self.lacp_enabled
            and self.link_up
            and self.periodic_state not in (None, NO_PERIODIC)
        )

    def next_deadline(self, now: float) -> float | None:
        """The nearest timer of this port after *now* (the last tick): any
        timer at or before it has fired already, or waits on another port."""
        times = [self.current_while, self.periodic_deadline, self.actor_churn_deadline, self.partner_churn_deadline]
        if self.mux_state == WAITING:
            times.append(self.wait_while)
        if self.ntt and self.tx_held and self.tx_times:
            times.append(self.tx_times[0] + 1.0)
        future = [t for t in times if t is not None and t > now]
        return min(future) if future else None
