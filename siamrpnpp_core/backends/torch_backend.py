"""PyTorch backends: the eager reference path and the folded inference form (CUDA graphs optional)."""
from __future__ import annotations

import torch

from ..model.inference import InferenceNetwork, SearchBranch, TemplateBranch
from .base import Engine, Kernels, placement


class EagerEngine(Engine):
    """The release's module unchanged: kernels are the template features, conv_kernel runs per frame."""

    name = "eager"

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.device, self.dtype = placement(model)
        self._levels_as_list = True  # whether the model's template features are a list of levels

    def template(self, z: torch.Tensor) -> Kernels:
        with torch.inference_mode():
            features = self.model.template(z)
        self._levels_as_list = isinstance(features, (list, tuple))  # any module with template/track will do
        return tuple(features) if self._levels_as_list else (features,)

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_f = list(kernels) if self._levels_as_list else kernels[0]
        with torch.inference_mode():
            return self.model.track(z_f, x)


class _GraphedSearch:
    """One CUDA graph per (batch, crop size): static buffers in, replay, static buffers out."""

    def __init__(self, branch: SearchBranch):
        self.branch = branch
        self.graphs: dict[tuple, tuple] = {}

    def __call__(self, x: torch.Tensor, kernels: Kernels) -> tuple[torch.Tensor, torch.Tensor]:
        key = (tuple(x.shape),) + tuple(tuple(k.shape) for k in kernels)
        if key not in self.graphs:
            self.graphs[key] = self._capture(x, kernels)
        graph, static_x, static_k, outputs = self.graphs[key]
        static_x.copy_(x)
        for buffer, k in zip(static_k, kernels):
            buffer.copy_(k)
        graph.replay()
        return outputs[0].clone(), outputs[1].clone()

    def _capture(self, x: torch.Tensor, kernels: Kernels):
        static_x, static_k = x.clone(), tuple(k.clone() for k in kernels)
        stream = torch.cuda.Stream(device=x.device)
        stream.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(3):  # warm-up outside the graph (cuDNN autotuning, allocator)
                self.branch(static_x, *static_k)
        torch.cuda.current_stream(x.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.inference_mode():
            outputs = self.branch(static_x, *static_k)
        return graph, static_x, static_k, outputs


class TorchEngine(Engine):
    """Folded inference form on the model's device and dtype; ``cuda_graphs`` replays captured steps;
    ``precision="bf16"`` computes in bfloat16 (crops in and maps out stay in the model's dtype)."""

    name = "torch"

    def __init__(self, model: torch.nn.Module, cuda_graphs: bool = False, precision: str = "fp32"):
        self.model = model
        self.device, self.dtype = placement(model)
        self.precision = precision
        self._compute = torch.bfloat16 if precision == "bf16" else self.dtype
        # channels-last weights: faster convolutions on CUDA, and on the CPU too (2-32 % per frame measured)
        network = InferenceNetwork(model).to(self.device, self._compute).eval().to(memory_format=torch.channels_last)
        self.template_branch, self.search_branch = TemplateBranch(network), SearchBranch(network)
        self._graphed = _GraphedSearch(self.search_branch) if cuda_graphs else None

    def template(self, z: torch.Tensor) -> Kernels:
        with torch.inference_mode():
            return self.template_branch(z.to(self._compute))

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._graphed is not None:
            return self._graphed(x, kernels)
        with torch.inference_mode():
            cls, loc = self.search_branch(x.to(self._compute), *kernels)
        return cls.to(self.dtype), loc.to(self.dtype)
