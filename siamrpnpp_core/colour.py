"""A colour model of the target against its surroundings, to rank proposals and check the tracked box.

The Siamese score alone does not tell a target from a look-alike beside it (a pedestrian among
pedestrians). A colour histogram of the target against one of its surroundings does, as in Staple
(Bertinetto et al., CVPR 2016) and DAT (Possegger et al., CVPR 2015): each colour bin gets the
likelihood that a pixel of that colour belongs to the object, and a proposal scores the mean
likelihood inside its box. Pure functions on uint8 BGR images; boxes are ``(cx, cy, w, h)``.
"""
from __future__ import annotations

import cv2
import numpy as np

CHANNELS = [0, 1, 2]
RANGES = [0, 256, 0, 256, 0, 256]


def box_window(shape, box) -> tuple[slice, slice]:
    """Row and column slices of the pixels of ``box`` in an image of ``shape``, clipped to it."""
    height, width = shape[:2]
    cx, cy, w, h = box
    x0, y0 = max(int(round(cx - w / 2)), 0), max(int(round(cy - h / 2)), 0)
    x1, y1 = min(int(round(cx + w / 2)), width), min(int(round(cy + h / 2)), height)
    return slice(y0, y1), slice(x0, x1)


def box_mask(shape, box) -> np.ndarray:
    """uint8 mask of ``shape[:2]`` with the pixels of ``box`` (clipped to the image) set to 1."""
    mask = np.zeros(shape[:2], np.uint8)
    mask[box_window(shape, box)] = 1
    return mask


def colour_histogram(image: np.ndarray, mask: np.ndarray | None, bins: int) -> np.ndarray:
    """Normalised ``bins^3`` BGR histogram (float32, sums to 1) of the pixels where ``mask`` is set (all: None)."""
    hist = cv2.calcHist([image], CHANNELS, mask, [bins] * 3, RANGES)
    total = float(hist.sum())
    if total == 0:
        raise ValueError("colour histogram of an empty region")
    return hist / total


def object_likelihood(target: np.ndarray, surround: np.ndarray) -> np.ndarray:
    """Per-bin probability that a pixel of that colour is the target: ``t / (t + s)``, 0.5 where neither has it."""
    total = target + surround
    return np.where(total > 0, target / np.maximum(total, 1e-12), 0.5).astype(np.float32)


def target_model(image: np.ndarray, box, context: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The target's colour histogram and its object likelihood against a ``context``-wide square around it.

    The surround is the square of side ``context`` centred on the box, less the box itself.
    """
    cx, cy, _, _ = box
    inside = box_mask(image.shape, box)
    surround = box_mask(image.shape, (cx, cy, context, context)) * (1 - inside)
    target = colour_histogram(image, inside, bins)
    background = colour_histogram(image, surround, bins) if surround.any() else np.zeros_like(target)
    return target, object_likelihood(target, background)


def likelihood_map(image: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Per-pixel object likelihood (float32, HxW) of ``image`` under a per-bin ``likelihood`` table."""
    bins = likelihood.shape[0]
    quantised = (image.astype(np.int32) * bins) >> 8
    return likelihood[quantised[..., 0], quantised[..., 1], quantised[..., 2]]


def box_means(values: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (HxW) inside each of ``boxes`` ``(4, N)`` in pixel coordinates, clipped to the map.

    A box wholly outside the map scores 0. Uses one integral image, so any number of boxes is cheap.
    """
    height, width = values.shape
    integral = cv2.integral(values.astype(np.float64))
    cx, cy, w, h = boxes
    x0 = np.clip(np.round(cx - w / 2), 0, width).astype(np.int64)
    x1 = np.clip(np.round(cx + w / 2), 0, width).astype(np.int64)
    y0 = np.clip(np.round(cy - h / 2), 0, height).astype(np.int64)
    y1 = np.clip(np.round(cy + h / 2), 0, height).astype(np.int64)
    area = (x1 - x0) * (y1 - y0)
    sums = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return np.where(area > 0, sums / np.maximum(area, 1), 0.0)


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Bhattacharyya coefficient of two normalised histograms: 1 for equal ones, 0 for disjoint ones."""
    return float(np.sum(np.sqrt(first * second)))
