"""The demo's pure parts: --mode takes names and numbers, and the failover
figures read from a numbered stream (the hole is found by missing numbers,
not by the sender's own scheduling gaps)."""
import pytest

from softbond.lab.demo import parse_mode
from softbond.lab.demolab import DemoError, deltas, shares
from softbond.lab.seqstream import Gap


def test_modes_by_name_and_number():
    assert parse_mode(None) is None
    assert parse_mode("0") == "balance-rr"
    assert parse_mode("4") == "802.3ad"
    assert parse_mode("balance-alb") == "balance-alb"
    assert parse_mode(" Active-Backup ") == "active-backup"
    with pytest.raises(DemoError) as exc:
        parse_mode("7")
    assert str(exc.value).startswith("demo --mode 7: unknown mode; expected one of balance-rr (0), ")
    assert "\n" not in str(exc.value)


def stream(rate=1000, seconds=2.0, lost=(), stall=None):
    """Arrivals of a paced stream: `lost` numbers never arrive; `stall`
    (first, count): the sender was held up, and those numbers went out (and
    arrived) back to back when it caught up, with the one after them."""
    seqs, times = [], []
    for seq in range(int(rate * seconds)):
        if seq in lost:
            continue
        due = seq
        if stall and stall[0] <= seq < stall[0] + stall[1]:
            due = stall[0] + stall[1]
        seqs.append(seq)
        times.append(100.0 + due / rate)
    return seqs, times


def test_the_hole_after_the_cut_is_found_by_numbers():
    # cut at 1.0 s (number 1000 was due then); 1003..1011 lost
    seqs, times = stream(lost=range(1003, 1012), stall=(300, 15))  # a 15 ms stall earlier
    gap = Gap.measure(2000, seqs, times, cut=101.0)
    assert (gap.sent, gap.received, gap.arrivals, gap.lost, gap.hole) == (2000, 1991, 1991, 9, 9)
    assert gap.resumed_ms == pytest.approx(12.0)      # number 1012 arrived 12 ms after the cut
    assert gap.gap_ms == pytest.approx(10.0)          # 1002 -> 1012
    # a hole before the cut is not the cut's
    seqs, times = stream(lost=range(500, 520))
    gap = Gap.measure(2000, seqs, times, cut=101.0)
    assert gap.lost == 20 and gap.hole == 0 and gap.resumed_ms is None


def test_duplicates_count_as_arrivals_not_as_received():
    seqs, times = stream(seconds=1.0)
    gap = Gap.measure(1000, seqs + seqs, times + [t + 0.0001 for t in times], cut=float("inf"))
    assert (gap.received, gap.arrivals, gap.lost) == (1000, 2000, 0)


def test_member_shares():
    before = {"eth0": {"tx_packets": 10}, "eth1": {"tx_packets": 5}}
    after = {"eth0": {"tx_packets": 1010}, "eth1": {"tx_packets": 3005}}
    grown = deltas(before, after, "tx_packets")
    assert grown == {"eth0": 1000, "eth1": 3000}
    assert shares(grown) == "eth0 1,000 frames (25%)  eth1 3,000 frames (75%)"
