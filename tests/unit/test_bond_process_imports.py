"""What the bond process imports (issue 19, footprint): every module it
imports costs every bond its memory, so the heavy ones it does not use stay
out: pyroute2 (19.7 MiB: softbond speaks rtnetlink itself, kernel/rtnl.py),
the config readers `up` did not need (yaml, tomllib), asyncio's TLS (ssl) and
OpenSSL's libcrypto (_hashlib, 3.6 MiB), 802.3ad's LACP unless the bond runs it,
the /proc/net/bonding text (status_text: `softbond status` renders it) and, on
the eBPF path, the Python data path (inprocess, workers). `up` forks the bond, so
what the CLI imports counts too.
A fresh interpreter per check: the test process has imported them all."""
import os
import subprocess
import sys

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")
HEAVY = ("pyroute2", "yaml", "tomllib", "ssl", "_hashlib", "decimal", "softbond.config.netplan", "softbond.config.loader",
         "softbond.modes.ieee8023ad", "softbond.faces.status_text", "softbond.datapath.inprocess",
         "softbond.datapath.workers")


def loaded_after(statement: str) -> list[str]:
    code = f"{statement}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=os.path.abspath(SRC)))
    return proc.stdout.split()


def test_the_bond_process_imports_none_of_the_heavy_modules():
    assert loaded_after("import softbond.faces.cli, softbond.daemon, softbond.startup, softbond.datapath.ebpf.device") \
        == []


def test_the_cli_imports_only_the_reader_it_uses():
    assert loaded_after("import softbond.faces.cli") == []
    assert loaded_after("import softbond.faces.cli\nfrom softbond.config import load_config") == \
        ["softbond.config.loader"]


def test_ssl_still_imports_after_asyncio():
    assert loaded_after("import softbond.daemon\nimport ssl, asyncio") == ["ssl"]
