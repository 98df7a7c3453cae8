"""CPU backends running the exported search graph: ONNX Runtime and OpenVINO (float32; bf16, int8: see
``precision``).

The per-frame search branch runs in the runtime. The template branch, run once per target, is computed
by the PyTorch model the engine was built from, so the runtime holds no second copy of the backbone.
The ONNX files are cached by weight hash, so only the first start pays for folding and export. ONNX
Runtime's optimised graph (CPU-specific memory layouts) is cached beside them per runtime version and
CPU, so later starts skip graph optimisation too.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from .base import Engine, Kernels, placement
from ..model.inference import template_kernels
from .onnx_export import cached_search_graph, kernel_names

log = logging.getLogger(__name__)


def search_feed(kernels: Kernels, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The search graph's inputs: crops ``x`` and the per-level kernels, as arrays sharing their memory."""
    return {"x": x.contiguous().numpy(),
            **{name: k.contiguous().numpy() for name, k in zip(kernel_names(len(kernels)), kernels)}}


class _OnnxEngine(Engine):
    def __init__(self, model: torch.nn.Module, cache_dir=None, precision: str = "fp32", calibration=None):
        """``precision`` fp32, bf16 (OpenVINO) or int8 (the graph quantised on ``calibration``'s crops)."""
        self.device, self.dtype = placement(model)
        if self.device.type != "cpu" or self.dtype != torch.float32:
            raise ValueError(f"backend {self.name!r} needs a float32 model on the CPU")
        self.model = model
        self.precision, self.calibration = precision, calibration
        self.threads = torch.get_num_threads()
        try:
            self.graph_path: Path | None = self._graph(cache_dir)
        except OSError as e:  # e.g. a read-only file system on a robot: still track, just export every start
            log.warning("cannot write the ONNX cache (%s); exporting for this run only (set XDG_CACHE_HOME to a "
                        "writable folder to start faster)", e)
            self.graph_path = None
            with tempfile.TemporaryDirectory(prefix="siamrpnpp-onnx-") as folder:
                self._load(self._graph(folder), cache=None)
            return
        self._load(self.graph_path, cache=self.graph_path.parent)

    def _graph(self, cache_dir) -> Path:
        """The search graph of this precision, from the cache under ``cache_dir`` or written there."""
        if self.precision == "int8":
            from .calibration import quantized_search_graph
            from .precision import cpu_flags
            return quantized_search_graph(self.model, cache_dir, self.calibration, cpu_flags())
        return cached_search_graph(self.model, cache_dir)

    def _load(self, graph: Path, cache: Path | None) -> None:
        """Prepare the runtime for ``graph``; keep what it compiles under ``cache`` (None: keep nothing)."""
        raise NotImplementedError

    def _run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The search graph on ``feed``."""
        raise NotImplementedError

    def template(self, z: torch.Tensor) -> Kernels:
        with torch.inference_mode():
            return template_kernels(self.model, z)

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls, loc = self._run(search_feed(kernels, x))
        return torch.from_numpy(cls), torch.from_numpy(loc)


class OnnxRuntimeEngine(_OnnxEngine):
    """An ONNX Runtime CPU session, as many intra-op threads as torch uses, no busy-waiting between frames."""

    name = "onnxruntime"

    def _load(self, graph: Path, cache: Path | None) -> None:
        import onnxruntime as ort
        self._ort = ort
        self.session = self._session(graph, cache / f"ort-{ort.__version__}-{cpu_tag()}" if cache else None)

    def _options(self, optimise: bool):
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # the hardware-specific-layout warning on saving is expected here
        if not optimise:
            options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return options

    def _session(self, graph: Path, folder: Path | None):
        """A session on the optimised graph cached in ``folder``, or on ``graph``, optimised and then cached
        (when ``folder`` is given and can be written).

        The cache holds the graph and, apart, its weights (which load about twice as fast). It is written
        to a private folder that is then renamed into place, so no reader sees a partial entry.
        """
        providers = ["CPUExecutionProvider"]
        if folder is None:
            return self._ort.InferenceSession(str(graph), self._options(True), providers=providers)
        optimised = folder / graph.name
        if optimised.is_file():
            try:
                return self._ort.InferenceSession(str(optimised), self._options(False), providers=providers)
            except Exception as e:  # a damaged cache entry is rebuilt, never fatal
                log.warning("%s: unreadable cached graph (%s); optimising %s again", optimised, e, graph.name)
        try:  # a private folder with a unique name: concurrent starts never share one
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
        except OSError as e:
            log.warning("cannot cache the optimised graph in %s (%s)", folder.parent, e)
            return self._session(graph, None)
        options = self._options(True)
        options.optimized_model_filepath = str(tmp / graph.name)
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                         f"{graph.stem}.weights")
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        session = self._ort.InferenceSession(str(graph), options, providers=providers)
        shutil.rmtree(folder, ignore_errors=True)  # a damaged entry; a whole one from a concurrent start is as good
        try:
            os.rename(tmp, folder)
        except OSError:  # another process has just put its entry in place
            shutil.rmtree(tmp, ignore_errors=True)
        return session

    def _run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, feed)


def cpu_tag() -> str:
    """Short hash of the CPU's architecture and instruction-set flags (keys hardware-specific caches)."""
    flags = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), flags)
    except OSError:
        pass
    return hashlib.sha256(f"{platform.machine()}|{flags}".encode()).hexdigest()[:12]


class OpenVinoEngine(_OnnxEngine):
    """OpenVINO CPU plugin (float32, or bfloat16 by its inference precision hint); one compiled model per
    input shape. int8 runs the quantised graph's int8 convolutions, the rest in float32."""

    name = "openvino"

    def _load(self, graph: Path, cache: Path | None) -> None:
        import openvino as ov
        self.core = ov.Core()
        if cache is not None:
            self.core.set_property({"CACHE_DIR": str(cache / "openvino")})
        self.graph = self.core.read_model(str(graph))
        self.requests: dict[tuple, object] = {}

    def _run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        key = tuple(a.shape for a in feed.values())
        if key not in self.requests:  # static shapes compile to much faster code than dynamic ones
            shaped = self.graph.clone()
            shaped.reshape({name: list(array.shape) for name, array in feed.items()})
            compiled = self.core.compile_model(shaped, "CPU", {
                "INFERENCE_PRECISION_HINT": "bf16" if self.precision == "bf16" else "f32",
                "INFERENCE_NUM_THREADS": self.threads,
                "PERFORMANCE_HINT": "LATENCY"})
            self.requests[key] = compiled.create_infer_request()
        request = self.requests[key]
        outputs = request.infer(feed)
        return [np.array(outputs[port]) for port in request.model_outputs]  # copies: buffers are reused
