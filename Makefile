PYTHON ?= python3
export PYTHON

.PHONY: demo test unit integration oracle lint bench setup bpf

demo:
	scripts/setup.sh
	softbond demo

test:
	scripts/setup.sh --test
	$(PYTHON) -m ruff check src tests bench fuzz
	$(PYTHON) -m pytest -q -ra tests/unit
	$(PYTHON) -m pytest -q -ra tests/integration
	$(PYTHON) -m pytest -q -ra tests/oracle

lint:
	$(PYTHON) -m ruff check src tests bench fuzz

unit:
	$(PYTHON) -m pytest -q tests/unit

integration:
	$(PYTHON) -m pytest -q -ra tests/integration

# The differential tests against the kernel's bonding driver in QEMU (one boot).
oracle:
	$(PYTHON) -m pytest -q -ra tests/oracle

bench:
	scripts/setup.sh --test
	$(PYTHON) bench/run.py
	$(PYTHON) bench/datapath.py
	$(PYTHON) bench/lacp.py

# The eBPF data path's object (src/softbond/ebpf/bond.bpf.o); the loader also
# compiles it on demand into /var/cache/softbond when clang is installed.
BPF_DIR := src/softbond/ebpf
BPF_ARCH_INCLUDE ?= /usr/include/$(shell uname -m)-linux-gnu

bpf: $(BPF_DIR)/bond.bpf.o

$(BPF_DIR)/bond.bpf.o: $(BPF_DIR)/bond.bpf.c
	clang -O2 -g -Wall -target bpf -I$(BPF_ARCH_INCLUDE) -c $< -o $@

# Issue 7: every parser that takes outside input under atheris (coverage-guided),
# 1,000,000 inputs each; e.g. `make fuzz FUZZFLAGS="--only toml --seconds 600"`.
# The short CI run of the same harnesses is tests/unit/test_fuzz_*.py.
.PHONY: fuzz
FUZZ_INPUTS ?= 1000000
fuzz:
	$(PYTHON) -c "import atheris" 2>/dev/null || $(PYTHON) -m pip install -q atheris
	$(PYTHON) fuzz/run.py --inputs $(FUZZ_INPUTS) --markdown $(FUZZFLAGS)
