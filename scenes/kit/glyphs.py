"""Cheap text: glyphs as plain VMobjects.

Manim's `Text` keeps an svgelements path object on every glyph; deep-copying it (which
every Transform, FadeIn and `.animate` does) costs about a millisecond per glyph, and
building a `Text` costs ~9 ms even when cached. A matrix of real values has hundreds of
numbers, so this module

* lays numbers out from a per-character glyph cache (`glyph_string`): one Pango call
  per distinct character, ever, then only NumPy copies; and
* turns any `Text` into plain glyphs (`plain_text`), so later copies are cheap.

Both are ordinary `VGroup`s of `VMobject`s and can be animated like anything else.
"""

from __future__ import annotations

import functools
import hashlib

import manim
import numpy as np
from manim import ManimColor, Text, VMobject

from model.files import atomic_write

from .cache import CACHE, private_text_dir, tell_damaged

FONT = "Latin Modern Roman"
_REF_SIZE = 48  # size at which glyph outlines are measured; scaled on use


def _on_disk(kind: str, key: tuple, compute) -> tuple[np.ndarray, float]:
    """`compute()` once per machine: Pango and SVG parsing cost ~10 ms a glyph, a file read ~0.1 ms."""
    digest = hashlib.sha1(repr((kind, key, manim.__version__, _REF_SIZE)).encode()).hexdigest()
    path = CACHE / "glyphs" / f"{digest}.npz"
    try:
        with np.load(path) as f:
            return f["points"], float(f["number"])
    except Exception as e:  # missing, truncated or damaged (BadZipFile, EOFError …): recompute, never crash
        if not isinstance(e, FileNotFoundError):
            tell_damaged(path)
        points, number = compute()
        try:
            with atomic_write(path) as f:
                np.savez(f, points=points, number=np.float64(number))
        except OSError:
            pass  # a read-only cache only costs time
        return points, number


class Glyph(VMobject):
    """Outlines of one or more characters as a single VMobject: nothing else to copy or draw."""


@functools.lru_cache(maxsize=None)
def _prototype(color: str) -> Glyph:
    return Glyph(fill_color=color, fill_opacity=1.0, stroke_width=0)


def _glyph(points: np.ndarray, color, text: str, font_size: float) -> Glyph:
    """A Glyph with these outline points (copying a prototype is ~4x cheaper than VMobject()).

    It remembers its text and the font size it was made at, and the spread of its points
    then, so that `font_size_now` tells its size however it was scaled or rotated later.
    """
    g = _prototype(ManimColor(color).to_hex()).copy()
    g.points = points
    g.text = text  # type: ignore[attr-defined]
    g.font_size = font_size  # type: ignore[attr-defined]
    g.spread = _spread(points)  # type: ignore[attr-defined]
    return g


def _spread(points: np.ndarray) -> float:
    """Root-mean-square distance of the points from their mean: unchanged by moves and rotations."""
    if len(points) == 0:
        return 0.0
    return float(np.sqrt(((points - points.mean(0)) ** 2).sum(1).mean()))


def font_size_now(glyph: Glyph) -> float:
    """The font size `glyph` shows at now (its size at creation times every scaling since)."""
    if not getattr(glyph, "spread", 0.0):
        return float(getattr(glyph, "font_size", 0.0))
    return glyph.font_size * _spread(glyph.points) / glyph.spread


@functools.lru_cache(maxsize=None)
def _char(ch: str, font: str, weight: str) -> tuple[np.ndarray, float]:
    """Outline points of `ch` relative to its pen position on the baseline, and its advance, at _REF_SIZE.

    Measured between zeros ("00c00"), whose equal advance fixes the pen positions.
    """
    return _on_disk("char", (ch, font, weight), lambda: _measure_char(ch, font, weight))


