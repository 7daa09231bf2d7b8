"""bash and zsh completion scripts from the argparse parser and the option
registry. Positionals complete by their name: a bond (running bonds, from
the run directory of this network namespace), interfaces, option names,
OPTION=VALUE words; options that take a file complete file names."""
from __future__ import annotations

import argparse

from ...config.registry import SPECS
from ...kernel.rundir import RUN_ROOT
from . import Command, commands

# What a positional completes to, by its dest.
INTERFACE_ARGS = ("iface", "ifaces")
FILE_WORDS = ("file", "config", "cert", "key")

BASH_WORDS = {
    "bond": "$(_softbond_bonds)",
    "iface": "$(ls /sys/class/net 2>/dev/null)",
    "ifaces": "$(ls /sys/class/net 2>/dev/null)",
    "option": " ".join(s.name for s in SPECS),
    "options": " ".join(f"{s.name}=" for s in SPECS),
}


def takes_file(action: argparse.Action) -> bool:
    return action.nargs != 0 and any(w in action.dest for w in FILE_WORDS)


def _flags(cmd: Command) -> list[str]:
    return [flag for a in cmd.options for flag in a.option_strings]


def _positional_words(cmd: Command) -> str:
    return " ".join(BASH_WORDS.get(a.dest, "") for a in cmd.positionals).strip()


def bash(parser: argparse.ArgumentParser) -> str:
    cmds = commands(parser)
    top = " ".join([c.name for c in cmds] + [f for a in parser._actions for f in a.option_strings])
    file_flags = sorted({f for c in cmds for a in c.options if takes_file(a) for f in a.option_strings})
    value_flags = sorted({f for c in cmds for a in c.options if a.nargs != 0 and not takes_file(a)
                          for f in a.option_strings})
    cases = []
    for cmd in cmds:
        cases.append(f'        {cmd.name}) flags="{" ".join(_flags(cmd))}"; words="{_positional_words(cmd)}" ;;')
    return f"""# bash completion for softbond; generated from its argparse definitions (softbond.faces.docgen)
_softbond_bonds() {{
    local d={RUN_ROOT}/netns-$(stat -L -c %i /proc/self/ns/net 2>/dev/null) f
    for f in "$d"/*.json; do [ -e "$f" ] && basename "$f" .json; done
}}

_softbond() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
    local flags words
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{top}" -- "$cur"))
        return
    fi
    case $prev in
        {"|".join(file_flags) or "--no-such-flag"}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --slaves) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
        {"|".join(value_flags) or "--no-such-flag"}) return ;;
    esac
    case ${{COMP_WORDS[1]}} in
{chr(10).join(cases)}
        *) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        [[ ${{COMPREPLY[0]}} == *= ]] && compopt -o nospace 2>/dev/null
    fi
}}
complete -F _softbond softbond
"""


def _zsh_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh_action(action: argparse.Action) -> str:
    if action.option_strings:
        names = action.option_strings
        spec = ("{" + ",".join(names) + "}") if len(names) > 1 else names[0]
        repeat = "*" if isinstance(action, (argparse._AppendAction, argparse._CountAction)) else ""
        value = (f":{action.dest}:" + ("_files" if takes_file(action) else " ")) if action.nargs != 0 else ""
        return f"{repeat}{spec}'[{_zsh_escape(action.help or '')}]{value}'"
    many = "*" if action.nargs in ("*", "+") else ""
    if action.dest in ("bond",):
        what = "_softbond_bonds"
    elif action.dest in INTERFACE_ARGS:
        what = "_net_interfaces"
    elif action.dest in ("option", "options"):
        suffix = "=" if action.dest == "options" else ""
        what = "(" + " ".join(f"{s.name}{suffix}" for s in SPECS) + ")"
    else:
        what = " "
    return f"'{many}:{action.dest}:{what}'"


def zsh(parser: argparse.ArgumentParser) -> str:
    cmds = commands(parser)
    described = "\n".join(f"        '{c.name}:{_zsh_escape(c.help)}'" for c in cmds)
    cases = []
    for cmd in cmds:
        specs = " \\\n                ".join(_zsh_action(a) for a in cmd.positionals + cmd.options
                                          if not isinstance(a, argparse._HelpAction))
        cases.append(f"        {cmd.name})\n            _arguments -s \\\n                {specs} ;;")
    return f"""#compdef softbond
# zsh completion for softbond; generated from its argparse definitions (softbond.faces.docgen)
_softbond_bonds() {{
    local d={RUN_ROOT}/netns-$(stat -L -c %i /proc/self/ns/net 2>/dev/null)
    local -a bonds
    bonds=($d/*.json(N:t:r))
    compadd -a bonds
}}

_softbond() {{
    local -a verbs
    verbs=(
{described}
    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'softbond command' verbs
        return
    fi
    shift words
    (( CURRENT-- ))
    case $words[1] in
{chr(10).join(cases)}
    esac
}}

_softbond "$@"
"""
