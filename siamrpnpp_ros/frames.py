"""Frame hand-off between the image callback and the tracking thread, and the recent-frame buffer."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """A converted camera image: BGR pixels, the message header, arrival order and time."""

    image: np.ndarray
    header: object  # std_msgs/Header of the source message
    seq: int  # arrival order, 1, 2, ... (stamps may repeat or be zero)
    received: float  # time.monotonic() when the callback started

    @property
    def stamp(self) -> tuple[int, int]:
        return stamp_key(self.header.stamp)


def stamp_key(stamp) -> tuple[int, int]:
    """builtin_interfaces/Time as a comparable (sec, nanosec) tuple."""
    return int(stamp.sec), int(stamp.nanosec)


class FrameBuffer:
    """The last ``size`` frames, looked up by stamp (for initialising on the frame a box was drawn on)."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"frame buffer size must be at least 1, got {size}")
        self._frames: deque[Frame] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)

    def newest(self) -> Frame | None:
        with self._lock:
            return self._frames[-1] if self._frames else None

    def find(self, stamp: tuple[int, int]) -> Frame | None:
        """The newest frame with exactly this stamp, or None."""
        with self._lock:
            return next((f for f in reversed(self._frames) if f.stamp == stamp), None)

    def span(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(oldest, newest) stamps held, for error messages."""
        with self._lock:
            return (self._frames[0].stamp, self._frames[-1].stamp) if self._frames else None


class LatestFrame:
    """A one-frame mailbox: the tracker always gets the newest frame; replaced frames count as dropped."""

    def __init__(self):
        self._frame: Frame | None = None
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify()

    def take(self, timeout: float | None = None) -> Frame | None:
        """Wait up to ``timeout`` seconds for a frame and remove it; None if none came."""
        with self._cond:
            if self._frame is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def discard(self) -> None:
        """Forget a pending frame without counting it as dropped (e.g. after the last target is cleared)."""
        with self._cond:
            self._frame = None
