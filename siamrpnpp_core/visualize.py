"""Drawing a tracking result on a frame (command-line video, ROS debug image)."""
from __future__ import annotations

import cv2
import numpy as np

from .tracker import TrackResult, TrackState

_COLORS = {TrackState.TRACKING: (0, 220, 0), TrackState.LOST: (0, 0, 255)}
INIT_COLOR = (255, 0, 255)  # magenta (BGR): the box the tracker was started from


def draw_result(frame: np.ndarray, result: TrackResult, fps: float | None = None, label: str = "") -> np.ndarray:
    """A copy of ``frame`` with the box, score, state and optional fps drawn on it."""
    out = frame.copy()
    x, y, w, h = result.bbox
    color = _COLORS[result.state]
    cv2.rectangle(out, (round(x), round(y)), (round(x + w), round(y + h)), color, 2)
    text = f"{label}{result.state.value} {result.score:.3f}" + (f" {fps:.1f} fps" if fps else "")
    cv2.putText(out, text, (max(round(x), 0), max(round(y) - 6, 14)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1,
                cv2.LINE_AA)
    return out


def draw_init(frame: np.ndarray, bbox, label: str = "init") -> np.ndarray:
    """A copy of ``frame`` with the initial box ``(x, y, w, h)`` drawn in ``INIT_COLOR`` and labelled."""
    out = frame.copy()
    x, y, w, h = bbox
    cv2.rectangle(out, (round(x), round(y)), (round(x + w), round(y + h)), INIT_COLOR, 2)
    cv2.putText(out, label, (max(round(x), 0), max(round(y) - 6, 14)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, INIT_COLOR, 1,
                cv2.LINE_AA)
    return out
