"""The types of the dataset layer: a ``Sequence`` (frames, ground truth, flags), a ``Dataset`` of
sequences loaded on first access, and the ``DatasetInfo`` describing a benchmark."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

PROTOCOLS = ("ope", "got10k", "vot", "vot-lt")
VOT_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or inconsistent with the others."""


@dataclass(frozen=True)
class DatasetInfo:
    """A benchmark: canonical name, the reader (``reader`` in module ``module`` of this package, imported
    on first use), evaluation protocol, accepted aliases, and its metadata (VOT's EAO interval)."""

    name: str
    module: str
    reader: str
    protocol: str
    aliases: tuple[str, ...] = ()
    eao_interval: tuple[int, int] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if (self.protocol == "vot") != (self.eao_interval is not None):
            raise ValueError(f"{self.name}: an EAO interval belongs to exactly the vot protocol")


@dataclass
class Sequence:
    """One video: frame paths, ground truth (NaN where unknown) and per-frame flags.

    groundtruth: ``(N, 4)`` x, y, w, h or ``(N, 8)`` polygons; test splits know only row 0.
    visible: target present per frame (LaSOT, GOT-10k, VOT-LT), or None when the layout has no flag.
    cover: GOT-10k visible ratio 0..8. tags: VOT per-frame attribute flags.
    resolution: ``(width, height)`` when the layout records it (GOT-10k), else read from frame 0.
    """

    name: str
    frames: list[str]
    groundtruth: np.ndarray
    visible: np.ndarray | None = None
    cover: np.ndarray | None = None
    tags: dict[str, np.ndarray] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    resolution: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the video (from the layout's metadata or the first frame)."""
        if self.resolution is None:
            image = cv2.imread(self.frames[0], cv2.IMREAD_UNCHANGED)
            if image is None:
                raise DatasetError(f"sequence {self.name}: unreadable image {self.frames[0]}")
            self.resolution = (int(image.shape[1]), int(image.shape[0]))
        return self.resolution

    def read_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as a BGR uint8 image."""
        image = cv2.imread(self.frames[index], cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"sequence {self.name}: unreadable image {self.frames[index]}")
        return image


class Dataset:
    """An ordered collection of sequences of one benchmark, loaded lazily by name."""

    def __init__(self, info: DatasetInfo, root: str, names: list[str], loader: Callable[[str], Sequence],
                 has_groundtruth: bool = True):
        if not names:
            raise DatasetError(f"{info.name} at {root}: no sequences found")
        self.info, self.root = info, root
        self.names = list(names)
        self.has_groundtruth = has_groundtruth
        self._loader = loader
        self._cache: dict[str, Sequence] = {}

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def protocol(self) -> str:
        return self.info.protocol

    @property
    def eao_interval(self) -> tuple[int, int] | None:
        return self.info.eao_interval

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Sequence]:
        return (self[n] for n in self.names)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Sequence:
        if name not in self.names:
            raise KeyError(f"{self.name} has no sequence {name!r}")
        if name not in self._cache:
            self._cache[name] = self._loader(name)
        return self._cache[name]

    def subset(self, names) -> Dataset:
        """The same dataset restricted to ``names`` (in the given order)."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise DatasetError(f"{self.name} has no sequence(s) {', '.join(missing)}")
        return Dataset(self.info, self.root, list(names), self.__getitem__, self.has_groundtruth)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} sequences, protocol={self.protocol!r}, root={self.root!r})"
