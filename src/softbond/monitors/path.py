"""The path monitor's judge (path_monitor=on): gray failures, where a
member keeps its carrier and answers the occasional ARP but loses or
delays part of the traffic on its path.

Each member probes the same target on its own path every interval. The
judge keeps, per member, the outcome of its last `window` probes (answered
with a round-trip time, or lost) and takes the member out of service when
too many of them were lost, or when its median round-trip time is a
multiple of the best member's; it brings it back after `recover`
consecutive clean probes (the hysteresis), with an empty window.

Losses are counted against the whole window even before it has filled, so
a member that loses everything is out after ceil(loss% x window) probes
(plus the reply timeout) while a fresh member with one unlucky probe is not.

No I/O and no clock: the caller passes `now` and says what was sent and
what came back. Members are keys (any hashable; the bond uses ifindexes).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

REPLY_TIMEOUT_MIN = 0.25  # seconds: a busy event loop must not turn a late reply into a loss
RTT_FLOOR = 0.001  # seconds: microsecond RTTs of a quiet LAN are not "slow" at any multiple


@dataclass
class PathRecord:
    """One member's probes: judged outcomes (RTT in seconds, None = lost),
    the send times still waiting for a reply, and its service state."""

    outcomes: deque[float | None]
    pending: deque[float] = field(default_factory=deque)
    in_service: bool = True
    clean_run: int = 0  # consecutive answered (and fast enough) probes
    taken_out: int = 0  # times taken out of service
    reason: str = ""  # why it is out, for status and the event log


@dataclass(frozen=True)
class PathQuality:
    """What status, top, web and /metrics show for a member."""

    in_service: bool
    loss_pct: float  # of the judged probes in the window
    rtt_ms: float | None  # median of the answered ones
    probes: int  # judged probes in the window
    taken_out: int
    reason: str


class PathJudge:
    """Loss and RTT per member over a window; thresholds with hysteresis."""

    def __init__(self, interval: float, window: int, loss_pct: int, rtt_multiple: int, recover: int) -> None:
        self.interval = interval
        self.window = window
        self.loss_pct = loss_pct
        self.rtt_multiple = rtt_multiple
        self.recover = recover
        self.timeout = max(2 * interval, REPLY_TIMEOUT_MIN)
        self.records: dict[object, PathRecord] = {}

    def add(self, key: object) -> None:
        self.records[key] = PathRecord(outcomes=deque(maxlen=self.window))

    def remove(self, key: object) -> None:
        self.records.pop(key, None)

    def sent(self, key: object, now: float) -> None:
        record = self.records.get(key)
        if record is not None:
            record.pending.append(now)

    def replied(self, key: object, now: float) -> None:
        """A reply to this member's probe. Probes carry no sequence number
        (ARP has none): it answers the newest probe still waiting."""
        record = self.records.get(key)
        if record is None or not record.pending:
            return
        rtt = now - record.pending.pop()
        self._judged(record, rtt)

    def _judged(self, record: PathRecord, rtt: float | None) -> None:
        record.outcomes.append(rtt)
        if rtt is None or (not record.in_service and self._too_slow(rtt)):
            record.clean_run = 0
        else:
            record.clean_run += 1

    def tick(self, now: float) -> list[tuple[object, bool]]:
        """Expire unanswered probes and judge every member: the (key,
        in_service) of each member whose service state changed."""
        for record in self.records.values():
            while record.pending and now - record.pending[0] > self.timeout:
                record.pending.popleft()
                self._judged(record, None)
        changes = []
        for key, record in self.records.items():
            if record.in_service:
                reason = self._out_reason(record)
                if reason:
                    record.in_service = False
                    record.reason = reason
                    record.taken_out += 1
                    record.clean_run = 0
                    changes.append((key, False))
            elif record.clean_run >= self.recover:
                record.in_service = True
                record.reason = ""
                record.outcomes.clear()  # the old losses would take it out again at once
                changes.append((key, True))
        return changes

    def _out_reason(self, record: PathRecord) -> str:
        lost = sum(1 for rtt in record.outcomes if rtt is None)
        if lost and lost * 100 >= self.loss_pct * self.window:
            return f"lost {lost} of the last {len(record.outcomes)} probes"
        if self.rtt_multiple and len(record.outcomes) >= self.window:
            median = _median(record.outcomes)
            best = self._best_rtt()
            if median is not None and best is not None and median > self.rtt_multiple * max(best, RTT_FLOOR):
                return (
                    f"round-trip time {median * 1000:.2f} ms, more than {self.rtt_multiple} times "
                    f"the best member's {best * 1000:.2f} ms"
                )
        return ""

    def _too_slow(self, rtt: float) -> bool:
        if not self.rtt_multiple:
            return False
        best = self._best_rtt()
        return best is not None and rtt > self.rtt_multiple * max(best, RTT_FLOOR)

    def _best_rtt(self) -> float | None:
        medians = [m for m in (_median(r.outcomes) for r in self.records.values() if r.in_service) if m is not None]
        return min(medians) if medians else None

    def quality(self, key: object) -> PathQuality | None:
        record = self.records.get(key)
        if record is None:
            return None
        judged = len(record.outcomes)
        lost = sum(1 for rtt in record.outcomes if rtt is None)
        median = _median(record.outcomes)
        return PathQuality(
            in_service=record.in_service,
            loss_pct=round(100 * lost / judged, 1) if judged else 0.0,
            rtt_ms=round(median * 1000, 3) if median is not None else None,
            probes=judged,
            taken_out=record.taken_out,
            reason=record.reason,
        )

    def detection_bound(self) -> float:
        """Seconds from the start of total loss until the member is out:
        the losses the threshold needs, one interval each, plus the reply
        timeout of the last (the README's documented time)."""
        return math.ceil(self.loss_pct * self.window / 100) * self.interval + self.timeout + self.interval


def _median(outcomes: Iterable[float | None]) -> float | None:
    answered = sorted(rtt for rtt in outcomes if rtt is not None)
    if not answered:
        return None
    mid = len(answered) // 2
    return answered[mid] if len(answered) % 2 else (answered[mid - 1] + answered[mid]) / 2
