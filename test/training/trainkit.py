"""Helpers of the training tests: paths, a tiny model and config, a subprocess runner."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPENCV_DATA = ROOT / ".cache" / "opencv-doc" / "usr" / "share" / "doc" / "opencv-doc" / "examples" / "data"
TRAIN_PY = ROOT / "training" / "train.py"
TINY_MODEL = {"width_mult": 0.25, "neck_in_channels": [64]}


def backgrounds() -> str:
    """Debian opencv-doc's example photographs; fails (not skips) when `make test-data` was not run."""
    if not (OPENCV_DATA / "baboon.jpg").is_file():
        pytest.fail(f"{OPENCV_DATA} missing: run `make test-data` (scripts/fetch_test_data.sh)")
    return str(OPENCV_DATA)


def tiny_values(prepared, out_dir, **overrides) -> dict:
    """Settings of a few-second run of a quarter-width AlexNet preset."""
    root, anno = prepared
    values = {"model": dict(TINY_MODEL),
              "datasets": [{"name": "synth", "root": root, "anno": anno, "frame_range": 8}],
              "epochs": 2, "pairs_per_epoch": 16, "batch_size": 4, "micro_batch": 2, "num_workers": 0,
              "backbone_train_epoch": 1, "checkpoint_interval": 2, "log_interval": 1, "tensorboard": False,
              "out_dir": str(out_dir)}
    values.update(overrides)
    return values


def tiny_config(prepared, out_dir, **overrides):
    from siamrpnpp_core.training.config import load_config

    return load_config(None, "siamrpn_alex_dwxcorr", tiny_values(prepared, out_dir, **overrides))


def write_config(path: Path, values: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"base": "siamrpn_alex_dwxcorr", **values}))
    return path


def env() -> dict:
    """One thread per process: the CI machine has two cores. No PYTHONPATH: ``training/train.py`` imports
    the installed package, as it does for users."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}


def train_command(config: Path, *extra) -> list[str]:
    return [sys.executable, str(TRAIN_PY), "--config", str(config), "--no-progress", *map(str, extra)]


def run_training(config: Path, *extra, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(train_command(config, *extra), capture_output=True, text=True, env=env(),
                          timeout=timeout, cwd=ROOT)


def free_port() -> int:
    """A free TCP port for a process group's rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
