"""softbond up|down|status|enslave|release|set-active|set|demo."""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time

from .. import __version__
from . import cli_help
from ..kernel import hostnet, runfiles, rundir as runtime
from ..config.model import BondConfig, ConfigError, build_bond_config
from ..config.names import validate_ifname
from ..control import ControlError, NoAnswer, call, request, request_at  # noqa: F401 (request_at: kept for its callers)
from .systemd.cli import add_parsers as add_unit_parsers

READY_TIMEOUT = 30.0


# The CLI's name for the control socket's error (every verb raises it).
CliError = ControlError


# ---------------------------------------------------------------------- up
def _configs_for_up(args) -> list[BondConfig]:
    configs: list[BondConfig] = []
    if args.config:
        from ..config.loader import load_config, merge_configs
        for path in args.config:
            configs.extend(load_config(path))
        configs = merge_configs(configs)
    pairs = []
    for item in args.options:
        if "=" not in item:
            raise CliError(f"{item}: expected OPTION=VALUE")
        key, value = item.split("=", 1)
        pairs.append((key.strip(), value.strip(), None))
    if args.inherit:
        pairs.append(("inherit", "yes", None))
    if args.bond:
        base = next((c for c in configs if c.name == args.bond), None)
        if configs and base is None and not args.slaves:
            raise CliError(f"{args.bond}: not found in {', '.join(args.config)}")
        slaves = tuple(s for s in (args.slaves or "").split(",") if s) or (base.slaves if base else ())
        addresses = tuple(args.address or ()) or (base.addresses if base else ())
        base_pairs = list(base.option_pairs) if base else []
        config = build_bond_config(
            args.bond, slaves=slaves, addresses=addresses, option_pairs=base_pairs + pairs,
            hwaddr=base.hwaddr if base else None, gateway=base.gateway if base else None,
            gateway6=base.gateway6 if base else None,
            mtu=args.mtu if args.mtu is not None else (base.mtu if base else None),
            source=base.source if base else "command line", module=base is None)
        return [config]
    if not args.config:
        raise CliError("up: name a bond (softbond up BOND --slaves IF,IF) or give --config PATH")
    if pairs or args.slaves or args.address or args.mtu is not None:
        raise CliError("up: --slaves, --address, --inherit, --mtu and OPTION=VALUE need a bond name")
    # A bond that only the kernel's default max_bonds=1 made, with no members
    # from any source, is not one the files configure.
    configs = [c for c in configs if not (c.implicit and not c.slaves)]
    if not configs:
        raise CliError(f"up: no bonds found in {', '.join(args.config)} (looked for ifcfg-* files with "
                       "BONDING_OPTS or MASTER= in a directory, alias/options bonding lines in a "
                       "modprobe file, [bondN] tables in a TOML file, bonds in netplan, networkd, "
                       "NetworkManager, ifupdown or teamd files)")
    return [c for c in configs if c.onboot]


def _report_running(bond: str) -> bool:
    if bond not in runtime.running_bonds():
        return False
    pid = (runtime.read_state(bond) or {}).get("pid")
    print(f"{bond}: already running (pid {pid}), skipped")
    return True


def _precheck(config: BondConfig) -> None:
    """Refuse obvious mistakes before any process starts; the daemon checks
    again (authoritatively) before it touches anything."""
    running = CliError(f"{config.name}: already running (softbond down {config.name} first)")
    if config.name in runtime.running_bonds():
        raise running
    sysfs = f"/sys/class/net/{config.name}"
    if os.path.exists(sysfs) and not os.path.exists(f"{sysfs}/tun_flags") and runtime.read_state(config.name) is None:
        raise CliError(f"{config.name}: an interface of that name already exists and is not a softbond bond")
    for slave in config.slaves:
        if not os.path.exists(f"/sys/class/net/{slave}"):
            raise CliError(f"{config.name}: cannot enslave {slave}: no such interface")
        owner = runtime.owner_of(slave)
        if owner == config.name:    # it came up since the check above (a racing `up` won)
            raise running
        if owner:
            raise CliError(f"{config.name}: cannot enslave {slave}: it is already a slave of {owner}")
    for claim in hostnet.claims(config.slaves):
        print(claim.warning(config.name), file=sys.stderr)


