"""Training sequences from unlabelled real video: boxes proposed on textured, moving regions, followed by
OpenCV's CSRT correlation filter forward through a clip and back again, kept only when the backward track
returns to where the forward one started (forward-backward verification, as in UDT / USOT).

The accepted tracks are written in LaSOT's layout, so ``prepare(video_jobs("lasot", out), ...)`` crops them
like any other dataset. CSRT (opencv-contrib) is the labeller: a tracker that owes nothing to our model.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..atomic import atomic_write
from ..boxes import iou
from ..sources import open_frames


@dataclass(frozen=True)
class PseudoLabelConfig:
    """``clip_length`` frames per track, a clip starting every ``clip_stride`` frames, ``proposals`` boxes
    tried per clip (sides ``min_side``-``max_side`` of the frame's short side, aspect ``max_aspect``:1 at
    most); a track is kept when the backward box meets the first one with IoU >= ``min_return_iou`` and the
    two tracks' mean per-frame IoU is >= ``min_mean_iou``. Frames are resized to ``max_frame_side``."""

    clip_length: int = 40
    clip_stride: int = 16
    proposals: int = 6
    min_side: float = 0.08
    max_side: float = 0.3
    max_aspect: float = 2.5
    min_return_iou: float = 0.7
    min_mean_iou: float = 0.6
    max_frame_side: int = 640
    seed: int = 0

    def __post_init__(self):
        if self.clip_length < 2 or self.clip_stride < 1 or self.proposals < 1:
            raise ValueError("clip_length >= 2, clip_stride >= 1 and proposals >= 1 are required")
        if not 0 < self.min_side <= self.max_side < 1:
            raise ValueError("0 < min_side <= max_side < 1 is required")


def read_video(path: str, max_side: int = 640) -> list[np.ndarray]:
    """All frames of a video (BGR), downscaled so that the longer side is at most ``max_side``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"cannot open video {path}: no such file")
    frames = []
    for frame in open_frames(path):
        scale = max_side / max(frame.shape[:2])
        frames.append(cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame)
    if not frames:
        raise ValueError(f"{path}: no frame could be decoded")
    return frames


def propose_boxes(first: np.ndarray, later: np.ndarray, count: int, rng: np.random.Generator,
                  cfg: PseudoLabelConfig = PseudoLabelConfig(), samples: int = 300) -> np.ndarray:
    """Up to ``count`` (x, y, w, h) boxes in ``first``, ranked by texture (mean gradient magnitude) times
    motion (mean absolute difference to ``later``), overlapping one another by IoU < 0.3."""
    gray0 = cv2.cvtColor(first, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gray1 = cv2.cvtColor(later, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gradient = cv2.magnitude(cv2.Sobel(gray0, cv2.CV_32F, 1, 0), cv2.Sobel(gray0, cv2.CV_32F, 0, 1))
    motion = np.abs(gray1 - gray0)
    texture_sum, motion_sum = cv2.integral(gradient), cv2.integral(motion)
    h, w = gray0.shape
    short = min(h, w)
    side = rng.uniform(cfg.min_side, cfg.max_side, samples) * short
    aspect = np.exp(rng.uniform(-np.log(cfg.max_aspect), np.log(cfg.max_aspect), samples))
    bw = np.clip(side * np.sqrt(aspect), 8, w - 2).astype(int)
    bh = np.clip(side / np.sqrt(aspect), 8, h - 2).astype(int)
    bx = (rng.uniform(0, 1, samples) * (w - bw)).astype(int)
    by = (rng.uniform(0, 1, samples) * (h - bh)).astype(int)

    def box_mean(table):
        total = table[by + bh, bx + bw] - table[by, bx + bw] - table[by + bh, bx] + table[by, bx]
        return total / (bw * bh)

    score = box_mean(texture_sum) * (1.0 + box_mean(motion_sum))
    boxes = np.stack([bx, by, bw, bh], axis=1).astype(np.float64)
    kept: list[np.ndarray] = []
    for k in np.argsort(-score):
        if len(kept) == count:
            break
        if all(iou(boxes[k], other) < 0.3 for other in kept):
            kept.append(boxes[k])
    return np.array(kept).reshape(-1, 4)


def make_csrt():
    """OpenCV's CSRT tracker (opencv-contrib), under the name of either API generation."""
    factory = getattr(cv2, "TrackerCSRT_create", None) or getattr(getattr(cv2, "TrackerCSRT", None), "create", None)
    if factory is None:
        raise RuntimeError("OpenCV's CSRT tracker is missing: install opencv-contrib-python-headless")
    return factory()


