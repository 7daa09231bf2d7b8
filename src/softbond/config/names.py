"""Interface name rules, as the kernel's dev_valid_name() applies them."""

from .errors import ConfigError

IFNAMSIZ = 16  # includes the trailing NUL, so names hold at most 15 bytes
_SPACE = " \t\n\v\f\r"  # the kernel's isspace() set


def ifname_problem(name: object) -> str | None:
    """Why `name` is not a valid interface name, or None when it is."""
    if not isinstance(name, str):
        return "not a string"
    if not name:
        return "empty"
    # The kernel counts bytes, not characters.
    if len(name.encode("utf-8", "surrogatepass")) >= IFNAMSIZ:
        return f"too long (at most {IFNAMSIZ - 1} characters)"
    if name in (".", ".."):
        return 'may not be "." or ".."'
    for bad, label in (("/", '"/"'), (":", '":"'), ("\0", "a NUL byte")):
        if bad in name:
            return f"contains {label}"
    if any(c in _SPACE for c in name):
        return "contains whitespace"
    return None


def validate_ifname(name: object, what: str = "interface") -> str:
    """Return `name` unchanged if the kernel would accept it, else raise ConfigError."""
    problem = ifname_problem(name)
    if problem:
        raise ConfigError(f"{what} name {_quote(name)}: {problem}")
    return name  # type: ignore[return-value]


def _quote(name: object) -> str:
    if isinstance(name, str):
        # Show control characters escaped, so an error never prints a raw tab or NUL.
        shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
        return f'"{shown}"'
    return repr(name)
