"""Frame sources for the command line and evaluation: a video file or a folder of images."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator

import cv2
import numpy as np

from .atomic import atomic_write

# Image files of folders (frame folders, dataset sequences, photographs): the one list of extensions.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def natural_key(name: str):
    """Sort key that orders ``2.jpg`` before ``10.jpg``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: str) -> list[str]:
    """Paths of the image files in ``folder`` (``IMAGE_EXTENSIONS``, any case), in natural order."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
    return [os.path.join(folder, n) for n in sorted(names, key=natural_key)]


class FrameSource:
    """Iterates BGR uint8 frames of a video file or of the images in a folder (natural order)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.images: list[str] | None = None
        if os.path.isdir(self.path):
            self.images = list_images(self.path)
            if not self.images:
                raise ValueError(f"{self.path}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        elif not os.path.isfile(self.path):
            raise ValueError(f"{self.path}: no such video file or image folder")
        else:
            capture = cv2.VideoCapture(self.path)
            ok = capture.isOpened()
            self._count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
            self.fps = capture.get(cv2.CAP_PROP_FPS) if ok else 0.0
            capture.release()
            if not ok:
                raise ValueError(f"{self.path}: cannot be opened as a video")

    @property
    def length_hint(self) -> int | None:
        """Number of frames: exact for folders, the container's (sometimes wrong) claim for videos."""
        if self.images is not None:
            return len(self.images)
        return self._count if self._count > 0 else None

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.images is not None:
            for name in self.images:
                frame = cv2.imread(name, cv2.IMREAD_COLOR)
                if frame is None:
                    raise ValueError(f"{name}: unreadable image")
                yield frame
            return
        capture = cv2.VideoCapture(self.path)
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                yield frame
        finally:
            capture.release()


def open_frames(path: str | os.PathLike) -> FrameSource:
    """Frames of a video file or an image folder; ``ValueError`` names the path if it is unusable."""
    return FrameSource(path)


def write_boxes(path: str | os.PathLike, boxes) -> None:
    """One ``x,y,w,h`` line per frame (the OTB result format), written atomically."""
    atomic_write(path, "".join(",".join(f"{float(v):.4f}" for v in box) + "\n" for box in boxes))
