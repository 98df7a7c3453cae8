"""The SiamRPN tracking algorithm of the authors' release (pysot ``SiamRPNTracker`` / ``SiamRPNLTTracker``).

One tracker follows one target; several trackers may share one model, since the template features
live here and not in the network.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import colour as col
from . import geometry as geo
from .backends import as_engine, concat_kernels
from .boxes import cxcywh_to_xywh, xywh_centre
from .config import MMTRACKING, PYSOT, TrackerConfig

# Centre of an (x, y, w, h) box by weights format (see boxes.xywh_centre).
CENTRE_RULES = {PYSOT: "pixel", MMTRACKING: "continuous"}


class TrackState(str, Enum):
    """Whether the tracker believes it still sees the target (score hysteresis LOW/HIGH)."""

    TRACKING = "tracking"
    LOST = "lost"


@dataclass(frozen=True)
class TrackResult:
    """One frame's output: ``bbox`` = (x, y, w, h) in image pixels, ``score`` in [0, 1], ``state``."""

    bbox: tuple[float, float, float, float]
    score: float
    state: TrackState


def prepare_frame(frame) -> np.ndarray:
    """Validate a frame and return it as HxWx3 BGR uint8 (gray and BGRA are converted)."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 (8-bit BGR), got dtype {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise ValueError(f"frame must be HxW (gray), HxWx3 (BGR) or HxWx4 (BGRA), got shape {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"frame is empty (shape {frame.shape})")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


def validate_box(bbox, image_shape) -> tuple[float, float, float, float]:
    """Check an ``(x, y, w, h)`` box: four finite numbers, positive size, overlapping the image."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ValueError(f"box must be four numbers (x, y, w, h), got {bbox!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"box has non-finite values: {(x, y, w, h)}")
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be positive, got w={w}, h={h}")
    height, width = image_shape[:2]
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {(x, y, w, h)} lies entirely outside the {width}x{height} image")
    return x, y, w, h


def foreground_scores(cls: torch.Tensor) -> np.ndarray:
    """Foreground softmax of a (1, 2A, S, S) map, flattened anchor-major (pysot ``_convert_score``)."""
    pairs = cls.float().permute(1, 2, 3, 0).contiguous().view(2, -1).permute(1, 0)
    return F.softmax(pairs, dim=1)[:, 1].cpu().numpy()


def regression_deltas(loc: torch.Tensor) -> np.ndarray:
    """(1, 4A, S, S) regression map as a (4, A*S*S) float32 array of dx, dy, dw, dh."""
    return loc.float().permute(1, 2, 3, 0).contiguous().view(4, -1).cpu().numpy()


@dataclass(frozen=True)
class _SearchRegion:
    patch: torch.Tensor
    instance_size: int
    scale_z: float
    window_influence: float
    image: np.ndarray | None  # the uint8 crop, kept for the colour model


def tracker_config_for(model, config: TrackerConfig) -> TrackerConfig:
    """``config`` with the weights format of ``model`` (``model.weights_format``, set by the loader).

    A config naming no format adopts the model's; one naming another raises ``ValueError``: mmtracking
    weights with pysot's anchors and crops (or the reverse) would track, but wrongly. A stand-in network
    without the attribute takes the config's format (pysot when unset).
    """
    loaded = getattr(model, "weights_format", None)
    if config.weights_format is None:
        return replace(config, weights_format=loaded or PYSOT)
    if loaded is not None and config.weights_format != loaded:
        raise ValueError(f"the tracker config asks for {config.weights_format}-format weights but the model's "
                         f"weights are in {loaded} format (anchors, crops and centres differ); leave "
                         "TrackerConfig.weights_format unset to follow the model")
    return config


