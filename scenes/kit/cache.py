"""The caches every render shares (`~/.cache/transformer-reel`), and the lock that makes sharing safe.

Manim writes the SVG files of `Text` (Pango) and `MathTex` (LaTeX, dvisvgm) into shared
folders under names derived from their content, and reads them back; two renders making
the same file at once can read each other's half-written file. Every such call runs
inside `shared_files()`, an exclusive lock on one file of the cache, so renders started
together (the lecture runs several) wait for each other there and only there.
Deleting the cache is always safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "transformer-reel"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (made if missing): one process at a time past here."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def shared_files() -> Iterator[None]:
    """Hold the cache's lock: one process at a time makes or reads Manim's shared text files."""
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        lock = locked(CACHE / ".lock")
        lock.__enter__()
    except OSError:  # a read-only cache: nothing can be written, so nothing can race
        yield
        return
    try:
        yield
    finally:
        lock.__exit__(None, None, None)
