"""ONNX export of the template and search branches (TensorRT-friendly depthwise correlation).

The correlation is exported in its unrolled form (shifted products and sums), so no convolution
takes a runtime kernel; batch and search size are dynamic axes.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..model.inference import InferenceNetwork, SearchBranch, TemplateBranch

OPSET = 17
EXPORT_FORMAT = "folded, unrolled xcorr, v1"  # change when the exported programs change


def kernel_names(count: int) -> list[str]:
    return [f"kernel{i}" for i in range(count)]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "siamrpnpp" / "onnx"


def weights_digest(model: torch.nn.Module) -> str:
    """Hash of the weights, the architecture and the export settings (names the cached ONNX files)."""
    digest = hashlib.sha256()  # hardware-accelerated on most CPUs
    digest.update(f"{torch.__version__}/{OPSET}/{EXPORT_FORMAT}/{model.config!r}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().data)
    return digest.hexdigest()[:32]


def _export(module: torch.nn.Module, args: tuple, path: Path, input_names, output_names, dynamic) -> None:
    with atomic_path(path) as tmp, warnings.catch_warnings():  # a reader never sees a half-written graph
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic are expected here
        torch.onnx.export(module, args, tmp, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)


def export_onnx(model: torch.nn.Module, out_dir: str | os.PathLike, exemplar_size: int = 127,
                search_size: int = 255, template: bool = True) -> tuple[Path | None, Path]:
    """Write ``template.onnx`` (z -> kernels; unless ``template`` is False) and ``search.onnx``
    (x, kernels -> cls, loc) to ``out_dir``; returns their paths (None for a template not written)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    network = InferenceNetwork(model, unrolled_xcorr=True)
    z = torch.zeros(1, 3, exemplar_size, exemplar_size)
    with torch.no_grad():
        kernels = TemplateBranch(network)(z)
    names = kernel_names(len(kernels))
    batch = {0: "batch"}
    if template:
        _export(TemplateBranch(network), (z,), out / "template.onnx", ["z"], names,
                {"z": batch, **{n: batch for n in names}})
    x = torch.zeros(1, 3, search_size, search_size)
    _export(SearchBranch(network), (x, *kernels), out / "search.onnx", ["x", *names], ["cls", "loc"],
            {"x": {0: "batch", 2: "size", 3: "size"}, **{n: batch for n in names},
             "cls": {0: "batch", 2: "score", 3: "score"}, "loc": {0: "batch", 2: "score", 3: "score"}})
    return (out / "template.onnx" if template else None), out / "search.onnx"


def cached_search_graph(model: torch.nn.Module, cache_dir=None) -> Path:
    """``search.onnx`` for these weights, exported on first use, then reused."""
    path = Path(cache_dir or default_cache_dir()) / weights_digest(model) / "search.onnx"
    if not path.is_file():
        path = export_onnx(model, path.parent, template=False)[1]
    return path


def verify_onnx(model: torch.nn.Module, template_path, search_path, batch: int = 2, search_size: int = 255,
                exemplar_size: int = 127, seed: int = 0) -> dict[str, float]:
    """Relative max error of the ONNX graphs run by ONNX Runtime against the eager PyTorch model.

    Random crops, ``batch`` targets at once; returns {"kernels", "cls", "loc"} errors where
    the kernels are compared with the folded PyTorch template branch.
    """
    import onnxruntime as ort

    generator = torch.Generator().manual_seed(seed)
    z = torch.rand(batch, 3, exemplar_size, exemplar_size, generator=generator) * 255
    x = torch.rand(batch, 3, search_size, search_size, generator=generator) * 255
    reference = model.eval()  # a float32 CPU model
    with torch.inference_mode():
        cls_ref, loc_ref = reference.track(reference.template(z), x)
        kernels_ref = TemplateBranch(InferenceNetwork(reference))(z)
    template = ort.InferenceSession(str(template_path), providers=["CPUExecutionProvider"])
    search = ort.InferenceSession(str(search_path), providers=["CPUExecutionProvider"])
    kernels = template.run(None, {"z": z.numpy()})
    names = kernel_names(len(kernels))
    cls, loc = search.run(["cls", "loc"], {"x": x.numpy(), **dict(zip(names, kernels))})

    def rel(a, b: torch.Tensor) -> float:
        return float((torch.from_numpy(a) - b).abs().max() / b.abs().max().clamp_min(1e-12))

    return {"kernels": max(rel(k, r) for k, r in zip(kernels, kernels_ref)), "cls": rel(cls, cls_ref),
            "loc": rel(loc, loc_ref)}


def profile_shapes(template_path, search_path, max_batch: int = 8, search_size: int = 255,
                   exemplar_size: int = 127) -> dict[str, dict[str, tuple[tuple[int, ...], ...]]]:
    """Per graph file, per input: the (min, opt, max) shapes of a batch 1..``max_batch`` engine profile."""
    import onnx

    graph_inputs = onnx.load(str(search_path), load_external_data=False).graph.input
    kernel_dims = {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim)[1:]
                   for i in graph_inputs if i.name != "x"}
    profiles = {}
    for path, image, size, kernels in ((template_path, "z", exemplar_size, {}),
                                       (search_path, "x", search_size, kernel_dims)):
        dims = {image: (3, size, size), **kernels}
        profiles[str(path)] = {name: ((1, *d), (1, *d), (max_batch, *d)) for name, d in dims.items()}
    return profiles


def trtexec_commands(template_path, search_path, max_batch: int = 8, search_size: int = 255,
                     exemplar_size: int = 127) -> list[str]:
    """``trtexec`` command lines building FP16 engines with batch 1..``max_batch`` from the exported graphs."""
    def shapes(profile: dict, which: int) -> str:
        return ",".join(f"{name}:" + "x".join(map(str, shape[which])) for name, shape in profile.items())

    lines = []
    for path, profile in profile_shapes(template_path, search_path, max_batch, search_size, exemplar_size).items():
        plan = Path(path).with_suffix(".plan")
        lines.append(f"trtexec --onnx={path} --saveEngine={plan} --fp16 --minShapes={shapes(profile, 0)} "
                     f"--optShapes={shapes(profile, 1)} --maxShapes={shapes(profile, 2)}")
    return lines
