"""Inference backends: the same two network calls (template once, search per frame) on different runtimes.

``eager``       the release's module as written (the reference path: BN unfolded, conv_kernel per frame);
``torch``       the inference form (BN folded, kernels precomputed, merged branches); on CUDA optionally
                half precision and CUDA graphs;
``onnxruntime`` the inference form's search branch exported to ONNX and run by ONNX Runtime (CPU); the
                template branch (once per target) runs in PyTorch on the same weights;
``openvino``    the same search graph compiled by OpenVINO (CPU), the template branch likewise in PyTorch.
``auto`` picks ``torch`` on CUDA and ``onnxruntime`` on the CPU when it is installed.
On the CPU, ``precision`` (module ``precision``) trades exactness for speed: bf16 or int8.
"""
from __future__ import annotations

import importlib.util

import torch

from .base import Engine, Kernels, concat_kernels, placement
from .calibration import Calibration
from .precision import PRECISIONS, backend_for, cpu_flags, resolve_precision
from .torch_backend import EagerEngine, TorchEngine

BACKENDS = ("auto", "eager", "torch", "onnxruntime", "openvino")


def installed_runtimes() -> list[str]:
    """The CPU runtimes (``onnxruntime``, ``openvino``) whose Python packages are installed."""
    return [name for name in ("onnxruntime", "openvino") if importlib.util.find_spec(name) is not None]


def resolve_backend(backend: str, device: torch.device, precision: str = "fp32") -> str:
    """The concrete backend for ``backend`` on ``device`` (``auto``: the one for ``precision``, see
    ``precision.backend_for``); ValueError if it cannot run there."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return backend_for(precision, installed_runtimes()) if device.type == "cpu" else "torch"
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
                 cache_dir: str | None = None, precision: str = "fp32",
                 calibration: Calibration | None = None) -> Engine:
    """An engine running ``model`` (eval mode, on its device and dtype) with the chosen backend.

    Args:
        model: a ``SiamRPN`` network (``build_model``), on the device and dtype to run on.
        backend: one of ``BACKENDS``; ``"auto"`` is ``torch`` on CUDA, ``onnxruntime`` on the CPU.
        cuda_graphs: replay the per-frame step as a CUDA graph (backend ``torch`` on CUDA only).
        cache_dir: folder of the exported ONNX graphs (ONNX backends; default ``~/.cache/siamrpnpp/onnx``).
        precision: one of ``PRECISIONS`` (CPU): ``fp32`` exact; ``bf16`` on ``openvino`` or ``torch``; ``int8`` on
            ``onnxruntime`` or ``openvino``; ``auto``: bf16, else int8, where the CPU has units (logged), else fp32.
            ``backend="auto"`` picks a backend that runs it. ValueError where the backend or device cannot.
        calibration: how the int8 graph is calibrated (default ``Calibration()``: the packaged clip).

    Returns:
        The ``Engine``: ``template(z)`` once per target, ``search(kernels, x)`` per frame.
    """
    device, dtype = placement(model)
    candidates = ["torch", *installed_runtimes()] if backend == "auto" else [resolve_backend(backend, device)]
    precision = resolve_precision(precision, candidates if device.type == "cpu" else ["torch"], device.type,
                                  cpu_flags())
    if precision != "fp32" and dtype != torch.float32:
        raise ValueError(f"precision {precision!r} needs a float32 model (half=False)")
    name = resolve_backend(backend, device, precision)
    if cuda_graphs and (name != "torch" or device.type != "cuda"):
        raise ValueError("cuda_graphs needs backend 'torch' on a CUDA device")
    if name == "eager":
        return EagerEngine(model)
    if name == "torch":
        return TorchEngine(model, cuda_graphs=cuda_graphs, precision=precision)
    from .onnx_backend import OnnxRuntimeEngine, OpenVinoEngine
    return (OnnxRuntimeEngine if name == "onnxruntime" else OpenVinoEngine)(
        model, cache_dir=cache_dir, precision=precision, calibration=calibration)


__all__ = ["BACKENDS", "PRECISIONS", "Calibration", "as_engine", "EagerEngine", "Engine", "Kernels", "TorchEngine",
           "build_engine", "concat_kernels", "resolve_backend"]
