"""bpfsys reads a program's run-time statistics (issue 22: the per-packet
cost of sb_egress/sb_ingress, bench/progcost.py): BPF_ENABLE_STATS turns
them on for as long as its fd is open, and prog_info returns run_cnt and
run_time_ns from struct bpf_prog_info. Needs root (BPF_PROG_TEST_RUN), as
every integration test."""
import os

import pytest

from tests.support.bpfrun import SKB_CTX, TC_ACT_SHOT, loaded_bond


@pytest.fixture
def obj():
    with loaded_bond(999, bytes.fromhex("02bb00000001")) as (loaded, _):
        yield loaded


def test_prog_info_counts_the_runs_made_while_the_statistics_are_on(obj):
    from softbond.datapath.ebpf import bpfsys, libbpf
    fd = obj.progs["sb_peer"]
    before = bpfsys.prog_info(fd)
    assert before["name"] == "sb_peer" and before["xlated_len"] > 0 and before["jited_len"] > 0
    stats = bpfsys.enable_stats()
    try:
        ret, _, _ = libbpf.test_run(fd, bytes(60), bytes(SKB_CTX), repeat=1000)
        after = bpfsys.prog_info(fd)
    finally:
        os.close(stats)
    assert ret == TC_ACT_SHOT
    # this program was loaded by this test: nothing else runs it
    assert after["run_cnt"] - before["run_cnt"] == 1000
    assert after["run_time_ns"] > before["run_time_ns"]
