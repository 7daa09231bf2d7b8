"""INI-style files with positions: systemd-networkd units and NetworkManager keyfiles.

Both tools read `[Section]` headers and `Key=Value` lines; they differ in
comments (systemd also takes `;`) and in what a repeated key means
(systemd: another list item; GKeyFile: the last one wins), so the file is
read as entries in order and each reader decides.
"""

import re
from dataclasses import dataclass, field

from .errors import ConfigError
from .textfile import numbered_lines, read_text

_HEADER = re.compile(r"\[([^\[\]]+)\]")
_ENTRY = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.\-\[\]@]*)\s*=\s?(.*)")


@dataclass
class Entry:
    key: str
    value: str
    line: int


@dataclass
class Section:
    name: str
    line: int
    entries: list[Entry] = field(default_factory=list)

    def last(self, key: str) -> Entry | None:
        """The entry that wins when a key repeats (GKeyFile, and systemd's scalars)."""
        found = [e for e in self.entries if e.key == key]
        return found[-1] if found else None

    def value(self, key: str, default: str | None = None) -> str | None:
        entry = self.last(key)
        return entry.value if entry is not None else default


@dataclass
class IniFile:
    path: str
    sections: list[Section]

    def where(self, entry: Entry | Section | None) -> str:
        return f"{self.path}:{entry.line}" if entry is not None else self.path

    def error(self, entry: Entry | Section | None, message: str) -> ConfigError:
        return ConfigError(f"{self.where(entry)}: {message}")

    def section(self, name: str) -> Section | None:
        """The named section; repeated headers add to one section, as both tools do."""
        found = [s for s in self.sections if s.name == name]
        if not found:
            return None
        merged = Section(name, found[0].line)
        for part in found:
            merged.entries += part.entries
        return merged


def read_ini(path: str, comments: str = "#", aliases: dict[str, str] | None = None) -> IniFile:
    """`aliases` renames sections as the tool reads them (NetworkManager's
    [802-3-ethernet] is its [ethernet])."""
    sections: list[Section] = []
    for number, line in numbered_lines(read_text(path)):
        stripped = line.strip()
        if not stripped or stripped[0] in comments:
            continue
        header = _HEADER.fullmatch(stripped)
        if header:
            name = header.group(1).strip()
            sections.append(Section((aliases or {}).get(name, name), number))
            continue
        entry = _ENTRY.fullmatch(stripped)
        if not entry:
            raise ConfigError(f"{path}:{number}: expected [Section] or Key=Value, got {stripped[:60]!r}")
        if not sections:
            raise ConfigError(f"{path}:{number}: {entry.group(1)}= comes before any [Section] header")
        if stripped.endswith("\\"):
            raise ConfigError(f"{path}:{number}: {entry.group(1)}=: line continuation is not supported")
        sections[-1].entries.append(Entry(entry.group(1), entry.group(2).strip(), number))
    return IniFile(path, sections)
