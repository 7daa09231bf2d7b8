"""softbond(8) from the argparse parser, softbond.toml(5) from the option
registry, as roff (man(7) macros)."""
from __future__ import annotations

import argparse

from ... import __version__
from ...config.registry import SPECS, OptionSpec
from . import commands

BOND_KEYS = (
    ("slaves", 'list of member interfaces, e.g. ["eth0", "eth1"]'),
    ("address", "the bond's address in CIDR form"),
    ("addresses", "a list of addresses in CIDR form (instead of address)"),
    ("gateway", "IPv4 default gateway through the bond"),
    ("gateway6", "IPv6 default gateway through the bond"),
    ("hwaddr", "the bond's MAC address"),
    ("mtu", "the bond's MTU, 68-65535; its members take it"),
    ("onboot", "false: `softbond up --config` without a bond name leaves this bond down"),
)


def roff(text: str) -> str:
    """Escape text for a roff line: backslashes, hyphens, and a leading
    dot or quote (which would start a request)."""
    text = str(text).replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def _header(name: str, section: int, title: str) -> list[str]:
    manual = "System Administration" if section == 8 else "File Formats"
    return [f'.TH {name.upper()} {section} "" "softbond {__version__}" "{manual}"',
            ".SH NAME", f"{roff(name)} \\- {roff(title)}"]


def _usage(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_usage().replace("usage:", "", 1).split())


def _action(action: argparse.Action) -> list[str]:
    if action.option_strings:
        flags = ", ".join(action.option_strings)
        if action.nargs != 0:
            flags += " " + (action.metavar or action.dest.upper())
    else:
        flags = action.metavar or action.dest.upper()
    return [".TP", f"\\fB{roff(flags)}\\fR", roff(action.help or "")]


def softbond_8(parser: argparse.ArgumentParser) -> str:
    lines = _header("softbond", 8, parser.description or "")
    lines += [".SH SYNOPSIS"]
    for cmd in commands(parser):
        lines += [".PP", f".B {roff(_usage(cmd.parser))}"]
    lines += [".SH DESCRIPTION",
              "softbond runs the Linux bonding driver's modes in userspace: each bond is a process "
              "of its own, controlled through a socket under /run/softbond. Its options are the "
              "kernel driver's (see \\fBsoftbond.toml\\fR(5)).",
              ".SH OPTIONS"]
    for action in parser._actions:
        if action.option_strings and action.help != argparse.SUPPRESS:
            lines += _action(action)
    lines += [".SH COMMANDS"]
    for cmd in commands(parser):
        lines += [f'.SS "{roff(cmd.name)}"', roff(cmd.help)]
        for action in cmd.positionals + cmd.options:
            if isinstance(action, argparse._HelpAction):
                continue
            lines += _action(action)
    lines += [".SH FILES",
              ".TP", "/etc/softbond/softbond.toml", "bonds brought up at boot by softbond@.service",
              ".TP", "/run/softbond", "control sockets, logs and state of running bonds",
              ".SH EXIT STATUS", "0 on success, 1 when a command is refused (one line on stderr says why).",
              ".SH SEE ALSO", "\\fBsoftbond.toml\\fR(5), \\fBip\\fR(8), \\fBsystemctl\\fR(1)", ""]
    return "\n".join(lines)


def _spec_text(spec: OptionSpec) -> str:
    text = spec.desc
    names = [label for label, _ in spec.values]
    if spec.kind in ("enum", "choice") and names:
        text += ". One of: " + ", ".join(names)
    elif spec.min is not None and spec.max is not None:
        text += f". {spec.min} to {spec.max}"
    default = spec.name_of(spec.default) if spec.kind == "enum" else spec.default
    if default not in ("", ()):
        text += f". Default: {default}"
    if spec.runtime == "down":
        text += ". Set while the bond is down"
    return text + "."


def softbond_toml_5() -> str:
    lines = _header("softbond.toml", 5, "bonds and their options for softbond")
    lines += [".SH SYNOPSIS", "/etc/softbond/softbond.toml",
              ".SH DESCRIPTION",
              "A TOML file. A table per bond, named after the bond, holds its members, addresses "
              "and options; the optional table \\fB[bonding]\\fR holds option defaults for every "
              "bond (like the module's \\fBoptions bonding\\fR line); a top-level "
              "\\fBmax_bonds\\fR is the module parameter.",
              ".PP", ".nf", "max_bonds = 1", "[bonding]", "miimon = 100", "[bond0]",
              'mode = "active\\-backup"', 'slaves = ["eth0", "eth1"]', 'address = "192.0.2.10/24"', ".fi",
              ".SH BOND KEYS"]
    for key, text in BOND_KEYS:
        lines += [".TP", f"\\fB{key}\\fR", roff(text)]
    lines += [".SH OPTIONS",
              "The bonding driver's options, with its names, values and ranges; numbers or the "
              "driver's names for them are accepted."]
    for spec in SPECS:
        lines += [".TP", f"\\fB{roff(spec.name)}\\fR", roff(_spec_text(spec))]
    lines += [".SH SEE ALSO", "\\fBsoftbond\\fR(8)", ""]
    return "\n".join(lines)
