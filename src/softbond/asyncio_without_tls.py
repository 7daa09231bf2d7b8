"""Import asyncio without its TLS support, in the bond process.

asyncio imports ssl for TLS transports, which a bond never opens: 4.7 MiB
of RSS in every bond process (the ssl module, libssl and libcrypto). ssl
is hidden while asyncio is first imported (asyncio takes a missing ssl as
"no TLS"), then visible again: a later `import ssl` works as ever. Import
this module before anything that imports asyncio (daemon.py does).
"""
import sys

if "asyncio" not in sys.modules and "ssl" not in sys.modules:
    sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]
