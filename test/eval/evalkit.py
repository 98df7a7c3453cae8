"""Builders of tiny datasets in the exact on-disk layouts, and scripted trackers for protocol tests."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import cv2
import numpy as np


def write_images(folder, names, size=(16, 12), seed=0):
    """Small JPEGs (distinct content per frame) under ``folder``."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        image = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        assert cv2.imwrite(os.path.join(folder, name), image)


def copy_images(folder, names, template):
    """Many frames at once: copies of one small JPEG (fast for long sequences)."""
    os.makedirs(folder, exist_ok=True)
    for name in names:
        shutil.copyfile(template, os.path.join(folder, name))


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def boxes_text(boxes, sep=","):
    return "\n".join(sep.join(f"{v:g}" for v in b) for b in boxes) + "\n"


def walk(n, start=(5, 4, 6, 5), step=(1, 0.5)):
    """``n`` boxes moving right and down."""
    b = np.array([start] * n, float)
    b[:, 0] += np.arange(n) * step[0]
    b[:, 1] += np.arange(n) * step[1]
    return b


@dataclass
class Result:
    bbox: tuple
    score: float


class ScriptedTracker:
    """Answers each frame from a script (the ground truth unless overridden); records its inits.

    ``scripted_for`` makes the dataset tell it which sequence and frame is being read.
    """

    def __init__(self, boxes_by_seq, overrides=None, scores=None):
        self.boxes_by_seq = boxes_by_seq
        self.overrides = overrides or {}
        self.scores = scores
        self.inits = []
        self.seq, self.frame = None, 0

    def init(self, frame, box):
        assert frame.ndim == 3 and frame.dtype == np.uint8
        self.inits.append((self.seq, self.frame, tuple(float(v) for v in box)))

    def track(self, frame):
        box = self.overrides.get((self.seq, self.frame), self.boxes_by_seq[self.seq][self.frame])
        score = self.scores[self.seq][self.frame] if self.scores else 0.9
        return Result(tuple(float(v) for v in box), float(score))


def scripted_for(dataset, overrides=None, scores=None, boxes=None):
    """A ScriptedTracker over ``dataset`` (answers: ``boxes`` per sequence, default the ground truth)."""
    boxes = boxes or {s.name: s.groundtruth for s in dataset}
    tracker = ScriptedTracker(boxes, overrides, scores)
    for seq in dataset:
        original = seq.read_frame

        def read(index, _name=seq.name, _orig=original):
            tracker.seq, tracker.frame = _name, index
            return _orig(index)
        seq.read_frame = read
    return tracker
