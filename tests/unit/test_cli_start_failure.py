"""The one line a failed start sends to `softbond up` (startup.failure):
a refusal in its own words, prefixed by the bond once; anything else by
its errno's text or its class, never a raw "(17, 'File exists')"."""
import pytest

from softbond.config.errors import ConfigError
from softbond.core.errors import BondError
from softbond.kernel.links import LinkError
from softbond.kernel.rtnl import NetlinkError
from softbond.startup import failure


@pytest.mark.parametrize("exc, line", [
    (NetlinkError(17), "bond0: cannot start: File exists"),
    (FileExistsError(17, "File exists"), "bond0: cannot start: File exists"),
    (OSError(1, "Operation not permitted"), "bond0: cannot start: Operation not permitted"),
    (KeyError("eth0"), "bond0: cannot start: KeyError"),
    (BondError("bond0: cannot enslave eth9: no such interface"), "bond0: cannot enslave eth9: no such interface"),
    (LinkError("eth0: cannot set MTU 9000: Invalid argument"), "bond0: eth0: cannot set MTU 9000: Invalid argument"),
    (ConfigError("bond0: mtu 10: out of range (68-65535)"), "bond0: mtu 10: out of range (68-65535)"),
])
def test_a_failed_start_is_one_line_naming_the_bond(exc, line):
    assert str(NetlinkError(17)) == "[Errno 17] File exists"    # pyroute2's said "(17, 'File exists')"
    assert failure("bond0", exc) == line