def cmd_up(args) -> int:
    configs = _configs_for_up(args)
    if args.only:
        configs = [c for c in configs if c.name == args.only]
    if args.foreground:
        if len(configs) != 1:
            raise CliError("up --foreground runs exactly one bond; name it")
        _precheck(configs[0])
        from .. import daemon
        runtime.collect_garbage()
        runtime.lock_bond(configs[0].name)      # held until this process exits
        ready_fd = args.ready_fd
        return daemon.run(configs[0], ready_fd)
    if not args.bond:
        # Re-running `up --config` (at boot, after a change) starts what is
        # not running yet; the bonds that run are left as they are.
        configs = [c for c in configs if not _report_running(c.name)]
    for config in configs:
        _precheck(config)
    failed = 0
    for config in configs:
        try:
            _spawn(config, args)   # prints the warnings the bond logged, config.warnings among them
            print(f"{config.name}: up")
        except (CliError, runtime.RunError) as exc:
            print(f"softbond: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _spawn(config: BondConfig, args) -> None:
    """Start the bond's own process and wait until it is up (or failed).

    The bond process is forked from this one once the daemon's modules are
    imported: a fresh interpreter would import them all again (time that
    802.3ad counts from `up` to distributing). Nothing here has started a
    thread."""
    from .. import daemon

    daemon.preload(config)
    runtime.collect_garbage()
    # Exactly one `up` of a bond wins, before anything is touched: the lock
    # is inherited by the bond process and held until it dies.
    lock_fd = runtime.lock_bond(config.name)
    runtime.rotate_log(config.name, fds=())
    try:
        log_fd = runfiles.open_log(runtime.log_path(config.name))
    except runtime.RunError as exc:
        os.close(lock_fd)
        raise CliError(f"{config.name}: {exc}") from None
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    # The bonds one `up` forks share its pages copy-on-write; the collector
    # would write to every object it visits (its header), so what exists now
    # is put out of its reach.
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        _bond_process(config, daemon, read_fd, write_fd, log_fd)
    runtime.set_lock_owner(lock_fd, pid)
    os.close(lock_fd)
    os.close(write_fd)
    os.close(log_fd)
    deadline = time.monotonic() + READY_TIMEOUT
    message = ""
    with os.fdopen(read_fd, "rb") as pipe:
        while time.monotonic() < deadline:
            chunk = pipe.readline()
            message = chunk.decode().strip()
            if message.startswith("warn "):     # said before "ok": the start's warnings
                print(message[5:], file=sys.stderr)
                continue
            if chunk or _exited(pid) is not None:
                break
    if message == "ok":
        return
    if message.startswith("error "):
        raise CliError(message[6:])
    code = _exited(pid)
    raise CliError(f"{config.name}: the bond process exited ({code}); see {runtime.log_path(config.name)}")


def _bond_process(config: BondConfig, daemon, read_fd: int, ready_fd: int, log_fd: int) -> None:
    """The forked child: a session of its own, stdin from /dev/null, output
    to the bond's log; runs the bond and never returns."""
    code = 1
    try:
        os.close(read_fd)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(null)
        os.close(log_fd)
        code = daemon.run(config, ready_fd)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _exited(pid: int) -> int | None:
    """The exit status of the bond process if it has exited (reaped), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status) if done else None


# ----------------------------------------------------------- other verbs
DOWN_TIMEOUT = 10.0


def cmd_down(args) -> int:
    bond = args.bond
    state = runtime.read_state(bond)
    alive = state is not None and runtime.pid_alive(state["pid"])
    if args.force:
        if state is None:
            raise CliError(f"{bond}: no such bond in this network namespace")
        if alive:
            _kill(bond, state["pid"])
        _repair(bond)
    elif alive or (state is None and os.path.exists(runtime.socket_path(bond))):
        try:
            call(bond, "down", timeout=DOWN_TIMEOUT)
        except NoAnswer:
            pid = state["pid"] if state else "?"
            raise CliError(f"{bond}: the bond process (pid {pid}) did not answer within {DOWN_TIMEOUT:g} s; "
                           f"`softbond down --force {bond}` kills it and repairs the members "
                           "from the state record") from None
        # The bond process holds the bond's lock until it is gone: a next `up` must find it free.
        os.close(runtime.lock_bond(bond, doing="running", wait=5.0))
    elif state is not None:
        _repair(bond)       # the process is gone: repair what it left, as a new `up` would
    else:
        raise CliError(f"{bond}: no such bond in this network namespace")
    print(f"{bond}: down")
    return 0


def _kill(bond: str, pid: int) -> None:
    os.kill(pid, 9)
    deadline = time.monotonic() + 5
    while runtime.pid_alive(pid):
        if time.monotonic() > deadline:
            raise CliError(f"{bond}: the bond process (pid {pid}) survived SIGKILL")
        time.sleep(0.01)


def _repair(bond: str) -> None:
    """Restore the members a dead bond process recorded and remove its
    device; under the bond's lock, so no `up` of it runs meanwhile."""
    lock = runtime.lock_bond(bond, doing="being brought up or down", wait=2.0)
    try:
        from ..kernel.links import Links
        links = Links()
        try:
            runtime.recover_leftovers(bond, links)
        finally:
            links.close()
        from ..datapath.devices import remove_leftover
        remove_leftover(bond)
    finally:
        os.close(lock)


def cmd_status(args) -> int:
    problems: list[str] = []
    known = runtime.list_bonds(problems)
    if args.bond:
        known = [b for b in known if b.name == args.bond]
    if not known and problems:
        raise CliError("; ".join(problems))      # refused records: that is the answer
    for problem in problems:
        print(f"softbond: {problem}", file=sys.stderr)
    if args.bond and not known:
        known = [runtime.BondRecord(args.bond, 0, True)]     # the socket answers "no such bond"
    if not known:
        if args.json:
            print("[]")
            return 0
        raise CliError("no bonds running in this network namespace")
    # A bond whose process died is reported, not left out (or called "no such bond").
    statuses = [call(b.name, "status")["status"] if b.alive else b.to_json() for b in known]
    if args.json:
        payload = statuses[0] if args.bond else statuses
        print(json.dumps(payload, indent=2))
        return 0 if all(b.alive for b in known) or not args.bond else 1
    from . import status_text       # not in `up`, whose bonds are forked from it
    render = status_text.render_verbose if args.verbose else status_text.render_proc
    cap = os.geteuid() == 0
    texts = [(b.name, render(s, cap_net_admin=cap) + status_text.lacp_line(s)
              + status_text.path_block(s) if b.alive else s["reason"] + "\n")
             for b, s in zip(known, statuses)]
    print(status_text.render_several(texts), end="")
    return 0 if all(b.alive for b in known) or not args.bond else 1


def cmd_enslave(args) -> int:
    call(args.bond, "enslave", ifaces=args.ifaces)
    return 0


def cmd_release(args) -> int:
    call(args.bond, "release", ifaces=args.ifaces)
    return 0


def cmd_set_active(args) -> int:
    call(args.bond, "set_active", iface=args.iface)
    return 0


def set_words(bond: str, option: str, value: str | None) -> tuple[str, str]:
    """(option, value) from `set BOND OPTION VALUE` or `set BOND OPTION=VALUE`
    (the form `up` takes)."""
    name, sep, inline = option.partition("=")
    if sep and value is not None:
        raise CliError(f"{bond}: set {option} {value}: give OPTION VALUE or OPTION=VALUE, not both")
    if not sep and value is None:
        raise CliError(f"{bond}: set {option}: no value (softbond set {bond} {option} VALUE)")
    return (name, inline) if sep else (option, value)


def cmd_set(args) -> int:
    option, value = set_words(args.bond, args.option, args.value)
    reply = call(args.bond, "set", option=option, value=value)
    for warning in reply.get("warnings", []):
        print(warning, file=sys.stderr)
    return 0


def cmd_options(args) -> int:
    from . import options_table
    if args.name is None:
        print(options_table.table(), end="")
        return 0
    try:
        print(options_table.describe(args.name), end="")
    except LookupError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_demo(args) -> int:
    from ..lab import demo
    return demo.run(mode=args.mode)


def cmd_top(args) -> int:
    if args.bond and args.bond not in [b.name for b in runtime.list_bonds()]:
        raise CliError(f"{args.bond}: no such bond in this network namespace")
    try:
        from . import top
    except ImportError as exc:
        # The .deb cannot depend on it: Debian's python3-textual is far too old.
        raise CliError(f"top needs textual>=8 ({exc.name or 'textual'} not importable): pip install 'textual>=8'; "
                       "softbond status shows the same state without it") from None
    return top.run(args.bond)


def cmd_web(args) -> int:
    from .web import access, server
    try:
        host, _port = server.parse_listen(args.listen)
    except ValueError as exc:
        raise CliError(f"web: --listen {exc}") from None
    try:
        ssl_context = access.tls_context(args.tls_cert, args.tls_key)
        if not server.is_loopback(host) and ssl_context is None and not args.insecure_listen:
            raise access.AccessError(
                f"web: --listen {args.listen} is reachable from other hosts and the token would cross the "
                f"network in plain HTTP; give --tls-cert F --tls-key F, or --insecure-listen to accept that")
        token, generate = _web_token(args)
    except access.AccessError as exc:
        raise CliError(str(exc)) from None
    if not server.is_loopback(host):
        print(f"softbond: warning: web: {args.listen} serves every host that reaches it"
              f"{'' if ssl_context else ', in plain HTTP (--insecure-listen)'}; "
              f"Host must be an IP address{' or ' + ', '.join(args.allow_host) if args.allow_host else ''}",
              file=sys.stderr, flush=True)

    written = []

    def on_start() -> None:  # bound: only now is there a server for the token
        if generate:
            written.append(access.write_token(runtime.run_dir(create=True), token))
            print(f"softbond web: actions need the token in {written[0]} (mode 0600)", flush=True)
    try:
        return server.run(args.listen, token=token, ssl_context=ssl_context, allow_hosts=tuple(args.allow_host),
                          on_start=on_start)
    except access.AccessError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"web: cannot listen on {args.listen}: {exc.strerror or exc}") from None
    finally:
        for path in written:  # the token dies with this server
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _web_token(args) -> tuple[str | None, bool]:
    """(token, generated): from --token -, --token-file or the environment
    (one of them), or a new one when --actions asks for changes."""
    from .web import access
    env = os.environ.get(access.ENV_TOKEN)
    given = [what for what, on in (("--token", args.token is not None), ("--token-file", bool(args.token_file)),
                                   (access.ENV_TOKEN, env is not None)) if on]
    if args.token is not None and args.token != "-":
        raise access.argv_token_refused()
    if len(given) > 1:
        raise access.AccessError(f"web: the token comes from one place; got {' and '.join(given)}")
    if args.token == "-":
        return access.read_token_stdin(), False
    if args.token_file:
        return access.read_token_file(args.token_file), False
    if env is not None:
        return access.check_token(env, access.ENV_TOKEN), False
    if args.actions:
        return access.new_token(), True
    return None, False


