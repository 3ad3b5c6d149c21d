"""Softmax: one row of scaled scores becomes weights (exponentiate, sum, divide), then every row.

Every number is read from the trace of the user's sentence: the encoder's scaled scores
(`hook_scores_scaled`) and its pattern (`hook_pattern`), for one head of one encoder layer.
The exponentials and the row sums are not tensors of the model: they are shown as *derived*
values (scenes/kit/derived.py), whose manifest records name the tensor they come from.

    manim -ql scenes/softmax.py Softmax                 # the default sentence
    python render.py --scene softmax --sentence "…"     # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Brace, Create, SurroundingRectangle, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear, CrossFade, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import describe_pattern, describe_row, early_cell, named
from scenes.kit.components import AttentionGrid, MatrixView, cell_width, formula, label
from scenes.kit.derived import exp_of, row_sums
from scenes.kit.options import Head, Layer


class Softmax(ReelScene):
    name = "softmax"
    summary = "one row of scores: exponentiate, sum, divide; every row sums to 1; the pattern as a grid"
    options = (Layer(stack="encoder"), Head(attention="encoder.blocks.{layer}.self_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.show_scores()
        self.one_row()
        self.every_row()
        self.show_pattern()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.words = t.tokens("encoder")
        self.n = len(self.words)
        self.dk = t.config["d_head"]
        self.weights = t[f"{self.a}.hook_pattern"][self.head]
        # the row to build by hand: one that has a clear favourite, not on its own word when possible
        self.row, _ = early_cell(self.weights)

    def scaled(self):
        return self.values(f"{self.a}.hook_scores_scaled", self.head)

    def pattern(self):
        return self.values(f"{self.a}.hook_pattern", self.head)

    def word_labels(self, size: float = 22) -> list[VGroup]:
        return self.labels("encoder", size)

    def square(self, rows: int, cols: int, values, name: str, width: float, **kw) -> MatrixView:
        return MatrixView(values, name, palette.TEXT, row_labels=self.word_labels(), col_labels=self.word_labels(20),
                          max_rows=rows, max_cols=cols, col_width=width, where=self.where, **kw)

    # ------------------------------------------------------------------ beats
    def show_scores(self) -> None:
        with self.beat("scores"):
            self.show_heading("Softmax turns scores into weights",
                              formula(r"A = \mathrm{softmax}\big(Q\,{K}^\top / \sqrt{d_k}\big)", 36,
                                      Q=palette.QUERY, K=palette.KEY))
            width = cell_width([self.scaled(), self.pattern()], 2)
            scores = self.fit_folding(
                lambda rows, cols: self.square(rows, cols, self.scaled(), rf"Q K^\top / \sqrt{{{self.dk}}}", width),
                self.n, self.n)
            self.play(Appear(scores), run_time=self.timing.build)
            self.say("Rows are queries, columns are keys: the softmax runs along each row.")
            r = self.row if self.row in scores.row_ids else 0
            box = scores.row_box(r)
            self.play(Create(box), run_time=self.timing.fast)
            self.say(f"Take one row: how the word {named(self.words, r)} scores every word of the sentence.")
            self.clear_stage()

    def one_row(self) -> None:
        with self.beat("one row", poster=True):
            r, n = self.row, self.n
            self.show_heading(f"One row, step by step: {named(self.words, r)}",
                              formula(r"a_j = \frac{e^{x_j}}{\sum_k e^{x_k}}", 36))
            x = self.scaled().select(rows=[r])
            ex = exp_of(x)
            total = row_sums(x, self.trace, "sum_exp")
            a = self.pattern().select(rows=[r])
            width = cell_width([x, ex, a], 2)

            def build(rows: int, cols: int) -> VGroup:
                def line(values, name, color=palette.TEXT, **kw):
                    return MatrixView(values, name, color, max_rows=1, max_cols=cols, col_width=width,
                                      show_shape=False, title_side=LEFT, **kw)

                xs = line(x, "x", col_labels=self.word_labels(20))
                exps = line(ex, "e^{x}")
                ws = line(a, r"a = e^{x} / \textstyle\sum_k e^{x_k}", color=palette.ATTENTION)
                VGroup(xs, exps).arrange(DOWN, buff=0.45, aligned_edge=RIGHT)
                # the sum runs over the whole row, folded entries included: a brace under it, the total below
                brace = Brace(exps.entries, DOWN, buff=0.12, color=palette.MUTED)
                sums = MatrixView(total, r"\sum_k e^{x_k} =", palette.TEXT, show_shape=False, title_side=LEFT)
                sums.next_to(brace, DOWN, buff=0.15)
                ws.next_to(sums, DOWN, buff=0.4)
                ws.shift((exps.get_right()[0] - ws.get_right()[0]) * RIGHT)
                return VGroup(xs, exps, VGroup(brace, sums), ws)

            group = self.fit_folding(build, 1, n)
            xs, exps, sums, ws = group
            self.play(Appear(xs), run_time=self.timing.build)
            self.say(f"The scaled scores of {named(self.words, r)}, one for each of the {n} words.", pause=self.timing.fast)
            self.play(Appear(exps), run_time=self.timing.build)
            self.say("Exponentiate: every score becomes positive, and the larger ones pull far ahead.",
                     pause=self.timing.fast)
            self.play(Appear(sums), run_time=self.timing.build)
            self.say(f"Add all {n} of them up.", pause=self.timing.fast)
            self.play(Appear(ws), run_time=self.timing.build)
            self.say("Divide each one by the sum: weights between 0 and 1 that add up to 1.", pause=self.timing.fast)
            self.say(describe_row(self.weights[r], self.words[r], self.words), pause=self.timing.look)
            self.clear_stage()

    def every_row(self) -> None:
        with self.beat("every row"):
            self.show_heading("Every row, the same way",
                              formula(r"A = \mathrm{softmax}\big(Q\,{K}^\top / \sqrt{d_k}\big)", 36,
                                      Q=palette.QUERY, K=palette.KEY))
            width = cell_width([self.scaled(), self.pattern()], 2)
            fold: dict = {}

            def build(rows: int, cols: int) -> VGroup:
                fold.update(rows=rows, cols=cols)
                scores = self.square(rows, cols, self.scaled(), rf"Q K^\top / \sqrt{{{self.dk}}}", width)
                sums = MatrixView(row_sums(self.pattern(), self.trace, "sum"), r"\sum_k a_k", palette.ATTENTION, max_rows=rows,
                                  show_shape=False, col_width=width)
                # right of the scores, and of their title where a short sentence makes it the wider
                sums.next_to(VGroup(scores.brackets, scores.title), RIGHT, buff=0.5)
                sums.shift((scores.entries.get_top()[1] - sums.entries.get_top()[1]) * UP)
                return VGroup(scores, sums)

            scores, sums = self.fit_folding(build, self.n, self.n)
            weights = self.square(fold["rows"], fold["cols"], self.pattern(), "A", width).align_grid(scores)
            self.play(Appear(scores), run_time=self.timing.build)
            self.play(CrossFade(scores.entries, weights.entries), CrossFade(scores.title, weights.title),
                      run_time=self.timing.build)
            self.say("Each row becomes weights on its own.", pause=self.timing.fast)
            self.play(Appear(sums), run_time=self.timing.build)
            self.say(f"All {self.n} rows add up to 1: every word shares out exactly one unit of attention.")
            self.clear_stage()

    def show_pattern(self) -> None:
        with self.beat("pattern"):
            heading = self.show_heading("The pattern: which word each word reads")
            hint = label("rows: queries   \u00b7   columns: keys   \u00b7   brighter: more weight", 22)
            hint.next_to(heading, DOWN, buff=0.15)
            grid = self.fit_folding(
                lambda rows, cols: AttentionGrid(self.pattern(), self.word_labels(24), self.word_labels(24), cell=0.5,
                                                 cell_width=0.9, max_rows=rows, max_cols=cols),
                self.n, self.n, center=0.05 * DOWN, max_height=5.2,
            )
            self.play(Appear(grid), Appear(hint), run_time=self.timing.build)
            best = [(r, int(self.weights[r].argmax())) for r in grid.shown_rows]
            boxes = VGroup(*(SurroundingRectangle(grid.square(r, c), color=palette.HIGHLIGHT, buff=0.02, stroke_width=3)
                             for r, c in best if grid.square(r, c) is not None))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.build)
            self.say(describe_pattern(self.weights, "words", "word"), pause=self.timing.look)
            self.play(Vanish(boxes), run_time=self.timing.fast)
            self.clear_stage()
