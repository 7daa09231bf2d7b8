"""SHA-256 without hashlib: importing hashlib loads OpenSSL's libcrypto
(3.6 MiB of RSS in every bond process) for the one digest the bond needs
(the hidden peer's name, the BPF source's digest). CPython's own SHA-256
module gives the same digests."""
try:
    from _sha256 import sha256              # type: ignore[import-not-found]  # CPython 3.11
except ImportError:                          # pragma: no cover - other versions
    try:
        from _sha2 import sha256             # type: ignore[import-not-found,no-redef]  # CPython >= 3.12
    except ImportError:
        from hashlib import sha256           # type: ignore[assignment]

__all__ = ["sha256"]
