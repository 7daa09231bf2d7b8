"""Issues 16.10 and 16.4: state records and run files nobody else can
steer. A record that fails the schema is refused with one line and moved
aside; a symlink is never followed; a file or directory not root's (or
writable by others) is refused; a record from an earlier namespace of the
same inode is ignored and removed."""
import glob
import json
import os
import subprocess

import softbond
from softbond.lab.netns import SOFTBOND

SLAVES = ["--slaves", "eth0,eth1", "datapath=python", "mode=active-backup"]


def run_dir(topo):
    return os.path.dirname(topo.control_socket("bond0"))


def record(topo, **changes):
    """A state record as a bond process writes it, with `changes`."""
    topo.softbond("up", "bond0", *SLAVES)
    with open(os.path.join(run_dir(topo), "bond0.json")) as f:
        data = json.load(f)
    topo.softbond("down", "bond0")
    data.update(changes)
    return data


def plant(topo, data, name="bond0.json"):
    os.makedirs(run_dir(topo), mode=0o700, exist_ok=True)
    with open(os.path.join(run_dir(topo), name), "w") as f:
        f.write(data if isinstance(data, str) else json.dumps(data))


def one_line_error(proc, *words):
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    # `up` reports each bond's failure as "BOND: ...", the other verbs as "softbond: ...".
    assert len(lines) == 1 and lines[0].startswith(("softbond: ", "bond0: ")), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def lo_state(topo):
    return json.loads(topo.exec(topo.host, ["ip", "-j", "-d", "link", "show", "dev", "lo"]).stdout)[0]["flags"], \
        topo.exec(topo.host, ["cat", "/sys/class/net/lo/mtu"]).stdout


VERBS = [["status"], ["status", "bond0", "--json"], ["down", "bond0"], ["up", "bond0", *SLAVES]]
BAD = [("[1, 2]", "not a JSON object"), ("{", "not JSON"),
       ('{"bond": "bond0", "pid": "self", "members": []}', "pid")]


def test_malformed_record_refused_and_quarantined(topo):
    for bad, why in BAD:
        for verb in VERBS:
            plant(topo, bad)
            line = one_line_error(topo.softbond(*verb, check=False), "bond0", why, "moved to bond0.json.bad-")
            assert not os.path.exists(os.path.join(run_dir(topo), "bond0.json")), line
            assert glob.glob(os.path.join(run_dir(topo), "bond0.json.bad-*"))
    # Refused once, aside for inspection: the next command works.
    topo.softbond("up", "bond0", *SLAVES)
    topo.softbond("down", "bond0")


def test_record_naming_lo_never_touches_lo(topo):
    data = record(topo)
    data["members"][0].update(name="lo", ifindex=1, mtu=1280, admin_up=False, promisc=True)
    data["pid"] = 999999
    plant(topo, data)
    before = lo_state(topo)
    one_line_error(topo.softbond("down", "bond0", check=False), "members[0]", "loopback")
    assert lo_state(topo) == before