def track_batch(trackers: list["SiamRPNTracker"], frames: list) -> list[TrackResult]:
    """Step several initialised trackers, each on its own frame (the same frame may repeat).

    Trackers sharing an engine and a search size go through the network as one batch: one backbone
    and head pass for all of them. Results are in the order of ``trackers`` and equal those of
    calling ``track`` on each.
    """
    if len(trackers) != len(frames):
        raise ValueError(f"{len(trackers)} trackers but {len(frames)} frames")
    for tracker in trackers:
        if not tracker.initialized:
            raise ValueError("track() called before init(): give the tracker a target box first")
    images = {}
    for frame in frames:
        if id(frame) not in images:
            images[id(frame)] = prepare_frame(frame)
    jobs = [(t, images[id(f)], t._search_region(images[id(f)])) for t, f in zip(trackers, frames)]
    groups: dict[tuple, list[int]] = {}
    for i, (tracker, _, region) in enumerate(jobs):
        groups.setdefault((id(tracker.engine), region.instance_size), []).append(i)
    results: list[TrackResult | None] = [None] * len(jobs)
    for members in groups.values():
        engine = jobs[members[0]][0].engine
        x = torch.cat([jobs[i][2].patch for i in members])
        kernels = concat_kernels([jobs[i][0]._kernels for i in members])
        cls, loc = engine.search(kernels, x)
        cls, loc = cls.float().cpu(), loc.float().cpu()  # one device-to-host copy for the whole group
        for row, i in enumerate(members):
            tracker, image, region = jobs[i]
            results[i] = tracker._update(image, region, cls[row:row + 1], loc[row:row + 1])
    return results


