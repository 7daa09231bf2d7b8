"""The ARP monitor's verdicts (bond_ab_arp_inspect semantics)."""
import socket

from softbond.monitors.arp import ArpJudge, probe_frames

T1, T2 = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")
US = {socket.inet_aton("10.0.0.9")}


def judge(validate=0, all_targets=False, targets=(T1,)):
    j = ArpJudge(0.1, 2, validate, all_targets, list(targets))
    j.add("eth0", 0.0)
    j.add("eth1", 0.0)
    return j


def test_silence_kills_active_after_missed_max_intervals():
    j = judge()
    assert j.alive("eth0", True, 0.2)
    assert not j.alive("eth0", True, 0.3)


def test_backup_gets_one_more_interval():
    j = judge()
    assert j.alive("eth1", False, 0.3)
    assert not j.alive("eth1", False, 0.4)


def test_unvalidated_member_lives_on_any_traffic():
    j = judge(validate=0)
    j.saw_counters("eth0", 100, True, 0.0)
    j.saw_counters("eth0", 101, True, 1.0)
    assert j.alive("eth0", True, 1.2)


def test_validated_member_ignores_plain_traffic():
    j = judge(validate=3)
    j.saw_counters("eth0", 100, True, 0.0)
    j.saw_counters("eth0", 101, True, 1.0)
    assert not j.alive("eth0", True, 1.2)
    j.saw_reply("eth0", T1, next(iter(US)), US, True, 1.0)
    assert j.alive("eth0", True, 1.2)


def test_reply_from_a_stranger_does_not_count():
    j = judge(validate=3)
    j.saw_reply("eth0", socket.inet_aton("10.0.0.77"), next(iter(US)), US, True, 1.0)
    assert not j.alive("eth0", True, 1.2)


def test_backup_validates_on_our_own_request_seen_through_switch():
    j = judge(validate=2)
    j.saw_reply("eth1", next(iter(US)), T1, US, False, 1.0)
    assert j.alive("eth1", False, 1.2)
    # The active member must see the target's reply, not our request.
    j.saw_reply("eth0", next(iter(US)), T1, US, True, 1.0)
    assert not j.alive("eth0", True, 1.0 + 0.3)


def test_all_targets_needs_every_target():
    j = judge(validate=3, all_targets=True, targets=(T1, T2))
    j.saw_reply("eth0", T1, next(iter(US)), US, True, 1.0)
    assert not j.alive("eth0", True, 1.1)
    j.saw_reply("eth0", T2, next(iter(US)), US, True, 1.05)
    assert j.alive("eth0", True, 1.1)


def test_filter_counts_only_arp():
    j = judge(validate=4)
    j.saw_counters("eth0", 1, True, 0.0)
    j.saw_counters("eth0", 9, True, 1.0)
    assert not j.alive("eth0", True, 1.2)
    j.saw_reply("eth0", socket.inet_aton("10.0.0.77"), T2, US, True, 1.0)
    assert j.alive("eth0", True, 1.2)


def test_probe_source_is_the_address_on_the_target_subnet():
    frames = probe_frames(b"\x02\0\0\0\0\x01", ["172.16.0.5/24", "10.0.0.9/24"], ["10.0.0.1"], [], [])
    assert len(frames) == 1
    frame = frames[0]
    assert frame[12:14] == b"\x08\x06"
    assert frame[28:32] == socket.inet_aton("10.0.0.9")     # sender IP
    assert frame[38:42] == socket.inet_aton("10.0.0.1")     # target IP


def test_arp_and_na_from_any_number_of_senders_keep_one_entry_per_target():
    """The monitor's neighbour evidence is keyed by the configured targets
    only: a flood of replies from spoofed senders grows nothing."""
    j = judge(validate=3, targets=(T1, T2))
    ours = next(iter(US))
    for i in range(10_000):
        spoofed = bytes([10, 1, i >> 8, i & 0xFF])
        j.saw_reply("eth0", spoofed, ours, US, True, 1.0)
        j.saw_reply("eth1", ours, spoofed, US, False, 1.0)      # a backup overhearing "our" requests
        j.saw_reply(f"other{i}", T1, ours, US, True, 1.0)      # not a member: ignored
    j.saw_reply("eth0", T1, ours, US, True, 1.0)
    assert set(j.evidence) == {"eth0", "eth1"}
    assert list(j.evidence["eth0"].target_rx) == [T1] and not j.evidence["eth1"].target_rx
