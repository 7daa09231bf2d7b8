"""Build steps pyproject.toml cannot express: a wheel carries the compiled
eBPF object (so an installed softbond runs the eBPF data path without a
compiler), its man pages and its shell completions (generated from the
CLI's own argparse definitions, so they never drift).

Without clang the wheel is built without the object, with a warning: such
an install compiles it at first use, as a source checkout does. Set
SOFTBOND_REQUIRE_BPF=1 (make wheel, make deb do) to make that an error.
An editable install (pip install -e) builds nothing: the checkout compiles
at first use."""
import importlib.util
import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")


def _bpf_build():
    # By path: stdlib only, and the package's dependencies need not be installed.
    path = os.path.join(SRC, "softbond", "datapath", "ebpf", "build.py")
    spec = importlib.util.spec_from_file_location("softbond_bpf_build", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithArtifacts(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        self._bpf_object()
        self._docs()

    def _bpf_object(self):
        bpf = _bpf_build()
        for source in bpf.SOURCES:
            name = os.path.basename(bpf.object_of(source))
            target = os.path.join(self.build_lib, "softbond", "datapath", "ebpf", name)
            try:
                bpf.compile_object(target, source)
            except OSError as exc:
                if os.environ.get("SOFTBOND_REQUIRE_BPF") == "1":
                    raise SystemExit(f"softbond: {exc}") from None
                print(f"WARNING: {exc}; the wheel has no {name}, it will be compiled at first use",
                      file=sys.stderr)

    def _docs(self):
        # The CLI and the registry import nothing outside the standard library.
        sys.path.insert(0, SRC)
        try:
            from softbond.faces import docgen
        finally:
            sys.path.remove(SRC)
        share = os.path.join(os.path.dirname(self.build_lib), "softbond-share")
        files = docgen.write_all(share)
        # install_data copies these into <prefix>/share (the wheel's .data/data/share).
        self.distribution.data_files = [
            (os.path.join("share", os.path.dirname(rel)), [os.path.relpath(path, HERE)])
            for rel, path in zip(docgen.OUTPUTS.values(), files)]


setup(cmdclass={"build_py": BuildPyWithArtifacts})