def cmd_import(args) -> int:
    from ..config.export import to_toml
    from ..config.loader import load_config, merge_configs
    configs = merge_configs([c for path in args.paths for c in load_config(path)])
    if not configs:
        raise CliError(f"import: no bonds found in {', '.join(args.paths)}")
    for config in configs:
        for warning in config.warnings:
            print(warning, file=sys.stderr)
    sys.stdout.write(to_toml(configs))
    return 0


def cmd_doctor(args) -> int:
    from . import doctor
    try:
        targets = doctor.validate_targets(args.target)
        states = doctor.bond_states(args.bond)
        if not states:
            raise CliError("doctor: no bonds in this network namespace")
        findings = []
        for bond, state in states.items():
            if state is None and not os.path.exists(runtime.socket_path(bond)):
                raise CliError(f"{bond}: no such bond in this network namespace")
            findings += doctor.examine(bond, state, targets)
    except doctor.DoctorError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps([f.to_json() for f in findings], indent=2))
    else:
        print(doctor.render(findings, list(states)), end="")
    return 1 if findings else 0


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="softbond", description="NIC bonding in userspace: the kernel "
                                     "bonding driver's modes, options, config files and status, run as a process.",
                                     epilog=cli_help.epilog("softbond"),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"softbond {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    up = sub.add_parser("up", help="bring bonds up")
    _up_arguments(up)
    _rest(parser, sub)
    for verb, verb_parser in sub.choices.items():
        _explain(verb, verb_parser, next(a.help for a in sub._choices_actions if a.dest == verb))
    return parser


