"""Helpers for scenes about the residual stream: lining matrices up by rows and columns, swapping
numbers in place, activations as pictures, layouts that fit.

A row of one matrix and the same row of another are the same token: `line_up_rows` puts
them on one line; `line_up_cols` puts a vector's entries over the columns they act on.
Captions say what the numbers show in words; the digits stay in the matrices, where the
manifest records them.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, RIGHT, UP, Rectangle, VGroup

from . import layout, palette
from .components import MatrixView, formula, label, shape_text
from .glyphs import set_baseline


def line_up_rows(ref: MatrixView, *others: MatrixView) -> None:
    """Shift `others` vertically so that their first shown row is on `ref`'s first shown row."""
    for other in others:
        other.shift((ref.entries.get_top()[1] - other.entries.get_top()[1]) * UP)


def line_up_cols(ref: MatrixView, *others: MatrixView) -> None:
    """Shift `others` horizontally so that their columns stand over `ref`'s (same column width assumed)."""
    for other in others:
        other.shift((ref.brackets[0].get_right()[0] - other.brackets[0].get_right()[0]) * RIGHT)


def finish_swap(scene, old: MatrixView, new: MatrixView) -> None:
    """After `old`'s numbers and title have cross-faded into `new`'s in place (row by row, say):
    take every piece of `old`'s entries off the stage, its ellipses too (`Scene.remove` does not
    look inside groups, and a cross-fade splits them), and put `new`'s entries and title on as one."""
    scene.remove(*old.entries.get_family(), *old.title.get_family())
    scene.add(new.entries, new.title)


def mute_zeros(view: MatrixView, color=None) -> MatrixView:
    """Grey out the cells that are exactly zero (ReLU's), so the zeros read as a pattern."""
    for (r, c), mob in view._cells.items():
        if view.values.data[r, c] == 0:
            mob.set_color(color or palette.MUTED)
    return view


class ActivationMap(VGroup):
    """A whole activation matrix as a picture: one square per value, blue positive, red negative,
    brighter for larger; an exact zero is an empty dark square. Rows are tokens: `row_labels` (a list
    with an entry per row, None where a row goes unlabelled, e.g. a long sentence's rows too close
    for words). It draws no digits (the numbers are shown by a MatrixView beside or before it)."""

    def __init__(self, data: np.ndarray, name: str, row_labels: list | None = None, cell: float = 0.26,
                 color=None, where: str | None = None, scale: float | None = None, cell_height: float | None = None):
        super().__init__()
        scale = scale or float(np.abs(data).max()) or 1.0
        cw, ch = cell, cell_height or cell
        self.n_cols = data.shape[1]
        self.squares = VGroup()
        for r in range(data.shape[0]):
            for c in range(data.shape[1]):
                v = float(data[r, c])
                sq = Rectangle(width=cw * 0.9, height=ch * 0.9, stroke_width=1, stroke_color=palette.FAINT)
                if v == 0:
                    sq.set_fill(palette.BACKGROUND, opacity=1.0)
                else:
                    t = min(abs(v) / scale, 1.0)
                    sq.set_fill(palette.POSITIVE if v > 0 else palette.NEGATIVE, opacity=0.15 + 0.85 * t ** 0.7)
                sq.move_to([c * cw, -r * ch, 0])
                self.squares.add(sq)
        self.add(self.squares)
        self.row_labels = VGroup()
        if row_labels is not None:
            for r, lab in enumerate(row_labels):
                if lab is None:
                    continue
                lab.move_to([-cw / 2 - 0.15, -r * ch, 0], aligned_edge=RIGHT)
                set_baseline(lab, -r * ch - 0.08)
                self.row_labels.add(lab)
            self.add(self.row_labels)
        title = VGroup(formula(name, 36, color or palette.TEXT), label(shape_text(*data.shape), 22))
        title.arrange(RIGHT, buff=0.25, aligned_edge=DOWN)
        if where:
            title.add(label(where, 20).next_to(title, RIGHT, buff=0.25, aligned_edge=DOWN))
        self.title = title.next_to(self.squares, UP, buff=0.2)
        self.add(self.title)

    def row(self, r: int) -> VGroup:
        """The squares of row r."""
        return VGroup(*self.squares[r * self.n_cols:(r + 1) * self.n_cols])


def formula_where(tex: str, where: str, size: float = 36, **colors) -> VGroup:
    """A heading's formula with where it lives beside it ("encoder layer 1"), for `show_heading`:
    the matrices under it then need no `where` of their own, and fold less."""
    return VGroup(formula(tex, size, **colors), label(where, 22)).arrange(RIGHT, buff=0.5)


def memory_and_stream(scene, decoder_layer: int, rows: int, cols: int, size: float = 24) -> VGroup:
    """Cross-attention's two inputs side by side, M (the encoder's output) on the left and the decoder's
    stream after add & norm on the right: where `encoder_stack` ends and `cross_attention` begins
    (the layout of its inputs beat), so that the memory stays in one place across the cut."""
    memory = MatrixView(scene.values("encoder.hook_out"), "M", palette.ENCODER, where="encoder output",
                        row_labels=scene.labels("encoder", size), max_rows=rows, max_cols=cols)
    stream = MatrixView(scene.values(f"decoder.blocks.{decoder_layer}.ln1.hook_out"), "X", palette.DECODER,
                        where="decoder, after add & norm", row_labels=scene.labels("decoder", size),
                        max_rows=rows, max_cols=cols)
    return VGroup(memory, stream).arrange(RIGHT, buff=0.9, aligned_edge=UP)


def fit_widest(make, rows: int, cols: int, center=layout.STAGE_CENTER, max_width: float = layout.SAFE_WIDTH,
               max_height: float = layout.STAGE_HEIGHT, min_shown: int = 3):
    """Like `layout.fit_folding`, but shows as many columns as fit: the rows fold first (as far as
    the height needs, with the fewest columns), then the most columns that still fit above the
    readability floor are found by bisection. `fit_folding` steps columns down in large jumps,
    which can leave a wide layout (three matrices side by side) with fewer columns than it has room for."""
    used: dict = {}

    def tracked(r: int, c: int):
        used["rows"] = r
        return make(r, c)

    lo = min(cols, min_shown)
    best = layout.fit_folding(tracked, rows, lo, center, max_width, max_height, min_shown)
    r, hi = used["rows"], cols
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            best = layout.fit(make(r, mid), center, max_width, max_height)
            lo = mid
        except layout.LayoutError:
            hi = mid - 1
    return best
