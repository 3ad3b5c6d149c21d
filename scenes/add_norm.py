"""Add & norm: the residual sum, then layer norm, on the encoder's real numbers.

The sum X + Attn(X) keeps each word's own signal; layer norm then gives every row mean 0
and variance 1 (each row's real mean and variance shown beside it) before a learned gain
and bias per column. Everything is read from the trace of one encoder layer.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Indicate, SurroundingRectangle, VGroup, Create

from scenes.kit import palette
from scenes.kit.animations import Appear, CrossFade, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import quote
from scenes.kit.components import MatrixView, cell_width, formula, label
from scenes.kit.options import Layer
from scenes.kit.stream import finish_swap, fit_widest, formula_where, line_up_cols, line_up_rows

SUM = r"X + \mathrm{Attn}(X)"


class AddNorm(ReelScene):
    name = "add_norm"
    summary = "the residual sum keeps the signal, layer norm keeps the scale: each row's real mean and variance"
    options = (Layer(stack="encoder"),)

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.add_residual()
        self.normalize()
        self.gain_and_bias()
        self.why()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.layer = self.opt["layer"]
        self.p = f"encoder.blocks.{self.layer}"
        self.ln = f"{self.p}.ln1"
        self.where = f"encoder layer {self.layer}"
        self.words = t.tokens("encoder")
        self.n = len(self.words)
        self.d_model = t.config["d_model"]

    # ------------------------------------------------------------------ beats
    def add_residual(self) -> None:
        with self.beat("residual sum"):
            self.show_heading("Add: the input skips around attention",
                              formula_where(SUM, self.where, X=palette.ENCODER))

            def build(rows: int, cols: int) -> VGroup:
                x = MatrixView(self.values(f"{self.p}.hook_resid_pre"), "X", palette.ENCODER,
                               row_labels=self.labels("encoder", 22), max_rows=rows, max_cols=cols)
                a = MatrixView(self.values(f"{self.p}.self_attn.hook_out"), r"\mathrm{Attn}(X)", palette.ENCODER,
                               max_rows=rows, max_cols=cols)
                s = MatrixView(self.values(f"{self.p}.hook_attn_sum"), SUM, palette.ENCODER, max_rows=rows,
                               max_cols=cols)
                row = VGroup(x, formula("+", 40), a, formula("=", 40), s).arrange(RIGHT, buff=0.3)
                line_up_rows(x, a, s)
                return row

            x, plus, a, eq, s = fit_widest(build, self.n, self.d_model)
            self.play(Appear(x), run_time=self.timing.build)
            self.play(Appear(VGroup(plus, a)), run_time=self.timing.build)
            self.play(Appear(VGroup(eq, s)), run_time=self.timing.build)
            self.say(self.sum_sentence(), pause=self.timing.look)
            self.clear_stage()

    def sum_sentence(self) -> str:
        t = self.trace
        x = np.linalg.norm(t[f"{self.p}.hook_resid_pre"], axis=-1)
        a = np.linalg.norm(t[f"{self.p}.self_attn.hook_out"], axis=-1)
        bigger = int((x > a).sum())
        if bigger == self.n:
            return ("In every row the word's own input is larger than what attention adds: "
                    "the sum keeps the original signal.")
        if bigger >= self.n / 2:
            return (f"In {bigger} of the {self.n} rows the word's own input is larger than what attention adds: "
                    "the sum keeps the original signal.")
        return (f"Attention adds more than the input holds in {self.n - bigger} of the {self.n} rows, "
                "yet the input is still in the sum: nothing is overwritten.")

    def norm_layout(self, rows: int, cols: int) -> VGroup:
        """The sum with each row's mean and variance beside it, its normalised and final versions in the same
        place, and the gain and bias over the columns they scale and shift."""
        views = {
            "sum": self.values(f"{self.p}.hook_attn_sum"),
            "norm": self.values(f"{self.ln}.hook_normalized"),
            "out": self.values(f"{self.ln}.hook_out"),
            "w": self.values(f"param.{self.ln}.w"),
            "b": self.values(f"param.{self.ln}.b"),
        }
        width = cell_width(list(views.values()), 2)

        def grid(key: str, name: str, **kw) -> MatrixView:
            return MatrixView(views[key], name, palette.ENCODER, max_rows=rows, max_cols=cols, col_width=width,
                              title_side=DOWN, **kw)

        s = grid("sum", SUM, row_labels=self.labels("encoder", 22))
        norm = grid("norm", r"\hat{X}")
        out = grid("out", "Y", where="after add & norm")
        for m in (norm, out):
            m.shift(s.brackets[0].get_corner(UP + RIGHT) - m.brackets[0].get_corner(UP + RIGHT))
        mean = MatrixView(self.values(f"{self.ln}.hook_mean").T, r"\mu", palette.TEXT, max_rows=rows,
                          title_side=DOWN)
        var = MatrixView(self.values(f"{self.ln}.hook_var").T, r"\sigma^2", palette.TEXT, max_rows=rows,
                         title_side=DOWN)
        stats = VGroup(mean, var).arrange(RIGHT, buff=0.35)
        stats.next_to(s.brackets, RIGHT, buff=0.5)
        line_up_rows(s, mean, var)
        gamma = MatrixView(views["w"], r"\gamma", palette.WEIGHT, max_cols=cols, col_width=width, title_side=LEFT)
        beta = MatrixView(views["b"], r"\beta", palette.WEIGHT, max_cols=cols, col_width=width, title_side=LEFT)
        beta.next_to(s.brackets, UP, buff=0.3)
        gamma.next_to(beta.brackets, UP, buff=0.2)
        line_up_cols(s, gamma, beta)
        return VGroup(s, norm, out, mean, var, gamma, beta)

    def normalize(self) -> None:
        with self.beat("layer norm", poster=True):
            heading = self.show_heading(
                "Norm: every row to mean 0, variance 1",
                formula_where(r"\hat{x} = (x - \mu)\,/\sqrt{\sigma^2 + \epsilon}", self.where),
            )
            parts = self.fit_folding(self.norm_layout, self.n, self.d_model)
            s, norm, out, mean, var, gamma, beta = parts
            self.parts = parts
            self.play(Appear(VGroup(s.brackets, s.entries, s.row_labels, s.title)), run_time=self.timing.build)
            self.play(Appear(mean), run_time=self.timing.build)
            self.play(Appear(var), run_time=self.timing.build)
            t = self.trace
            v = t[f"{self.ln}.hook_var"]
            shown = [r for r in s.row_ids if r is not None]  # a long sentence folds: quote what is on screen
            self.say(self.spread_sentence(v, shown),
                     pause=self.timing.read)
            # one row normalised, then the rest, in place
            r0 = shown[int(np.argmax(v[shown]))]
            box = SurroundingRectangle(VGroup(s.row_cells(r0), mean.row_cells(r0), var.row_cells(r0)),
                                       color=palette.HIGHLIGHT, buff=0.06, stroke_width=3)
            self.play(Create(box), run_time=self.timing.fast)
            self.play(CrossFade(s.row_cells(r0), norm.row_cells(r0)), run_time=self.timing.build)
            self.say(f"Row {quote(self.words[r0])}: subtract its mean, divide by the square root of its variance.",
                     pause=self.timing.fast)
            rest = [r for r in s.row_ids if r is not None and r != r0]
            self.play(Vanish(box), CrossFade(s.title, norm.title),
                      *(CrossFade(s.row_cells(r), norm.row_cells(r)) for r in rest), run_time=self.timing.build)
            finish_swap(self, s, norm)
            self.say(self.normalized_sentence(), pause=self.timing.look)
            self.play(Vanish(heading), run_time=self.timing.fast)
            self.drop_caption()

    def spread_sentence(self, var: np.ndarray, shown: list[int]) -> str:
        """Which shown row is the most spread out and which the least (in words: the digits are in the σ² column)."""
        lo, hi = shown[int(np.argmin(var[shown]))], shown[int(np.argmax(var[shown]))]
        of = "" if len(shown) == self.n else " shown"
        return (f"Each row has its own mean and variance: of the rows{of}, {quote(self.words[hi])} is the most "
                f"spread out, {quote(self.words[lo])} the least.")

    def normalized_sentence(self) -> str:
        t = self.trace
        xn = t[f"{self.ln}.hook_normalized"]
        m, v = xn.mean(-1), xn.var(-1)
        if np.all(np.abs(m) < 5e-3) and np.all(np.abs(v - 1) < 5e-3):
            return "Now every row has mean 0 and variance 1, however spread out it was before."
        return "Each row is now centred and scaled by its own spread."  # (eps dominates: a near-constant row)

    def gain_and_bias(self) -> None:
        with self.beat("gain and bias"):
            s, norm, out, mean, var, gamma, beta = self.parts
            # the normalised matrix stays: its pieces, as one group again
            matrix = VGroup(s.brackets, s.row_labels, norm.entries, norm.title)
            self.play(Vanish(mean), Vanish(var), Indicate(matrix, scale_factor=1.0, color=palette.HIGHLIGHT),
                      run_time=self.timing.build)
            self.show_heading("Then a learned gain and bias for each column",
                              formula_where(r"Y = \gamma \odot \hat{X} + \beta", self.where))
            self.play(Appear(gamma), Appear(beta), run_time=self.timing.build)
            self.say(self.gain_sentence(), pause=self.timing.fast)
            self.play(CrossFade(norm.entries, out.entries), CrossFade(norm.title, out.title),
                      run_time=self.timing.build)
            finish_swap(self, norm, out)
            self.say("Each column is stretched by its gain and shifted by its bias: the same for every word.",
                     pause=self.timing.read)
            self.clear_stage()

    def gain_sentence(self) -> str:
        """In words (the digits are in the γ and β rows): how far training moved the gains from 1."""
        w = self.trace.param(f"{self.ln}.w")
        far = int((np.abs(w - 1) > 0.25).sum())
        near = "all close to 1" if far == 0 else f"{far} of them far from 1"
        return f"{self.d_model} gains and {self.d_model} biases, learned in training; the gains are {near}."

    def why(self) -> None:
        with self.beat("why"):
            whole = formula(r"Y = \mathrm{LayerNorm}\big(X + \mathrm{Attn}(X)\big)", 48, X=palette.ENCODER)
            add = label("add: the sum keeps the original signal", 30, palette.TEXT)
            norm = label("norm: every row back to one scale, layer after layer", 30, palette.TEXT)
            group = VGroup(whole, add, norm).arrange(DOWN, buff=0.45)
            self.fit(group)
            self.play(Appear(whole), run_time=self.timing.build)
            self.play(Appear(add), run_time=self.timing.fast)
            self.play(Appear(norm), run_time=self.timing.fast)
            self.say("Both steps come after every sublayer of the block: after attention here, "
                     "after the feed-forward network next.", pause=self.timing.read)
            self.clear_stage()
