"""The decoder's side of the story: probabilities as bars, logits over a vocabulary too wide to show,
and the decoder's stream beside the encoder's memory (where cross-attention begins).

Every number drawn here carries its manifest record, like `MatrixView`'s: `ProbBars` writes
each probability from the traced tensor it is given, never one it computed.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Line, Rectangle, VGroup

from . import palette
from .components import MatrixView, Values, WeightBlock, cell_width, label, number, shape_text, token
from .glyphs import set_baseline
from .layout import LABEL, NUMBER, SMALL
from .words import next_tokens, vocabulary  # the decoder scenes' words, re-exported


def top_k(row: np.ndarray, k: int) -> list[int]:
    """Indices of the `k` largest entries of `row`, largest first (ties: the lower index first)."""
    order = np.lexsort((np.arange(len(row)), -np.asarray(row, dtype=np.float64)))
    return [int(i) for i in order[:k]]


def predicted_columns(probs: np.ndarray, limit: int | None = None) -> list[int]:
    """The words some position predicts (each row's argmax), in order of first appearance."""
    cols: list[int] = []
    for row in probs:
        w = int(row.argmax())
        if w not in cols:
            cols.append(w)
    return cols if limit is None else cols[:limit]


class ProbBars(VGroup):
    """Probabilities as horizontal bars: the word, a bar as long as its probability, the number.

    `values` is a one-row view of a traced probability tensor (e.g. a row of
    `unembed.hook_probs`); `cols` are the columns (vocabulary ids) to draw, top first; `words`
    names every column of the tensor. The bar of `highlight` (a column) is drawn in the
    highlight colour. Every number carries its manifest record; one that would sit on the faint line of
    probability 1 (a bar near 0.9, as label smoothing leaves them) stands just past it. `word_color` colours the words
    (default: the decoder's; BERT's are the encoder's).
    """

    def __init__(self, values: Values, cols: list[int], words: list[str], length: float = 4.0,
                 bar_height: float = 0.36, gap: float = 0.16, font_size: float = NUMBER, word_size: float = 26,
                 color=palette.DECODER, highlight: int | None = None, decimals: int = 2, word_color=None):
        super().__init__()
        self.values = values
        self.cols = list(cols)
        data = values.data[0]
        self.words, self.bars, self.numbers = VGroup(), VGroup(), VGroup()
        self._rows: dict[int, VGroup] = {}
        step = bar_height + gap
        for i, c in enumerate(self.cols):
            y = -i * step
            p = float(data[c])
            fill = palette.HIGHLIGHT if c == highlight else color
            bar = Rectangle(width=max(p * length, 0.02), height=bar_height, stroke_width=0)
            bar.set_fill(fill, opacity=0.85)
            bar.move_to([0, y, 0], aligned_edge=LEFT)
            word = token(words[c], palette.HIGHLIGHT if c == highlight else (word_color or palette.DECODER), word_size)
            word.move_to([-0.2, y, 0], aligned_edge=RIGHT)
            num = number(values.shown(0, c, decimals), font_size, palette.TEXT)
            x = bar.get_right()[0] + 0.15
            if x < length + 0.15 and x + num.width > length - 0.05:  # it would sit on the line of probability 1
                x = length + 0.15
            num.move_to([x, y, 0], aligned_edge=LEFT)
            set_baseline(num, y - font_size / 48 * 0.3)
            set_baseline(word, y - font_size / 48 * 0.3)
            self.words.add(word)
            self.bars.add(bar)
            self.numbers.add(num)
            self._rows[c] = VGroup(word, bar, num)
        axis = Line([0, gap / 2, 0], [0, -(len(self.cols) - 1) * step - bar_height / 2 - gap / 2, 0],
                    color=palette.MUTED, stroke_width=2)
        # the scale: a bar this long would be probability 1
        one = Line([length, axis.get_top()[1], 0], [length, axis.get_bottom()[1], 0], color=palette.FAINT, stroke_width=2)
        self.axis = VGroup(axis, one)
        self.add(self.axis, self.bars, self.words, self.numbers)

    def row(self, col: int) -> VGroup:
        return self._rows[col]


def vocab_matrix(values: Values, cols: list[int], name: str, words: list[str], color=palette.TEXT,
                 row_labels=None, max_rows: int = 10, decimals: int = 2, word_size: float = 20,
                 where: str | None = None) -> MatrixView:
    """A [positions, vocabulary] tensor (logits, probabilities) shown on a few chosen word columns.

    The vocabulary is far too wide to show: only `cols` appear, each headed by its word, and
    ⋯ after the last says the rest are folded; the shape shown is the whole tensor's.
    """
    shown = values.select(cols=cols)
    labels = [token(words[c], palette.DECODER, word_size) for c in cols]
    width = max(cell_width([shown], decimals), max(lab.width for lab in labels) + 0.2)
    view = MatrixView(shown, name, color, row_labels=row_labels, col_labels=labels, max_rows=max_rows,
                      max_cols=len(cols), decimals=decimals, col_width=width, show_shape=False)
    view.title.add(label(shape_text(*values.shape), LABEL, palette.MUTED))
    if where:
        view.title.add(label(where, SMALL, palette.MUTED))
    view.title.arrange(RIGHT, buff=0.25, aligned_edge=DOWN)
    view.title.next_to(VGroup(view.brackets, view.col_labels), UP, buff=0.15)
    more = label("\u22ef", NUMBER, palette.MUTED)
    more.next_to(view.brackets[1], RIGHT, buff=0.15)
    view.more = more
    view.add(more)
    return view


def vocab_weights(values: Values, cols: list[int], name: str, cell: float = 0.17) -> WeightBlock:
    """A [d_model, vocabulary] weight (W_U) drawn on the chosen word columns, titled with its whole shape."""
    block = WeightBlock(values.select(cols=cols), name, cell=cell)
    title = block[2]  # WeightBlock adds (squares, frame, title); title = (name, shape)
    whole = label(shape_text(*values.shape), LABEL * 0.9).move_to(title[1])
    title.remove(title[1])
    title.add(whole)
    more = label("\u22ef", NUMBER, palette.MUTED).next_to(block[1], RIGHT, buff=0.1)
    block.add(more)
    return block


def key_labels(trace, stack: str = "decoder", size: float = 20) -> list[VGroup]:
    """Column labels for a stack's positions as keys: the token each position reads (no "→ next")."""
    color = palette.DECODER if stack == "decoder" else palette.ENCODER
    return [token(w, color, size) for w in trace.tokens(stack)]


__all__ = ["vocabulary", "next_tokens", "ProbBars", "top_k", "predicted_columns", "vocab_matrix", "vocab_weights",
           "key_labels"]
