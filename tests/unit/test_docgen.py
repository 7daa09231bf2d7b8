"""Man pages and completions come from the parser and the option registry:
every command and option is in them, a command added to the parser shows
up without anyone editing a page, groff renders the pages without warnings,
and bash completes from the script."""
import argparse
import subprocess

from softbond.faces.cli import build_parser
from softbond.config import toml_config
from softbond.config.registry import SPECS
from softbond.faces.docgen import commands, completion, generate, manpage


def _all_flags(parser):
    return {f for cmd in commands(parser) for a in cmd.options + parser._actions
            if not isinstance(a, argparse._HelpAction) for f in a.option_strings}


def test_softbond_8_has_every_command_and_option():
    parser = build_parser()
    page = manpage.softbond_8(parser)
    for cmd in commands(parser):
        assert f'.SS "{manpage.roff(cmd.name)}"' in page, cmd.name
    for flag in _all_flags(parser):
        assert manpage.roff(flag) in page, flag


def test_softbond_toml_5_has_every_option_and_bond_key():
    page = manpage.softbond_toml_5()
    for spec in SPECS:
        assert f"\\fB{manpage.roff(spec.name)}\\fR" in page, spec.name
    assert {k for k, _ in manpage.BOND_KEYS} == toml_config._BOND_KEYS


def test_a_new_command_appears_everywhere():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    frob = sub.add_parser("frobnicate", help="frob a bond")
    frob.add_argument("--frob-level", help="how hard")
    assert '.SS "frobnicate"' in manpage.softbond_8(parser)
    assert "\\-\\-frob\\-level" in manpage.softbond_8(parser)
    assert "frobnicate)" in completion.bash(parser) and "--frob-level" in completion.bash(parser)
    assert "'frobnicate:frob a bond'" in completion.zsh(parser)


def test_pages_render_without_groff_warnings(tmp_path):
    texts = generate()
    for key in ("softbond.8", "softbond.toml.5"):
        path = tmp_path / key
        path.write_text(texts[key])
        proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", (key, proc.stderr)


def _complete(script, words):
    """COMPREPLY from the generated bash function for the words typed so far."""
    program = (f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
               "_softbond; printf '%s\\n' \"${COMPREPLY[@]}\"")
    proc = subprocess.run(["bash", "--norc", "-c", program], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_bash_completes_commands_options_and_option_names():
    script = generate()["bash"]
    assert _complete(script, ["softbond", "se"]) == {"set", "set-active"}
    assert _complete(script, ["softbond", "up", "--con"]) == {"--config"}
    assert _complete(script, ["softbond", "set", "bond0", "miim"]) == {"miimon"}
    assert _complete(script, ["softbond", "up", "bond0", "lacp_r"]) == {"lacp_rate="}
    assert "lo" in _complete(script, ["softbond", "up", "bond0", "--slaves", ""])


def test_zsh_completion_parses(tmp_path):
    path = tmp_path / "_softbond"
    path.write_text(generate()["zsh"])
    proc = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
