"""Issue 7, short CI run: LacpSystem.receive/tick on arbitrary frames and
mutated LACPDUs between two cabled systems (fuzz/harnesses.py)."""


from hypothesis import given

from fuzz.harnesses import HARNESSES, Violation, _Wire
from fuzz.strategies import ci_settings, inputs, run_many


def test_lacp_seeds_pass():
    for seed in HARNESSES["lacp_system"].seeds():
        HARNESSES["lacp_system"].func(seed)


def test_the_rate_check_catches_a_fourth_lacpdu_within_a_second():
    from fuzz.harnesses import lacp_seeds
    wire = _Wire()
    pdu = lacp_seeds()[0]
    for t_ms in (0, 100, 200):
        wire.t_ms = t_ms
        wire.account("a", [("eth0", pdu)])
    wire.t_ms = 1000  # exactly one second after the first: allowed
    wire.account("a", [("eth0", pdu)])
    wire.t_ms = 1050  # 100, 200, 1000, 1050: four within 950 ms
    try:
        wire.account("a", [("eth0", pdu)])
    except Violation:
        return
    raise AssertionError("a 4th LACPDU within one second went unnoticed")


@ci_settings()
@given(inputs("lacp_system"))
def test_fuzz_lacp_system(data):
    run_many("lacp_system", data)
