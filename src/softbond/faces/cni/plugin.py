"""softbond-cni's entry: ADD, DEL, CHECK and VERSION.

ADD: the links are moved into the container's namespace (unless
linksInContainer: Multus put them there), the IPAM plugin gives the
addresses, `softbond up` runs in the namespace (its bond process lives
there until DEL), the routes follow, and the result names the bond and its
links. A record per attachment (/run/softbond/cni/ID-IFNAME.json: the
namespace's inode, the bond's pid, the links and where they came from)
lets DEL find the bond when the runtime has already dropped the
namespace's path. Whatever ADD did is undone when it fails.
DEL: IPAM released, `softbond down` in the namespace (members restored as
found), links moved back to the host namespace; a second DEL, or one after
a failed ADD, finds nothing to do and succeeds."""
from __future__ import annotations

import contextlib
import json
import os
import sys

from ...kernel import runfiles
from ...kernel.rundir import RUN_ROOT, RunError
from . import ipam, netconf, nsexec
from .spec import (BOND_FAILED, INCOMPATIBLE_VERSION, CHECK_FAILED, CURRENT, INVALID_CONFIG, IO_FAILURE, UNKNOWN_CONTAINER, CniError, check_version,
                   decode_config, encode_result, normalise_ips, read_environment, version_info, version_key)

SOFTBOND = [sys.executable, "-m", "softbond"]
RECORD_DIR = os.path.join(RUN_ROOT, "cni")
UP_TIMEOUT = 60.0


def record_path(env: dict) -> str:
    return os.path.join(RECORD_DIR, f"{env['containerid']}-{env['ifname']}.json")


def _write_record(env: dict, record: dict) -> None:
    runfiles.ensure_dir(RUN_ROOT, private=False)
    runfiles.ensure_dir(RECORD_DIR, private=True)
    runfiles.write_atomic(record_path(env), json.dumps(record).encode())


def _read_record(env: dict) -> dict | None:
    data = runfiles.read_file(record_path(env))
    try:
        return json.loads(data) if data is not None else None
    except ValueError:
        return None          # unreadable: DEL goes by CNI_NETNS alone


def _remove_record(env: dict) -> None:
    try:
        os.unlink(record_path(env))
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------------- links
def _move_links(ipr_from, names: list[str], target_fd: int, *, missing_ok: bool = False) -> list[str]:
    """Move links (set down first, as bond-cni does) into the namespace
    `target_fd`; the names moved."""
    moved = []
    for name in names:
        found = ipr_from.link_lookup(ifname=name)
        if not found:
            if missing_ok:
                continue
            raise CniError(INVALID_CONFIG, f"links: {name}: no such interface in the host namespace")
        ipr_from.link("set", index=found[0], state="down")
        ipr_from.link("set", index=found[0], net_ns_fd=target_fd)
        moved.append(name)
    return moved


def _macs(ipr, names: list[str]) -> dict[str, str]:
    macs = {}
    for name in names:
        found = ipr.link_lookup(ifname=name)
        if found:
            macs[name] = ipr.get_links(found[0])[0].get_attr("IFLA_ADDRESS")
    return macs


def _bond_run_file(inode: int, bond: str, suffix: str) -> str:
    return os.path.join(RUN_ROOT, f"netns-{inode}", f"{bond}.{suffix}")


def _softbond(fd: int, *args: str) -> None:
    proc = nsexec.run_in(fd, [*SOFTBOND, *args], timeout=UP_TIMEOUT)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}").splitlines()
        raise CniError(BOND_FAILED, lines[-1].removeprefix("softbond: "))


# ------------------------------------------------------------------------ ADD
def cmd_add(env: dict, osenv: dict, stdin: bytes, conf: netconf.NetConf, version: str) -> dict:
    from pyroute2 import IPRoute
    netns_fd = _open_netns(env["netns"])
    inode = os.fstat(netns_fd).st_ino
    host = IPRoute()
    inside = nsexec.iproute_in(netns_fd)
    moved: list[str] = []
    ipam_done = False
    try:
        if inside.link_lookup(ifname=conf.bond):
            raise CniError(INVALID_CONFIG, f"ifname: {conf.bond} already exists in {env['netns']}")
        if not conf.links_in_container:
            _write_record(env, {"inode": inode, "bond": conf.bond, "links": conf.links, "moved": conf.links,
                                "pid": None})
            moved = _move_links(host, conf.links, netns_fd)
        missing = [name for name in conf.links if not inside.link_lookup(ifname=name)]
        if missing:
            raise CniError(INVALID_CONFIG, f"links: {', '.join(missing)}: no such interface in {env['netns']}")
        addressing = {"ips": [], "routes": [], "dns": {}}
        if conf.ipam:
            addressing = ipam.run("ADD", conf.ipam["type"], osenv, stdin)
            ipam_done = True
        args = ["up", conf.bond, "--slaves", ",".join(conf.links)]
        for ip in addressing["ips"]:
            args += ["--address", ip["address"]]
        if conf.mtu:
            args += ["--mtu", str(conf.mtu)]
        _softbond(netns_fd, *args, *conf.options)
        pid = _bond_pid(inode, conf.bond)
        _write_record(env, {"inode": inode, "bond": conf.bond, "links": conf.links, "moved": moved, "pid": pid})
        _add_routes(inside, conf.bond, addressing["routes"])
        return _result(conf, env, addressing, _macs(inside, [conf.bond, *conf.links]))
    except BaseException:
        _undo_add(env, osenv, stdin, conf, netns_fd, inode, ipam_done)
        raise
    finally:
        inside.close()
        host.close()
        os.close(netns_fd)


