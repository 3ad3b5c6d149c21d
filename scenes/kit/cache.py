"""The caches every render shares (`~/.cache/transformer-reel`), the lock that makes sharing safe,
and the healing that makes a torn file harmless.

Manim writes the SVG files of `MathTex` (LaTeX, dvisvgm) into a shared folder (`tex/`) under
names derived from their content, and reads them back; two renders making the same file at
once could read each other's half-written file. Every such call runs inside `shared_files()`,
an exclusive lock on one file of the cache, so renders started together (the lecture runs
several) wait for each other there and only there.

Our own cache files (glyph outlines, speech) are written to a temporary name and renamed
into place, so they are whole or absent; one found damaged all the same (a full disk's, a
copy's) is made again, and said once (`tell_damaged`). Manim writes its LaTeX files itself,
in place: a render killed while it writes one, or a full disk, leaves a torn file that Manim
would read back and fail on, every time. `from_shared_files(make)` runs a Manim call that reads them;
if it fails and the folder holds files that do not parse, those are removed (logged once,
without a traceback) and the call is made again. Pango's SVGs (`Text`) are only read once,
into the glyph cache, so Manim writes them into a private temporary folder (`private_text_dir`).
Deleting the cache is always safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Iterator, TypeVar

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


# ----------------------------------------------------------------------------- torn files
T = TypeVar("T")
_told = False


def manim_folders() -> list[Path]:
    """The shared folders Manim writes into (the renders set `tex_dir` to the first)."""
    return [CACHE / "tex", CACHE / "texts"]


def _parses(svg: Path) -> bool:
    try:
        ET.parse(svg)
        return True
    except (ET.ParseError, OSError, ValueError):
        return False


def damaged_files(folder: Path) -> list[Path]:
    """Files Manim would read back and fail on: an SVG that does not parse, and every file made
    on the way to an SVG that is missing or damaged (a torn .tex or .dvi is read back as it is)."""
    if not folder.is_dir():
        return []
    by_stem: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            by_stem.setdefault(path.stem, []).append(path)
    bad = []
    for stem, paths in by_stem.items():
        svg = folder / f"{stem}.svg"
        if not (svg.exists() and _parses(svg)):
            bad += paths
    return bad


def heal() -> int:
    """Remove every damaged file from Manim's folders; returns how many went."""
    removed = 0
    for folder in manim_folders():
        for path in damaged_files(folder):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed


def from_shared_files(make: Callable[[], T]) -> T:
    """`make()`, a Manim call that reads or writes the shared folders, under their lock; should it fail
    while a torn file lies there, the torn files go (said once per process) and it is made again."""
    with shared_files():
        try:
            return make()
        except Exception:
            removed = heal()
            if not removed:
                raise
            tell_damaged(f"removed {removed} damaged file{'s' * (removed != 1)}")
        return make()


def tell_damaged(what: str | Path) -> None:
    """Say once per process, in one line, that damaged cache files were found and are made again (Manim's LaTeX
    files, glyph outlines, speech): `what` is "removed 3 damaged files", or the path of a damaged file."""
    global _told
    if isinstance(what, Path):
        what = f"a damaged file ({what.parent.name}/{what.name})"
    if not _told:
        _told = True
        print(f"warning: {what} from the cache {CACHE} (a render stopped while writing, or the disk was full); "
              "made again", file=sys.stderr, flush=True)


@contextlib.contextmanager
def private_text_dir() -> Iterator[None]:
    """Manim's `Text` writes its SVG into a temporary folder of this process, removed afterwards: the glyph
    cache keeps the outlines (written whole, by rename), so no torn SVG can be left for another render."""
    from manim import config

    before = config.text_dir
    with tempfile.TemporaryDirectory(prefix="reel-text-") as tmp:
        config.text_dir = tmp
        try:
            yield
        finally:
            config.text_dir = before
