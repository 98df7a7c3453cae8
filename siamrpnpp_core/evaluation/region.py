"""VOT region overlaps on the pixel grid, and the axis-aligned initial box of a VOT polygon.

A region is a 4-number rectangle ``(x, y, w, h)``, an 8-number polygon ``(x1, y1, ..., x4, y4)`` or a
1-number special code (VOT result files: 1 = initialised, 2 = failure, 0 = skipped), whose overlap is
NaN. Overlaps count pixels the way VOT's region library rasterises polygons: vertices rounded to
integers, scan lines at integer rows, both end pixels of a span filled. Rectangles become polygons:

* ``"pysot"`` (pysot toolkit, the published SiamRPN++ numbers): corners ``x`` and ``x + w``, so a
  ``w``-wide rectangle covers ``w + 1`` columns; ``[0,0,10,10]`` vs ``[5,0,10,10]`` gives 0.375.
* ``"vot"`` (official VOT rule): corners ``x`` and ``x + w - 1`` (``w`` columns); the same pair gives 1/3.

``bounds = (right, bottom)`` limits the grid to columns ``0..right`` and rows ``0..bottom``.
"""
from __future__ import annotations

import numpy as np

OVERLAP_RULES = ("pysot", "vot")  # rectangle to pixel grid
INIT_RULES = ("pysot", "exact")  # ground-truth rectangle to initial box


def as_region(values) -> np.ndarray:
    """A region as a float array of 1, 4 or 8 numbers (``ValueError`` otherwise)."""
    arr = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if arr.size not in (1, 4, 8):
        raise ValueError(f"a region has 1 (code), 4 (rectangle) or 8 (polygon) numbers, got {arr.size}")
    return arr


def to_polygon(region, rule: str = "pysot") -> np.ndarray:
    """``(K, 2)`` float32 vertices of a rectangle or polygon under the overlap ``rule``."""
    r = as_region(region)
    if r.size == 8:
        return r.reshape(4, 2).astype(np.float32)
    if r.size != 4:
        raise ValueError("a special code has no polygon")
    if rule not in OVERLAP_RULES:
        raise ValueError(f"overlap rule must be one of {OVERLAP_RULES}, got {rule!r}")
    x, y, w, h = r
    x2, y2 = (x + w, y + h) if rule == "pysot" else (x + w - 1, y + h - 1)
    return np.array([[x, y], [x2, y], [x2, y2], [x, y2]], dtype=np.float32)


def _c_round(v: np.ndarray) -> np.ndarray:
    """C ``round``: halves away from zero (NumPy rounds halves to even)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _rounded_bounds(poly: np.ndarray, bounds) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the vertices, rounded outwards, intersected with ``bounds``."""
    left, top = np.floor(poly.min(axis=0).astype(float))
    right, bottom = np.ceil(poly.max(axis=0).astype(float))
    if bounds is not None:
        left, top = max(left, 0.0), max(top, 0.0)
        right, bottom = min(right, float(bounds[0])), min(bottom, float(bounds[1]))
    return left, top, right, bottom


