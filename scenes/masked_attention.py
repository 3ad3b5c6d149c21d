"""Masked self-attention: the decoder writes one word at a time, so no word may look ahead.

Every number is read from the trace of the user's sentence: one head of the decoder's causal
self-attention — its queries, keys, scores, the mask, the weights — and what it hands on,
after add & norm, to cross-attention as its queries.

    manim -ql scenes/masked_attention.py MaskedAttention      # the default sentence
    python render.py --scene masked_attention --sentence "…"  # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Arrow, Create, SurroundingRectangle, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, CrossFade, Slide, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import describe_pattern, quote
from scenes.kit.components import (
    AttentionGrid,
    MatrixView,
    cell_width,
    formula,
    label,
    plain_text,
    token,
    without,
    words_row,
)
from scenes.kit.options import Head, Layer
from scenes.kit.stream import memory_and_stream
from scenes.kit.vocab import key_labels


class MaskedAttention(ReelScene):
    name = "masked_attention"
    summary = "causal self-attention on the French: future cells become \u2212\u221e, then exact zeros"
    options = (Layer(stack="decoder"), Head(attention="decoder.blocks.{layer}.self_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.why()
        self.score()
        self.mask()
        self.softmax()
        self.hand_on()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.p = f"decoder.blocks.{self.layer}"  # layer, head, the attention (self.a), self.where: from the options
        self.tgt = t.tokens("decoder")
        self.d_head = t.config["d_head"]
        self.blocked = t[f"{self.a}.hook_mask"]
        self.views = {n: self.values(f"{self.a}.{n}", self.head)
                      for n in ("hook_scores", "hook_scores_scaled", "hook_pattern")}
        self.width = cell_width(list(self.views.values()), 2)

    def rows(self, size: float = 24):
        return self.labels("decoder", size)

    def cols(self, size: float = 20):
        return key_labels(self.trace, "decoder", size)

    def swap(self, old, new) -> None:
        """`new` replaces `old` on screen (after a cross-fade of some of their parts)."""
        self.remove(*old.get_family())
        self.add(new)

    def square(self, tensor: str, name: str, color, rows: int, cols: int, mask=None, size: float = 24,
               where: bool = True) -> MatrixView:
        """A T × T matrix of this head: rows the French positions as queries, columns as keys."""
        labels = self.cols()
        width = max(self.width, max(lab.width for lab in labels) + 0.15)
        return MatrixView(self.views[tensor], name, color, row_labels=self.rows(size), col_labels=labels,
                          max_rows=rows, max_cols=cols, col_width=width, mask=mask,
                          where=self.where if where else None)

    # ------------------------------------------------------------------ beats
    def why(self) -> None:
        with self.beat("why"):
            title = plain_text("Masked self-attention", 56, palette.TEXT).to_edge(UP, buff=0.5)
            sub = label(f"{self.where}  \u00b7  every number computed by the model on your sentence", 24)
            sub.next_to(title, DOWN, buff=0.2)
            words = [token(w, palette.DECODER, 30) for w in self.tgt]
            line = self.fit(words_row(words, buff=0.35), 0.4 * UP)
            time = Arrow(line.get_left() + 0.5 * DOWN, line.get_right() + 0.5 * DOWN, buff=0,
                         color=palette.MUTED, stroke_width=4)
            when = label("the order in which the decoder writes them: time", 24).next_to(time, DOWN, buff=0.15)
            self.play(Appear(VGroup(title, sub)), run_time=self.timing.build)
            for w in words:  # written one after the other
                self.play(Appear(w), run_time=min(self.timing.swap, 3.0 / len(words)))
            self.play(Create(time), Appear(when), run_time=self.timing.fast)
            self.say("The decoder writes its translation one word at a time, each from the words before it.")
            self.say("When it writes a word, the words after it do not exist yet: no position may look ahead.")
            self.say("Token order is time order, whatever the script's direction: Arabic, written right to left, "
                     "needs this same mask.", pause=self.timing.read)
            self.clear_stage()

    def score(self) -> None:
        with self.beat("scores"):
            h, T, dk = self.head, len(self.tgt), self.d_head
            self.show_heading("Every position scores every position",
                              formula(rf"Q\,{{K}}^\top:\ ({T}\times {dk})\cdot({dk}\times {T}) = ({T}\times {T})", 34,
                                      Q=palette.QUERY, K=palette.KEY))
            fold: dict = {}
            kw = max(self.width, max(lab.width for lab in self.cols()) + 0.15)

            def make(rows: int, cols: int) -> VGroup:
                fold.update(rows=rows, cols=cols)
                q = MatrixView(self.values(f"{self.a}.hook_q", h), "Q", palette.QUERY, row_labels=self.rows(),
                               max_rows=rows, max_cols=cols, title_side=DOWN)
                kt = MatrixView(self.values(f"{self.a}.hook_k", h).T, r"K^\top", palette.KEY, col_labels=self.cols(),
                                max_rows=cols, max_cols=rows, col_width=kw, title_side=LEFT)
                s = MatrixView(self.views["hook_scores"], r"Q K^\top", palette.TEXT, max_rows=rows, max_cols=rows,
                               col_width=kw, title_side=DOWN)
                # a matrix product laid out: Kᵀ above the result, Q to its left, rows and columns lined up
                q.next_to(s, LEFT, buff=0.4)
                q.shift((s.entries.get_top()[1] - q.entries.get_top()[1]) * UP)
                kt.next_to(s, UP, buff=0.25)
                kt.shift((s.brackets[0].get_right()[0] - kt.brackets[0].get_right()[0]) * RIGHT)
                return VGroup(q, kt, s)

            q, kt, scores = self.fit_folding(make, T, dk, center=0.2 * DOWN, max_height=5.6)
            self.play(Appear(q), Appear(kt), run_time=self.timing.build)
            t = max(r for r in scores.row_ids if r is not None)  # the last shown row: its query meets every key
            s0 = min(c for c in scores.col_ids if c is not None)
            qb, kb = q.row_box(t, palette.QUERY), kt.col_box(s0, palette.KEY)
            self.play(Create(qb), Create(kb), run_time=self.timing.fast)
            cell = scores.cell(t, s0)
            self.play(Appear(VGroup(scores.title, scores.brackets, cell)), run_time=self.timing.fast)
            self.say(f"Row \u201c{self.tgt[t]}\u201d meets column \u201c{self.tgt[s0]}\u201d: one dot product.",
                     pause=self.timing.fast)
            self.play(Vanish(qb), Vanish(kb), Appear(without(scores.entries, cell)),
                      run_time=self.timing.build)
            self.say(f"Queries and keys both come from the decoder's own {T} positions: a {T} \u00d7 {T} square.",
                     pause=self.timing.fast)
            scaled = MatrixView(self.views["hook_scores_scaled"], rf"Q K^\top / \sqrt{{{dk}}}", palette.TEXT,
                                max_rows=fold["rows"], max_cols=fold["rows"], col_width=kw,
                                title_side=DOWN).align_grid(scores)
            self.play(CrossFade(scores.entries, scaled.entries), CrossFade(scores.title, scaled.title),
                      run_time=self.timing.build)
            self.swap(scores, scaled)
            self.say(f"Divided by \u221a{dk}, as in every attention.")
            self.clear_stage()

    def mask(self) -> None:
        with self.beat("mask", poster=True):
            T = len(self.tgt)
            self.show_heading("The mask: no looking ahead",
                              formula(r"S_{t,s} = -\infty \ \text{ where } s > t", 34))
            fold: dict = {}

            def make(rows: int, cols: int):
                fold.update(rows=rows)
                return self.square("hook_scores_scaled", r"S = Q K^\top / \sqrt{d_k}", palette.TEXT, rows, rows)

            scaled = self.fit_folding(make, T, 1, center=layout.STAGE_CENTER)  # one count folds both: `rows` square
            masked = self.square("hook_scores_scaled", r"S\ \text{masked}", palette.TEXT, fold["rows"], fold["rows"],
                                 mask=self.blocked).align_grid(scaled)
            self.play(Appear(scaled), run_time=self.timing.build)
            blocked = [(r, c) for r in scaled.row_ids for c in scaled.col_ids
                       if r is not None and c is not None and self.blocked[r, c]]
            old = VGroup(*(scaled.cell(r, c) for r, c in blocked))
            new = VGroup(*(masked.cell(r, c) for r, c in blocked))
            self.play(CrossFade(old, new), CrossFade(scaled.title, masked.title), run_time=self.timing.build)
            self.swap(scaled, masked)
            self.say("Every cell above the diagonal is a key in the future: its score becomes \u2212\u221e.",
                     pause=self.timing.look)
            self.masked = masked
            self.fold = fold["rows"]

    def softmax(self) -> None:
        with self.beat("softmax"):
            T = len(self.tgt)
            masked = self.masked
            pattern = self.square("hook_pattern", "A", palette.ATTENTION, self.fold, self.fold,
                                  mask=None).align_grid(masked)
            self.turn(CrossFade(masked.entries, pattern.entries), CrossFade(masked.title, pattern.title),
                      run_time=self.timing.build)
            self.swap(masked, pattern)
            self.show_heading("Softmax along each row", formula(r"A = \mathrm{softmax}(S)\qquad e^{-\infty} = 0", 34))
            self.say("e to the \u2212\u221e is zero: the future gets exactly 0 weight, and each row's weights still add up to 1.")
            self.turn(Vanish(pattern))
            weights = self.trace[f"{self.a}.hook_pattern"][self.head]
            self.show_heading("Each row sees only the past")
            grid = self.fit_folding(
                lambda rows, cols: AttentionGrid(self.views["hook_pattern"], self.rows(24), self.cols(22), cell=0.5,
                                                 cell_width=0.9, mask=self.blocked, max_rows=rows, max_cols=cols),
                T, T, center=layout.STAGE_CENTER + 0.2 * UP, max_height=layout.STAGE_HEIGHT - 0.4,
            )
            self.play(Appear(grid), run_time=self.timing.build)
            best = [(r, int(weights[r].argmax())) for r in grid.shown_rows]
            boxes = VGroup(*(SurroundingRectangle(grid.square(r, c), color=palette.HIGHLIGHT, buff=0.02, stroke_width=3)
                             for r, c in best if grid.square(r, c) is not None))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.build)
            self.say(self.describe(weights), pause=self.timing.look)
            self.turn(Vanish(boxes), Vanish(grid))

    def describe(self, weights) -> str:
        """What the pattern shows, from its numbers: the first row can only read itself; the rest."""
        first = quote(self.tgt[0])
        rest = describe_pattern(weights, "later positions", "earlier word", mask=self.blocked)
        return f"Row {first} can only read itself. {rest}"

    def hand_on(self) -> None:
        with self.beat("hand on"):
            p, T = self.p, len(self.tgt)
            self.show_heading("Carried forward: add & norm, then cross-attention",
                              formula(r"X = \mathrm{LayerNorm}\big(x + \mathrm{attention}(x)\big)", 34))

            def make(rows: int, cols: int) -> VGroup:
                x = MatrixView(self.values(f"{p}.hook_resid_pre"), "x", palette.DECODER, row_labels=self.rows(),
                               max_rows=rows, max_cols=cols, where="in")
                out = MatrixView(self.values(f"{self.a}.hook_out"), r"\mathrm{attention}(x)", palette.DECODER,
                                 max_rows=rows, max_cols=cols)
                res = MatrixView(self.values(f"{p}.ln1.hook_out"), "X", palette.DECODER, max_rows=rows, max_cols=cols,
                                 where="after add & norm")
                norm = VGroup(plain_text("add & norm", 24, palette.MUTED), formula(r"\longrightarrow", 40))
                norm.arrange(DOWN, buff=0.1)
                row = VGroup(x, formula("+", 40), out, norm, res).arrange(RIGHT, buff=0.3)
                for m in (out, res):
                    m.shift((x.entries.get_top()[1] - m.entries.get_top()[1]) * UP)
                return row

            row = self.fit_folding(make, T, 16, center=layout.STAGE_CENTER)
            x, plus, out, norm, res = row
            self.play(Appear(VGroup(x, plus, out)), run_time=self.timing.build)
            self.play(Appear(norm), run_time=self.timing.fast)
            self.play(Appear(res), run_time=self.timing.build)
            self.say("The output is not thrown away: added to its input and normalised, it becomes X.",
                     pause=self.timing.fast)
            where = res.title[-1]  # X keeps its name, loses "after add & norm" while it moves
            self.turn(Vanish(VGroup(x, plus, out, norm, where)))
            res.title.remove(where)
            # where cross-attention begins: the encoder's memory M on the left, these rows X on the right
            self.show_heading("X asks the questions of cross-attention")
            memory, stream = self.fit_folding(lambda r, c: memory_and_stream(self, self.layer, r, c), 12, 6)
            self.play(Slide(res, stream, scale=stream.brackets.height / res.brackets.height),
                      run_time=self.timing.move)
            self.play(CrossFade(res, stream), run_time=self.timing.fast)
            self.play(Appear(memory), run_time=self.timing.build)
            self.say("Its rows become the queries of cross-attention; the encoder's output M gives the keys and values.",
                     pause=self.timing.read)
            self.clear_stage()
