"""What every backend provides: template kernels once per target, (cls, loc) maps per search batch."""
from __future__ import annotations

import torch

Kernels = tuple[torch.Tensor, ...]  # per feature level, batch first; opaque to the tracker


def placement(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of ``model``'s weights."""
    first = next(model.parameters())
    return first.device, first.dtype


def concat_kernels(parts: list[Kernels]) -> Kernels:
    """Stack several targets' kernels into one batch (same backend, same order as the crops)."""
    return tuple(torch.cat(level) for level in zip(*parts))


class Engine:
    """Runs the network. Inputs are float crops (N, 3, S, S) on ``device``/``dtype``."""

    name = "base"
    precision = "fp32"  # arithmetic of the network (``precision.PRECISIONS`` less auto)
    model: torch.nn.Module  # the eager module the engine was built from (weights, config, convention)
    device: torch.device
    dtype: torch.dtype

    def template(self, z: torch.Tensor) -> Kernels:
        """Per-target state computed once at init from exemplar crops (N, 3, 127, 127)."""
        raise NotImplementedError

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cls (N, 2A, s, s) and loc (N, 4A, s, s) of search crops ``x`` against ``kernels``."""
        raise NotImplementedError
