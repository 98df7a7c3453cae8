"""Dataset preparation: annotations of the public datasets to 511x511 crops centred on each target,
plus a pysot-layout json index. One module per annotation format; :mod:`.common` does the cropping."""
from .common import FrameJob, VideoJob, crop_search_region, prepare

FORMATS = ("coco", "det", "vid", "ytbb", "got10k", "lasot")

__all__ = ["FORMATS", "FrameJob", "VideoJob", "crop_search_region", "prepare", "video_jobs"]


def video_jobs(fmt: str, root: str, **options):
    """The jobs of one format (lazy import of its parser)."""
    from importlib import import_module

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; available: {', '.join(FORMATS)}")
    return import_module(f".{fmt}", __name__).video_jobs(root, **options)
