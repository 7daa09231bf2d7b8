PYTHON ?= python3
export PYTHON

.PHONY: demo test unit integration oracle lint bench setup bpf

demo:
	scripts/setup.sh
	softbond demo

# Lint, then the unit tests, then the suites that need root: the first
# failure stops it (what .ci/run runs).
test:
	scripts/setup.sh --test
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit
	$(PYTHON) -m pytest -q -ra --durations=15 tests/integration
	$(PYTHON) -m pytest -q -ra --durations=5 tests/oracle

# ruff: the checks that find bugs (pyproject.toml [tool.ruff.lint]); the
# formatter on FORMATTED, a list that only grows (as mypy's --strict list in
# pyproject.toml): the policy packages and the core. Run `ruff format` on a
# file before adding it. The rest waits: formatted whole, the tests' long
# calls and option tables spread one argument a line, which hides their
# shape (the whole tree's same-shape pairs went from 30 to 144).
# mypy: types, strict on the packages pyproject.toml [tool.mypy] lists.
FORMATTED = src/softbond/config src/softbond/wire src/softbond/lacp src/softbond/monitors \
	src/softbond/modes src/softbond/core src/softbond/datapath/plan.py src/softbond/datapath/protocols.py

lint:
	$(PYTHON) -m ruff check src tests bench fuzz
	$(PYTHON) -m ruff format --check $(FORMATTED)
	$(PYTHON) -m mypy

# Needs no root: a test here that would skips and says why.
unit:
	$(PYTHON) -m pytest -q -ra tests/unit

integration:
	$(PYTHON) -m pytest -q -ra --durations=15 tests/integration

# The differential tests against the kernel's bonding driver in QEMU (one boot).
oracle:
	$(PYTHON) -m pytest -q -ra --durations=5 tests/oracle

bench:
	scripts/setup.sh --test
	$(PYTHON) bench/run.py
	$(PYTHON) bench/datapath.py
	$(PYTHON) bench/lacp.py

# The eBPF data path's object (src/softbond/datapath/ebpf/bond.bpf.o) and beside it
# the digest of the source it came from (bond.bpf.o.sha256: the loader uses
# the object only when that matches). Without it the loader compiles on
# demand into /var/cache/softbond when clang is installed.
BPF_DIR := src/softbond/datapath/ebpf

bpf: $(BPF_DIR)/bond.bpf.o $(BPF_DIR)/rescue.bpf.o

$(BPF_DIR)/%.bpf.o: $(BPF_DIR)/%.bpf.c $(BPF_DIR)/build.py
	$(PYTHON) $(BPF_DIR)/build.py $@ $<

# A wheel with the BPF object, man pages and completions in it (dist/);
# needs clang and libbpf-dev here, nothing but libbpf1 where it is installed.
.PHONY: wheel deb
wheel:
	SOFTBOND_REQUIRE_BPF=1 $(PYTHON) -m pip wheel --no-build-isolation --no-deps -w dist .

# dist/softbond_<version>-1_<arch>.deb: apt install ./dist/softbond_*.deb
deb: wheel
	$(PYTHON) packaging/build-deb.py --wheel $$(ls -t dist/softbond-*.whl | head -1) --out dist

# Issue 7: every parser that takes outside input under atheris (coverage-guided),
# 1,000,000 inputs each; e.g. `make fuzz FUZZFLAGS="--only toml --seconds 600"`.
# The short CI run of the same harnesses is tests/unit/test_fuzz_*.py.
.PHONY: fuzz
FUZZ_INPUTS ?= 1000000
fuzz:
	$(PYTHON) -c "import atheris" 2>/dev/null || $(PYTHON) -m pip install -q atheris
	$(PYTHON) fuzz/run.py --inputs $(FUZZ_INPUTS) --markdown $(FUZZFLAGS)
