"""BondError, in a module of its own so that bond.py and the modules the
Bond class is split into (members.py, ...) can raise it without importing
one another.
"""


class BondError(Exception):
    """A refused request; the message names the bond and the culprit."""