def rasterize(poly: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boolean ``(height, width)`` mask of a polygon (vertices relative to the grid origin).

    Per integer row: edge crossings (truncated to int) are sorted and paired; equal neighbours are
    skipped once; each pair fills its span inclusively, clamped to the grid.
    """
    p = _c_round(poly.astype(np.float32).astype(float))
    xi, yi = p[:, 0], p[:, 1]
    xj, yj = np.roll(xi, 1), np.roll(yi, 1)  # edge i runs from vertex i-1 (j) to vertex i
    rows = np.arange(height, dtype=float)[:, None]
    crosses = (((yi <= rows) & (yj > rows)) | ((yj <= rows) & (yi > rows))
               | ((yi < rows) & (yj >= rows)) | ((yj < rows) & (yi >= rows))
               | ((yi == yj) & (yi == rows)))
    dy, dx = yj - yi, xj - xi
    crosses &= dy != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        nodes = np.trunc(xi + (rows - yi) / np.where(dy == 0, 1, dy) * dx)
    nodes = np.sort(np.where(crosses, nodes, np.inf), axis=1)
    count = crosses.sum(axis=1)
    mask = np.zeros((height, width + 1), dtype=np.int32)
    ptr = np.zeros(height, dtype=int)
    stopped = np.zeros(height, dtype=bool)
    ridx = np.arange(height)
    for _ in range(len(xi)):
        active = (ptr < count - 1) & ~stopped
        if not active.any():
            break
        a = nodes[ridx, np.minimum(ptr, nodes.shape[1] - 1)]
        b = nodes[ridx, np.minimum(ptr + 1, nodes.shape[1] - 1)]
        same = active & (a == b)
        span = active & ~same
        stopped |= span & (a >= width)
        fill = np.flatnonzero(span & (a < width) & (b >= 0))
        np.add.at(mask, (fill, np.maximum(a[fill], 0).astype(int)), 1)
        np.add.at(mask, (fill, np.minimum(b[fill], width - 1).astype(int) + 1), -1)
        ptr = np.where(same, ptr + 1, np.where(span, ptr + 2, ptr))
    return np.cumsum(mask, axis=1)[:, :width] > 0


def vot_overlap(a, b, bounds=None, rule: str = "pysot") -> float:
    """Pixel-count IoU of two regions; NaN if either is a special code.

    Follows VOT's region library: zero when the rounded boxes of the two regions share no area
    (touching edges included) or one has no area.
    """
    ra, rb = as_region(a), as_region(b)
    if ra.size == 1 or rb.size == 1 or np.isnan(ra).any() or np.isnan(rb).any():
        return float("nan")
    pa, pb = to_polygon(ra, rule), to_polygon(rb, rule)
    la, ta, rta, ba = _rounded_bounds(pa, bounds)
    lb, tb, rtb, bb = _rounded_bounds(pb, bounds)
    area_a, area_b = np.float64((rta - la) * (ba - ta)), np.float64((rtb - lb) * (bb - tb))
    x0, y0 = min(la, lb), min(ta, tb)
    width, height = int(max(rta, rtb) - x0) + 1, int(max(ba, bb) - y0) + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        if area_a / area_b < 1e-10 or area_b / area_a < 1e-10 or width < 1 or height < 1:
            return 0.0
        inter = np.float64((min(rta, rtb) - max(la, lb)) * (min(ba, bb) - max(ta, tb)))
        if inter / (area_a + area_b - inter) <= 0:  # VOT: no shared area of the rounded boxes
            return 0.0
    offset = np.array([x0, y0], dtype=np.float32)
    ma = rasterize(pa - offset, width, height)
    mb = rasterize(pb - offset, width, height)
    both = np.count_nonzero(ma & mb)
    union = np.count_nonzero(ma | mb)
    return both / union if union else float("nan")


def vot_overlaps(pred, gt, bounds=None, rule: str = "pysot") -> np.ndarray:
    """Per-frame :func:`vot_overlap` of two region sequences (codes give NaN)."""
    if len(pred) != len(gt):
        n = min(len(pred), len(gt))
        pred, gt = pred[:n], gt[:n]
    return np.array([vot_overlap(p, g, bounds, rule) for p, g in zip(pred, gt)], dtype=float)


def axis_aligned_box(region, rule: str = "pysot") -> tuple[float, float, float, float]:
    """The ``(x, y, w, h)`` a tracker is initialised with from a ground-truth region.

    8 numbers (VOT rule): centre = mean of the corners; ``A1 = |p1-p2| * |p2-p3|``, ``A2`` = area of
    the axis-aligned bounds; ``s = sqrt(A1/A2)``; ``w = s*(x2-x1)+1`` (same for h);
    box = ``(cx - (w-1)/2, cy - (h-1)/2, w, h)``. 4 numbers: ``"pysot"`` takes the centre
    ``x + w/2``, i.e. returns ``(x + 0.5, y + 0.5, w, h)`` (pysot's test script); ``"exact"`` returns
    the rectangle unchanged.
    """
    r = as_region(region)
    if r.size == 4:
        if rule not in INIT_RULES:
            raise ValueError(f"initial-box rule must be one of {INIT_RULES}, got {rule!r}")
        if rule == "exact":
            return tuple(float(v) for v in r)
        x, y, w, h = r
        return float(x + 0.5), float(y + 0.5), float(w), float(h)
    if r.size != 8:
        raise ValueError("a special code has no box")
    xs, ys = r[0::2], r[1::2]
    cx, cy = xs.mean(), ys.mean()
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    a1 = np.linalg.norm(r[0:2] - r[2:4]) * np.linalg.norm(r[2:4] - r[4:6])
    a2 = (x2 - x1) * (y2 - y1)
    s = np.sqrt(a1 / a2) if a2 > 0 else 1.0
    w, h = s * (x2 - x1) + 1, s * (y2 - y1) + 1
    return float(cx - (w - 1) / 2), float(cy - (h - 1) / 2), float(w), float(h)
