"""Atomic file writes: readers see the old file or the whole new one, never a half-written one.

Every writer in the project goes through here: a uniquely named temporary file in the target's
folder (so concurrent processes never share one), flushed and fsynced, then renamed over the target,
and the folder fsynced so that the rename survives a power cut. On any error the temporary file is
removed and the target is left as it was.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True) -> Iterator[str]:
    """A fresh temporary name beside ``path`` for a writer that wants a file name (safetensors, ONNX).

    When the block ends without error the file written there is renamed onto ``path``. ``durable``
    (the default) fsyncs the file before and the folder after the rename, so the new file survives a
    power cut; ``durable=False`` skips both (still whole files for readers and after a crash of the
    process), for many small files that can be remade, such as prepared training crops.
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        _fsync_folder(folder)


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", durable: bool = True, **kwargs) -> Iterator[IO]:
    """``open(path, mode)`` for writing, made atomic: ``with atomic_open(p, "wb") as f: torch.save(x, f)``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path, durable) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()


def atomic_write(path: str | os.PathLike, data: str | bytes, durable: bool = True, **kwargs) -> None:
    """Write ``data`` (text or bytes) to ``path`` atomically (``durable``: see :func:`atomic_path`)."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w", durable, **kwargs) as f:
        f.write(data)
