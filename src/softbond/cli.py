"""softbond up|down|status|enslave|release|set-active|set|demo."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time

from . import __version__, hostnet, runtime, status as status_text
from .config.model import BondConfig, ConfigError, build_bond_config
from .config.names import validate_ifname
from .systemd.cli import add_parsers as add_unit_parsers

READY_TIMEOUT = 30.0


class CliError(Exception):
    pass


# ------------------------------------------------------------------ control
def request(bond: str, payload: dict, timeout: float = 30.0) -> dict:
    return request_at(runtime.socket_path(bond), payload, timeout, bond=bond)


def request_at(path: str, payload: dict, timeout: float = 30.0, *, bond: str = "bond") -> dict:
    """One request over a control socket named by its path (a bond in
    another namespace is reached this way: its path names the namespace)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall(json.dumps(payload).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except PermissionError:
        raise CliError(f"{bond}: permission denied (the control socket is root only; run as root)") from None
    except (FileNotFoundError, ConnectionRefusedError):
        raise CliError(f"{bond}: no such bond in this network namespace") from None
    except socket.timeout:
        raise CliError(f"{bond}: the bond process did not answer") from None
    finally:
        sock.close()
    try:
        reply = json.loads(data)
    except ValueError:
        raise CliError(f"{bond}: malformed reply from the bond process") from None
    if not reply.get("ok"):
        raise CliError(reply.get("error", "request failed"))
    return reply


# ---------------------------------------------------------------------- up
def _configs_for_up(args) -> list[BondConfig]:
    configs: list[BondConfig] = []
    if args.config:
        from .config.loader import load_config, merge_configs
        for path in args.config:
            configs.extend(load_config(path))
        configs = merge_configs(configs)
    pairs = []
    for item in args.options:
        if "=" not in item:
            raise CliError(f"{item}: expected OPTION=VALUE")
        key, value = item.split("=", 1)
        pairs.append((key.strip(), value.strip(), None))
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
            source=base.source if base else "command line")
        return [config]
    if not configs:
        raise CliError("up: name a bond (softbond up BOND --slaves IF,IF) or give --config PATH")
    if pairs or args.slaves or args.address or args.mtu is not None:
        raise CliError("up: --slaves, --address, --mtu and OPTION=VALUE need a bond name")
    return [c for c in configs if c.onboot]


