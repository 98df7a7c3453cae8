"""A small synthetic tracking benchmark: textured targets moving over real-image backgrounds.

Every sequence pans over a real photograph and moves a textured patch (cut from another photograph)
with scale and aspect change; sequence ``k`` adds one event by ``k % 4``: strong scale/aspect change,
fast motion (jumps), occlusion by another patch (partial then full), or leaving the view and coming
back. Ground truth is the visible part of the target's pixel box. Written in one of the standard
layouts (``otb``, ``uav123``, ``lasot``, ``got10k``, ``vot``) with a fixed seed: same inputs, same files.

For training, ``distractors`` adds look-alikes (the target's texture, recoloured and resized) that circle
the target and cross it, passing behind it (DaSiamRPN's remedy for jumps to similar objects),
``tall`` makes some targets upright, and ``shaped`` makes some targets (with their look-alikes) irregular
blobs without a frame that fill their box's extent, the background showing at its corners, as around a
real object.
"""
from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .atomic import atomic_write
from .sources import IMAGE_EXTENSIONS

LAYOUTS = {"otb": "OTB100", "uav123": "UAV123", "lasot": "LaSOT", "got10k": "GOT-10k", "vot": "VOT2018"}
EVENTS = ("scale_change", "fast_motion", "occlusion", "out_of_view")
OPENCV_DOC_DATA = os.path.join(".cache", "opencv-doc", "usr", "share", "doc", "opencv-doc", "examples", "data")


@dataclass(frozen=True)
class SynthConfig:
    """Size of the benchmark; ``size`` is ``(width, height)`` of the frames."""

    num_sequences: int = 4
    length: int = 40
    size: tuple[int, int] = (320, 240)
    seed: int = 0
    layout: str = "lasot"
    distractors: int = 0  # look-alikes of the target (its texture, recoloured) moving around and across it
    tall: float = 0.0  # probability that a sequence's target is upright, like a person
    tall_aspect: tuple[float, float] = (1.6, 2.8)  # range of an upright target's height / width
    shaped: float = 0.0  # probability that a sequence's target is a frameless blob (see ``shape_mask``)

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.num_sequences < 1 or self.length < 8:
            raise ValueError("need at least 1 sequence of at least 8 frames")
        if self.distractors < 0 or not 0 <= self.tall <= 1 or not 0 <= self.shaped <= 1:
            raise ValueError("distractors must be >= 0, and tall and shaped probabilities in [0, 1]")
        if not 1 <= self.tall_aspect[0] <= self.tall_aspect[1]:
            raise ValueError(f"tall_aspect must be a range LOW <= HIGH of heights / widths >= 1, "
                             f"got {self.tall_aspect}")
        if min(self.size) < 64:
            raise ValueError(f"frames must be at least 64x64 pixels, got {self.size}")


@dataclass
class SynthSequence:
    """Rendered frames, pixel boxes (visible part; zero size when absent) and per-frame flags."""

    frames: list[np.ndarray]
    boxes: np.ndarray
    visible_ratio: np.ndarray
    out_of_view: np.ndarray
    full_occlusion: np.ndarray
    occluded: np.ndarray
    cut_by_image: np.ndarray
    fast_motion: np.ndarray
    scale_change: np.ndarray
    event: str


