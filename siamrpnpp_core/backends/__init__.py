"""Inference backends: the same two network calls (template once, search per frame) on different runtimes.

``eager``       the release's module as written (the reference path: BN unfolded, conv_kernel per frame);
``torch``       the inference form (BN folded, kernels precomputed, merged branches); on CUDA optionally
                half precision and CUDA graphs;
``onnxruntime`` the inference form's search branch exported to ONNX and run by ONNX Runtime (CPU); the
                template branch (once per target) runs in PyTorch on the same weights;
``openvino``    the same search graph compiled by OpenVINO (CPU), the template branch likewise in PyTorch.
``auto`` picks ``torch`` on CUDA and ``onnxruntime`` on the CPU when it is installed.
"""
from __future__ import annotations

import importlib.util

import torch

from .base import Engine, Kernels, concat_kernels, placement
from .torch_backend import EagerEngine, TorchEngine

BACKENDS = ("auto", "eager", "torch", "onnxruntime", "openvino")


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend for ``backend`` on ``device``; ValueError if it cannot run there."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        if device.type == "cpu" and importlib.util.find_spec("onnxruntime") is not None:
            return "onnxruntime"
        return "torch"
    if backend in ("onnxruntime", "openvino"):
        if device.type != "cpu":
            raise ValueError(f"backend {backend!r} runs on the CPU; use backend 'torch' on {device}")
        if importlib.util.find_spec(backend) is None:
            raise ValueError(f"backend {backend!r} needs the Python package {backend} (pip install {backend})")
    return backend


def as_engine(engine_or_model) -> Engine:
    """An engine as given, or a bare model wrapped as the eager reference path."""
    return engine_or_model if isinstance(engine_or_model, Engine) else EagerEngine(engine_or_model)


def build_engine(model: torch.nn.Module, *, backend: str = "auto", cuda_graphs: bool = False,
                 cache_dir: str | None = None) -> Engine:
    """An engine running ``model`` (eval mode, on its device and dtype) with the chosen backend.

    Args:
        model: a ``SiamRPN`` network (``build_model``), on the device and dtype to run on.
        backend: one of ``BACKENDS``; ``"auto"`` is ``torch`` on CUDA, ``onnxruntime`` on the CPU.
        cuda_graphs: replay the per-frame step as a CUDA graph (backend ``torch`` on CUDA only).
        cache_dir: folder of the exported ONNX graphs (ONNX backends; default ``~/.cache/siamrpnpp/onnx``).

    Returns:
        The ``Engine``: ``template(z)`` once per target, ``search(kernels, x)`` per frame.
    """
    device, _ = placement(model)
    name = resolve_backend(backend, device)
    if cuda_graphs and (name != "torch" or device.type != "cuda"):
        raise ValueError("cuda_graphs needs backend 'torch' on a CUDA device")
    if name == "eager":
        return EagerEngine(model)
    if name == "torch":
        return TorchEngine(model, cuda_graphs=cuda_graphs)
    from .onnx_backend import OnnxRuntimeEngine, OpenVinoEngine
    return (OnnxRuntimeEngine if name == "onnxruntime" else OpenVinoEngine)(model, cache_dir=cache_dir)


__all__ = ["BACKENDS", "as_engine", "EagerEngine", "Engine", "Kernels", "TorchEngine", "build_engine", "concat_kernels",
           "resolve_backend"]
