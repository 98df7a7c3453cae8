"""Choosing the compute device explicitly: no silent fallback from a requested GPU to the CPU."""
from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> first CUDA GPU if present else CPU; ``cpu``; ``cuda`` / ``cuda:N`` must exist."""
    if isinstance(device, torch.device):
        device = str(device)
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        index = 0 if name == "cuda" else name.split(":", 1)[1]
        if not str(index).isdigit():
            raise ValueError(f"bad device {device!r}: expected cuda:N with N a number")
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if int(index) >= count:
            raise ValueError(f"device {device!r} requested but this machine has {count} CUDA device(s)")
        return torch.device(f"cuda:{index}")
    raise ValueError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N")


def resolve_dtype(device: torch.device, half: bool) -> torch.dtype:
    """float16 only on CUDA (the CPU has no fast half convolutions); float32 otherwise."""
    if half and device.type != "cuda":
        raise ValueError("half precision needs a CUDA device")
    return torch.float16 if half else torch.float32