def _precheck(config: BondConfig) -> None:
    """Refuse obvious mistakes before any process starts; the daemon checks
    again (authoritatively) before it touches anything."""
    if config.name in runtime.running_bonds():
        raise CliError(f"{config.name}: already running (softbond down {config.name} first)")
    sysfs = f"/sys/class/net/{config.name}"
    if os.path.exists(sysfs) and not os.path.exists(f"{sysfs}/tun_flags") and runtime.read_state(config.name) is None:
        raise CliError(f"{config.name}: an interface of that name already exists and is not a softbond bond")
    for slave in config.slaves:
        if not os.path.exists(f"/sys/class/net/{slave}"):
            raise CliError(f"{config.name}: cannot enslave {slave}: no such interface")
        owner = runtime.owner_of(slave)
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
        from . import daemon
        ready_fd = args.ready_fd
        return daemon.run(configs[0], ready_fd)
    for config in configs:
        _precheck(config)
    failed = 0
    for config in configs:
        try:
            _spawn(config, args)
            for warning in config.warnings:
                print(warning, file=sys.stderr)
            print(f"{config.name}: up")
        except CliError as exc:
            print(str(exc), file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _spawn(config: BondConfig, args) -> None:
    """Start the bond's own process and wait until it is up (or failed).

    The bond process is forked from this one once the daemon's modules are
    imported: a fresh interpreter would import them all again (pyroute2 and
    asyncio alone are a fifth of a second of every `softbond up`, and 802.3ad
    counts from `up` to distributing). Nothing here has started a thread."""
    from . import daemon

    runtime.run_dir(create=True)
    log_fd = os.open(runtime.log_path(config.name), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _bond_process(config, daemon, read_fd, write_fd, log_fd)
    os.close(write_fd)
    os.close(log_fd)
    deadline = time.monotonic() + READY_TIMEOUT
    data = b""
    with os.fdopen(read_fd, "rb") as pipe:
        while time.monotonic() < deadline:
            chunk = pipe.readline()
            if chunk or _exited(pid) is not None:
                data = chunk
                break
    message = data.decode().strip()
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
def cmd_down(args) -> int:
    try:
        request(args.bond, {"cmd": "down"})
    except CliError:
        state = runtime.read_state(args.bond)
        if state is None:
            raise
        # The process is gone: repair what it left, as a new `up` would.
        from .ports.links import Links
        links = Links()
        try:
            runtime.recover_leftovers(args.bond, links)
        finally:
            links.close()
        from .bonddev import remove_leftover
        remove_leftover(args.bond)
    print(f"{args.bond}: down")
    return 0


def cmd_status(args) -> int:
    bonds = [args.bond] if args.bond else runtime.running_bonds()
    if not bonds:
        if args.json:
            print("[]")
            return 0
        raise CliError("no bonds running in this network namespace")
    statuses = [request(b, {"cmd": "status"})["status"] for b in bonds]
    if args.json:
        payload = statuses[0] if args.bond else statuses
        print(json.dumps(payload, indent=2))
        return 0
    render = status_text.render_verbose if args.verbose else status_text.render_proc
    cap = os.geteuid() == 0
    print("\n".join(render(s, cap_net_admin=cap) for s in statuses), end="")
    return 0


def cmd_enslave(args) -> int:
    request(args.bond, {"cmd": "enslave", "ifaces": args.ifaces})
    return 0


def cmd_release(args) -> int:
    request(args.bond, {"cmd": "release", "ifaces": args.ifaces})
    return 0


def cmd_set_active(args) -> int:
    request(args.bond, {"cmd": "set_active", "iface": args.iface})
    return 0


def cmd_set(args) -> int:
    reply = request(args.bond, {"cmd": "set", "option": args.option, "value": args.value})
    for warning in reply.get("warnings", []):
        print(warning, file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from . import demo
    return demo.run(keep_going=args.keep)


def cmd_top(args) -> int:
    if args.bond and not os.path.exists(runtime.socket_path(args.bond)):
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


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="softbond", description="NIC bonding in userspace")
    parser.add_argument("--version", action="version", version=f"softbond {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True)

    up = sub.add_parser("up", help="bring a bond up")
    _up_arguments(up)
    _rest(parser, sub)
    return parser


def _up_arguments(up: argparse.ArgumentParser) -> None:
    up.add_argument("bond", nargs="?")
    up.add_argument("options", nargs="*", metavar="OPTION=VALUE")
    up.add_argument("--slaves", help="comma-separated member interfaces")
    up.add_argument("--address", action="append", help="address in CIDR form (repeatable)")
    up.add_argument("--mtu", help="the bond's MTU (its members take it)")
    up.add_argument("--config", action="append", help="TOML file, ifcfg directory or modprobe.conf (repeatable)")
    up.add_argument("--foreground", action="store_true", help="stay in the foreground (for systemd)")
    up.add_argument("--only", help=argparse.SUPPRESS)
    up.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up, verb="up")


def _rest(parser, sub) -> None:
    down = sub.add_parser("down", help="remove a bond, restoring its members")
    down.add_argument("bond")
    down.set_defaults(func=cmd_down)

    st = sub.add_parser("status", help="/proc/net/bonding-style status")
    st.add_argument("bond", nargs="?")
    st.add_argument("--json", action="store_true")
    st.add_argument("--verbose", action="store_true")
    st.set_defaults(func=cmd_status)

    for verb, func, helptext in (("enslave", cmd_enslave, "add members to a live bond"),
                                 ("release", cmd_release, "remove members from a live bond")):
        p = sub.add_parser(verb, help=helptext)
        p.add_argument("bond")
        p.add_argument("ifaces", nargs="+")
        p.set_defaults(func=func)

    sa = sub.add_parser("set-active", help="make a member the active one")
    sa.add_argument("bond")
    sa.add_argument("iface")
    sa.set_defaults(func=cmd_set_active)

    so = sub.add_parser("set", help="change an option on a live bond")
    so.add_argument("bond")
    so.add_argument("option")
    so.add_argument("value")
    so.set_defaults(func=cmd_set)

    demo = sub.add_parser("demo", help="a self-contained demo in network namespaces")
    demo.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(func=cmd_demo)

    top = sub.add_parser("top", help="live view of a bond: rates, links, events")
    top.add_argument("bond", nargs="?")
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

    add_unit_parsers(sub)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "up":
        # OPTION=VALUE words may come before or after --slaves/--address.
        up = argparse.ArgumentParser(prog="softbond up")
        _up_arguments(up)
        args = up.parse_intermixed_args(argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        if getattr(args, "bond", None):
            validate_ifname(args.bond, "bond")
        return args.func(args) or 0
    except (CliError, ConfigError) as exc:
        print(f"softbond: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