def _explain(verb: str, verb_parser: argparse.ArgumentParser, summary: str) -> None:
    """A verb's --help: what it does (its one-line summary when there is no
    more to say) and examples, with the examples' line breaks kept."""
    verb_parser.description = verb_parser.description or cli_help.DESCRIPTIONS.get(verb) or summary
    verb_parser.epilog = verb_parser.epilog or cli_help.epilog(verb)
    verb_parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _up_arguments(up: argparse.ArgumentParser) -> None:
    up.add_argument("bond", nargs="?", help="the bond to bring up (every onboot bond of --config when omitted)")
    up.add_argument("options", nargs="*", metavar="OPTION=VALUE",
                    help="bonding options, as in BONDING_OPTS (see the list below)")
    up.add_argument("--slaves", metavar="IF,IF", help="comma-separated member interfaces")
    up.add_argument("--address", action="append", metavar="CIDR",
                    help="address in CIDR form, e.g. 192.168.100.199/24 (repeatable)")
    up.add_argument("--mtu", help="the bond's MTU (its members take it)")
    up.add_argument("--inherit", action="store_true",
                    help="take over the first member's addresses, routes, MTU and MAC (down gives them back)")
    up.add_argument("--config", action="append", metavar="PATH",
                    help="TOML file, ifcfg directory, modprobe.conf, netplan YAML, networkd "
                         "directory, NetworkManager keyfile(s), /etc/network/interfaces or "
                         "teamd JSON (repeatable)")
    up.add_argument("--foreground", action="store_true", help="stay in the foreground (for systemd)")
    up.add_argument("--only", help=argparse.SUPPRESS)
    up.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up, verb="up")


