# Two commands for a newcomer: `make demo` (set up, then track the packaged clip) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv ros demo test test-data bench clean

venv: $(STAMP)

$(STAMP): setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# rclpy and the message packages from PyPI, our interfaces and vision_msgs built into .venv
ros: venv
	scripts/setup_ros.sh $(VENV)

demo: venv
	$(BIN)/siamrpnpp demo

test-data:
	scripts/fetch_test_data.sh

# SIAMRPNPP_REQUIRE_ROS: `make ros` ran, so a broken ROS setup fails the ROS tests instead of skipping them
test: venv ros test-data
	SIAMRPNPP_REQUIRE_ROS=1 $(BIN)/python -m pytest test

bench: venv
	$(BIN)/python benchmarks/track_speed.py --json benchmarks/results/speed.json --markdown benchmarks/results/speed.md

clean:
	rm -rf $(VENV) .cache build install log
