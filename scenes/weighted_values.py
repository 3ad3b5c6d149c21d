"""Weighted values: pattern (n × n) · V (n × d_v) = Z — one output row built as the weighted blend of
the value rows, then every row as one matrix product.

Every number is read from the trace of the user's sentence: the encoder's attention pattern
(`hook_pattern`), its values (`hook_v`) and its output per head (`hook_z`), for one head of one
encoder layer.

    manim -ql scenes/weighted_values.py WeightedValues          # the default sentence
    python render.py --scene weighted_values --sentence "…"      # yours
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, Line, SurroundingRectangle, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import describe_row, early_cell, named
from scenes.kit.components import MatrixView, cell_width, formula
from scenes.kit.options import Head, Layer


class WeightedValues(ReelScene):
    name = "weighted_values"
    summary = "pattern · V = Z: one output row as the weighted blend of the value rows, then all of them"
    options = (Layer(stack="encoder"), Head(attention="encoder.blocks.{layer}.self_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.show_inputs()
        self.one_row()
        self.every_row()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.words = t.tokens("encoder")
        self.n = len(self.words)
        self.dv = t.config["d_head"]
        self.weights = t[f"{self.a}.hook_pattern"][self.head]
        # the same row the softmax scene built, so the story carries on from it
        self.row, _ = early_cell(self.weights)

    def v(self, hook: str):
        return self.values(f"{self.a}.{hook}", self.head)

    def shapes(self) -> str:
        n, dv = self.n, self.dv
        return rf"Z = A\,V:\ ({n}\times {n})\cdot({n}\times {dv}) = ({n}\times {dv})"

    # ------------------------------------------------------------------ beats
    def show_inputs(self) -> None:
        with self.beat("pattern and values"):
            self.show_heading("Weights times values", formula(self.shapes(), 36, V=palette.VALUE))

            def build(rows: int, cols: int) -> VGroup:
                a = MatrixView(self.v("hook_pattern"), "A", palette.ATTENTION, where=self.where,
                               row_labels=self.labels("encoder", 22), col_labels=self.labels("encoder", 20),
                               max_rows=rows, max_cols=cols)
                v = MatrixView(self.v("hook_v"), "V", palette.VALUE, row_labels=self.labels("encoder", 22),
                               max_rows=rows, max_cols=min(cols, self.dv))
                group = VGroup(a, v).arrange(RIGHT, buff=0.9)
                v.shift((a.entries.get_top()[1] - v.entries.get_top()[1]) * UP)  # rows side by side
                return group

            a, v = self.fit_folding(build, self.n, self.n)
            self.play(Appear(a), run_time=self.timing.build)
            self.say("The pattern: one row of weights per word, its columns the words it reads.", pause=self.timing.fast)
            self.play(Appear(v), run_time=self.timing.build)
            self.say(f"The values: one row per word, {self.dv} numbers each.", pause=self.timing.fast)
            self.say("The columns of A and the rows of V are the same words, in the same order.")
            self.clear_stage()

    def one_row(self) -> None:
        with self.beat("one row", poster=True):
            r, n = self.row, self.n
            w = self.weights[r]
            self.show_heading(f"The output of {named(self.words, r)}: a blend of the values",
                              formula(r"z = \sum_j a_j\, v_j", 36))
            weights = self.v("hook_pattern").select(rows=[r]).T  # the row as a column: one weight per value row
            values = self.v("hook_v")
            z = self.v("hook_z").select(rows=[r])
            width = cell_width([values, z], 2)

            def build(rows: int, cols: int) -> VGroup:
                a = MatrixView(weights, "a", palette.ATTENTION, max_rows=rows, show_shape=False, title_side=UP)
                vv = MatrixView(values, "V", palette.VALUE, row_labels=self.labels("encoder", 22), max_rows=rows,
                                max_cols=cols, col_width=width, show_shape=False)
                times = formula(r"\times", 36)
                top = VGroup(a, times, vv).arrange(RIGHT, buff=0.3)
                a.shift((vv.entries.get_top()[1] - a.entries.get_top()[1]) * UP)  # weight j beside value row j
                zz = MatrixView(z, "z", palette.QUERY, row_labels=[self.labels("encoder", 22)[r]], max_rows=1,
                                max_cols=cols, col_width=width, show_shape=False, title_side=LEFT)
                zz.next_to(vv, DOWN, buff=0.45)
                zz.shift((vv.brackets[1].get_right()[0] - zz.brackets[1].get_right()[0]) * RIGHT)  # columns line up
                rule = Line(vv.brackets[0].get_corner(DOWN + LEFT), vv.brackets[1].get_corner(DOWN + RIGHT),
                            color=palette.MUTED, stroke_width=2).shift(0.2 * DOWN)
                sigma = formula(r"\textstyle\sum", 36, palette.MUTED).next_to(rule, LEFT, buff=0.2)
                return VGroup(top, VGroup(rule, sigma), zz)

            (a, times, vv), (rule, sigma), zz = self.fit_folding(build, n, self.dv)
            self.play(Appear(vv), run_time=self.timing.build)
            self.say(f"Each word's value is a row of {self.dv} numbers.", pause=self.timing.fast)
            self.play(Appear(a), Appear(times), run_time=self.timing.build)
            self.say(f"Beside each, the weight {named(self.words, r)} gives that word, from its row of the pattern.",
                     pause=self.timing.fast)
            # the rows that carry most of the weight (where they are shown)
            top = [j for j in np.argsort(-w)[:2] if vv.cell(j, 0) is not None and a.cell(j, 0) is not None]
            boxes = VGroup(*(SurroundingRectangle(VGroup(a.cell(j, 0), vv.row_cells(j)), color=palette.HIGHLIGHT,
                                                  buff=0.06, stroke_width=3) for j in top))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.fast)
            self.say(describe_row(w, self.words[r], self.words), pause=self.timing.fast)
            self.play(Appear(VGroup(rule, sigma)), run_time=self.timing.fast)
            self.play(Appear(zz), run_time=self.timing.build)
            self.say(f"Weigh each value row, then add them up: the output of {named(self.words, r)}.",
                     pause=self.timing.look)
            self.play(Vanish(boxes), run_time=self.timing.fast)
            self.clear_stage()

    def every_row(self) -> None:
        with self.beat("every row"):
            self.show_heading("Every row at once: one matrix product", formula(self.shapes(), 36, V=palette.VALUE))
            self.show_product(
                lambda rows, cols: (
                    MatrixView(self.v("hook_pattern"), "A", palette.ATTENTION, row_labels=self.labels("encoder", 22),
                               max_rows=rows, max_cols=cols),
                    MatrixView(self.v("hook_v"), "V", palette.VALUE, max_rows=cols, max_cols=min(cols, 4)),
                    MatrixView(self.v("hook_z"), "Z", palette.QUERY, max_rows=rows, max_cols=min(cols, 4),
                               where=self.where),
                ),
                self.n, self.n,
            )
            self.say("Row by row: each row of A blends the rows of V into one row of Z.", pause=self.timing.fast)
            self.say(f"Z: one new row for each of the {self.n} words, each a blend of the whole sentence's values.",
                     pause=self.timing.look)
            self.clear_stage()