def _open_netns(path: str) -> int:
    try:
        return nsexec.open_netns(path)
    except OSError as exc:
        raise CniError(UNKNOWN_CONTAINER, f"CNI_NETNS: {path}: {exc.strerror}") from None


def _bond_pid(inode: int, bond: str) -> int | None:
    try:
        data = runfiles.read_file(_bond_run_file(inode, bond, "json"))
        return json.loads(data)["pid"] if data else None
    except (RunError, ValueError, KeyError, TypeError):
        return None


def _add_routes(ipr, bond: str, routes: list) -> None:
    index = ipr.link_lookup(ifname=bond)[0]
    for route in routes:
        if not isinstance(route, dict) or not isinstance(route.get("dst"), str):
            continue
        kw = {"dst": route["dst"], "oif": index}
        if route.get("gw"):
            kw["gateway"] = route["gw"]
        try:
            ipr.route("replace", **kw)
        except Exception as exc:   # pyroute2's NetlinkError and friends: one line, naming the route
            raise CniError(BOND_FAILED, f"{bond}: route {route['dst']}: {exc}") from None


def _result(conf: netconf.NetConf, env: dict, addressing: dict, macs: dict) -> dict:
    prev = conf.prev_result or {}
    interfaces = list(prev.get("interfaces") or [])
    ips = normalise_ips(prev.get("ips") or [])
    bond_index = len(interfaces)
    for name in (conf.bond, *conf.links):
        interfaces.append({"name": name, "mac": macs.get(name, ""), "sandbox": env["netns"]})
    ips += [{**ip, "interface": bond_index} for ip in addressing["ips"]]
    result = {"interfaces": interfaces, "ips": ips, "routes": list(prev.get("routes") or []) + addressing["routes"],
              "dns": conf.dns or addressing["dns"] or prev.get("dns") or {}}
    return result


def _undo_add(env, osenv, stdin, conf, netns_fd, inode, ipam_done) -> None:
    """A failed ADD leaves nothing: the bond down, the addresses released,
    the links back. Errors here are dropped: the ADD's own error is the
    answer, and DEL (which the runtime sends after a failed ADD) retries."""
    for undo in (lambda: _down(netns_fd, inode, conf.bond),
                 lambda: ipam_done and ipam.run("DEL", conf.ipam["type"], osenv, stdin),
                 lambda: _return_links(netns_fd, _read_record(env) or {}),
                 lambda: _remove_record(env)):
        try:
            undo()
        except (CniError, OSError, RunError):
            pass


# ------------------------------------------------------------------------ DEL
def cmd_del(env: dict, osenv: dict, stdin: bytes, conf: netconf.NetConf) -> None:
    record = _read_record(env) or {}
    if conf.ipam:
        ipam.run("DEL", conf.ipam["type"], osenv, stdin)
    netns_fd = _netns_for_del(env, record)
    if netns_fd is not None:
        try:
            _down(netns_fd, os.fstat(netns_fd).st_ino, record.get("bond", conf.bond))
            _return_links(netns_fd, record)
        finally:
            os.close(netns_fd)
    _remove_record(env)


def _netns_for_del(env: dict, record: dict) -> int | None:
    """The namespace to clean: CNI_NETNS, or (when the runtime dropped its
    path) the one the bond's process still holds; None when neither is left."""
    candidates = [env["netns"]] if env["netns"] else []
    if record.get("pid"):
        candidates.append(f"/proc/{record['pid']}/ns/net")
    for path in candidates:
        try:
            fd = nsexec.open_netns(path)
        except OSError:
            continue
        if not record.get("inode") or os.fstat(fd).st_ino == record["inode"] or path == env["netns"]:
            return fd
        os.close(fd)
    return None


