"""The control module: one method table for the server, the CLI and the web,
and no module below the CLI importing the CLI back (the cycle cli <->
monitor/top/web it replaced)."""
import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from softbond import control
from softbond.daemon import ControlServer
from softbond.faces.web import server as web_server

SRC = Path(control.__file__).parent
# Everything the CLI calls into for a bond's state: none of it may need the CLI.
BELOW_CLI = ["softbond.control", "softbond.faces.sampling", "softbond.faces.top", "softbond.daemon", "softbond.lab.demolab",
             "softbond.faces.web.server", "softbond.faces.web.access", "softbond.faces.web.metrics", "softbond.faces.web.openapi",
             "softbond.faces.web.limits", "softbond.faces.doctor", "softbond.faces.doctor.checks", "softbond.faces.doctor.probe",
             "softbond.faces.doctor.findings"]


def _module_file(name: str) -> Path:
    path = SRC.joinpath(*name.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _cli_import_lines(source: str, package: list[str]) -> list[int]:
    """Lines of `source` (a module of `package`) that import softbond.faces.cli,
    at the top or inside a function."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target == "softbond.faces.cli" or any(f"{target}.{a.name}" == "softbond.faces.cli" for a in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name == "softbond.faces.cli" for a in node.names):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("name", BELOW_CLI)
def test_module_never_imports_the_cli(name):
    path = _module_file(name)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    assert _cli_import_lines(path.read_text(), package) == [], f"{path} imports softbond.faces.cli (use softbond.control)"


@pytest.mark.parametrize("source", ["def f():\n    from ..cli import CliError\n", "x = 1\nfrom .. import cli\n",
                                    "x = 1\nimport softbond.faces.cli\n", "x = 1\nfrom softbond.faces.cli import request\n"])
def test_the_import_check_sees_every_form(source):
    # The check is worth something only if it finds an import inside a function too.
    assert _cli_import_lines(source, ["softbond", "faces", "web"]) == [2]
    assert _cli_import_lines("from ...control import request\nfrom ..cli_help import x\n", ["softbond", "faces", "web"]) == []


def test_importing_them_leaves_the_cli_unimported():
    code = ("import sys\n"
            f"for name in {BELOW_CLI!r}:\n"
            "    __import__(name)\n"
            "from softbond.faces import sampling as monitor\n"
            "from softbond.control import ControlError\n"
            "try:\n"
            "    monitor.read_status('sbnosuch0', timeout=0.5)\n"   # the client path, run
            "except ControlError:\n"
            "    pass\n"
            "print('softbond.faces.cli' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_every_method_has_a_server_handler():
    server = ControlServer(object(), asyncio.Event())
    assert set(server.methods) == set(control.METHODS)


def test_the_web_actions_are_control_methods():
    assert set(web_server.BODY_READERS) <= set(control.METHODS)


@pytest.mark.parametrize("name, fields, wire", [
    ("status", {}, {"cmd": "status"}),
    ("enslave", {"ifaces": ["eth0", "eth1"]}, {"cmd": "enslave", "ifaces": ["eth0", "eth1"]}),
    ("release", {"ifaces": ["eth0"]}, {"cmd": "release", "ifaces": ["eth0"]}),
    ("set_active", {"iface": "eth1"}, {"cmd": "set_active", "iface": "eth1"}),
    ("set", {"option": "miimon", "value": "100"}, {"cmd": "set", "option": "miimon", "value": "100"}),
    ("down", {}, {"cmd": "down"}),
])
def test_payload_is_the_wire_request(name, fields, wire):
    method = control.METHODS[name]
    assert method.payload(**fields) == wire
    assert method.read(wire) == fields          # what the server reads back is what was sent


def test_payload_refuses_missing_or_unknown_fields():
    with pytest.raises(TypeError, match="set_active: takes iface"):
        control.METHODS["set_active"].payload(ifaces=["eth0"])
    with pytest.raises(TypeError, match="status: takes no fields"):
        control.METHODS["status"].payload(iface="eth0")


@pytest.mark.parametrize("request_", [{"cmd": "enslave"}, {"cmd": "enslave", "ifaces": "eth0"},
                                      {"cmd": "release", "ifaces": ["eth0", 1]}])
def test_server_refuses_a_member_list_that_is_not_names(request_):
    with pytest.raises(control.ControlError, match="^expected a list of interface names$"):
        control.method_of(request_).read(request_)


@pytest.mark.parametrize("request_", [{}, {"cmd": "reboot"}, {"cmd": ["status"]}, {"cmd": {"a": 1}}, {"cmd": 1}])
def test_unknown_or_unhashable_commands_name_no_method(request_):
    assert control.method_of(request_) is None


def test_request_to_a_missing_socket_is_one_line(tmp_path):
    with pytest.raises(control.ControlError, match="^bond7: no such bond in this network namespace$"):
        control.request_at(str(tmp_path / "bond7.sock"), {"cmd": "status"}, bond="bond7")
