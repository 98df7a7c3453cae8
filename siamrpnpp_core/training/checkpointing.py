"""Durable training checkpoints: atomic writes, the newest few kept, corrupt ones skipped on resume.

A checkpoint holds only tensors, numbers and strings (model, optimiser, gradient scaler, step, RNG
states) and is read back with ``torch.load(weights_only=True)``: no code is ever unpickled.
"""
from __future__ import annotations

import logging
import os
import random
import re

import numpy as np
import torch

from ..atomic import atomic_open

log = logging.getLogger(__name__)
PATTERN = re.compile(r"^checkpoint_(\d{8})\.pth$")


def checkpoint_path(folder: str, step: int) -> str:
    return os.path.join(folder, f"checkpoint_{step:08d}.pth")


def list_checkpoints(folder: str) -> list[tuple[int, str]]:
    """(step, path) of the checkpoints in ``folder``, newest first."""
    if not os.path.isdir(folder):
        return []
    found = [(int(m[1]), os.path.join(folder, name)) for name in os.listdir(folder) if (m := PATTERN.match(name))]
    return sorted(found, reverse=True)


def save_checkpoint(state: dict, folder: str, step: int, keep: int = 3) -> str:
    """Write ``state`` atomically as ``checkpoint_<step>.pth``, keep the newest ``keep``."""
    path = checkpoint_path(folder, step)
    with atomic_open(path, "wb") as f:
        torch.save(state, f)
    for _, old in list_checkpoints(folder)[keep:]:
        try:
            os.remove(old)
        except OSError:
            pass
    return path


def load_checkpoint_file(path: str) -> dict:
    """A checkpoint written by :func:`save_checkpoint`; ``ValueError`` if unreadable."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, bad pickle, I/O error: all mean "unusable"
        detail = str(e).splitlines()[0] if str(e) else ""
        raise ValueError(f"{path}: unreadable checkpoint ({type(e).__name__}: {detail})") from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise ValueError(f"{path}: not a training checkpoint")
    return state


def load_latest(folder: str) -> tuple[dict, str] | None:
    """The newest readable checkpoint in ``folder`` (falling back past corrupt ones), or None."""
    for _, path in list_checkpoints(folder):
        try:
            return load_checkpoint_file(path), path
        except ValueError as e:
            log.warning("%s; trying the previous checkpoint", e)
    return None


def rng_state() -> dict:
    """Torch (CPU and CUDA), NumPy and Python generator states as tensors."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(keys.astype(np.int64)),
        "numpy_meta": torch.tensor([pos, has_gauss], dtype=torch.int64),
        "numpy_cached": torch.tensor(cached, dtype=torch.float64),
        "python": torch.tensor(internal, dtype=torch.int64),
        "python_gauss": torch.tensor(float("nan") if gauss is None else gauss, dtype=torch.float64),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    pos, has_gauss = (int(v) for v in state["numpy_meta"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss,
                         float(state["numpy_cached"])))
    gauss = float(state["python_gauss"])
    random.setstate((3, tuple(int(v) for v in state["python"]), None if np.isnan(gauss) else gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