def _down(netns_fd: int, inode: int, bond: str) -> None:
    """`softbond down` if the bond has anything in the namespace's run
    directory (its process, or a record a dead one left); else nothing."""
    if any(os.path.exists(_bond_run_file(inode, bond, s)) for s in ("json", "sock")):
        _softbond(netns_fd, "down", bond)
    # `down` keeps the lock and the log for the next `up` of the bond; an
    # attachment has no next `up`, and a node runs thousands of them.
    for suffix in ("lock", "log", "log.1"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_bond_run_file(inode, bond, suffix))
    with contextlib.suppress(OSError):      # not empty: another bond of the namespace
        os.rmdir(os.path.dirname(_bond_run_file(inode, bond, "json")))


def _return_links(netns_fd: int, record: dict) -> None:
    moved = record.get("moved") or []
    if not moved:
        return
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    inside = nsexec.iproute_in(netns_fd)
    try:
        _move_links(inside, moved, home, missing_ok=True)
    finally:
        inside.close()
        os.close(home)


# ---------------------------------------------------------------------- CHECK
def cmd_check(env: dict, conf: netconf.NetConf) -> None:
    netns_fd = _open_netns(env["netns"])
    try:
        proc = nsexec.run_in(netns_fd, [*SOFTBOND, "status", conf.bond, "--json"])
    finally:
        os.close(netns_fd)
    try:
        status = json.loads(proc.stdout)
    except ValueError:
        status = None
    if proc.returncode != 0 or not isinstance(status, dict) or "slaves" not in status:
        why = (proc.stderr.strip() or proc.stdout.strip() or "no status").splitlines()[-1]
        raise CniError(CHECK_FAILED, f"{conf.bond}: {why.removeprefix('softbond: ')}")
    members = sorted(s.get("name") for s in status["slaves"])
    if members != sorted(conf.links):
        raise CniError(CHECK_FAILED, f"{conf.bond}: members are {', '.join(members) or 'none'}, "
                                     f"configured {', '.join(conf.links)}")
    mode = next((o.split("=", 1)[1] for o in conf.options if o.startswith("mode=")), None)
    if mode is not None and mode not in (status.get("mode"), str(status.get("mode_id"))):
        raise CniError(CHECK_FAILED, f"{conf.bond}: mode is {status.get('mode')}, configured {mode}")
    have = {a.split("/")[0] for a in _addresses(status)}
    want = [ip["address"] for ip in normalise_ips((conf.prev_result or {}).get("ips") or [])]
    lost = [a for a in want if a.split("/")[0] not in have]
    if lost:
        raise CniError(CHECK_FAILED, f"{conf.bond}: address {', '.join(lost)} of prevResult is not on the bond")


def _addresses(status: dict) -> list[str]:
    return [a if isinstance(a, str) else str(a.get("address", "")) for a in status.get("addresses") or []]


# ----------------------------------------------------------------------- main
def run(osenv: dict, stdin: bytes) -> tuple[dict | None, str]:
    """(what to print, the version to print it in); CniError on failure."""
    env = read_environment(osenv)
    if env["command"] == "VERSION":
        return version_info(), CURRENT
    config = decode_config(stdin)
    version = check_version(config.get("cniVersion"))
    conf = netconf.parse(config, env["ifname"])
    if env["command"] == "ADD":
        return encode_result(cmd_add(env, osenv, stdin, conf, version), version), version
    if env["command"] == "DEL":
        cmd_del(env, osenv, stdin, conf)
        return None, version
    if version_key(version) < (0, 4, 0):
        raise CniError(INCOMPATIBLE_VERSION, "config version does not allow CHECK", f"cniVersion {version}; CHECK needs 0.4.0 or later")
    if conf.ipam:
        ipam.run("CHECK", conf.ipam["type"], osenv, stdin)
    cmd_check(env, conf)
    return None, version


def main() -> int:
    stdin = sys.stdin.buffer.read() if os.environ.get("CNI_COMMAND") != "VERSION" or not sys.stdin.isatty() else b""
    version = CURRENT
    try:
        try:
            version = str(json.loads(stdin).get("cniVersion") or CURRENT)
        except (ValueError, AttributeError, RecursionError):
            pass
        out, version = run(dict(os.environ), stdin)
    except CniError as exc:
        print(json.dumps(exc.to_json(version)))
        return 1
    except (OSError, RunError) as exc:
        print(json.dumps(CniError(IO_FAILURE, str(exc)).to_json(version)))
        return 1
    except Exception as exc:   # pyroute2's NetlinkError and anything unforeseen: still one JSON error
        print(json.dumps(CniError(BOND_FAILED, f"{type(exc).__name__}: {exc}").to_json(version)))
        return 1
    if out is not None:
        print(json.dumps(out))
    return 0