def test_symlinked_temporary_and_log_are_not_followed(topo, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.makedirs(run_dir(topo), mode=0o700, exist_ok=True)
    os.symlink(victim, os.path.join(run_dir(topo), "bond0.json.tmp"))
    topo.softbond("up", "bond0", *SLAVES)      # the planted link is replaced, never written through
    topo.softbond("down", "bond0")
    assert victim.read_text() == "precious\n"
    os.unlink(os.path.join(run_dir(topo), "bond0.log"))
    os.symlink(victim, os.path.join(run_dir(topo), "bond0.log"))
    one_line_error(topo.softbond("up", "bond0", *SLAVES, check=False), "bond0.log", "symlink")
    assert victim.read_text() == "precious\n"
    assert not os.path.exists(topo.control_socket("bond0"))     # refused before anything started


def test_files_and_directories_not_roots_are_refused(topo):
    plant(topo, record(topo, pid=999999))
    path = os.path.join(run_dir(topo), "bond0.json")
    os.chown(path, 65534, 65534)
    one_line_error(topo.softbond("down", "bond0", check=False), "bond0.json", "owned by root")
    os.chown(path, 0, 0)
    os.chmod(run_dir(topo), 0o777)
    one_line_error(topo.softbond("status", check=False), run_dir(topo), "mode 0777")
    one_line_error(topo.softbond("up", "bond0", *SLAVES, check=False), run_dir(topo), "mode 0777")
    os.chmod(run_dir(topo), 0o700)
    os.chown(run_dir(topo), 65534, 65534)
    one_line_error(topo.softbond("down", "bond0", check=False), run_dir(topo), "owned by uid 65534, not root")
    os.chown(run_dir(topo), 0, 0)
    # Not root: one line saying so (it was a PermissionError traceback).
    # As nobody the interpreter cannot read root's site-packages (the
    # editable install's path file): give it this tree's sources.
    src = os.path.dirname(os.path.dirname(os.path.abspath(softbond.__file__)))
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *SOFTBOND]
    env = dict(os.environ, PYTHONPATH=src)
    for verb in (["status"], ["status", "bond0"], ["down", "bond0"], ["top", "bond0"]):
        one_line_error(topo.exec(topo.host, [*nobody, *verb], check=False, env=env), "permission denied", "root")


def test_record_of_an_earlier_namespace_is_ignored_and_removed(topo):
    """What a reused namespace inode inherits: a record whose cookie is
    another namespace's. `down` must not put its MAC and MTU on our eth0."""
    data = record(topo, pid=999999, netns_cookie=1)
    data["members"][0].update(mac="02:00:00:00:00:99", mtu=1280)
    plant(topo, data)
    mac = topo.exec(topo.host, ["cat", "/sys/class/net/eth0/address"]).stdout
    one_line_error(topo.softbond("down", "bond0", check=False), "no such bond")
    assert topo.exec(topo.host, ["cat", "/sys/class/net/eth0/address"]).stdout == mac
    assert topo.exec(topo.host, ["cat", "/sys/class/net/eth0/mtu"]).stdout.strip() != "1280"
    assert not os.path.exists(os.path.join(run_dir(topo), "bond0.json"))


def test_up_removes_run_dirs_and_pins_of_namespaces_that_are_gone(topo, tmp_path):
    gone = "4026000001"       # no namespace has this inode
    stale = os.path.join(os.path.dirname(run_dir(topo)), f"netns-{gone}")
    os.makedirs(stale, mode=0o700, exist_ok=True)
    for name in ("bond9.json", "bond9.sock", "bond9.log", "bond9.lock"):
        open(os.path.join(stale, name), "w").close()
    # Pinned maps live in a bpffs under <netns inode>:<bond> (ebpf/loader.py).
    base = tmp_path / "bpf"
    base.mkdir()
    subprocess.run(["mount", "-t", "bpf", "bpf", str(base)], check=True)
    try:
        ours = os.path.basename(run_dir(topo))[6:]
        for pin in (f"{gone}:bond9", f"{ours}:bond7"):
            (base / "softbond" / pin).mkdir(parents=True)
        topo.exec(topo.host, ["env", f"SOFTBOND_BPF_PIN_BASE={base}", *SOFTBOND, "up", "bond0", *SLAVES])
        assert sorted(os.listdir(base / "softbond")) == [f"{ours}:bond7"]
    finally:
        subprocess.run(["umount", str(base)], check=True)
    topo.softbond("down", "bond0")
    assert not os.path.exists(stale)


def test_the_bond_log_rotates_past_a_mebibyte(topo):
    topo.softbond("up", "bond0", *SLAVES)
    log = os.path.join(run_dir(topo), "bond0.log")
    with open(log, "a") as f:
        f.write("x" * (1 << 20) + "\n")
    topo.softbond("set", "bond0", "miimon", "50")       # a line in the log: the one that rotates it
    topo.softbond("set-active", "bond0", "eth1")
    with open(log) as f:
        fresh = f.read()
    assert os.path.getsize(log + ".1") > 1 << 20
    assert len(fresh) < 4096 and "eth1" in fresh, fresh     # what came after went to a fresh bond0.log
    topo.softbond("down", "bond0")