def _rest(parser, sub) -> None:
    down = sub.add_parser("down", help="remove a bond, restoring its members")
    down.add_argument("bond", help="the bond to remove")
    down.add_argument("--force", action="store_true",
                      help="kill the bond process (if hung) and repair the members from its state record")
    down.set_defaults(func=cmd_down)

    st = sub.add_parser("status", help="/proc/net/bonding-style status")
    st.add_argument("bond", nargs="?", help="one bond (every running bond when omitted)")
    st.add_argument("--json", action="store_true", help="the status as JSON (a list when no bond is named)")
    st.add_argument("--verbose", action="store_true", help="add softbond's data path, addresses and counters")
    st.set_defaults(func=cmd_status)

    for verb, func, helptext in (("enslave", cmd_enslave, "add members to a live bond"),
                                 ("release", cmd_release, "remove members from a live bond")):
        p = sub.add_parser(verb, help=helptext)
        p.add_argument("bond", help="a running bond")
        p.add_argument("ifaces", nargs="+", metavar="IFACE", help="member interfaces")
        p.set_defaults(func=func)

    sa = sub.add_parser("set-active", help="make a member the active one")
    sa.add_argument("bond", help="a running bond")
    sa.add_argument("iface", metavar="IFACE", help="the member to make active")
    sa.set_defaults(func=cmd_set_active)

    so = sub.add_parser("set", help="change an option on a live bond")
    so.add_argument("bond", help="a running bond")
    so.add_argument("option", metavar="OPTION", help="an option name, or OPTION=VALUE")
    so.add_argument("value", nargs="?", metavar="VALUE", help="its new value (may start with - or +)")
    so.set_defaults(func=cmd_set)

    op = sub.add_parser("options", help="list the bonding options, their values and defaults")
    op.add_argument("name", nargs="?", metavar="NAME", help="one option, in detail")
    op.set_defaults(func=cmd_options)

    demo = sub.add_parser("demo", help="a self-contained demo in network namespaces")
    demo.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    demo.add_argument("--mode", help="show what one mode does (a name or 0-6); default: the failover demo")
    demo.set_defaults(func=cmd_demo)

    top = sub.add_parser("top", help="live view of a bond: rates, links, events")
    top.add_argument("bond", nargs="?", help="the bond to watch (the first running one when omitted)")
    top.set_defaults(func=cmd_top)

    wb = sub.add_parser("web", help="web dashboard, JSON API and /metrics for every bond")
    wb.add_argument("--listen", default="127.0.0.1:8470", metavar="ADDR:PORT", help="default 127.0.0.1:8470")
    token = wb.add_mutually_exclusive_group()
    token.add_argument("--token", metavar="-", help="read the token (allows changes) as one line from stdin; "
                                                     "never give it here: use - or SOFTBOND_WEB_TOKEN")
    token.add_argument("--token-file", metavar="F", help="read the token from F (owned by root, mode 0600)")
    wb.add_argument("--actions", action="store_true",
                    help="allow changes; without a token given, generate one into a 0600 file and print its path")
    wb.add_argument("--tls-cert", metavar="F", help="serve HTTPS with this certificate (PEM)")
    wb.add_argument("--tls-key", metavar="F", help="... and this key (PEM)")
    wb.add_argument("--insecure-listen", action="store_true",
                    help="allow plain HTTP on a non-loopback --listen")
    wb.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="accept this DNS name in the Host header (non-loopback listeners; repeatable)")
    wb.set_defaults(func=cmd_web)

    imp = sub.add_parser("import", help="convert another tool's bond config to softbond's TOML",
                         description="Read bonds from netplan YAML, systemd-networkd .netdev/.network, "
                                     "NetworkManager keyfiles, /etc/network/interfaces, teamd JSON, "
                                     "ifcfg or modprobe.conf (as up --config does) and print them as "
                                     "softbond's TOML; warnings go to stderr and stay in it as comments.",
                         epilog="examples:\n  softbond import /etc/netplan > /etc/softbond/softbond.toml\n"
                                "  softbond import /etc/NetworkManager/system-connections --to toml")
    imp.add_argument("paths", nargs="+", metavar="PATH",
                     help="a config file or directory, as up --config takes (several merge)")
    imp.add_argument("--to", choices=["toml"], default="toml", help="output format (toml)")
    imp.set_defaults(func=cmd_import)
    add_unit_parsers(sub)


    dr = sub.add_parser("doctor", help="what is wrong with a bond, with the evidence and the fix",
                        description="Check a bond (every bond, running or not, when none is named) and its\n"
                        "switch: LACP partners and aggregators, a switch that is no static trunk, members\n"
                        "that cannot reach the bond's ARP targets, gateway or --target (ARP probes from each\n"
                        "member, to those addresses only), members' MTU, speed and duplex, NetworkManager or\n"
                        "systemd-networkd managing a member, the data path, link monitoring, a dead bond\n"
                        "process. Exit status 0 when healthy, 1 with findings.",
                        epilog="examples:\n  softbond doctor\n  softbond doctor bond0 --target 192.168.100.1\n"
                        "  softbond doctor bond0 --json")
    dr.add_argument("bond", nargs="?", help="one bond (every bond, running or not, when omitted)")
    dr.add_argument("--json", action="store_true", help="the findings as a JSON list (stable ids)")
    dr.add_argument("--target", action="append", default=[], metavar="IPV4",
                    help="also ARP-probe this address from each member (repeatable)")
    dr.set_defaults(func=cmd_doctor)


