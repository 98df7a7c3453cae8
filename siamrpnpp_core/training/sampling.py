"""Training pairs: which video, frames and augmentation each sample uses, and who loads which sample.

A sample is a pure function of ``(seed, epoch, index)``: its random generator is seeded with them, so
the pairs do not depend on the number of processes or loader workers, and a resumed run sees exactly
the samples it would have seen. Each epoch draws ``num_use`` videos from every dataset (cycling
through shuffled orders), mixes them, and takes ``pairs_per_epoch`` of them.
"""
from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .augmentation import augment, target_box
from .config import DatasetSpec, TrainConfig
from .index import Track, box_size, load_index, open_store
from .targets import AnchorTarget

log = logging.getLogger(__name__)
MAX_RETRIES = 20


class SubDataset:
    """One prepared dataset: its videos (lists of tracks), image store and sampling settings."""

    def __init__(self, spec: DatasetSpec):
        self.spec = spec
        self.videos: list[list[Track]] = load_index(spec.anno)
        self.store = open_store(spec.root, spec.lmdb)
        self.num_use = len(self.videos) if spec.num_use < 0 else spec.num_use

    def __len__(self) -> int:
        return len(self.videos)

    def positive_pair(self, video: int, rng: np.random.Generator):
        """(template, search) ``(track, frame)`` of one object at most ``frame_range`` frames apart."""
        tracks = self.videos[video]
        track = tracks[rng.integers(len(tracks))]
        k = int(rng.integers(len(track.frames)))
        lo, hi = max(k - self.spec.frame_range, 0), min(k + self.spec.frame_range, len(track.frames) - 1)
        return (track, track.frames[k]), (track, track.frames[int(rng.integers(lo, hi + 1))])

    def random_target(self, rng: np.random.Generator, video: int | None = None):
        tracks = self.videos[int(rng.integers(len(self.videos))) if video is None else video]
        track = tracks[rng.integers(len(tracks))]
        return track, track.frames[int(rng.integers(len(track.frames)))]


class PairDataset(Dataset):
    """Template/search pairs with anchor labels; items are indexed by ``(epoch, index)``."""

    def __init__(self, cfg: TrainConfig, datasets: list[SubDataset] | None = None):
        if not cfg.datasets and not datasets:
            raise ValueError("no training datasets: list them under `datasets:` in the config")
        self.cfg = cfg
        self.datasets = datasets if datasets is not None else [SubDataset(s) for s in cfg.datasets]
        self.target = AnchorTarget(cfg.tracker(), cfg.search_size, cfg.output_size(), cfg.target_config())
        self.unreadable = 0

    def __len__(self) -> int:
        return self.cfg.pairs_per_epoch

    @lru_cache(maxsize=2)
    def plan(self, epoch: int) -> np.ndarray:
        """``(pairs_per_epoch, 2)`` (dataset, video) of every sample of ``epoch``."""
        picks = []
        for d, sub in enumerate(self.datasets):
            rng = np.random.default_rng([self.cfg.seed, epoch, d, 1])
            order = np.concatenate([rng.permutation(len(sub)) for _ in range(-(-sub.num_use // len(sub)))])
            picks.append(np.stack([np.full(sub.num_use, d), order[:sub.num_use]], axis=1))
        picks = np.concatenate(picks)
        rng = np.random.default_rng([self.cfg.seed, epoch, 2])
        reps = -(-self.cfg.pairs_per_epoch // len(picks))
        return np.concatenate([picks[rng.permutation(len(picks))] for _ in range(reps)])[:self.cfg.pairs_per_epoch]

    def __getitem__(self, key) -> dict[str, np.ndarray]:
        epoch, index = key
        rng = np.random.default_rng([self.cfg.seed, epoch, index, 0])
        d, video = self.plan(epoch)[index]
        for _ in range(MAX_RETRIES):
            sample = self._pair(int(d), int(video), rng)
            if sample is not None:
                return sample
            self.unreadable += 1  # fall back to a random video
            d = int(rng.integers(len(self.datasets)))
            video = int(rng.integers(len(self.datasets[d])))
        raise RuntimeError(f"{MAX_RETRIES} unreadable crops in a row: check the dataset folders")

    def _pair(self, d: int, video: int, rng: np.random.Generator):
        """One labelled sample, or None when a crop cannot be read."""
        cfg = self.cfg
        sub = self.datasets[d]
        gray = cfg.gray and cfg.gray > rng.random()
        negative = bool(cfg.negative and cfg.negative > rng.random())
        if negative:  # the template's object against a random object of any dataset
            template = sub.random_target(rng, video)
            other = self.datasets[int(rng.integers(len(self.datasets)))]
            search = other.random_target(rng)
        else:
            (template, search), other = sub.positive_pair(video, rng), sub
        z, x = _read(sub, *template), _read(other, *search)
        if z is None or x is None:
            return None
        z_box = target_box(z.shape, box_size(template[0].boxes[template[1]]), cfg.exemplar_size, cfg.context_amount)
        x_box = target_box(x.shape, box_size(search[0].boxes[search[1]]), cfg.exemplar_size, cfg.context_amount)
        z, _ = augment(z, z_box, cfg.exemplar_size, cfg.template_aug, rng, gray)
        x, box = augment(x, x_box, cfg.search_size, cfg.search_aug, rng, gray)
        cls, delta, weight = self.target(box, negative, rng)
        return {"template": np.ascontiguousarray(z.transpose(2, 0, 1)),
                "search": np.ascontiguousarray(x.transpose(2, 0, 1)),
                "label_cls": cls, "label_loc": delta, "label_loc_weight": weight,
                "bbox": box.astype(np.float32), "negative": np.int64(negative)}


def _read(sub: SubDataset, track: Track, frame: int):
    image = sub.store.read(track.path(frame))
    if image is None:
        log.warning("%s: unreadable crop %s", sub.spec.name, track.path(frame))
    return image


class StepSampler(Sampler):
    """``(epoch, index)`` keys for one process, from optimiser step ``start_step`` to ``total_steps``.

    Step ``s`` uses the global samples ``s*B .. s*B+B-1`` of its epoch (B = batch size); process ``r``
    of ``W`` takes the ``r``-th contiguous share, so any number of processes covers the same samples.
    """

    def __init__(self, cfg: TrainConfig, rank: int = 0, world: int = 1, start_step: int = 0):
        if cfg.batch_size % world:
            raise ValueError(f"batch_size {cfg.batch_size} is not divisible by the {world} processes")
        self.cfg, self.rank, self.world, self.start_step = cfg, rank, world, start_step
        self.share = cfg.batch_size // world
        self.steps_per_epoch = cfg.steps_per_epoch()
        self.total_steps = self.steps_per_epoch * cfg.epochs

    def __iter__(self):
        for step in range(self.start_step, self.total_steps):
            epoch, within = divmod(step, self.steps_per_epoch)
            first = within * self.cfg.batch_size + self.rank * self.share
            for i in range(first, first + self.share):
                yield epoch, i

    def __len__(self) -> int:
        return (self.total_steps - self.start_step) * self.share


def collate(samples: list[dict]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}


def worker_init(_worker_id: int) -> None:
    """One thread per loader worker: the processes share the machine's cores."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
