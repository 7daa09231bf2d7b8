"""Exceptions shared by the configuration package.

ConfigError lives here rather than in model.py so that options.py and
names.py can raise it without importing the model (which imports them).
"""


class ConfigError(Exception):
    """A configuration problem; the message already names file:line when known."""


def at(where: str | None, message: str) -> str:
    """Prefix a message with its location ("file:line: message")."""
    return f"{where}: {message}" if where else message