# Verbs that touch bonds: without root they are refused before they try.
ROOT_VERBS = frozenset({"up", "down", "status", "enslave", "release", "set-active", "set", "top", "demo", "doctor"})


def parse(argv: list[str]) -> argparse.Namespace:
    if argv and argv[0] == "up":
        # OPTION=VALUE words may come before or after --slaves/--address.
        up = argparse.ArgumentParser(prog="softbond up")
        _up_arguments(up)
        _explain("up", up, "")
        return up.parse_intermixed_args(argv[1:])
    if argv and argv[0] == "set" and not {"-h", "--help"} & set(argv[1:]):
        # After `set` every word is positional: `arp_ip_target -192.0.2.9`
        # (the kernel's removal syntax) is a value, not an unknown flag.
        argv = ["set", "--", *argv[1:]]
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(parse(argv))
    except KeyboardInterrupt:
        return 130
    except PermissionError:     # e.g. /run/softbond is root's
        print(f"softbond: {argv[0] if argv else 'softbond'}: permission denied (run as root)", file=sys.stderr)
        return 1
    except Exception as exc:    # a bug: one line here, the traceback in the log
        from . import crashlog
        return crashlog.report(exc, argv)


def run(args: argparse.Namespace) -> int:
    try:
        if args.verb in ROOT_VERBS and os.geteuid() != 0:
            raise CliError(f"{args.verb}: permission denied (run as root)")
        if getattr(args, "bond", None):
            validate_ifname(args.bond, "bond")
        return args.func(args) or 0
    except (CliError, ConfigError, runtime.RunError) as exc:
        print(f"softbond: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
