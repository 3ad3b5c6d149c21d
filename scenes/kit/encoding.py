"""Components for the way in: token ids beside their words, a vocabulary folded around a
sentence's rows, and the sinusoids of the position table drawn as functions with the real
table's values marked on them.

As everywhere in the kit, whatever draws a number records it (`Shown`), so the values
manifest lists every id, every table value and every probability these put on screen.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Axes, Dot, VGroup

from . import palette
from .components import Values, label, number
from .glyphs import set_baseline
from .layout import LABEL, NUMBER, SMALL


# ---------------------------------------------------------------------------
# Words with a number each: ids beside tokens, probabilities beside words
# ---------------------------------------------------------------------------


def entry(values: Values, r: int, c: int, decimals: int, size: float = NUMBER, color=palette.TEXT) -> VGroup:
    """One traced number, as text that carries its manifest record (ids: `decimals=0`)."""
    return number(values.shown(r, c, decimals), size, color)


class LabelledNumbers(VGroup):
    """Rows of `label  number`, the numbers right-aligned in one column (or, `across=True`, a
    line of words with each number under its word). `items` are (label mobject, number mobject)."""

    def __init__(self, items: list[tuple[VGroup, VGroup]], across: bool = False, buff: float = 0.25,
                 row_height: float = 0.42):
        super().__init__()
        self.words = VGroup(*(w for w, _ in items))
        self.numbers = VGroup(*(n for _, n in items))
        if across:
            x = 0.0
            for w, n in items:
                width = max(w.width, n.width)
                w.move_to([x + width / 2, 0, 0])
                set_baseline(w, 0.0)
                n.move_to([x + width / 2, 0, 0])
                set_baseline(n, -row_height)
                x += width + buff
        else:
            widest = max(w.width for w, _ in items)
            col = widest + buff + max(n.width for _, n in items)
            for i, (w, n) in enumerate(items):
                y = -i * row_height
                w.move_to([0, 0, 0], aligned_edge=LEFT)
                set_baseline(w, y)
                n.move_to([col, 0, 0], aligned_edge=RIGHT)
                set_baseline(n, y)
        self.add(self.words, self.numbers)

    def pair(self, i: int) -> VGroup:
        return VGroup(self.words[i], self.numbers[i])


def vocabulary_rows(ids: list[int], n_vocab: int) -> list[int | None]:
    """The rows of a folded vocabulary that show a sentence's ids: each id once, in order, with
    None (⋯) wherever rows are skipped, before the first and after the last included."""
    shown: list[int | None] = []
    last = -1
    for i in sorted(set(int(i) for i in ids)):
        if i > last + 1:
            shown.append(None)
        shown.append(i)
        last = i
    if last < n_vocab - 1:
        shown.append(None)
    return shown


def fold_keeping(n: int, limit: int, keep) -> list[int | None]:
    """Like the fold of every matrix (indices to show, None for ⋯), but the indices in `keep` always stay:
    where `n` is more than `limit`, the others fill the room nearest the kept ones first. A long
    sentence keeps its nouns, "it" and the adjective on screen wherever they stand.
    (More than `limit` where the kept ones and their ⋯ alone need more: the layout then cannot fold further.)"""
    if n <= limit:
        return list(range(n))
    shown = {int(i) for i in keep if 0 <= i < n}
    rest = sorted(set(range(n)) - shown, key=lambda i: (min((abs(i - k) for k in shown), default=i), i))
    for i in rest:
        if len(vocabulary_rows(sorted(shown | {i}), n)) <= limit:
            shown.add(i)
    return vocabulary_rows(sorted(shown), n)


# ---------------------------------------------------------------------------
# The position table as functions
# ---------------------------------------------------------------------------


WAVE_COLORS = (palette.QUERY, palette.KEY, palette.VALUE, palette.WEIGHT, palette.ENCODER, palette.DECODER)


def wave_frequency(dim: int, d_model: int) -> float:
    """The angular frequency of the table's column `dim`: pos / 10000^(2i/d_model), 2i = dim rounded down to even."""
    return 1.0 / 10000 ** ((dim - dim % 2) / d_model)


def wave_formula_tex(dim: int) -> str:
    """The paper's formula for column `dim` as LaTeX (its i written out)."""
    i = dim // 2
    fn = r"\sin" if dim % 2 == 0 else r"\cos"
    return rf"PE_{{(pos,\,{dim})}} = {fn}\!\big(pos / 10000^{{{2 * i}/d}}\big)"