def _measure_char(ch: str, font: str, weight: str) -> tuple[np.ndarray, float]:
    with private_text_dir():
        probe = Text(f"00{ch}00", font=font, weight=weight, font_size=_REF_SIZE)
    glyphs = list(probe)
    zeros = [glyphs[0], glyphs[1], glyphs[-2], glyphs[-1]]
    adv0 = zeros[1].get_left()[0] - zeros[0].get_left()[0]
    pen = np.array([zeros[1].get_left()[0] + adv0, zeros[0].get_bottom()[1], 0.0])
    advance = zeros[2].get_left()[0] - pen[0]
    outline = np.concatenate([g.points - pen for g in glyphs[2:-2]] or [np.zeros((0, 3))])
    return outline, advance


def text_width(text: str, font_size: float, font: str = FONT, weight: str = "NORMAL") -> float:
    """Width of `text` laid out by `glyph_string` (no kerning), without building anything."""
    return sum(_char(ch, font, weight)[1] for ch in text) * font_size / _REF_SIZE


def glyph_string(text: str, font_size: float, color, font: str = FONT, weight: str = "NORMAL") -> Glyph:
    """`text` as one Glyph, left end of the baseline at the origin. No kerning: meant for numbers."""
    scale = font_size / _REF_SIZE
    parts = []
    x = 0.0
    for ch in text:
        outline, advance = _char(ch, font, weight)
        parts.append(outline * scale + np.array([x, 0.0, 0.0]))
        x += advance * scale
    g = _glyph(np.concatenate(parts) if parts else np.zeros((0, 3)), color, text, font_size)
    g.advance = x  # type: ignore[attr-defined]
    return g


@functools.lru_cache(maxsize=4096)
def _text_outline(text: str, font: str, weight: str, slant: str) -> tuple[np.ndarray, float]:
    """Outline points of `text` (centred) and where its baseline lies below the centre, at _REF_SIZE.

    The baseline is found by laying out `text` followed by an "x", whose bottom sits on it.
    """
    return _on_disk("text", (text, font, weight, slant), lambda: _measure_text(text, font, weight, slant))


def _measure_text(text: str, font: str, weight: str, slant: str) -> tuple[np.ndarray, float]:
    with private_text_dir():
        glyphs = list(Text(text + "x", font=font, weight=weight, slant=slant, font_size=_REF_SIZE))
    x, glyphs = glyphs[-1], glyphs[:-1]
    points = np.concatenate([g.points for g in glyphs] or [np.zeros((0, 3))])
    if len(points) == 0:
        return points, 0.0
    center = (points.min(0) + points.max(0)) / 2
    return points - center, x.get_bottom()[1] - center[1]


def plain_text(text: str, font_size: float, color, font: str = FONT, weight: str = "NORMAL", slant: str = "NORMAL") -> Glyph:
    """`text` shown literally (no markup is parsed) through Pango, with kerning, as one Glyph centred at the origin."""
    points, baseline = _text_outline(text, font, weight, slant)
    scale = font_size / _REF_SIZE
    g = _glyph(points * scale, color, text, font_size)
    g.baseline_ratio = baseline * scale / g.height if g.height else 0.0  # type: ignore[attr-defined]
    return g


def baseline(mob) -> float:
    """The y of a text's baseline, wherever it has been moved or scaled to."""
    ratio = getattr(mob, "baseline_ratio", None)
    if ratio is None:  # a group: its first text's baseline
        firsts = [m for m in mob.get_family() if hasattr(m, "baseline_ratio")]
        return baseline(firsts[0]) if firsts else mob.get_bottom()[1]
    return mob.get_center()[1] + ratio * mob.height


def set_baseline(mob, y: float):
    """Move `mob` up or down so that its baseline is at y."""
    return mob.shift((y - baseline(mob)) * np.array([0.0, 1.0, 0.0]))


__all__ = ["FONT", "Glyph", "glyph_string", "plain_text", "text_width", "baseline", "set_baseline", "font_size_now"]
