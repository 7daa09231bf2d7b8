PYTHON ?= python3
export PYTHON

.PHONY: demo test unit integration bench setup

demo:
	scripts/setup.sh
	softbond demo

test:
	scripts/setup.sh --test
	$(PYTHON) -m pytest -q -ra

unit:
	$(PYTHON) -m pytest -q tests/unit

integration:
	$(PYTHON) -m pytest -q -ra tests/integration

bench:
	scripts/setup.sh --test
	$(PYTHON) bench/run.py
