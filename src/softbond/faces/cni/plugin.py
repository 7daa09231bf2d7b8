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
import fcntl
import ipaddress
import json
import os
import shutil
import sys
import time

from ...control import METHODS, ControlError, request_at
from ...kernel import runfiles
from ...kernel.rundir import RUN_ROOT, RunError
from . import ipam, netconf, nsexec
from .spec import (BOND_FAILED, CHECK_FAILED, CURRENT, INCOMPATIBLE_VERSION, INVALID_CONFIG, IO_FAILURE, IPAM_FAILED,
                   UNKNOWN_CONTAINER, CniError, check_version, decode_config, encode_result, normalise_ips,
                   read_environment, version_info, version_key)

SOFTBOND = [sys.executable, "-m", "softbond"]
# A runtime may run plugins with a PATH that has no sbin (the spec sets none).
IP = shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])) or "ip"
RECORD_DIR = os.path.join(RUN_ROOT, "cni")
UP_TIMEOUT = 60.0
DOWN_TIMEOUT = 10.0      # as `softbond down` waits


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
def _links(fd: int | None) -> dict[str, str]:
    """The namespace's links (None: the node's): name -> MAC."""
    proc = nsexec.run_in(fd, [IP, "-j", "link", "show"], sysfs=False)
    if proc.returncode != 0:
        raise CniError(IO_FAILURE, f"ip link show: {proc.stderr.strip()}")
    return {link["ifname"]: link.get("address", "") for link in json.loads(proc.stdout or "[]")}


def _move_links(from_fd: int | None, names: list[str], target: str) -> None:
    """Move links into the namespace at path `target`, each set down first
    as bond-cni does (one `ip -batch`: it stops at the first refusal)."""
    batch = "".join(f"link set dev {name} down\nlink set dev {name} netns {target}\n" for name in names)
    proc = nsexec.run_in(from_fd, [IP, "-batch", "-"], sysfs=False, input=batch)
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        raise CniError(IO_FAILURE, f"links: moving {', '.join(names)} to {target}: {why[0]}")


def _bond_run_file(inode: int, bond: str, suffix: str) -> str:
    return os.path.join(RUN_ROOT, f"netns-{inode}", f"{bond}.{suffix}")


def _softbond(fd: int, *args: str) -> None:
    proc = nsexec.run_in(fd, [*SOFTBOND, *args], timeout=UP_TIMEOUT)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}").splitlines()
        raise CniError(BOND_FAILED, lines[-1].removeprefix("softbond: "))


# ------------------------------------------------------------------------ ADD
def cmd_add(env: dict, osenv: dict, stdin: bytes, conf: netconf.NetConf) -> dict:
    netns_fd = _open_netns(env["netns"])
    inode = os.fstat(netns_fd).st_ino
    try:
        _refuse_add(env, conf, netns_fd)        # before anything changes: a refused ADD changes nothing
    except BaseException:
        os.close(netns_fd)
        raise
    moved = [] if conf.links_in_container else conf.links
    ipam_done = False
    try:
        if moved:
            # Recorded first: whatever happens next, DEL knows to give them back.
            _write_record(env, {"inode": inode, "bond": conf.bond, "links": conf.links, "moved": moved,
                                "pid": None})
            _move_links(None, moved, env["netns"])
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
        _add_routes(netns_fd, conf.bond, addressing["routes"])
        return add_result(conf, env, addressing, _links(netns_fd))
    except BaseException:
        _undo_add(env, osenv, stdin, conf, netns_fd, inode, ipam_done)
        raise
    finally:
        os.close(netns_fd)


def _refuse_add(env: dict, conf: netconf.NetConf, netns_fd: int) -> None:
    """CniError(7) for an ADD that cannot work: the bond's name taken in the
    container, a link missing where it should be."""
    inside = _links(netns_fd)
    if conf.bond in inside:
        raise CniError(INVALID_CONFIG, f"ifname: {conf.bond} already exists in {env['netns']}")
    where, present = ((env["netns"], inside) if conf.links_in_container
                      else ("the node's network namespace", _links(None)))
    missing = [name for name in conf.links if name not in present]
    if missing:
        raise CniError(INVALID_CONFIG, f"links: {', '.join(missing)}: no such interface in {where}")


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


