"""Where things go on screen, in one place: the frame, the stage, font-size roles, fitting and folding.

The frame is Manim's, 14.2 × 8 units (1080 pixels tall at 1080p: 135 px a unit). The
heading sits at the top, the caption at the bottom, and a scene's pictures on the
*stage* between them. A layout that does not fit is shrunk — but never so far that a
number or word falls below `MIN_FONT`; below that floor it folds instead (rows and
columns into ⋯), which `fit_folding` does by rebuilding the layout with fewer of them.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from manim import DOWN, ORIGIN, UP, Mobject, SingleStringMathTex, config

from .glyphs import Glyph, font_size_now

# --- the frame --------------------------------------------------------------------
FRAME_WIDTH = config.frame_width  # 14.22
FRAME_HEIGHT = config.frame_height  # 8
PX_PER_UNIT_1080P = 1080 / FRAME_HEIGHT
MARGIN = 0.12  # nothing visible closer to the frame's edge than this (16 px at 1080p)
SAFE_WIDTH = 13.4  # the widest a layout may be

# --- the stage: between the heading (top) and the caption (bottom) -----------------
STAGE_TOP = 2.45  # below a heading and its formula
STAGE_BOTTOM = -2.7  # above a caption of CAPTION_LINES lines
CAPTION_LINES = 2  # the most a caption may take (the frame check reports more)
STAGE_CENTER = ORIGIN + (STAGE_TOP + STAGE_BOTTOM) / 2 * UP
STAGE_HEIGHT = STAGE_TOP - STAGE_BOTTOM
HEADING_BUFF = 0.3  # heading from the top edge
CAPTION_BUFF = 0.35  # caption from the bottom edge

# --- font sizes, by role ------------------------------------------------------------
TITLE = 56
HEADING = 34
CAPTION = 30
FORMULA = 36
MATRIX_NAME = 40
TOKEN = 26
LABEL = 24
NUMBER = 24
SMALL = 20
# The readability floor: a digit at font size 14 is 18 px tall at 1080p (an x-height of 11 px),
# the smallest a viewer can read without pausing to squint. The frame check enforces it.
MIN_FONT = 14.0


class LayoutError(ValueError):
    """A layout that cannot be made to fit without text falling below the readability floor."""


def is_text(mob: Mobject) -> bool:
    """Words and numbers: our glyph texts, and each LaTeX formula as one piece."""
    return (isinstance(mob, Glyph) and hasattr(mob, "text")) or isinstance(mob, SingleStringMathTex)


def text_size(mob: Mobject) -> float:
    """The font size a text shows at now, after every scaling."""
    if isinstance(mob, SingleStringMathTex):
        return float(mob.font_size)
    return font_size_now(mob)  # type: ignore[arg-type]


def texts_in(mob: Mobject) -> list[Mobject]:
    """Every text inside `mob` (a formula counts once, not glyph by glyph)."""
    found: list[Mobject] = []

    def walk(m: Mobject) -> None:
        if is_text(m):
            if m.has_points() or m.submobjects:
                found.append(m)
            return
        for sub in m.submobjects:
            walk(sub)

    walk(mob)
    return found


def smallest_text(mob: Mobject) -> float:
    sizes = [text_size(t) for t in texts_in(mob)]
    return min(sizes) if sizes else math.inf


def fit_scale(mob: Mobject, max_width: float = SAFE_WIDTH, max_height: float = STAGE_HEIGHT) -> float:
    """How much `mob` must shrink (≤ 1) to fit in the box."""
    return min(1.0, max_width / max(mob.width, 1e-9), max_height / max(mob.height, 1e-9))


def fit(mob: Mobject, center=STAGE_CENTER, max_width: float = SAFE_WIDTH, max_height: float = STAGE_HEIGHT,
        floor: float = MIN_FONT) -> Mobject:
    """Centre `mob` at `center`, shrunk only as far as needed to fit in the box.

    Raises LayoutError if that would put any text below `floor`: fold instead (`fit_folding`).
    """
    factor = fit_scale(mob, max_width, max_height)
    if smallest_text(mob) * factor < floor - 1e-6:
        raise LayoutError(
            f"fitting needs a scale of {factor:.2f}, which puts text at {smallest_text(mob) * factor:.1f} < {floor}"
        )
    if factor < 1.0:
        mob.scale(factor)
    return mob.move_to(center)


def fit_folding(make: Callable[[int, int], Mobject], rows: int, cols: int, center=STAGE_CENTER,
                max_width: float = SAFE_WIDTH, max_height: float = STAGE_HEIGHT, min_shown: int = 3) -> Mobject:
    """Build `make(max_rows, max_cols)` and fit it; while it would shrink below the floor, fold more.

    `rows`, `cols` are how many the layout has in full: the first try shows them all. The layout returned is
    the last one `make` built (scenes note the folding their `make` was called with).
    """
    r, c = rows, cols
    least_tried = False
    while True:
        mob = make(r, c)
        try:
            return fit(mob, center, max_width, max_height)
        except LayoutError:
            if r <= min_shown and c <= min_shown:
                raise
            if not least_tried:  # folding never makes a layout larger: if the most folded one does not fit, none
                least_tried = True  # does, and the caller learns it now rather than after every fold on the way
                fit(make(min(r, min_shown), min(c, min_shown)), center, max_width, max_height)
            factor = fit_scale(mob, max_width, max_height)
            over_w = mob.width / max_width
            over_h = mob.height / max_height
            # fold along the direction that overflows most, a step at a time
            if (over_h >= over_w and r > min_shown) or c <= min_shown:
                r = max(min_shown, min(r - 1, int(r * max(factor, 0.5) ** 0.3)))
            else:
                c = max(min_shown, min(c - 1, int(c * max(factor, 0.5) ** 0.3)))


def below(mob: Mobject, anchor: Mobject, buff: float = 0.15) -> Mobject:
    return mob.next_to(anchor, DOWN, buff=buff)


def frame_box(margin: float = MARGIN) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of the area everything visible must stay inside."""
    return (-FRAME_WIDTH / 2 + margin, FRAME_WIDTH / 2 - margin, -FRAME_HEIGHT / 2 + margin, FRAME_HEIGHT / 2 - margin)


def inside_frame(mob: Mobject, margin: float = MARGIN) -> bool:
    left, right, bottom, top = frame_box(margin)
    lo, hi = mob.get_corner(DOWN + np.array([-1, 0, 0])), mob.get_corner(UP + np.array([1, 0, 0]))
    return lo[0] >= left - 1e-6 and hi[0] <= right + 1e-6 and lo[1] >= bottom - 1e-6 and hi[1] <= top + 1e-6
