"""`softbond install-unit` and `softbond wait-members` (the unit's ExecStartPre)."""
from __future__ import annotations

import argparse

from . import DEFAULT_UNIT_DIR, PACKAGED_CONFIG, UNIT_NAME, UnitError, install_unit, wait_members


def add_parsers(sub) -> None:
    iu = sub.add_parser("install-unit", help=f"write {UNIT_NAME} running this softbond (venv, pipx, pip installs)",
                        description=f"Write the systemd unit {UNIT_NAME} with an ExecStart that runs this very "
                                    "softbond (a venv's or pipx's script, or python -m softbond from a checkout).",
                        epilog="examples:\n  softbond install-unit\n"
                               "  softbond install-unit --config /etc/softbond/softbond.toml --unit-dir /etc/systemd/system",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    iu.add_argument("--unit-dir", default=DEFAULT_UNIT_DIR, metavar="DIR", help=f"default {DEFAULT_UNIT_DIR}")
    iu.add_argument("--config", default=PACKAGED_CONFIG, help=f"the bonds' config file, default {PACKAGED_CONFIG}")
    iu.set_defaults(func=cmd_install_unit)

    wm = sub.add_parser("wait-members", help="wait until a bond's members exist (the unit runs this at boot)",
                        description="Wait until every member a config names for BOND exists (NIC drivers and "
                                    "udev renames may come late at boot); fail in one line naming the missing ones.",
                        epilog="examples:\n  softbond wait-members bond0 --config /etc/softbond/softbond.toml --timeout 60",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    wm.add_argument("bond", help="the bond whose members to wait for")
    wm.add_argument("--config", action="append", required=True,
                    help="TOML file, ifcfg directory or modprobe.conf (repeatable)")
    wm.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="default 60")
    wm.set_defaults(func=cmd_wait_members)


def cmd_install_unit(args: argparse.Namespace) -> int:
    from ..cli import CliError
    try:
        path = install_unit(args.unit_dir, args.config)
    except UnitError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {path}; enable a bond with: systemctl daemon-reload && systemctl enable --now softbond@BOND")
    return 0


def cmd_wait_members(args: argparse.Namespace) -> int:
    from ..cli import CliError
    from ...config.loader import load_config, merge_configs
    configs = merge_configs([c for path in args.config for c in load_config(path)])
    config = next((c for c in configs if c.name == args.bond), None)
    if config is None:
        raise CliError(f"{args.bond}: not found in {', '.join(args.config)}")
    missing = wait_members(config.slaves, args.timeout)
    if missing:
        raise CliError(f"{config.name}: member{'s' if len(missing) > 1 else ''} {', '.join(missing)} did not "
                       f"appear within {args.timeout:g} s ({config.source})")
    return 0