class SiamRPNTracker:
    """Single-target SiamRPN++ tracker: ``init(frame, box)`` then ``track(frame)`` per frame.

    ``engine`` is a backend engine (``siamrpnpp_core.backends``) or a bare model, which then runs as
    the eager reference path. ``config.weights_format`` follows the engine's model (see
    :func:`tracker_config_for`). Trackers sharing one engine can be stepped together by ``track_batch``.
    """

    def __init__(self, engine, config: TrackerConfig):
        self.engine = as_engine(engine)
        self.config = tracker_config_for(self.engine.model, config)
        self.device, self.dtype = self.engine.device, self.engine.dtype
        self._geometry_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.reset()

    @property
    def model(self):
        """The eager module the engine was built from."""
        return self.engine.model

    def reset(self) -> None:
        """Forget the target; ``track`` raises until the next ``init``."""
        self._kernels = None
        self._center = self._size = self._channel_average = None
        self._target_colours = self._likelihood = None
        self._lost = False

    @property
    def initialized(self) -> bool:
        return self._kernels is not None

    @property
    def state(self) -> TrackState:
        return TrackState.LOST if self._lost else TrackState.TRACKING

    def init(self, frame, bbox) -> None:
        """Take the target in ``bbox`` = (x, y, w, h) of ``frame`` as the template."""
        image = prepare_frame(frame)
        x, y, w, h = validate_box(bbox, image.shape)
        cfg = self.config
        self._center = np.array(xywh_centre(x, y, w, h, CENTRE_RULES[cfg.weights_format]))
        self._size = np.array([w, h])
        self._channel_average = np.mean(image, axis=(0, 1))
        s_z = geo.context_size(self._size[0], self._size[1], cfg.context_amount)
        self._kernels = self.engine.template(self._tensor(self._crop(image, cfg.exemplar_size, round(s_z))))
        if cfg.colour_weight > 0 or cfg.colour_min_similarity > 0:
            context = s_z * cfg.instance_size / cfg.exemplar_size
            self._target_colours, self._likelihood = col.target_model(
                image, (*self._center, *self._size), context, cfg.colour_bins)
        self._lost = False

    def track(self, frame) -> TrackResult:
        """Locate the target in ``frame``; returns its box, score and tracking state."""
        return track_batch([self], [frame])[0]

    def _search_region(self, image: np.ndarray) -> _SearchRegion:
        """The search crop of this frame and the scale it was taken at."""
        cfg = self.config
        searching = cfg.long_term and self._lost
        instance_size = cfg.lost_instance_size if searching else cfg.instance_size
        s_z = geo.context_size(self._size[0], self._size[1], cfg.context_amount)
        s_x = s_z * (instance_size / cfg.exemplar_size)
        patch = self._crop(image, instance_size, round(s_x))
        return _SearchRegion(self._tensor(patch), instance_size, cfg.exemplar_size / s_z,
                             cfg.lost_window_influence if searching else cfg.window_influence,
                             patch if self._likelihood is not None else None)

    def _update(self, image: np.ndarray, region: _SearchRegion, cls: torch.Tensor, loc: torch.Tensor) -> TrackResult:
        """Pick the best anchor of one target's maps and move the target state (pysot's ``track``)."""
        cfg = self.config
        score = foreground_scores(cls)
        anchors, window = self._geometry(region.instance_size)
        max_delta = geo.MMTRACKING_MAX_DELTA if cfg.weights_format == MMTRACKING else None
        pred = geo.decode_boxes(regression_deltas(loc), anchors, max_delta)

        scale_z = region.scale_z
        penalty = geo.scale_ratio_penalty(pred[2], pred[3], self._size, scale_z, cfg.penalty_k)
        ranked = score
        if cfg.colour_weight > 0:
            ranked = (1 - cfg.colour_weight) * score + cfg.colour_weight * self._colour_scores(region, pred)
        pscore = penalty * ranked
        pscore = pscore * (1 - region.window_influence) + window * region.window_influence
        best = np.argmax(pscore)
        best_score = score[best]

        if cfg.long_term and best_score < cfg.confidence_low:
            cx, cy, width, height = self._center[0], self._center[1], self._size[0], self._size[1]
        else:
            bbox = pred[:, best] / scale_z
            lr = penalty[best] * score[best] * cfg.lr
            cx, cy = bbox[0] + self._center[0], bbox[1] + self._center[1]
            width = self._size[0] * (1 - lr) + bbox[2] * lr
            height = self._size[1] * (1 - lr) + bbox[3] * lr
        clipped = geo.clip_box(cx, cy, width, height, image.shape)
        if not cfg.long_term:  # pysot's long-term tracker keeps the unclipped state
            cx, cy, width, height = clipped
        self._center = np.array([cx, cy])
        self._size = np.array([width, height])

        if best_score < cfg.confidence_low or not self._colours_match(image, clipped):
            self._lost = True
        elif best_score > cfg.confidence_high:
            self._lost = False
        box = tuple(float(v) for v in cxcywh_to_xywh(*clipped))
        return TrackResult(box, float(best_score), self.state)

    def _colours_match(self, image: np.ndarray, box) -> bool:
        """Whether ``box``'s colours are at least ``colour_min_similarity`` like the first frame's target."""
        if self.config.colour_min_similarity == 0:
            return True
        seen = col.colour_histogram(image[col.box_window(image.shape, box)], None, self.config.colour_bins)
        return col.similarity(seen, self._target_colours) >= self.config.colour_min_similarity

    def _colour_scores(self, region: _SearchRegion, pred: np.ndarray) -> np.ndarray:
        """Mean object likelihood of the target's colours inside each proposal ``pred`` (search-crop pixels)."""
        boxes = pred.copy()
        boxes[:2] += region.instance_size / 2  # proposals are relative to the crop's centre
        return col.box_means(col.likelihood_map(region.image, self._likelihood), boxes)

    def _crop(self, image: np.ndarray, out_size: int, crop_size) -> np.ndarray:
        if self.config.weights_format == MMTRACKING:
            return geo.get_subwindow_mmtracking(image, self._center, out_size, crop_size, self._channel_average)
        return geo.get_subwindow(image, self._center, out_size, crop_size, self._channel_average)

    def _tensor(self, patch: np.ndarray) -> torch.Tensor:
        array = patch.transpose(2, 0, 1)[np.newaxis].astype(np.float32)
        return torch.from_numpy(array).to(self.device, self.dtype)

    def _geometry(self, instance_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Anchors and cosine window for a search region of ``instance_size`` pixels (cached)."""
        if instance_size not in self._geometry_cache:
            cfg = self.config
            size = cfg.score_size(instance_size)
            shapes = geo.anchor_shapes(cfg.stride, cfg.ratios, cfg.scales, cfg.weights_format)
            anchors = geo.generate_anchors(shapes, size, cfg.stride)
            self._geometry_cache[instance_size] = (anchors, geo.cosine_window(size, len(shapes)))
        return self._geometry_cache[instance_size]
