"""CPU backends running the exported search branch: ONNX Runtime and OpenVINO (float32 throughout).

The template branch runs once per target in PyTorch (folded form); the per-frame search branch runs in
the runtime. The ONNX file is cached by weight hash, so only the first start pays for the export.
"""
from __future__ import annotations

import numpy as np
import torch

from ..model.inference import InferenceNetwork, TemplateBranch
from .base import Engine, Kernels
from .onnx_export import cached_search_graph, kernel_names


class _OnnxEngine(Engine):
    def __init__(self, model: torch.nn.Module, cache_dir=None):
        first = next(model.parameters())
        if first.device.type != "cpu" or first.dtype != torch.float32:
            raise ValueError(f"backend {self.name!r} needs a float32 model on the CPU")
        self.model = model
        self.device, self.dtype = first.device, torch.float32
        network = InferenceNetwork(model, unrolled_xcorr=True)
        self.template_branch = TemplateBranch(network)
        self.graph_path = cached_search_graph(model, network, cache_dir)
        self.names = ["x", *kernel_names(len(network.heads))]
        self.threads = torch.get_num_threads()

    def template(self, z: torch.Tensor) -> Kernels:
        with torch.inference_mode():
            return self.template_branch(z)

    def _feed(self, kernels: Kernels, x: torch.Tensor) -> dict[str, np.ndarray]:
        arrays = [x, *kernels]
        return {n: a.detach().contiguous().numpy() for n, a in zip(self.names, arrays)}


class OnnxRuntimeEngine(_OnnxEngine):
    """ONNX Runtime CPU session, as many intra-op threads as torch uses, no busy-waiting between frames."""

    name = "onnxruntime"

    def __init__(self, model: torch.nn.Module, cache_dir=None):
        super().__init__(model, cache_dir)
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.graph_path), options, providers=["CPUExecutionProvider"])

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls, loc = self.session.run(["cls", "loc"], self._feed(kernels, x))
        return torch.from_numpy(cls), torch.from_numpy(loc)


class OpenVinoEngine(_OnnxEngine):
    """OpenVINO CPU plugin with float32 inference precision; one compiled model per input shape."""

    name = "openvino"

    def __init__(self, model: torch.nn.Module, cache_dir=None):
        super().__init__(model, cache_dir)
        import openvino as ov
        self.core = ov.Core()
        self.core.set_property({"CACHE_DIR": str(self.graph_path.parent / "openvino")})  # compiled blobs
        self.graph = self.core.read_model(str(self.graph_path))
        self.requests: dict[tuple, object] = {}

    def _request(self, feed: dict[str, np.ndarray]):
        key = tuple(a.shape for a in feed.values())
        if key not in self.requests:  # static shapes compile to much faster code than dynamic ones
            shaped = self.graph.clone()
            shaped.reshape({name: list(array.shape) for name, array in feed.items()})
            compiled = self.core.compile_model(shaped, "CPU", {
                "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": self.threads,
                "PERFORMANCE_HINT": "LATENCY"})
            self.requests[key] = compiled.create_infer_request()
        return self.requests[key]

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feed = self._feed(kernels, x)
        request = self._request(feed)
        outputs = request.infer(feed)
        cls, loc = (np.array(outputs[request.model_outputs[i]]) for i in range(2))
        return torch.from_numpy(cls), torch.from_numpy(loc)
