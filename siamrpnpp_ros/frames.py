"""Frame and job hand-off between the ROS callbacks and the tracking thread, and the recent-frame buffer."""
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

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()

    def span(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(oldest, newest) stamps held, for error messages."""
        with self._lock:
            return (self._frames[0].stamp, self._frames[-1].stamp) if self._frames else None


class LatestFrame:
    """The tracking thread's inbox: the newest frame (a frame replaced before it was taken counts as
    dropped) and, ahead of it, jobs in arrival order (target initialisations: template inference
    runs on the tracking thread, never in a ROS callback)."""

    def __init__(self):
        self._frame: Frame | None = None
        self._jobs: deque = deque()
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify()

    def put_job(self, job) -> None:
        """Queue ``job`` (anything but a Frame) for the tracking thread; jobs go before frames."""
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    def take(self, timeout: float | None = None):
        """Wait up to ``timeout`` seconds for a job or a frame and remove it (jobs first); None if none came."""
        with self._cond:
            if self._frame is None and not self._jobs:
                self._cond.wait(timeout)
            if self._jobs:
                return self._jobs.popleft()
            frame, self._frame = self._frame, None
            return frame

    def wake(self) -> None:
        """Return a waiting ``take`` now (with None when nothing came), e.g. to stop the tracking thread."""
        with self._cond:
            self._cond.notify_all()

    def discard(self) -> None:
        """Forget a pending frame without counting it as dropped (e.g. after the last target is cleared)."""
        with self._cond:
            self._frame = None

    def drain_jobs(self) -> list:
        """Remove and return the queued jobs (when the tracking thread stops)."""
        with self._cond:
            jobs, self._jobs = list(self._jobs), deque()
            return jobs
