"""One-pass evaluation (OPE) and GOT-10k metrics: IoU, centre errors, success/precision curves, AO/SR.

Boxes are ``(x, y, w, h)`` arrays of shape ``(N, 4)``. The reference toolkits disagree on a few
details; each way is a named set of :class:`OPERules` (``pysot`` is the default: the paper's and the
pysot model zoo's numbers were computed with it). See ``OPE_RULES`` and the README section.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import boxes

EPS = np.finfo(float).eps
PRECISION_AT = 20  # pixels
NORM_PRECISION_AT = 20  # index of 0.20 on the 0..0.50 step 0.01 axis
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=float)
NORM_PRECISION_FORMS = ("pysot", "auc")


@dataclass(frozen=True)
class OPERules:
    """One-pass scoring rules: how one toolkit turns a sequence of predicted and ground-truth boxes into curves.

    first_frame: ``"as_written"`` scores the stored frame-0 box; ``"groundtruth"`` replaces it by the
        ground truth first.
    invalid_gt: ``"fail"`` keeps frames whose ground truth has ``w <= 0`` or ``h <= 0`` (or NaN) in N
        and counts them as failures of the success curve and as hits of the precision curves (pysot);
        ``"drop"`` removes ground-truth rows holding NaN, so N shrinks (got10k UAV123/LaSOT).
    invisible: ``"drop_keep_n"`` removes frames flagged not visible but divides by the full length
        (pysot, LaSOT toolkit); ``"ignore"`` scores them like any other frame (got10k).
    hold_invalid_predictions: replace NaN / non-positive-size predictions by the previous box (LaSOT).
    iou_eps: added to the IoU denominator (got10k adds float eps).
    success_thresholds: the 21 overlap thresholds (pysot builds them with ``arange``, got10k with
        ``linspace``; they differ in the last bits).
    norm_precision_form: ``"pysot"``: ``|(c_p - c_g) / (w_g, h_g)|`` thresholds 0..0.5, value at 0.20;
        ``"auc"``: divided by ``max(1, w_g or h_g)`` and averaged over the 51 thresholds (got10k, TrackingNet).
    """

    name: str
    first_frame: str = "as_written"
    invalid_gt: str = "fail"
    invisible: str = "drop_keep_n"
    hold_invalid_predictions: bool = False
    iou_eps: float = 0.0
    success_thresholds: tuple[float, ...] = tuple(np.arange(0, 1.05, 0.05))
    norm_precision_form: str = "pysot"


OPE_RULES: dict[str, OPERules] = {
    r.name: r
    for r in (
        OPERules("pysot"),
        OPERules("got10k", first_frame="groundtruth", invalid_gt="drop", invisible="ignore",
                 iou_eps=EPS, success_thresholds=tuple(np.linspace(0, 1, 21)), norm_precision_form="auc"),
        OPERules("lasot", first_frame="groundtruth", hold_invalid_predictions=True,
                 success_thresholds=tuple(np.linspace(0, 1, 21))),
    )
}


def get_ope_rules(name: str | OPERules) -> OPERules:
    """The named one-pass scoring rules (an ``OPERules`` passes through)."""
    if isinstance(name, OPERules):
        return name
    try:
        return OPE_RULES[name]
    except KeyError:
        raise ValueError(f"unknown OPE rules {name!r}; available: {', '.join(OPE_RULES)}") from None


def as_boxes(boxes, what: str = "boxes") -> np.ndarray:
    """``(N, 4)`` float64 copy of ``boxes``; ``ValueError`` if the shape is wrong."""
    arr = np.array(boxes, dtype=float, copy=True)
    if arr.ndim == 1 and arr.size == 4:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what} must be an (N, 4) array of x, y, w, h; got shape {arr.shape}")
    return arr


def clip_to_image(boxes, bound) -> np.ndarray:
    """Boxes limited to the image ``bound = (width, height)`` as GOT-10k does: x, y are clipped to
    the image first (a box sticking out left or up is moved inside, not cut), then w, h to what remains."""
    b = as_boxes(boxes)
    width, height = bound
    b[:, 0] = np.clip(b[:, 0], 0, width)
    b[:, 1] = np.clip(b[:, 1], 0, height)
    b[:, 2] = np.clip(b[:, 2], 0, width - b[:, 0])
    b[:, 3] = np.clip(b[:, 3], 0, height - b[:, 1])
    return b


def iou(a, b, bound=None, eps: float = 0.0) -> np.ndarray:
    """Per-row intersection over union of two ``(N, 4)`` box arrays, clipped to [0, 1].

    ``inter / (w1*h1 + w2*h2 - inter + eps)`` with no +1 on sizes; ``bound = (width, height)`` first
    limits both boxes to the image (GOT-10k, see :func:`clip_to_image`). NaN inputs give NaN. Inputs are never
    modified. The arithmetic is :func:`siamrpnpp_core.boxes.iou`'s.
    """
    a, b = as_boxes(a), as_boxes(b)
    if a.shape != b.shape:
        raise ValueError(f"box arrays differ in shape: {a.shape} vs {b.shape}")
    if bound is not None:
        a, b = clip_to_image(a, bound), clip_to_image(b, bound)
    return boxes.iou(a, b, fmt="xywh", eps=eps)


def centers(xywh) -> np.ndarray:
    """Box centres ``(x + (w-1)/2, y + (h-1)/2)``: the ``pixel`` rule of every toolkit."""
    b = as_boxes(xywh)
    return np.stack(boxes.xywh_centre(b[:, 0], b[:, 1], b[:, 2], b[:, 3], "pixel"), axis=1)


def center_error(a, b) -> np.ndarray:
    """Euclidean distance in pixels between the centres of two box arrays."""
    return np.sqrt(np.sum((centers(a) - centers(b)) ** 2, axis=1))


def normalized_center_error(pred, gt, form: str = "pysot") -> np.ndarray:
    """Centre distance with each axis divided by the ground-truth size.

    ``"pysot"`` divides both centres by ``gt_wh + 1e-16`` (pysot, LaSOT); ``"auc"`` divides the
    difference by ``max(1, gt_wh)`` (got10k's GitHub toolkit, TrackingNet).
    """
    pred, gt = as_boxes(pred), as_boxes(gt)
    if form == "pysot":
        scale = gt[:, 2:] + 1e-16
        return np.sqrt(np.sum((centers(pred) / scale - centers(gt) / scale) ** 2, axis=1))
    if form == "auc":
        scale = np.maximum(1.0, gt[:, 2:])
        return np.sqrt(np.sum(((centers(pred) - centers(gt)) / scale) ** 2, axis=1))
    raise ValueError(f"normalized precision form must be one of {NORM_PRECISION_FORMS}, got {form!r}")


def norm_precision_thresholds(form: str) -> np.ndarray:
    """The 51 thresholds 0..0.50 as each toolkit builds them."""
    return np.arange(0, 51) / 100 if form == "pysot" else np.linspace(0, 0.5, 51)


def rate_above(values: np.ndarray, thresholds, n: int) -> np.ndarray:
    """Fraction (over ``n``) of ``values`` strictly above each threshold; NaN counts as below."""
    values = np.asarray(values, float)
    return np.array([np.sum(values > t) for t in thresholds], float) / n


def rate_within(values: np.ndarray, thresholds, n: int) -> np.ndarray:
    """Fraction (over ``n``) of ``values`` at or below each threshold; NaN counts as above."""
    values = np.asarray(values, float)
    return np.array([np.sum(values <= t) for t in thresholds], float) / n


@dataclass(frozen=True)
class SequenceCurves:
    """Success (21), precision (51) and normalized-precision (51) curves of one sequence."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    n_frames: int


def hold_invalid(pred: np.ndarray) -> np.ndarray:
    """Replace NaN or non-positive-size predictions by the previous box (LaSOT toolkit)."""
    pred = pred.copy()
    for i in range(1, len(pred)):
        if np.isnan(pred[i]).any() or pred[i, 2] <= 0 or pred[i, 3] <= 0:
            pred[i] = pred[i - 1]
    return pred


def ope_curves(pred, gt, visible=None, rules: str | OPERules = "pysot",
               norm_form: str | None = None) -> SequenceCurves:
    """Curves of one sequence under the OPE ``rules``; ``visible`` (bool per frame) flags present targets;
    ``norm_form`` (``NORM_PRECISION_FORMS``) overrides the rules' normalised-precision form.

    ``pred`` must have one row per ground-truth row (frame 0 included).
    """
    r = get_ope_rules(rules)
    form = norm_form or r.norm_precision_form
    pred, gt = as_boxes(pred, "predictions"), as_boxes(gt, "ground truth")
    if len(pred) != len(gt):
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth frames")
    if r.first_frame == "groundtruth":
        pred[0] = gt[0]
    if r.hold_invalid_predictions:
        pred = hold_invalid(pred)
    n = len(gt)
    if visible is not None and r.invisible == "drop_keep_n":
        keep = np.asarray(visible, bool)
        if keep.shape != (n,):
            raise ValueError(f"visibility flags have shape {keep.shape}, expected ({n},)")
        pred, gt = pred[keep], gt[keep]
    if r.invalid_gt == "drop":
        keep = ~np.isnan(gt).any(axis=1)
        pred, gt = pred[keep], gt[keep]
        n = len(gt)
    thresholds = np.asarray(r.success_thresholds)
    norm_thr = norm_precision_thresholds(form)
    if n == 0:
        nan = np.full(len(thresholds), np.nan), np.full(51, np.nan), np.full(51, np.nan)
        return SequenceCurves(*nan, n_frames=0)
    if r.invalid_gt == "fail":
        return _curves_fail_invalid(pred, gt, n, thresholds, norm_thr, form, r.iou_eps)
    return SequenceCurves(
        rate_above(iou(pred, gt, eps=r.iou_eps), thresholds, n),
        rate_within(center_error(pred, gt), PRECISION_THRESHOLDS, n),
        rate_within(normalized_center_error(pred, gt, form), norm_thr, n),
        n,
    )


def _curves_fail_invalid(pred, gt, n, thresholds, norm_thr, form, eps) -> SequenceCurves:
    """pysot's masking: invalid-size gt fails the success curve; a gt centre not > 0 always hits."""
    overlaps = np.full(len(gt), -1.0)
    valid = (gt[:, 2] > 0) & (gt[:, 3] > 0)
    overlaps[valid] = iou(pred[valid], gt[valid], eps=eps)

    def masked_distance(pc, gc):
        dist = np.full(len(gc), -1.0)
        ok = np.all(gc > 0, axis=1)
        dist[ok] = np.sqrt(np.sum((pc[ok] - gc[ok]) ** 2, axis=1))
        return dist

    dist = masked_distance(centers(pred), centers(gt))
    if form == "pysot":
        scale = gt[:, 2:] + 1e-16
        norm = masked_distance(centers(pred) / scale, centers(gt) / scale)
    else:  # the AUC form has no centre mask of its own; keep pysot's "gt centre > 0" rule
        norm = np.where(np.all(centers(gt) > 0, axis=1), normalized_center_error(pred, gt, form), -1.0)
    return SequenceCurves(
        rate_above(overlaps, thresholds, n),
        rate_within(dist, PRECISION_THRESHOLDS, n),
        rate_within(norm, norm_thr, n),
        n,
    )


def ope_summary(curves: list[SequenceCurves], norm_form: str = "pysot") -> dict:
    """Dataset scores from per-sequence curves: mean curves, success AUC, precision@20 px, norm. precision.

    Sequences without a scorable frame (NaN curves) are left out of the means.
    """
    usable = [c for c in curves if c.n_frames > 0]
    if not usable:
        raise ValueError("no sequence has a frame to score")
    success = np.mean([c.success for c in usable], axis=0)
    precision = np.mean([c.precision for c in usable], axis=0)
    norm = np.mean([c.norm_precision for c in usable], axis=0)
    return {
        "success": float(np.mean(success)),
        "precision": float(precision[PRECISION_AT]),
        "norm_precision": float(norm[NORM_PRECISION_AT] if norm_form == "pysot" else np.mean(norm)),
        "success_curve": success,
        "precision_curve": precision,
        "norm_precision_curve": norm,
        "sequences": len(usable),
    }


def got10k_ious(pred, gt, cover=None, resolution=None) -> np.ndarray:
    """GOT-10k per-frame IoUs: frame 0 dropped, boxes cut to the image, frames with ``cover == 0`` dropped."""
    pred, gt = as_boxes(pred, "predictions"), as_boxes(gt, "ground truth")
    if len(pred) != len(gt):
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth frames")
    ious = iou(pred[1:], gt[1:], bound=resolution, eps=EPS)
    if cover is not None:
        cover = np.asarray(cover)
        if len(cover) != len(gt):
            raise ValueError(f"{len(cover)} cover labels for {len(gt)} frames")
        ious = ious[cover[1:] > 0]
    return ious


def got10k_summary(ious, times=None) -> dict:
    """AO, SR at 0.5 and 0.75, the 101-point success curve and speed from pooled per-frame IoUs."""
    ious = np.concatenate([np.ravel(i) for i in ious]) if isinstance(ious, (list, tuple)) else np.ravel(ious)
    if ious.size == 0:
        raise ValueError("no frame to score (all frames dropped)")
    thresholds = np.linspace(0, 1, 101)
    out = {
        "ao": float(np.mean(ious)),
        "sr50": float(np.mean(ious > 0.5)),
        "sr75": float(np.mean(ious > 0.75)),
        "success_curve": np.mean(ious[:, None] > thresholds[None, :], axis=0),
        "frames": int(ious.size),
    }
    if times is not None:
        t = np.concatenate([np.ravel(x) for x in times]) if isinstance(times, (list, tuple)) else np.ravel(times)
        t = t[np.isfinite(t) & (t > 0)]
        out["fps"] = float(np.mean(1.0 / t)) if t.size else float("nan")
    return out
