"""modprobe.conf / modprobe.d: `alias bondN bonding` and `options bonding|bondN ...`."""

import re
from collections.abc import Iterator

from .errors import ConfigError
from .model import BondConfig, build_bond_config
from .names import ifname_problem
from .options import SharedPairs, build_options
from .textfile import numbered_lines

MAX_BONDS_LIMIT = 1024  # far above any real setup; keeps a typo from spawning millions
_BOND_NAME = re.compile(r"bond[0-9]+", re.ASCII)
_BLANKS = " \t\f\v\r"


def _module(name: str) -> str:
    # modprobe treats '-' and '_' in module names as the same character.
    return name.replace("-", "_")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Join backslash continuations; each line keeps the number where it starts."""
    pending, start = "", 0
    for number, line in numbered_lines(text):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _params(text: str, where: str) -> list[tuple[str, str, str]]:
    """Split `name=value ...` the way the kernel's next_arg() does (double quotes group)."""
    pairs, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n:
            break
        token, quoted = [], False
        while i < n and (quoted or text[i] not in _BLANKS):
            if text[i] == '"':
                quoted = not quoted
            else:
                token.append(text[i])
            i += 1
        if quoted:
            raise ConfigError(f'{where}: unterminated " quote')
        name, sep, value = "".join(token).partition("=")
        if not sep or not name:
            raise ConfigError(f'{where}: "{"".join(token)}" is not name=value')
        # The kernel's parameq() also treats '-' and '_' in parameter names alike.
        pairs.append((name.replace("-", "_"), value, where))
    return pairs


# An `options MODULE ...` line: (module, where, its (name, value, where) pairs).
_OptionsLine = tuple[str, str, list[tuple[str, str, str]]]


def parse_modprobe(text: str, path: str) -> list[BondConfig]:
    aliases: dict[str, str] = {}  # bond name -> where
    option_lines: list[_OptionsLine] = []
    for number, line in _logical_lines(text):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        where = f"{path}:{number}"
        if words[0] == "alias":
            if len(words) != 3:
                raise ConfigError(f"{where}: alias needs a name and a module")
            if _module(words[2]) == "bonding":
                problem = ifname_problem(words[1])
                if problem:
                    raise ConfigError(f'{where}: bond name "{words[1]}": {problem}')
                aliases.setdefault(words[1], where)
        elif words[0] == "options":
            if len(words) < 2:
                raise ConfigError(f"{where}: options needs a module name")
            rest = line.split(None, 2)[2] if len(words) > 2 else ""
            option_lines.append((words[1], where, _params(rest, where)))
    return _bonds(path, aliases, option_lines)


def _bonds(path: str, aliases: dict[str, str], option_lines: list[_OptionsLine]) -> list[BondConfig]:
    module_pairs = [p for module, _, pairs in option_lines if _module(module) == "bonding" for p in pairs]
    own = [(module, where, pairs) for module, where, pairs in option_lines if _module(module) != "bonding"]
    if not (aliases or module_pairs or any(_BOND_NAME.fullmatch(m) for m, _, _ in own)):
        return []  # the bonding module is not configured here at all
    max_pairs = [p for p in module_pairs if p[0] == "max_bonds"]
    max_bonds = build_options("bonding", max_pairs, final=False)[0].max_bonds
    if max_bonds > MAX_BONDS_LIMIT:
        raise ConfigError(
            f"{max_pairs[-1][2]}: max_bonds={max_bonds}: softbond creates at most {MAX_BONDS_LIMIT} bonds"
        )
    created = [f"bond{i}" for i in range(max_bonds)]
    names = created + [name for name in aliases if name not in created]
    per_bond: dict[str, list[tuple[str, str, str]]] = {name: [] for name in names}
    for module, where, pairs in own:
        if module in per_bond:
            per_bond[module] += pairs
        elif _BOND_NAME.fullmatch(module):
            raise ConfigError(
                f"{where}: options {module}: {module} is neither an alias of "
                f"bonding nor created by max_bonds ({max_bonds})"
            )
    # `options bonding` applies to every bond: parsed once, not per bond.
    shared = SharedPairs(module_pairs)
    unnamed = {name for name in created if name not in aliases and not per_bond[name]}
    notices = {
        name: [
            f"{max_pairs[-1][2]}: {name}: Warning: created by max_bonds={max_bonds} (no alias or options line names it)"
        ]
        if max_pairs
        else []
        for name in unnamed
    }
    return [
        build_bond_config(
            name,
            option_pairs=per_bond[name],
            shared=shared,
            source=path,
            final=False,
            where=aliases.get(name, path),
            source_warnings=notices.get(name, ()),
            implicit=name in unnamed and not max_pairs,
        )
        for name in names
    ]
