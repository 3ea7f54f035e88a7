"""Atomic file writes: a reader (or the printing plant's upload script) never sees half a file.

Every output gp-print makes goes through here.  A file is written under a temporary name in
the folder it belongs in, flushed to disk, then renamed over the old one (`os.replace` is
atomic on POSIX), and the folder itself is synced so the rename survives a power cut.  A process
killed at any instant leaves either the old file or the complete new one, plus at worst a
hidden ``.<name>.*.tmp`` file that the next build removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_SUFFIX = ".tmp"


def _file_mode() -> int:
    """What `open()` would give a new file: 0o666 less the process umask (mkstemp gives 0o600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(folder: Path) -> None:
    """Make renames and new entries in `folder` durable (a no-op where the OS cannot)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over `path`.
    The file gets `mode`, or what `open()` would give a new file under the current umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), _file_mode() if mode is None else mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def move_into_place(src: Path, target: Path) -> None:
    """Rename a complete file (already synced, e.g. written by `atomic_write_bytes` into a staging
    folder on the same file system) over `target`, atomically, and sync the target's folder."""
    os.replace(src, target)
    fsync_dir(target.parent)


@contextlib.contextmanager
def exclusive_lock(lock_file: Path, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold an exclusive flock on `lock_file` for the block; if another process holds it,
    raise `busy()` at once rather than wait (the desk must know, not hang)."""
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
