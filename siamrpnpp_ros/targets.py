"""Several targets in one node: one core ``SiamRPNTracker`` per target, all sharing one engine.

Each tracker keeps its own template kernels; the network weights live once in memory, and each frame
goes through the network once for all targets (``track_batch``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from siamrpnpp_core import SiamRPNTracker, TrackerConfig, TrackResult, TrackState, track_batch
from siamrpnpp_core.backends import as_engine

from .frames import Frame


@dataclass
class Target:
    """One followed object: its stable id, its tracker and its latest result."""

    id: str
    tracker: SiamRPNTracker
    init_seq: int  # arrival number of the frame it was initialised on
    result: TrackResult | None = None
    frames_lost: int = 0

    @property
    def lost(self) -> bool:
        return self.result is not None and self.result.state == TrackState.LOST


class TargetSet:
    """Thread-safe set of targets; ``set`` initialises or re-initialises, ``step`` tracks a frame."""

    def __init__(self, engine, config: TrackerConfig, max_targets: int = 1):
        if max_targets < 1:
            raise ValueError(f"max_targets must be at least 1, got {max_targets}")
        self.engine, self.config, self.max_targets = as_engine(engine), config, max_targets
        self._targets: dict[str, Target] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._targets)

    def snapshot(self) -> list[Target]:
        with self._lock:
            return list(self._targets.values())

    def set(self, frame: Frame, bbox, target_id: str = "", existing: bool = False) -> str:
        """Start following ``bbox`` (x, y, w, h) in ``frame``; returns the id. ValueError on bad input.

        An existing id is re-initialised (with ``existing``, only an existing id is accepted). A new id
        beyond ``max_targets`` is refused, except that a single-target node replaces its target. On
        error the targets are left unchanged.
        """
        with self._lock:
            tid = target_id.strip() or self._new_id()
            self._check_room(tid, existing)
        tracker = SiamRPNTracker(self.engine, self.config)
        tracker.init(frame.image, bbox)  # template inference, outside the lock that step() holds
        with self._lock:
            self._check_room(tid, existing)  # clear() may have run meanwhile
            if tid not in self._targets and self.max_targets == 1:
                self._targets.clear()
            self._targets[tid] = Target(tid, tracker, frame.seq)
            return tid

    def _check_room(self, tid: str, existing: bool) -> None:
        if existing and tid not in self._targets:
            raise ValueError(f"target {tid!r} no longer exists")
        if tid not in self._targets and len(self._targets) >= self.max_targets and self.max_targets > 1:
            raise ValueError(f"already tracking {len(self._targets)} targets (max_targets={self.max_targets}):"
                             " clear them or re-set one by its id")

    def clear(self) -> int:
        """Forget all targets; returns how many there were."""
        with self._lock:
            count = len(self._targets)
            self._targets.clear()
            return count

    def step(self, frame: Frame) -> list[Target]:
        """Track ``frame`` with every target initialised on an earlier frame; returns those targets."""
        with self._lock:
            done = [t for t in self._targets.values() if t.init_seq < frame.seq]
            results = track_batch([t.tracker for t in done], [frame.image] * len(done)) if done else []
            for target, result in zip(done, results):
                target.result = result
                target.frames_lost = target.frames_lost + 1 if target.lost else 0
            return done

    def _new_id(self) -> str:
        while str(self._next_id) in self._targets:
            self._next_id += 1
        tid = str(self._next_id)
        self._next_id += 1
        return tid
