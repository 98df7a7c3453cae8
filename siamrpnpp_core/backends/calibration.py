"""int8 search graph: ONNX Runtime static quantisation calibrated on real search crops, cached.

The samples are what the exact tracker feeds its network: the float32 tracker follows a few boxes
through a real video (by default the packaged clip) and every search crop it takes, with the target's
template kernels, is one calibration input. Convolution weights are quantised per output channel to
int8, their inputs to uint8 (QDQ format, so ONNX Runtime and OpenVINO both run the same graph); the
last convolution of each classification and regression head stays in float32 (a negligible share of
the work; quantising it too raised the demo model's frames below IoU 0.9 of the exact path's boxes
from 25 % to 44 %, measured). The result is cached beside the float32 graph under a key of the recipe, the video's content and the
quantiser's version; a later start loads it in a second.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, atomic_write
from .base import Engine, Kernels
from .precision import dot_product_units

log = logging.getLogger(__name__)

CALIBRATION_FORMAT = "qdq u8s8 conv, float output convs, v1"  # change when the quantisation below changes
# Boxes in the packaged 640x480 clip: the walker on the right, people in the middle and on the left.
DEMO_BOXES = ((510.0, 238.0, 48.0, 84.0), (300.0, 180.0, 50.0, 110.0), (100.0, 230.0, 60.0, 120.0))
METHODS = ("minmax", "percentile", "entropy")


@dataclass(frozen=True)
class Calibration:
    """How the int8 graph is calibrated.

    The float32 tracker follows each of ``boxes`` (x, y, w, h in frame 0 of ``video``; default: the
    packaged clip) for ``frames`` frames; each search crop is a sample. ``method`` sets the activation
    ranges (ONNX Runtime's MinMax, Percentile or Entropy calibration); ``reduce_range`` quantises to 7
    bits (None: where the CPU lacks 8-bit dot-product units, whose absence makes ONNX Runtime's uint8 x
    int8 products saturate).
    """

    video: str | None = None
    boxes: tuple[tuple[float, float, float, float], ...] = DEMO_BOXES
    frames: int = 16
    method: str = "minmax"
    reduce_range: bool | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"calibration method must be one of {METHODS}, got {self.method!r}")
        if self.frames < 1 or not self.boxes:
            raise ValueError("calibration needs at least one box and one frame")


def default_video() -> str:
    """The packaged clip (real video, 640x480, 100 frames)."""
    return str(resources.files("siamrpnpp_core") / "data" / "demo.mp4")


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolved(recipe: Calibration, flags: Iterable[str]) -> Calibration:
    """``recipe`` with its defaults filled in for a CPU with ``flags`` (the video, the 7-bit choice)."""
    reduce_range = not dot_product_units(flags) if recipe.reduce_range is None else recipe.reduce_range
    return dataclasses.replace(recipe, video=recipe.video or default_video(), reduce_range=reduce_range)


def recipe_key(recipe: Calibration, video_digest: str, quantiser: str) -> str:
    """Cache key of a resolved recipe: its fields, the video's content and the quantiser's version."""
    fields = {k: v for k, v in dataclasses.asdict(recipe).items() if k != "video"}
    text = json.dumps({"format": CALIBRATION_FORMAT, "video": video_digest, "quantiser": quantiser, **fields},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Recorder(Engine):
    """Runs ``engine`` and keeps every search call's inputs as an ONNX feed."""

    def __init__(self, engine: Engine):
        self.engine, self.model, self.device, self.dtype = engine, engine.model, engine.device, engine.dtype
        self.feeds: list[dict[str, np.ndarray]] = []

    def template(self, z: torch.Tensor) -> Kernels:
        return self.engine.template(z)

    def search(self, kernels: Kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from .onnx_backend import search_feed

        self.feeds.append({name: array.copy() for name, array in search_feed(kernels, x).items()})
        return self.engine.search(kernels, x)


def tracker_config_of(model: torch.nn.Module):
    """Crop geometry for ``model``: the first preset with its architecture's tracker settings."""
    from ..config import PRESETS, TrackerConfig

    return next((p.tracker for p in PRESETS.values() if p.model == model.config), TrackerConfig())


def calibration_feeds(engine: Engine, recipe: Calibration, config=None) -> list[dict[str, np.ndarray]]:
    """The search inputs of the exact tracker on ``engine`` following the recipe's boxes in its video."""
    from ..sources import open_frames
    from ..tracker import SiamRPNTracker

    frames = []
    for frame in open_frames(recipe.video or default_video()):
        frames.append(frame)
        if len(frames) > recipe.frames:
            break
    recorder = _Recorder(engine)
    for box in recipe.boxes:
        tracker = SiamRPNTracker(recorder, config or tracker_config_of(engine.model))
        tracker.init(frames[0], box)
        for frame in frames[1:]:
            tracker.track(frame)
    return recorder.feeds


class _Feeds:
    """ONNX Runtime's CalibrationDataReader protocol over a list of feeds."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._rest = iter(feeds)

    def get_next(self):
        return next(self._rest, None)


def output_convs(conv_names: list[str]) -> list[str]:
    """The last convolution of each head (``.../cls_head/...``, ``.../loc_head/...``) among the exported
    graph's convolution node names, in graph order."""
    last: dict[str, str] = {}
    for name in conv_names:
        for head in ("/cls_head/", "/loc_head/"):
            if head in name:
                last[name[:name.index(head) + len(head)]] = name
    return list(last.values())


def quantise(source: Path, out: str, feeds: list[dict[str, np.ndarray]], recipe: Calibration) -> None:
    """Write ``source`` statically quantised (QDQ, per-channel int8 convolution weights) to ``out``."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}[recipe.method]
    convs = [node.name for node in onnx.load(str(source)).graph.node if node.op_type == "Conv"]
    root = logging.getLogger()
    root.addFilter(_no_preprocessing_advice)
    try:
        quantize_static(str(source), out, _Feeds(feeds), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                        per_channel=True, reduce_range=bool(recipe.reduce_range), activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=output_convs(convs), calibrate_method=method)
    finally:
        root.removeFilter(_no_preprocessing_advice)


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    """Drops the quantiser's advice to pre-process: the exported graph is already folded and shaped."""
    return "pre-processing" not in record.getMessage()


def quantized_search_graph(model: torch.nn.Module, cache_dir, recipe: Calibration | None,
                           flags: Iterable[str]) -> Path:
    """The int8 ``search.onnx`` for ``model`` and ``recipe`` (default ``Calibration()``) on a CPU with
    ``flags``: from the cache, or calibrated, quantised and cached (OSError where it cannot be written)."""
    import onnxruntime

    from .onnx_backend import OnnxRuntimeEngine
    from .onnx_export import cached_search_graph

    recipe = resolved(recipe or Calibration(), flags)
    source = cached_search_graph(model, cache_dir)
    folder = source.parent / f"int8-{recipe_key(recipe, file_digest(recipe.video), onnxruntime.__version__)}"
    path = folder / source.name
    if path.is_file():
        return path
    feeds = calibration_feeds(OnnxRuntimeEngine(model, cache_dir=cache_dir), recipe)
    log.warning("int8: calibrating on %d search crops of %s (once; cached in %s)", len(feeds), recipe.video, folder)
    with atomic_path(path) as tmp:
        quantise(source, tmp, feeds, recipe)
    atomic_write(folder / "calibration.json", json.dumps({**dataclasses.asdict(recipe), "samples": len(feeds),
                                                          "onnxruntime": onnxruntime.__version__}, indent=1))
    return path
