"""bench/rrorder.py's reading of its captures: what it reports as the
alternation unit and the reordering must be what the segments show."""
from bench.rrorder import captured, late_share, runs_by_member

DUMP = """\
1733500000.000100 IP 192.168.100.199.40001 > 192.168.100.1.5201: Flags [.], seq 1000:2448, ack 1, win 502, length 1448
1733500000.000200 IP 192.168.100.199.40001 > 192.168.100.1.5201: Flags [P.], seq 2448:3896, ack 1, win 502, length 1448
1733500000.000250 IP 192.168.100.1.5201 > 192.168.100.199.40001: Flags [.], ack 3896, win 9000, length 0
1733500000.000300 IP 192.168.100.199.40002 > 192.168.100.1.5201: Flags [.], seq 7:1455, ack 1, win 502, length 1448
"""


def test_captured_reads_data_segments_with_their_flow():
    assert captured(DUMP) == [(1733500000.0001, 40001, 1000, 2448), (1733500000.0002, 40001, 2448, 3896),
                              (1733500000.0003, 40002, 7, 1455)]


def seg(t: float, port: int, seq: int) -> tuple[float, int, int, int]:
    return (t, port, seq, seq + 100)


def test_runs_follow_sequence_order_per_flow_and_member():
    # flow 1: 0,100 on member 0, 200 on member 1, 300,400,500 on member 0
    eth0 = [seg(1, 1, 0), seg(2, 1, 100), seg(4, 1, 300), seg(5, 1, 400), seg(6, 1, 500)]
    eth1 = [seg(1, 1, 200), seg(6, 2, 0)]
    assert sorted(runs_by_member([eth0, eth1])) == [1, 1, 2, 3]


def test_runs_only_where_both_captures_overlap():
    eth0 = [seg(1, 1, 0), seg(2, 1, 100), seg(9, 1, 900)]
    eth1 = [seg(2, 1, 200), seg(3, 1, 300)]
    assert sorted(runs_by_member([eth0, eth1])) == [1, 2]   # 0 (t=1) and 900 (t=9) are outside
    assert runs_by_member([eth0, []]) == []


def test_late_counts_segments_below_the_flows_highest():
    arrivals = [seg(1, 1, 0), seg(2, 1, 200), seg(3, 1, 100), seg(4, 2, 0), seg(5, 1, 300)]
    assert late_share(arrivals) == 1 / 5
    assert late_share([]) == 0.0