def default_backgrounds() -> str | None:
    """The opencv-doc example images, looked for under the working and repository folders."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for base in (os.getcwd(), repo):
        candidate = os.path.join(base, OPENCV_DOC_DATA)
        if os.path.isdir(candidate):
            return candidate
    system = "/usr/share/doc/opencv-doc/examples/data"
    return system if os.path.isdir(system) else None


def load_backgrounds(folder: str | None, min_side: int = 200) -> list[list[np.ndarray]]:
    """Colour photographs of at least ``min_side`` pixels from ``folder``, grouped by name without
    digits (``left01..left14`` form one group, so image series do not dominate the draws)."""
    if folder is None:
        raise ValueError("no background images: pass --backgrounds DIR, e.g. Debian's opencv-doc "
                         f"examples/data (`make` fetches it to {OPENCV_DOC_DATA})")
    if not os.path.isdir(folder):
        raise ValueError(f"background folder {folder} does not exist")
    return _read_groups(os.path.abspath(folder), min_side)


@functools.lru_cache(maxsize=2)
def _read_groups(folder: str, min_side: int) -> list[list[np.ndarray]]:
    groups: dict[str, list[np.ndarray]] = {}
    for name in sorted(os.listdir(folder)):
        if name.lower().endswith(IMAGE_EXTENSIONS):
            image = cv2.imread(os.path.join(folder, name), cv2.IMREAD_COLOR)
            if image is not None and min(image.shape[:2]) >= min_side and image.std() > 20:
                image.flags.writeable = False  # cached and shared between calls
                groups.setdefault(re.sub(r"\d+", "", os.path.splitext(name)[0]), []).append(image)
    if len(groups) < 2:
        raise ValueError(f"{folder}: need at least 2 different images of {min_side}+ pixels, found {len(groups)}")
    return list(groups.values())


def _pick(rng, groups) -> np.ndarray:
    group = groups[rng.integers(len(groups))]
    return group[rng.integers(len(group))]


def _texture(rng, groups, side=96) -> tuple[np.ndarray, tuple[int, int, int]]:
    """A textured square cut from a photograph, and a colour for its frame (see ``_framed``)."""
    for _ in range(20):
        image = _pick(rng, groups)
        h, w = image.shape[:2]
        s = int(min(h, w, max(side, min(h, w) // 3)))
        y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
        patch = image[y:y + s, x:x + s].copy()
        if patch.std() > 35:
            break
    return patch, tuple(int(c) for c in rng.integers(0, 256, 3))


def _framed(patch: np.ndarray, color) -> np.ndarray:
    """``patch`` with a frame of ``color`` drawn along its border."""
    s = patch.shape[0]
    cv2.rectangle(patch, (0, 0), (s - 1, s - 1), color, max(2, s // 24))
    return patch


def shape_mask(rng, side: int = 64) -> np.ndarray:
    """A random blob's soft mask (float32 ``side x side``, 1 inside) that reaches all four edges.

    A superellipse (exponent 1.5-4: from diamond-like to boxy) whose radius wobbles with the angle, cut to
    its own extent: a box drawn around the blob is the whole mask, and the mask's corners are empty.
    """
    grid = np.linspace(-1.3, 1.3, 4 * side)
    x, y = np.meshgrid(grid, grid)
    power = rng.uniform(1.5, 4.0)
    radius = (np.abs(x) ** power + np.abs(y) ** power) ** (1 / power)
    angle = np.arctan2(y, x)
    wobble = 1 + sum(rng.uniform(0, 0.12) * np.sin(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    inside = (radius <= wobble).astype(np.float32)
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    inside = inside[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return np.clip(cv2.resize(inside, (side, side), interpolation=cv2.INTER_AREA), 0, 1)


def _paste(frame, patch, x, y, w, h, mask=None):
    """Draw ``patch`` resized to ``w x h`` with its corner at integer ``(x, y)``, clipped to the frame;
    through ``mask`` (float, 1 = patch) when given."""
    if w < 1 or h < 1:
        return
    H, W = frame.shape[:2]
    x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x2 <= x1 or y2 <= y1:
        return
    resized = cv2.resize(patch, (w, h), interpolation=cv2.INTER_LINEAR)[y1 - y:y2 - y, x1 - x:x2 - x]
    if mask is None:
        frame[y1:y2, x1:x2] = resized
        return
    alpha = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[y1 - y:y2 - y, x1 - x:x2 - x, None]
    frame[y1:y2, x1:x2] = (alpha * resized + (1 - alpha) * frame[y1:y2, x1:x2]).round().astype(np.uint8)


def _area(x1, y1, x2, y2):
    return max(0, x2 - x1) * max(0, y2 - y1)


def _trajectory(rng, cfg: SynthConfig, event: str):
    """Per-frame target centre, size and occluder position for one sequence."""
    n, (W, H) = cfg.length, cfg.size
    t = np.arange(n)
    base = rng.uniform(0.14, 0.22) * min(W, H) * 1.6
    amp = 0.45 if event == "scale_change" else 0.15
    scale = base * np.exp(amp * np.sin(2 * np.pi * t / n + rng.uniform(0, 2 * np.pi)))
    aspect = np.exp((0.35 if event == "scale_change" else 0.1) * np.sin(2 * np.pi * t / (0.8 * n)))
    size = np.stack([scale * np.sqrt(aspect), scale / np.sqrt(aspect)], axis=1)
    centre = np.zeros((n, 2))
    centre[0] = [rng.uniform(0.35, 0.65) * W, rng.uniform(0.35, 0.65) * H]
    velocity = rng.uniform(-2, 2, 2)
    fast = np.zeros(n, bool)
    if event == "fast_motion":
        fast[[n // 3, (2 * n) // 3]] = True
    for k in range(1, n):
        velocity = np.clip(velocity + rng.normal(0, 0.4, 2), -3, 3)
        step = velocity + (rng.choice([-1, 1], 2) * [0.22 * W, 0.18 * H] if fast[k] else 0)
        centre[k] = centre[k - 1] + step
        margin = size[k] / 2 + 4
        for d, limit in enumerate((W, H)):
            if not margin[d] <= centre[k, d] <= limit - margin[d]:  # bounce off the borders
                centre[k, d] = np.clip(centre[k, d], margin[d], limit - margin[d])
                velocity[d] = -velocity[d]
    if event == "out_of_view":  # leave through the right edge and come back
        a, b = n // 4, (3 * n) // 4
        ramp = 1 - np.abs(np.linspace(-1, 1, b - a))
        centre[a:b, 0] += ramp * (1.2 * W)
    occluder = None
    if event == "occlusion":
        a, b = n // 3, (2 * n) // 3
        occluder = np.full((n, 4), np.nan)
        span = np.linspace(-1, 1, b - a)  # slides in, covers the target in the middle frames, slides out
        shift = np.sign(span) * np.maximum(np.abs(span) - 0.4, 0) / 0.6
        ow, oh = 1.4 * size[a:b, 0].max(), 1.4 * size[a:b, 1].max()
        occluder[a:b] = np.stack([centre[a:b, 0] + shift * 1.2 * ow - ow / 2, centre[a:b, 1] - oh / 2,
                                  np.full(b - a, ow), np.full(b - a, oh)], axis=1)
    return centre, size, fast, occluder


def _lookalike(rng, target: np.ndarray, centre: np.ndarray, size: np.ndarray, cfg: SynthConfig):
    """A distractor: the target's texture recoloured (hue, saturation, brightness), maybe shifted round and
    mirrored, at 0.8-1.25 of its size, on a path that circles the target at 0.6-2.5 target sizes and
    crosses it now and then."""
    hsv = cv2.cvtColor(target, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.integers(-25, 26)) % 180
    hsv[..., 1:] = np.clip(hsv[..., 1:] * rng.uniform(0.7, 1.3, 2), 0, 255)
    patch = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    if rng.random() < 0.5:  # another instance of the kind: the texture shifted round
        patch = np.roll(patch, (rng.integers(patch.shape[0] // 4, 3 * patch.shape[0] // 4),
                                rng.integers(patch.shape[1] // 4, 3 * patch.shape[1] // 4)), axis=(0, 1))
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    patch = np.ascontiguousarray(patch)
    n = cfg.length
    t = np.arange(n)
    angle = rng.uniform(0, 2 * np.pi) + rng.choice([-1, 1]) * rng.uniform(0.5, 2.0) * 2 * np.pi * t / n
    radius = rng.uniform(0.6, 2.5) * (1 + 0.8 * np.sin(2 * np.pi * t / n * rng.uniform(0.5, 2) + rng.uniform(0, 6)))
    reach = np.sqrt(size[:, 0] * size[:, 1])
    path = centre + np.stack([np.cos(angle), np.sin(angle)], axis=1) * (radius * reach)[:, None]
    return patch, path, rng.uniform(0.8, 1.25)


def render_sequence(rng, images, cfg: SynthConfig, event: str) -> SynthSequence:
    """Render one sequence: a panning background crop, the target and (maybe) an occluder."""
    W, H = cfg.size
    n = cfg.length
    background = _pick(rng, images)
    zoom = max(1.5 * W / background.shape[1], 1.5 * H / background.shape[0], 1.0)
    background = cv2.resize(background, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
    bh, bw = background.shape[:2]
    origin = np.array([rng.uniform(0, bw - W), rng.uniform(0, bh - H)])
    pan = rng.uniform(-1.5, 1.5, 2)
    texture, frame_colour = _texture(rng, images)
    cover_patch = _framed(*_texture(rng, images))
    centre, size, fast, occluder = _trajectory(rng, cfg, event)
    lookalikes, mask = [], None
    if cfg.distractors or cfg.tall or cfg.shaped:  # a separate stream: the benchmark's sequences stay as they were
        extra = np.random.default_rng(rng.integers(2 ** 32))
        if extra.random() < cfg.tall:
            stretch = np.sqrt(extra.uniform(*cfg.tall_aspect))
            size = size * [1 / stretch, stretch]
        if cfg.shaped and extra.random() < cfg.shaped:
            mask = shape_mask(extra)
    target = texture if mask is not None else _framed(texture, frame_colour)
    if cfg.distractors:
        lookalikes = [_lookalike(extra, target, centre, size, cfg) for _ in range(cfg.distractors)]
    frames, boxes = [], np.zeros((n, 4))
    ratio, oov, full_occ, occluded, cut = (np.zeros(n), *(np.zeros(n, int) for _ in range(4)))
    for k in range(n):
        ox, oy = np.clip(origin + pan * k, 0, [bw - W, bh - H]).astype(int)
        frame = background[oy:oy + H, ox:ox + W].copy()
        for patch, path, scale in lookalikes:  # behind the target: its box stays wholly visible
            dw, dh = max(int(round(size[k, 0] * scale)), 4), max(int(round(size[k, 1] * scale)), 4)
            _paste(frame, patch, int(round(path[k, 0] - dw / 2)), int(round(path[k, 1] - dh / 2)), dw, dh, mask)
        w, h = max(int(round(size[k, 0])), 4), max(int(round(size[k, 1])), 4)
        x, y = int(round(centre[k, 0] - w / 2)), int(round(centre[k, 1] - h / 2))
        _paste(frame, target, x, y, w, h, mask)
        x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        inside = _area(x1, y1, x2, y2)
        hidden = 0
        if occluder is not None and not np.isnan(occluder[k, 0]):
            qx, qy, qw, qh = (int(round(v)) for v in occluder[k])
            _paste(frame, cover_patch, qx, qy, qw, qh)
            hidden = _area(max(x1, qx), max(y1, qy), min(x2, qx + qw), min(y2, qy + qh))
        frames.append(frame)
        ratio[k] = (inside - hidden) / float(w * h)
        occluded[k], cut[k] = int(hidden > 0), int(0 < inside < w * h)
        if inside == 0:
            oov[k] = 1
        else:
            boxes[k] = [x1, y1, x2 - x1, y2 - y1]
            full_occ[k] = int(hidden >= inside)
    scale = np.sqrt(size[:, 0] * size[:, 1])
    changed = np.concatenate([[0], np.abs(np.diff(np.log(scale))) > 0.02]).astype(int)
    return SynthSequence(frames, boxes, ratio, oov, full_occ, occluded, cut, fast.astype(int), changed, event)


def generate(out_dir: str, cfg: SynthConfig = SynthConfig(), backgrounds: str | None = None) -> str:
    """Write the benchmark under ``out_dir``; returns the dataset name to evaluate it as."""
    images = load_backgrounds(backgrounds if backgrounds is not None else default_backgrounds())
    os.makedirs(out_dir, exist_ok=True)
    writer = {"otb": _write_otb, "uav123": _write_uav123, "lasot": _write_lasot,
              "got10k": _write_got10k, "vot": _write_vot}[cfg.layout]
    index = []
    for k in range(cfg.num_sequences):
        rng = np.random.default_rng([cfg.seed, k])
        event = EVENTS[k % len(EVENTS)]
        if cfg.layout == "vot" and event == "out_of_view":  # VOT short-term targets never leave
            event = "fast_motion"
        seq = render_sequence(rng, images, cfg, event)
        index.append({"name": writer(out_dir, k + 1, seq, cfg), "event": event})
    meta = {"config": asdict(cfg), "dataset": LAYOUTS[cfg.layout], "sequences": index}
    atomic_write(os.path.join(out_dir, "synthetic.json"), json.dumps(meta, indent=1) + "\n")
    return LAYOUTS[cfg.layout]


def _save_frames(folder: str, frames, pattern: str, start: int = 1) -> None:
    os.makedirs(folder, exist_ok=True)
    for k, frame in enumerate(frames, start):
        if not cv2.imwrite(os.path.join(folder, pattern % k), frame, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"cannot write images to {folder}")


def _rows(boxes, absent_value) -> str:
    lines = []
    for b in boxes:
        lines.append(absent_value if b[2] <= 0 else ",".join(f"{int(v)}" for v in b))
    return "\n".join(lines) + "\n"


def _write_otb(root, k, seq, cfg):
    name = f"Synth{k:02d}"
    _save_frames(os.path.join(root, name, "img"), seq.frames, "%04d.jpg")
    atomic_write(os.path.join(root, name, "groundtruth_rect.txt"), _rows(seq.boxes, "nan,nan,nan,nan"))
    return name


def _write_uav123(root, k, seq, cfg):
    name = f"synth{k}"
    _save_frames(os.path.join(root, "data_seq", "UAV123", name), seq.frames, "%06d.jpg")
    atomic_write(os.path.join(root, "anno", "UAV123", f"{name}.txt"), _rows(seq.boxes, "NaN,NaN,NaN,NaN"))
    return name


def _write_lasot(root, k, seq, cfg):
    name = f"synth-{k}"
    folder = os.path.join(root, "synth", name)
    _save_frames(os.path.join(folder, "img"), seq.frames, "%08d.jpg")
    atomic_write(os.path.join(folder, "groundtruth.txt"), _rows(seq.boxes, "0,0,0,0"))
    atomic_write(os.path.join(folder, "full_occlusion.txt"), ",".join(map(str, seq.full_occlusion)) + "\n")
    atomic_write(os.path.join(folder, "out_of_view.txt"), ",".join(map(str, seq.out_of_view)) + "\n")
    atomic_write(os.path.join(folder, "nlp.txt"), "a textured patch moving over a photograph\n")
    listing = os.path.join(root, "testing_set.txt")
    names = [f"synth-{i}" for i in range(1, k + 1)]
    atomic_write(listing, "\n".join(names) + "\n")
    return name


def _write_got10k(root, k, seq, cfg):
    name = f"GOT-10k_Val_{k:06d}"
    folder = os.path.join(root, "val", name)
    _save_frames(folder, seq.frames, "%08d.jpg")
    atomic_write(os.path.join(folder, "groundtruth.txt"), _rows(seq.boxes, "0,0,0,0"))
    cover = np.where(seq.visible_ratio <= 0, 0, np.clip(np.ceil(seq.visible_ratio * 8), 1, 8)).astype(int)
    atomic_write(os.path.join(folder, "cover.label"), "\n".join(map(str, cover)) + "\n")
    atomic_write(os.path.join(folder, "absence.label"), "\n".join(str(int(c == 0)) for c in cover) + "\n")
    atomic_write(os.path.join(folder, "cut_by_image.label"), "\n".join(map(str, seq.cut_by_image)) + "\n")
    atomic_write(os.path.join(folder, "meta_info.ini"),
                 f"[METAINFO]\nobject_class: patch\nmotion_class: synthetic\nresolution: ({cfg.size[0]}, "
                 f"{cfg.size[1]})\n")
    atomic_write(os.path.join(root, "val", "list.txt"),
                 "\n".join(f"GOT-10k_Val_{i:06d}" for i in range(1, k + 1)) + "\n")
    return name


def _write_vot(root, k, seq, cfg):
    name = f"synth{k:02d}"
    folder = os.path.join(root, name)
    _save_frames(os.path.join(folder, "color"), seq.frames, "%08d.jpg")
    lines = []
    for x, y, w, h in seq.boxes:
        corners = [x, y, x + w, y, x + w, y + h, x, y + h]
        lines.append(",".join(f"{v:.2f}" for v in corners))
    atomic_write(os.path.join(folder, "groundtruth.txt"), "\n".join(lines) + "\n")
    tags = {"occlusion": seq.occluded, "motion_change": seq.fast_motion,
            "size_change": seq.scale_change, "camera_motion": np.ones(cfg.length, int),
            "illum_change": np.zeros(cfg.length, int)}
    for tag, values in tags.items():
        atomic_write(os.path.join(folder, f"{tag}.tag"), "\n".join(map(str, values)) + "\n")
    atomic_write(os.path.join(root, "list.txt"), "\n".join(f"synth{i:02d}" for i in range(1, k + 1)) + "\n")
    return name
