"""Running the ROS 2 command-line tools (ros2 launch, service, topic, param, lifecycle, run) as a user
types them, from this environment's prefix (installed by `make ros` from the ROS tool wheels)."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # commands run from the repository root, as the README's do
BIN = Path(sys.prefix) / "bin"
ROS2 = BIN / "ros2"

if not ROS2.is_file():  # pragma: no cover - depends on the installation
    reason = (f"the ros2 command is not installed in {sys.prefix}: `make ros` installs the ROS 2 tools from "
              "../shared/ros-wheels (or $SIAMRPNPP_ROS_WHEELS)")
    if os.environ.get("SIAMRPNPP_REQUIRE_ROS") == "1":
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


def environment() -> dict:
    """The shell of a user who activated the venv: its bin first on PATH (ROS_DOMAIN_ID from ros_harness)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONUNBUFFERED": "1",
           "RCUTILS_COLORIZED_OUTPUT": "0", "VIRTUAL_ENV": sys.prefix}
    return env


def run(line: str, timeout: float = 120.0, check: bool = True) -> str:
    """Run ``line`` to completion; its stdout and stderr together. Fails the test on a non-zero exit.

    The ros2 daemon sees a node that just started a moment later: a command that answers "Node not
    found" is run again for up to ``timeout`` seconds, as a user would.
    """
    argv = shlex.split(line)
    end = time.monotonic() + timeout
    while True:
        try:
            done = subprocess.run(argv, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=max(1.0, end - time.monotonic()), start_new_session=True,
                                  cwd=ROOT)
        except subprocess.TimeoutExpired as expired:
            pytest.fail(f"`{line}` did not finish within {timeout:.0f} s; output:\n{expired.output}")
        if done.returncode == 0 or "Node not found" not in done.stdout or time.monotonic() > end:
            break
        time.sleep(1.0)
    if check and done.returncode != 0:
        pytest.fail(f"`{line}` exited with {done.returncode}:\n{done.stdout}")
    return done.stdout


class Background:
    """A long-running command (ros2 launch, ros2 run, ros2 topic echo) in its own process group, its
    output in ``log_path``; stopped like Ctrl-C in a terminal: SIGINT to the whole group."""

    def __init__(self, line: str, log_path: Path):
        self.line, self.log_path = line, log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(shlex.split(line), env=environment(), stdout=self._log,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True, cwd=ROOT)

    def output(self) -> str:
        return self.log_path.read_text()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"`{self.line}` still running after {timeout:.0f} s; output:\n{self.output()[-4000:]}")
        self._log.close()
        return code

    def stop(self, timeout: float = 30.0) -> int:
        """SIGINT to the process group (as a terminal's Ctrl-C); the exit code (SIGKILL after ``timeout``)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if not self._log.closed:
            self._log.close()
        return self.process.returncode


def stop_daemon() -> None:
    """The first ros2 command starts a ros2 daemon for this ROS_DOMAIN_ID; stop it after the tests."""
    subprocess.run([str(ROS2), "daemon", "stop"], env=environment(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60, check=False)