def follow(frames: list[np.ndarray], box, make_tracker=make_csrt) -> np.ndarray | None:
    """(x, y, w, h) per frame, ``box`` in the first; ``None`` when the tracker gives up or leaves the frame."""
    tracker = make_tracker()
    tracker.init(frames[0], tuple(int(round(v)) for v in box))
    boxes = [np.asarray(box, dtype=np.float64)]
    h, w = frames[0].shape[:2]
    for frame in frames[1:]:
        ok, found = tracker.update(frame)
        x, y, bw, bh = found
        if not ok or bw < 4 or bh < 4 or x + bw < 0 or y + bh < 0 or x > w or y > h:
            return None
        boxes.append(np.asarray(found, dtype=np.float64))
    return np.array(boxes)


def verified_track(frames: list[np.ndarray], box, cfg: PseudoLabelConfig = PseudoLabelConfig(),
                   make_tracker=make_csrt) -> tuple[np.ndarray | None, float]:
    """The forward track of ``box`` through ``frames`` if the backward track from its last box returns
    (see :class:`PseudoLabelConfig`), else ``None``; with the IoU of the returned box with ``box``."""
    forward = follow(frames, box, make_tracker)
    if forward is None:
        return None, 0.0
    backward = follow(frames[::-1], forward[-1], make_tracker)
    if backward is None:
        return None, 0.0
    backward = backward[::-1]
    agreement = iou(forward, backward)
    returned = float(agreement[0])
    if returned < cfg.min_return_iou or float(agreement.mean()) < cfg.min_mean_iou:
        return None, returned
    return forward, returned


def mine(videos: list[str], out_dir: str, cfg: PseudoLabelConfig = PseudoLabelConfig(),
         make_tracker=make_csrt, progress=print) -> dict:
    """Verified tracks of every clip of ``videos`` written to ``out_dir`` in LaSOT's layout (one class per
    video: ``<stem>/<stem>-<n>/img``, ``groundtruth.txt``); returns and writes (``pseudo_labels.json``)
    the counts. ``out_dir`` must be empty or an earlier output of this function (then it is replaced)."""
    _clear_output(out_dir)
    rng = np.random.default_rng(cfg.seed)
    summary = {"config": asdict(cfg), "videos": {}, "complete": False}
    record = os.path.join(out_dir, "pseudo_labels.json")
    atomic_write(record, json.dumps(summary) + "\n")  # marks the folder as ours, should this run stop
    names = []
    for path in videos:
        frames = read_video(path, cfg.max_frame_side)
        stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(path))[0]).lower()
        tried = kept = 0
        last_start = max(len(frames) - cfg.clip_length, 0)
        for start in range(0, last_start + 1, cfg.clip_stride):
            clip = frames[start:start + cfg.clip_length]
            if len(clip) < 2:
                break
            for box in propose_boxes(clip[0], clip[min(4, len(clip) - 1)], cfg.proposals, rng, cfg):
                tried += 1
                track, _ = verified_track(clip, box, cfg, make_tracker)
                if track is None:
                    continue
                kept += 1
                name = f"{stem}-{kept}"
                _write_lasot_sequence(os.path.join(out_dir, stem, name), clip, track)
                names.append(name)
        summary["videos"][os.path.basename(path)] = {"frames": len(frames), "tried": tried, "kept": kept}
        progress(f"{os.path.basename(path)}: {kept} of {tried} tracks verified")
    atomic_write(os.path.join(out_dir, "testing_set.txt"), "\n".join(names) + "\n")
    summary["complete"] = True
    atomic_write(record, json.dumps(summary, indent=1) + "\n")
    return summary


def _clear_output(out_dir: str) -> None:
    if not os.path.isdir(out_dir) or not os.listdir(out_dir):
        return
    if not os.path.isfile(os.path.join(out_dir, "pseudo_labels.json")):
        raise FileExistsError(f"{out_dir} holds other files: give an empty or new folder for pseudo-labels")
    for entry in os.listdir(out_dir):
        path = os.path.join(out_dir, entry)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def _write_lasot_sequence(folder: str, frames: list[np.ndarray], boxes: np.ndarray) -> None:
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    for k, frame in enumerate(frames, 1):
        if not cv2.imwrite(os.path.join(folder, "img", f"{k:08d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"cannot write images to {folder}")
    rows = "\n".join(",".join(f"{v:.0f}" for v in box) for box in boxes) + "\n"
    atomic_write(os.path.join(folder, "groundtruth.txt"), rows)
    zeros = ",".join("0" for _ in boxes) + "\n"
    atomic_write(os.path.join(folder, "full_occlusion.txt"), zeros)
    atomic_write(os.path.join(folder, "out_of_view.txt"), zeros)
