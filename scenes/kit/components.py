"""Shared building blocks: real-valued matrices, attention grids, token labels, formulas.

A component that puts a number on screen attaches a `Shown` record to it (tensor,
index, exact text); the base scene collects those records into the values manifest
as the mobject enters the screen.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Dot,
    ManimColor,
    MathTex,
    Rectangle,
    Square,
    SurroundingRectangle,
    VGroup,
    VMobject,
)

from . import palette
from .cache import from_shared_files
from .glyphs import baseline, glyph_string, plain_text, set_baseline, text_width
from .layout import CAPTION, CAPTION_LINES, FORMULA, LABEL, MATRIX_NAME, NUMBER, SAFE_WIDTH, SMALL, TOKEN
from .manifest import NEG_INF, Shown, format_value
from .words import next_tokens

NUMBER_SIZE = NUMBER
LABEL_SIZE = LABEL
TOKEN_SIZE = TOKEN


# ---------------------------------------------------------------------------
# Where numbers come from
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Values:
    """A 2-D view of a traced tensor that remembers each entry's index in the tensor.

    `prefix` fixes the leading indices (e.g. the head); `rows`/`cols` are the original
    indices of the rows and columns shown; `transposed` swaps the last two.
    """

    trace: str
    tensor: str
    data: np.ndarray
    prefix: tuple[int, ...] = ()
    rows: tuple[int, ...] | None = None
    cols: tuple[int, ...] | None = None
    transposed: bool = False
    vector: bool = False  # a 1-D tensor shown as one row (or, transposed, one column)

    def __post_init__(self):
        if self.data.ndim != 2:
            raise ValueError(f"{self.tensor}{list(self.prefix)} is {self.data.ndim}-D; a matrix view needs 2-D")
        if self.rows is None:
            object.__setattr__(self, "rows", tuple(range(self.data.shape[0])))
        if self.cols is None:
            object.__setattr__(self, "cols", tuple(range(self.data.shape[1])))

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]

    def index(self, r: int, c: int) -> tuple[int, ...]:
        i, j = self.rows[r], self.cols[c]
        if self.vector:
            return self.prefix + ((i,) if self.transposed else (j,))
        return self.prefix + ((j, i) if self.transposed else (i, j))

    def shown(self, r: int, c: int, decimals: int) -> Shown:
        return Shown(self.trace, self.tensor, self.index(r, c), format_value(float(self.data[r, c]), decimals))

    @property
    def T(self) -> "Values":
        return replace(self, data=self.data.T, rows=self.cols, cols=self.rows, transposed=not self.transposed)

    def select(self, rows=None, cols=None) -> "Values":
        rows = list(range(self.shape[0])) if rows is None else list(rows)
        cols = list(range(self.shape[1])) if cols is None else list(cols)
        return replace(
            self,
            data=self.data[np.ix_(rows, cols)],
            rows=tuple(self.rows[r] for r in rows),
            cols=tuple(self.cols[c] for c in cols),
        )


def number(shown: Shown, font_size: float, color) -> VGroup:
    """A number as plain glyphs, carrying its manifest record."""
    mob = glyph_string(shown.shown, font_size, color)
    mob.shown = shown  # type: ignore[attr-defined]
    return mob


def without(group: VGroup, *mobjects) -> VGroup:
    """The members of `group` other than `mobjects`."""
    skip = {id(m) for m in mobjects}
    return VGroup(*(m for m in group if id(m) not in skip))


def shown_in(mobject) -> list[Shown]:
    """Every manifest record inside `mobject`."""
    return [m.shown for m in mobject.get_family() if hasattr(m, "shown")]


# ---------------------------------------------------------------------------
# Text: tokens, labels, captions, formulas
# ---------------------------------------------------------------------------


def label(text: str, size: float = LABEL_SIZE, color=palette.MUTED, **kw) -> VGroup:
    return plain_text(text, size, color, **kw)


def token(text: str, color, size: float = TOKEN_SIZE) -> VGroup:
    """A token exactly as the model sees it (`<unk>` included), shown literally."""
    return plain_text(text, size, color)


def decoder_row_label(tokens: list[str], t: int, size: float = TOKEN_SIZE, after_last: str = "<eos>",
                      color=palette.DECODER) -> VGroup:
    """Decoder row t reads token t and helps predict token t+1: show both ("le → chat")."""
    nxt = tokens[t + 1] if t + 1 < len(tokens) else after_last
    here = token(tokens[t], color, size)
    ahead = plain_text(f"\u2192 {nxt}", size * 0.85, palette.MUTED)
    return words_row([here, ahead], buff=0.12)


STACK_COLORS = {"encoder": palette.ENCODER, "decoder": palette.DECODER}


def stack_labels(trace, stack: str, size: float = TOKEN_SIZE) -> list[VGroup]:
    """Row labels for any stack's positions, in the stack's colour.

    An encoder's rows (the translator's, BERT's) are its tokens; a decoder's (the
    translator's, GPT's) read a token and help predict the next: "le → chat".
    """
    tokens = trace.tokens(stack)
    color = STACK_COLORS[stack]
    if stack == "decoder":
        if trace.model == "translator":
            after = next_tokens(trace)[-1]
        else:
            after = "?"  # GPT: what comes after the prompt is the scene's question
        return [decoder_row_label(tokens, t, size, after_last=after, color=color) for t in range(len(tokens))]
    return [token(w, color, size) for w in tokens]


def words_row(words: list, buff: float = 0.25) -> VGroup:
    """Words side by side on one baseline, as in a line of text."""
    row = VGroup(*words).arrange(RIGHT, buff=buff)
    y = baseline(words[0])
    for w in words[1:]:
        set_baseline(w, y)
    return row


def wrapped_words(words: list, width: float, buff: float = 0.25, line_buff: float = 0.3) -> VGroup:
    """Words laid out like a paragraph: side by side on common baselines, onto a new line when
    the next one would pass `width`. Returns a VGroup of lines (each a VGroup of the words)."""
    lines: list[list] = [[]]
    x = 0.0
    for w in words:
        if lines[-1] and x + buff + w.width > width:
            lines.append([])
            x = 0.0
        x += (buff if lines[-1] else 0.0) + w.width
        lines[-1].append(w)
    rows = VGroup(*(words_row(line, buff=buff) for line in lines))
    rows.arrange(DOWN, buff=line_buff, aligned_edge=LEFT)
    return rows


def tex_escape(text: str) -> str:
    """Text safe inside LaTeX's \\text{}: every special character is printed, none acts."""
    table = {
        "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
        "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    }
    return "".join(table.get(ch, ch) for ch in text)


def formula(tex: str, size: float = FORMULA, color=palette.TEXT, **part_colors) -> MathTex:
    """A formula in the one notation of the project.

    Every occurrence of a key of `part_colors` is coloured (``Q=palette.QUERY``). Only
    our own LaTeX goes here; a user's text goes through `tex_escape` first.
    """
    key = (tex, float(size), ManimColor(color).to_hex(), tuple(sorted((k, ManimColor(v).to_hex())
                                                                      for k, v in part_colors.items())))
    if key not in _FORMULAS:  # a layout search builds the same formulas again and again: parse each once
        _FORMULAS[key] = from_shared_files(
            lambda: MathTex(tex, font_size=size, color=color, tex_to_color_map=part_colors))
    return _FORMULAS[key].copy()


_FORMULAS: dict[tuple, MathTex] = {}  # formulas made in this process, copied for each use


def shape_text(rows: int, cols: int) -> str:
    return f"{rows} \u00d7 {cols}"


NBSP = "\u00a0"


def caption(text: str, size: float = CAPTION, width: float = SAFE_WIDTH - 0.8) -> VGroup:
    """One sentence at the bottom of the frame, wrapped onto two lines where it is too wide.
    A shape ("11 × 8") is never broken across the lines."""
    glued = re.sub("(\\S+) \u00d7 (?=\\S)", lambda m: f"{m[1]}{NBSP}\u00d7{NBSP}", text)
    words = [w.replace(NBSP, " ") for w in glued.split(" ") if w]  # (str.split() would split at NBSP too)
    lines: list[str] = []
    for w in words:
        trial = f"{lines[-1]} {w}" if lines else w
        if lines and text_width(trial, size) <= width:
            lines[-1] = trial
        else:
            lines.append(w)
    group = VGroup(*(plain_text(line, size, palette.TEXT) for line in lines))
    return group.arrange(DOWN, buff=0.14)


def caption_fits(text: str) -> bool:
    """Whether `text` takes no more lines than the stage leaves a caption (layout.CAPTION_LINES)."""
    return len(caption(text)) <= CAPTION_LINES


def cell_width(values: list[Values], decimals: int, font_size: float = NUMBER_SIZE) -> float:
    """A column width that fits every number of every view: matrices that share it line up."""
    longest = max((format_value(float(v), decimals) for vals in values for v in vals.data.ravel()), key=len)
    return glyph_string(longest.replace("1", "0"), font_size, palette.TEXT).advance + font_size / 60


# ---------------------------------------------------------------------------
# A matrix of real values
# ---------------------------------------------------------------------------


def _fold(n: int, limit: int) -> list[int | None]:
    """Indices to show; None marks the ellipsis (first ones, ⋯, the last one)."""
    if n <= limit:
        return list(range(n))
    return list(range(limit - 2)) + [None, n - 1]


def _dots(vertical: bool, size: float, color) -> VGroup:
    """An ellipsis of three dots (vertical: ⋮), centred at the origin."""
    return _dots_made(vertical, float(size), ManimColor(color).to_hex()).copy()


@functools.lru_cache(maxsize=None)
def _dots_made(vertical: bool, size: float, color: str) -> VGroup:
    # made once, copied for each use: a layout search folds a matrix into ⋯ thousands of times, and building a
    # Dot costs ~4 times copying one
    r = size / 900
    step = size / 160
    dots = VGroup(*(Dot(radius=r, color=color) for _ in range(3)))
    return dots.arrange(DOWN if vertical else RIGHT, buff=step)


def _bracket(height: float, side: int, color, width: float = 0.1) -> VMobject:
    """A square bracket; side = -1 for the left one, +1 for the right one."""
    x = -side * width
    b = VMobject(stroke_color=color, stroke_width=2.5)
    b.set_points_as_corners([[x, height / 2, 0], [0, height / 2, 0], [0, -height / 2, 0], [x, -height / 2, 0]])
    return b


class MatrixView(VGroup):
    """A matrix of real values, coloured by value, with its name, shape, place and row labels.

    Rows past `max_rows` and columns past `max_cols` fold into ellipses, so every number
    shown stays readable (`row_ids` picks the rows instead: any indices, None for ⋯). Cells where
    `mask` is True show −∞ (a blocked attention score). Parts: `entries` (the numbers), `brackets`, `title` (name and
    shape), `row_labels`; `cell(r, c)`, `row_box(r)`, `col_box(c)` address shown cells by
    their index in the view.
    """

    def __init__(
        self,
        values: Values,
        name: str,
        color=palette.TEXT,
        where: str | None = None,
        row_labels: list[VGroup] | None = None,
        col_labels: list[VGroup] | None = None,
        max_rows: int = 10,
        max_cols: int = 8,
        decimals: int = 2,
        font_size: float = NUMBER_SIZE,
        show_shape: bool = True,
        col_width: float | None = None,
        title_side=UP,
        mask: np.ndarray | None = None,
        row_ids: list[int | None] | None = None,
    ):
        super().__init__()
        self.values = values
        data = values.data
        finite = data[~mask] if mask is not None and (~mask).any() else data
        scale = float(np.abs(finite).max()) or 1.0
        # `row_ids` picks the rows to show (None: an ellipsis row), e.g. a sentence's rows of a folded vocabulary
        self.row_ids = list(row_ids) if row_ids is not None else _fold(data.shape[0], max_rows)
        self.col_ids = _fold(data.shape[1], max_cols)
        self._cells: dict[tuple[int, int], VGroup] = {}

        nums = {}
        for r in self.row_ids:
            for c in self.col_ids:
                if r is None or c is None:
                    continue
                if mask is not None and mask[r, c]:  # blocked: −∞, recorded against the unmasked tensor's cell
                    nums[r, c] = number(Shown(values.trace, values.tensor, values.index(r, c), NEG_INF), font_size,
                                        palette.NEGATIVE)
                else:
                    nums[r, c] = number(values.shown(r, c, decimals), font_size, palette.value_to_color(data[r, c], scale))
        col_w = max(max(m.advance for m in nums.values()) + font_size / 60, col_width or 0.0)
        row_h = font_size / 48 * 0.8
        self.col_w, self.row_h = col_w, row_h
        entries = VGroup()
        for i, r in enumerate(self.row_ids):
            for j, c in enumerate(self.col_ids):
                center = np.array([j * col_w, -i * row_h, 0.0])
                if r is None or c is None:
                    if r is None and c is None:
                        continue
                    mob = _dots(vertical=r is None, size=font_size, color=palette.MUTED)
                    mob.move_to(center)
                else:
                    mob = nums[r, c]
                    # right-align on a common baseline, so decimal points line up
                    mob.shift(center + np.array([col_w / 2 - font_size / 120 - mob.advance, -font_size / 48 * 0.24, 0]))
                    self._cells[r, c] = mob
                entries.add(mob)
        self.entries = entries
        pad = font_size / 48 * 0.18
        h = len(self.row_ids) * row_h + pad
        left = _bracket(h, -1, palette.MUTED).move_to([-col_w / 2 - pad / 2, -(len(self.row_ids) - 1) * row_h / 2, 0], aligned_edge=RIGHT)
        right = _bracket(h, 1, palette.MUTED).move_to(
            [(len(self.col_ids) - 0.5) * col_w + pad / 2, -(len(self.row_ids) - 1) * row_h / 2, 0], aligned_edge=LEFT
        )
        self.brackets = VGroup(left, right)
        self.add(self.brackets, entries)

        self.name = formula(name, size=MATRIX_NAME, color=color)
        title = [self.name]
        if show_shape:
            title.append(label(shape_text(*data.shape), LABEL_SIZE, palette.MUTED))
        self.title = VGroup(*title).arrange(RIGHT, buff=0.25, aligned_edge=DOWN)
        if where:
            self.title.add(label(where, SMALL, palette.MUTED).next_to(self.title, RIGHT, buff=0.25, aligned_edge=DOWN))
        self.add(self.title)

        self.row_labels = VGroup()
        if row_labels is not None:
            for i, r in enumerate(self.row_ids):
                if r is None:
                    continue
                lab = row_labels[r]
                lab.move_to([left.get_left()[0] - 0.15, -i * row_h, 0], aligned_edge=RIGHT)
                set_baseline(lab, -i * row_h - font_size / 48 * 0.24)
                self.row_labels.add(lab)
            self.add(self.row_labels)
        self.col_labels = VGroup()
        if col_labels is not None:
            for j, c in enumerate(self.col_ids):
                if c is None:
                    continue
                lab = col_labels[c]
                lab.move_to([j * col_w, 0, 0])
                set_baseline(lab, font_size / 48 * 0.5)
                self.col_labels.add(lab)
            self.add(self.col_labels)
        body = VGroup(self.brackets, self.col_labels, self.row_labels)
        if np.allclose(title_side, LEFT):
            self.title.next_to(body, LEFT, buff=0.25)
        else:
            self.title.next_to(VGroup(self.brackets, self.col_labels), title_side, buff=0.15)

    def align_grid(self, other: "MatrixView") -> "MatrixView":
        """Scale and move so that cells line up with `other`'s (same column width and rows): numbers can swap in place."""
        self.scale(other.brackets[0].height / self.brackets[0].height)
        return self.shift(other.brackets[0].get_corner(UP + RIGHT) - self.brackets[0].get_corner(UP + RIGHT))

    def cell(self, r: int, c: int) -> VGroup | None:
        return self._cells.get((r, c))

    def _box(self, cells: list[VGroup], color) -> Rectangle:
        group = VGroup(*cells)
        return SurroundingRectangle(group, color=color, buff=0.06, stroke_width=3)

    def row_box(self, r: int, color=palette.HIGHLIGHT) -> Rectangle:
        return self._box([m for (i, _), m in self._cells.items() if i == r], color)

    def col_box(self, c: int, color=palette.HIGHLIGHT) -> Rectangle:
        return self._box([m for (_, j), m in self._cells.items() if j == c], color)

    def row_cells(self, r: int) -> VGroup:
        return VGroup(*(m for (i, _), m in self._cells.items() if i == r))


# ---------------------------------------------------------------------------
# An attention grid
# ---------------------------------------------------------------------------


class AttentionGrid(VGroup):
    """Squares whose brightness is the attention weight; queries are rows, keys are columns.

    Words label both edges; numbers are written in the squares when they fit
    (`numbers=True`). Cells blocked by `mask` stay dark and empty. Rows past `max_rows`
    and columns past `max_cols` fold into ellipses (the first ones, ⋯, the last), like
    `MatrixView`'s, so a long sentence folds instead of shrinking; `col_ids` shows exactly these
    columns instead (None: ⋯), e.g. `encoding.fold_keeping`'s. `square(r, c)` takes indices of the full pattern
    and gives None for a folded cell.
    """

    def __init__(
        self,
        values: Values,
        row_labels: list[VGroup],
        col_labels: list[VGroup],
        cell: float = 0.62,
        cell_width: float | None = None,
        color=palette.ATTENTION,
        numbers: bool = True,
        mask: np.ndarray | None = None,
        decimals: int = 2,
        font_size: float = 18,
        max_rows: int = 24,
        max_cols: int = 24,
        col_ids: list[int | None] | None = None,
    ):
        super().__init__()
        self.values = values
        w = values.data
        n_rows, n_cols = w.shape
        cw, ch = cell_width or cell, cell
        self.row_ids = _fold(n_rows, max_rows)
        self.col_ids = list(col_ids) if col_ids is not None else _fold(n_cols, max_cols)
        self.squares = VGroup()
        self.numbers = VGroup()
        self.dots = VGroup()
        self._squares: dict[tuple[int, int], Rectangle] = {}
        blank = Rectangle(width=cw - 0.04, height=ch - 0.04, stroke_color=palette.FAINT, stroke_width=1)  # at 0
        for i, r in enumerate(self.row_ids):
            for j, c in enumerate(self.col_ids):
                center = [j * cw, -i * ch, 0]
                if r is None or c is None:
                    if (r is None) != (c is None):
                        self.dots.add(_dots(vertical=r is None, size=font_size * 1.3, color=palette.MUTED).move_to(center))
                    continue
                sq = blank.copy()  # copying one costs a quarter of making one: a long sentence's grid has hundreds
                blocked = mask is not None and bool(mask[r, c])
                sq.set_fill(color, opacity=0.0 if blocked else float(w[r, c]))
                sq.shift(center)
                self.squares.add(sq)
                self._squares[r, c] = sq
                if numbers and not blocked:
                    ink = palette.BACKGROUND if w[r, c] > 0.55 else (palette.TEXT if w[r, c] >= 0.1 else palette.MUTED)
                    num = number(values.shown(r, c, decimals), font_size, ink)
                    num.move_to(sq)
                    self.numbers.add(num)
        self.add(self.squares, self.numbers, self.dots)
        self.row_labels = VGroup()
        for i, r in enumerate(self.row_ids):
            if r is None:
                continue
            lab = row_labels[r]
            lab.move_to([-cw / 2 - 0.15, -i * ch, 0], aligned_edge=RIGHT)
            set_baseline(lab, -i * ch - 0.1)
            self.row_labels.add(lab)
        self.col_labels = VGroup()
        shown_cols = [(j, c) for j, c in enumerate(self.col_ids) if c is not None]
        tilt = max((col_labels[c].width for _, c in shown_cols), default=0) > cw * 0.92
        for j, c in shown_cols:
            lab = col_labels[c]
            if tilt:  # too wide to stand side by side: lean them, 3Blue1Brown style
                lab.rotate(np.pi / 4)
                lab.move_to([j * cw, ch / 2 + 0.08, 0], aligned_edge=DOWN + LEFT).shift(0.12 * LEFT)
            else:
                lab.move_to([j * cw, 0, 0])
                set_baseline(lab, ch / 2 + 0.14)
            self.col_labels.add(lab)
        self.add(self.row_labels, self.col_labels)

    def square(self, r: int, c: int) -> Rectangle | None:
        return self._squares.get((r, c))

    @property
    def shown_rows(self) -> list[int]:
        return [r for r in self.row_ids if r is not None]

    @property
    def shown_cols(self) -> list[int]:
        return [c for c in self.col_ids if c is not None]


# ---------------------------------------------------------------------------
# A weight matrix as a picture
# ---------------------------------------------------------------------------


class WeightBlock(VGroup):
    """A parameter matrix drawn as coloured squares (blue positive, red negative): its real
    values as a picture, compact enough to stand between the matrices it multiplies."""

    def __init__(self, values: Values, name: str, color=palette.WEIGHT, cell: float = 0.17, where: str | None = None):
        super().__init__()
        self.values = values
        data = values.data
        scale = float(np.abs(data).max()) or 1.0
        squares = VGroup()
        blank = Square(side_length=cell, stroke_width=0)  # at the origin; copied, as AttentionGrid's cells are
        for r in range(data.shape[0]):
            for c in range(data.shape[1]):
                t = min(abs(float(data[r, c])) / scale, 1.0)
                sq = blank.copy()
                sq.set_fill(palette.POSITIVE if data[r, c] >= 0 else palette.NEGATIVE, opacity=0.1 + 0.9 * t)
                sq.shift([c * cell, -r * cell, 0])
                squares.add(sq)
        frame = SurroundingRectangle(squares, buff=0.04, stroke_color=color, stroke_width=2)
        self.squares = squares
        self.name = formula(name, size=36, color=color)
        title = VGroup(self.name, label(shape_text(*data.shape), LABEL_SIZE * 0.9)).arrange(DOWN, buff=0.08)
        title.next_to(frame, UP, buff=0.12)
        self.add(squares, frame, title)
        if where:
            self.add(label(where, SMALL).next_to(frame, DOWN, buff=0.1))
