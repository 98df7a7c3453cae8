"""Prepared datasets on disk: the crop index (pysot's json layout) and image stores (files or LMDB).

Index: ``{video: {track: {"000012": [x1, y1, x2, y2], ...}}}`` with boxes in the original image's
pixels; crop ``root/<video>/000012.<track>.x.jpg`` is the 511x511 region centred on that box. This is
the layout pysot's ``par_crop`` scripts write, so crops prepared by either tool load in both.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)


def crop_name(frame: int, track: str | int) -> str:
    """File name of one crop inside its video folder."""
    track = f"{int(track):02d}" if isinstance(track, int) else track
    return f"{int(frame):06d}.{track}.x.jpg"


@dataclass(frozen=True)
class Track:
    """One object's annotated frames (sorted) and their boxes ``(x1, y1, x2, y2)``."""

    video: str
    track: str
    frames: tuple[int, ...]
    boxes: dict

    def path(self, frame: int) -> str:
        return f"{self.video}/{crop_name(frame, self.track)}"


def box_size(box) -> tuple[float, float]:
    """(w, h) of an index entry: corners ``[x1, y1, x2, y2]`` or a bare ``[w, h]``."""
    if len(box) == 4:
        return float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    if len(box) == 2:
        return float(box[0]), float(box[1])
    raise ValueError(f"bad box {box!r}: expected [x1, y1, x2, y2] or [w, h]")


def load_index(path: str) -> list[list[Track]]:
    """Videos as lists of tracks, dropping empty boxes, empty tracks and empty videos."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: index not found (run `siamrpnpp prepare` first)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a valid json index ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping video -> track -> frame -> box")
    videos = []
    for video in sorted(data):
        tracks = []
        for track in sorted(data[video]):
            boxes = {}
            for frame, box in data[video][track].items():
                if not frame.isdigit():
                    continue
                w, h = box_size(box)
                if w > 0 and h > 0:
                    boxes[int(frame)] = tuple(float(v) for v in box)
            if boxes:
                tracks.append(Track(video, track, tuple(sorted(boxes)), boxes))
        if tracks:
            videos.append(tracks)
    if not videos:
        raise ValueError(f"{path}: the index holds no usable boxes")
    return videos


def decode_image(data: bytes | None) -> np.ndarray | None:
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


class FileStore:
    """Crops read from the folder tree."""

    def __init__(self, root: str):
        if not os.path.isdir(root):
            raise ValueError(f"{root}: crop folder not found")
        self.root = root

    def read(self, relpath: str) -> np.ndarray | None:
        """The BGR crop, or None if missing or unreadable."""
        return cv2.imread(os.path.join(self.root, relpath), cv2.IMREAD_COLOR)


# One open LMDB environment per database and process (LMDB refuses a second one in the same process).
_ENVIRONMENTS: dict[str, tuple[int, object]] = {}


def _environment(path: str):
    import lmdb

    key = os.path.realpath(path)
    pid, env = _ENVIRONMENTS.get(key, (None, None))
    if env is not None and pid != os.getpid():  # inherited through a fork: never used across it
        env.close()  # read-only and unlocked: this only unmaps the child's copy
        env = None
    if env is None:
        env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False,
                        subdir=os.path.isdir(path))
        _ENVIRONMENTS[key] = (os.getpid(), env)
    return env


class LmdbStore:
    """Crops packed in an LMDB database (key: the relative path), opened lazily in each process."""

    def __init__(self, path: str):
        if not os.path.exists(path):
            raise ValueError(f"{path}: LMDB store not found (pack it with `siamrpnpp prepare pack`)")
        self.path = path

    def read(self, relpath: str) -> np.ndarray | None:
        with _environment(self.path).begin(write=False) as txn:
            return decode_image(txn.get(relpath.encode()))


def open_store(root: str, lmdb_path: str | None = None):
    return LmdbStore(lmdb_path) if lmdb_path else FileStore(root)


def pack_lmdb(root: str, anno: str, out_path: str, progress: bool = True) -> tuple[int, int]:
    """Copy every indexed crop's JPEG bytes into an LMDB database; returns (packed, missing)."""
    import lmdb
    from tqdm import tqdm

    paths = [t.path(f) for tracks in load_index(anno) for t in tracks for f in t.frames]
    total = sum(os.path.getsize(os.path.join(root, p)) for p in paths if os.path.isfile(os.path.join(root, p)))
    env = lmdb.open(out_path, map_size=int(total * 1.5) + (64 << 20), subdir=True)
    packed = missing = 0
    txn = env.begin(write=True)
    try:
        for k, rel in enumerate(tqdm(paths, desc="pack", unit="img", disable=not progress or None)):
            try:
                with open(os.path.join(root, rel), "rb") as f:
                    data = f.read()
            except OSError:
                missing += 1
                continue
            txn.put(rel.encode(), data)
            packed += 1
            if k % 1000 == 999:
                txn.commit()
                txn = env.begin(write=True)
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    finally:
        env.sync()
        env.close()
    if missing:
        log.warning("%d indexed crops were missing under %s and were not packed", missing, root)
    return packed, missing
