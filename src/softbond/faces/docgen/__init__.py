"""Man pages and shell completions generated from the CLI's argparse
definitions and the option registry, so that they never drift from what
`softbond` accepts. setup.py runs this when a wheel or the .deb is built:

    python3 -m softbond.faces.docgen OUTDIR

writes OUTDIR/man/man8/softbond.8, OUTDIR/man/man5/softbond.toml.5,
OUTDIR/bash-completion/completions/softbond and
OUTDIR/zsh/site-functions/_softbond (the layout under /usr/share).
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

# Relative to a share/ directory (/usr/share, <venv>/share).
OUTPUTS = {
    "softbond.8": "man/man8/softbond.8",
    "softbond.toml.5": "man/man5/softbond.toml.5",
    "bash": "bash-completion/completions/softbond",
    "zsh": "zsh/site-functions/_softbond",
}


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    parser: argparse.ArgumentParser

    @property
    def options(self) -> list[argparse.Action]:
        return [a for a in self.parser._actions
                if a.option_strings and a.help != argparse.SUPPRESS]

    @property
    def positionals(self) -> list[argparse.Action]:
        return [a for a in self.parser._actions
                if not a.option_strings and a.help != argparse.SUPPRESS]


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    """The subcommands of `parser`, in the order --help lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [Command(name, helps.get(name, ""), sub) for name, sub in action.choices.items()
                    if helps.get(name) != argparse.SUPPRESS]
    return []


def generate() -> dict[str, str]:
    """Every generated file's text, keyed as OUTPUTS."""
    from ..cli import build_parser
    from . import completion, manpage
    parser = build_parser()
    return {
        "softbond.8": manpage.softbond_8(parser),
        "softbond.toml.5": manpage.softbond_toml_5(),
        "bash": completion.bash(parser),
        "zsh": completion.zsh(parser),
    }


def write_all(outdir: str) -> list[str]:
    """Writes the files under `outdir` (a share/ layout); returns their paths."""
    written = []
    for key, text in generate().items():
        path = os.path.join(outdir, OUTPUTS[key])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        written.append(path)
    return written