class WavePlot(VGroup):
    """Columns of the sinusoid table drawn as functions of the position, with the table's real
    values marked on them.

    `table` is a Values view [positions, d_model] of the traced table (`encoder.hook_pos_embed`);
    each of `dims` is drawn as the paper's curve (sin for even columns, cos for odd) over the
    sentence's positions, and its traced values are marked with dots at the integer positions.
    The curve is the formula; the dots are the trace. Tick labels are the axes' own (positions
    and −1, 0, 1). `numbers=True` also writes each dot's value beside it (recorded).
    Parts: `axes`, `curves[k]`, `dots[k]` (each dot has `.mark = (tensor, (pos, dim), value)`),
    `numbers[k]`, `tags[k]`.
    """

    def __init__(self, table: Values, dims: list[int], d_model: int, width: float = 7.0, height: float = 3.2,
                 colors=WAVE_COLORS, numbers: bool = False, tick_size: float = SMALL, decimals: int = 2):
        super().__init__()
        n = table.shape[0]
        self.table = table
        self.dims = list(dims)
        x_max = max(n - 1, 1)
        step = 1 if n <= 12 else 2 if n <= 24 else 4
        self.axes = Axes(x_range=[0, x_max + 0.3, step], y_range=[-1.2, 1.2, 1], x_length=width, y_length=height,
                         tips=False, axis_config={"color": palette.MUTED, "stroke_width": 2, "include_ticks": True},
                         y_axis_config={"tick_size": 0.06}, x_axis_config={"tick_size": 0.06})
        ticks = VGroup()
        floor = self.axes.c2p(0, -1.2)[1]  # position labels under the plot, clear of the curves that dip below 0
        for p in range(0, x_max + 1, step):
            t = label(str(p), tick_size).next_to([self.axes.c2p(p, 0)[0], floor, 0], DOWN, buff=0.12)
            ticks.add(t)
        for v in (-1, 0, 1):
            ticks.add(label("\u22121" if v < 0 else str(v), tick_size).next_to(self.axes.c2p(0, v), LEFT, buff=0.12))
        self.ticks = ticks
        self.x_name = label("position", tick_size).next_to(ticks[0], DOWN, buff=0.1)
        self.x_name.move_to([self.axes.c2p(x_max / 2, 0)[0], self.x_name.get_center()[1], 0])
        self.curves, self.dots, self.numbers = VGroup(), VGroup(), VGroup()
        for k, dim in enumerate(self.dims):
            color = colors[k % len(colors)]
            w = wave_frequency(dim, d_model)
            fn = np.sin if dim % 2 == 0 else np.cos
            curve = self.axes.plot(lambda x, w=w, fn=fn: float(fn(x * w)), x_range=[0, x_max, min(0.05, x_max / 200)],
                                   color=color, stroke_width=3)
            self.curves.add(curve)
            dots, nums = VGroup(), VGroup()
            for p in range(n):
                value = float(table.data[p, dim])
                dot = Dot(self.axes.c2p(p, value), radius=0.06, color=color)
                dot.mark = (table.tensor, table.index(p, dim), value)  # type: ignore[attr-defined]
                dots.add(dot)
                if numbers:
                    num = entry(table, p, dim, decimals, tick_size, color)
                    num.next_to(dot, UP if value >= 0 else DOWN, buff=0.1)
                    nums.add(num)
            self.dots.add(dots)
            self.numbers.add(nums)
        self.add(self.axes, self.ticks, self.x_name, self.curves, self.dots, self.numbers)

    def value_at(self, dot: Dot) -> float:
        """The table value a dot marks, read back from where it is drawn (for tests)."""
        return float(self.axes.p2c(dot.get_center())[1])


def legend(dims: list[int], colors=WAVE_COLORS, size: float = LABEL) -> VGroup:
    """One line per drawn column: a colour swatch and the column's formula name."""
    from .components import formula

    rows = VGroup()
    for k, dim in enumerate(dims):
        color = colors[k % len(colors)]
        swatch = Dot(radius=0.08, color=color)
        name = formula(wave_formula_tex(dim), size * 1.2, color)
        rows.add(VGroup(swatch, name).arrange(RIGHT, buff=0.15))
    return rows.arrange(DOWN, buff=0.18, aligned_edge=LEFT)


__all__ = ["LabelledNumbers", "WavePlot", "entry", "legend", "vocabulary_rows", "wave_formula_tex", "wave_frequency",
]
