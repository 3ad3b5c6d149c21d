"""A dot product written out term by term: a₁·b₁ + a₂·b₂ + … = result, with the real values.

Every factor is a traced number (a row of Q, a row of K) and the result is the traced entry
(a cell of QKᵀ), each carrying its manifest record like any number a `MatrixView` draws. The
products of the terms are not traced, so they are not written: the viewer reads the factors and
the sum, which the model computed.
"""

from __future__ import annotations

import numpy as np
from manim import VGroup

from . import palette
from .components import Values, number
from .glyphs import glyph_string
from .layout import NUMBER
from .manifest import MINUS


class DotProduct(VGroup):
    """`a · b = result` written out: `a`, `b` are 1 × d views, `result` a 1 × 1 view.

    Lines of at most `per_line` terms, left-aligned on common baselines; a negative factor is
    put in parentheses. Parts: `terms[j]` (the j-th term: its factors and signs), `equals`,
    `result`, `lines`.
    """

    def __init__(self, a: Values, b: Values, result: Values, a_color=palette.QUERY, b_color=palette.KEY,
                 font_size: float = NUMBER, per_line: int = 4, decimals: int = 2, result_color=palette.HIGHLIGHT):
        super().__init__()
        d = a.shape[1]
        if b.shape != (1, d) or a.shape != (1, d) or result.shape != (1, 1):
            raise ValueError(f"a dot product needs two 1 × d rows and a 1 × 1 result, got {a.shape}, {b.shape}, "
                             f"{result.shape}")
        gap = font_size / 48 * 0.12
        line_h = font_size / 48 * 0.95
        self.terms: list[VGroup] = []
        self.lines = VGroup()
        x, y = 0.0, 0.0
        line = VGroup()

        def put(mob, group: VGroup) -> None:
            nonlocal x
            pad = getattr(mob, "pad", 0.0)  # an operator gets room on both sides, a parenthesis none
            mob.shift(np.array([x + pad, y, 0.0]))
            x += mob.advance + gap + 2 * pad
            group.add(mob)

        def sym(text: str):
            mob = glyph_string(text, font_size, palette.MUTED)
            mob.pad = 0.0 if text in "()" else gap * 1.5
            if text in "()":
                mob.advance -= gap  # hug the number inside
            return mob

        def factor(values: Values, j: int, color, group: VGroup) -> None:
            shown = values.shown(0, j, decimals)
            negative = shown.shown.startswith(MINUS)
            if negative:
                put(sym("("), group)
            put(number(shown, font_size, color), group)
            if negative:
                put(sym(")"), group)

        for j in range(d):
            if j and j % per_line == 0:  # a new line, which starts with its plus sign
                self.lines.add(line)
                line, x, y = VGroup(), 0.0, y - line_h
            term = VGroup()
            if j:
                put(sym("+"), term)
            factor(a, j, a_color, term)
            put(sym("\u00b7"), term)
            factor(b, j, b_color, term)
            self.terms.append(term)
            line.add(term)
        self.equals = sym("=")
        put(self.equals, line)
        self.result = number(result.shown(0, 0, decimals), font_size, result_color)
        put(self.result, line)
        self.lines.add(line)
        self.add(self.lines)
