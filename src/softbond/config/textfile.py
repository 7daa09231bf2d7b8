"""Reading configuration text, shared by the parsers."""

from collections.abc import Iterator

from .errors import ConfigError


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) pairs; only \\n ends a line, as in the shell and modprobe."""
    for number, line in enumerate(text.split("\n"), 1):
        yield number, line.removesuffix("\r")
