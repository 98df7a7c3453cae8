# Two commands for a newcomer: `make demo` (set up, then track the packaged clip) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-data bench clean

venv: $(STAMP)

$(STAMP): setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: venv
	$(BIN)/siamrpnpp demo

test-data:
	scripts/fetch_test_data.sh

test: venv test-data
	$(BIN)/python -m pytest test

bench: venv
	$(BIN)/python benchmarks/track_speed.py

clean:
	rm -rf $(VENV) .cache build install log