def _add_routes(netns_fd: int, bond: str, routes: list) -> None:
    lines = []
    for route in routes:
        try:    # IPAM's words go into an `ip -batch` line: addresses only
            dst = ipaddress.ip_network(route["dst"], strict=False)
            via = f" via {ipaddress.ip_address(route['gw'])}" if route.get("gw") else ""
        except (KeyError, TypeError, ValueError):
            raise CniError(IPAM_FAILED, f"{bond}: IPAM returned a route that is not one: {route!r}") from None
        lines.append(f"route replace {dst}{via} dev {bond}\n")
    if not lines:
        return
    proc = nsexec.run_in(netns_fd, [IP, "-batch", "-"], sysfs=False, input="".join(lines))
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        raise CniError(BOND_FAILED, f"{bond}: routes from IPAM: {why[0]}")


def add_result(conf: netconf.NetConf, env: dict, addressing: dict, macs: dict) -> dict:
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
        except Exception:   # noqa: BLE001 - dropped on purpose (above); the next undo still runs
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
    """The bond down and its run files gone; nothing to do when there is
    no bond. A live bond process is asked over its control socket (its
    path names the namespace: no process to start, a DEL costs a third
    less); a dead one's record is repaired by `softbond down` in the
    namespace, as always."""
    lock = _bond_run_file(inode, bond, "lock")
    try:
        request_at(_bond_run_file(inode, bond, "sock"), METHODS["down"].payload(), DOWN_TIMEOUT, bond=bond)
        asked = _wait_unlocked(lock, DOWN_TIMEOUT)
    except ControlError:     # no socket, nobody behind it, or no answer: `down` says which
        asked = False
    if not asked and any(os.path.exists(_bond_run_file(inode, bond, s)) for s in ("json", "sock")):
        _softbond(netns_fd, "down", bond)
    # `down` keeps the lock and the log for the bond's next `up`; an
    # attachment has no next `up`, and a node makes thousands of them.
    # The lock goes only while nobody holds it.
    if _wait_unlocked(lock, 0):
        for suffix in ("lock", "log", "log.1"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(_bond_run_file(inode, bond, suffix))
    with contextlib.suppress(OSError):      # not empty: another bond of the namespace
        os.rmdir(os.path.dirname(lock))


def _wait_unlocked(path: str, timeout: float) -> bool:
    """Has the bond's process let go of BOND.lock (exited) within
    `timeout`? True also when there is no lock file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    try:
        until = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= until:
                    return False
                time.sleep(0.01)
    finally:
        os.close(fd)


def _return_links(netns_fd: int, record: dict) -> None:
    """The links ADD moved in go back to the node (those still there)."""
    present = _links(netns_fd)
    moved = [name for name in record.get("moved") or [] if name in present]
    if moved:
        _move_links(netns_fd, moved, f"/proc/{os.getpid()}/ns/net")


# ---------------------------------------------------------------------- CHECK
def cmd_check(env: dict, conf: netconf.NetConf) -> None:
    netns_fd = _open_netns(env["netns"])
    inode = os.fstat(netns_fd).st_ino
    os.close(netns_fd)
    try:
        status = request_at(_bond_run_file(inode, conf.bond, "sock"), METHODS["status"].payload(), 10,
                            bond=conf.bond)["status"]
    except ControlError as exc:
        raise CniError(CHECK_FAILED, f"{exc} ({env['netns']})") from None
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
        return encode_result(cmd_add(env, osenv, stdin, conf), version), version
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
    except Exception as exc:   # anything unforeseen is still one JSON error, never a traceback
        print(json.dumps(CniError(BOND_FAILED, f"{type(exc).__name__}: {exc}").to_json(version)))
        return 1
    if out is not None:
        print(json.dumps(out))
    return 0
