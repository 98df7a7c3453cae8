"""Training-pair augmentation of the release: shifted and rescaled crops from the 511x511 images,
then colour (PCA lighting), motion blur, gray and horizontal flip.

Boxes are corners ``(x1, y1, x2, y2)`` in pixel coordinates of the image they refer to. Every random
draw comes from the ``numpy.random.Generator`` passed in, so a sample is a pure function of its seed.
Pixel types follow the authors': the crop stays 8-bit until the colour step, which (like the blur
after it) computes in float64; the result is cast to float32 at the end.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..geometry import context_size
from .config import AugmentConfig

# Colour offsets: a standard normal 3-vector through this matrix (RGB rows) is subtracted from the
# image, reversed to BGR (the release's PCA lighting magnitudes).
COLOR_PCA = np.array([[-0.55919361, 0.98062831, -0.41940627],
                      [1.72091413, 0.19879334, -1.82968581],
                      [4.64467907, 4.73710203, 4.88324118]], dtype=np.float32)
BLUR_SIZES = np.arange(5, 46, 2)


def target_box(image_shape, size_wh, exemplar_size: int = 127, context_amount: float = 0.5) -> np.ndarray:
    """The target's box in a prepared crop: centred, its size scaled so that its context square
    (``context_size``) spans ``exemplar_size`` pixels."""
    height, width = image_shape[:2]
    w, h = size_wh
    scale = exemplar_size / context_size(w, h, context_amount)
    cx, cy, w, h = width // 2, height // 2, w * scale, h * scale
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float64)


def crop_window(image_shape, out_size: int, shift: float, scale: float, rng: np.random.Generator):
    """A jittered square window around the image centre: corners and the (x, y) scale factors.

    Its nominal side is ``out_size - 1``; each side is scaled by ``1 + U(-1,1) * scale`` (never past the
    image) and the window shifted by up to ``shift`` pixels, staying inside the image.
    """
    height, width = image_shape[:2]
    cx, cy, w, h = width // 2, height // 2, out_size - 1.0, out_size - 1.0
    sx = sy = 1.0
    if scale:
        sx = min(1.0 + rng.uniform(-1, 1) * scale, width / w)
        sy = min(1.0 + rng.uniform(-1, 1) * scale, height / h)
    w, h = w * sx, h * sy
    x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    if shift:
        dx = rng.uniform(-1, 1) * shift
        dy = rng.uniform(-1, 1) * shift
        dx = max(-x1, min(width - 1 - x2, dx))
        dy = max(-y1, min(height - 1 - y2, dy))
        x1, y1, x2, y2 = x1 + dx, y1 + dy, x2 + dx, y2 + dy
    return np.array([x1, y1, x2, y2]), sx, sy


def box_in_window(box, window, sx: float, sy: float) -> np.ndarray:
    """Where ``box`` lands in the crop made from ``window`` (pixel p -> (p - window corner) / scale)."""
    x1, y1 = window[0], window[1]
    return np.array([(box[0] - x1) / sx, (box[1] - y1) / sy, (box[2] - x1) / sx, (box[3] - y1) / sy])


def crop_roi(image: np.ndarray, window, out_size: int, fill=(0, 0, 0)) -> np.ndarray:
    """Warp ``window`` (corners) to an ``out_size`` square: its corners land on pixels 0 and out_size-1."""
    a = (out_size - 1) / (window[2] - window[0])
    b = (out_size - 1) / (window[3] - window[1])
    mapping = np.array([[a, 0, -a * window[0]], [0, b, -b * window[1]]], dtype=np.float64)
    return cv2.warpAffine(image, mapping, (out_size, out_size), borderMode=cv2.BORDER_CONSTANT,
                          borderValue=fill)


def color_offset(rng: np.random.Generator) -> np.ndarray:
    """A BGR offset (float64) drawn from the PCA lighting model."""
    return (COLOR_PCA.astype(np.float64) @ rng.standard_normal(3))[::-1]


def motion_blur_kernel(rng: np.random.Generator) -> np.ndarray:
    """A random cross-shaped kernel (odd side 5..45) mixing horizontal and vertical smearing."""
    size = int(rng.choice(BLUR_SIZES))
    kernel = np.zeros((size, size))
    c, wx = size // 2, rng.random()
    kernel[:, c] += wx / size
    kernel[c, :] += (1 - wx) / size
    return kernel


def to_gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def flip(image: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """Mirror horizontally; the box follows."""
    width = image.shape[1]
    return image[:, ::-1].copy(), np.array([width - 1 - box[2], box[1], width - 1 - box[0], box[3]])


def augment(image: np.ndarray, box, out_size: int, cfg: AugmentConfig, rng: np.random.Generator,
            gray: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``out_size`` pixels around the centre of ``image`` with the configured jitter; returns the
    float32 BGR crop and the target's box in it. Without the colour step a blur filters the 8-bit crop
    (rounded, as the authors' does)."""
    if gray:
        image = to_gray(image)
    window, sx, sy = crop_window(image.shape, out_size, cfg.shift, cfg.scale, rng)
    crop = crop_roi(image, window, out_size)
    box = box_in_window(box, window, sx, sy)
    if cfg.color > rng.random():
        crop = crop.astype(np.float64) - color_offset(rng)
    if cfg.blur > rng.random():
        crop = cv2.filter2D(crop, -1, motion_blur_kernel(rng))
    if cfg.flip and cfg.flip > rng.random():
        crop, box = flip(crop, box)
    return crop.astype(np.float32), box
