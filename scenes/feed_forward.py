"""Feed-forward: the same two-layer network applied to every token row, on the encoder's real numbers.

Y (after add & norm) × W_in + b_in = H, ReLU zeroes every negative (the zeros shown as a
pattern over all d_ff units), × W_out + b_out = the output, back to d_model numbers a word.
"""

from __future__ import annotations

import numpy as np
from manim import RIGHT, UP, Create, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear, CrossFade, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import quote
from scenes.kit.components import MatrixView, WeightBlock, cell_width, formula
from scenes.kit.options import Layer
from scenes.kit.stream import ActivationMap, finish_swap, formula_where, mute_zeros

FFN = r"\mathrm{FFN}(y) = \max(0,\ y\,W_{\mathrm{in}} + b_{\mathrm{in}})\,W_{\mathrm{out}} + b_{\mathrm{out}}"


class FeedForward(ReelScene):
    name = "feed_forward"
    summary = "the same two-layer network on every word's row: expand, ReLU's zeros, back to d_model"
    options = (Layer(stack="encoder"),)

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.every_row()
        self.expand()
        self.relu()
        self.all_units()
        self.contract()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.layer = self.opt["layer"]
        self.p = f"encoder.blocks.{self.layer}"
        self.m = f"{self.p}.mlp"
        self.where = f"encoder layer {self.layer}"
        self.words = t.tokens("encoder")
        self.n = len(self.words)
        self.d_model, self.d_ff = t.config["d_model"], t.config["d_ff"]

    def stream(self, rows: int, cols: int, size: float = 22, where: str | None = None) -> MatrixView:
        return MatrixView(self.values(f"{self.p}.ln1.hook_out"), "Y", palette.ENCODER, where=where,
                          row_labels=self.labels("encoder", size), max_rows=rows, max_cols=cols)

    # ------------------------------------------------------------------ beats
    def every_row(self) -> None:
        with self.beat("every row"):
            self.show_heading("Feed-forward: the same network for every word", formula(FFN, 34))
            y = self.fit_folding(lambda r, c: self.stream(r, c, where=f"{self.where}, after add & norm"),
                                 self.n, self.d_model)
            self.play(Appear(y), run_time=self.timing.build)
            boxes = [y.row_box(r) for r in y.row_ids if r is not None]
            self.play(Create(boxes[0]), run_time=self.timing.fast)
            self.say(f"Each of the {self.n} rows goes through the same two layers on its own: "
                     "no word looks at another here.", pause=self.timing.fast)
            self.play(Vanish(boxes[0]), *(Create(b) for b in boxes[1:]), run_time=self.timing.build)
            self.play(*(Vanish(b) for b in boxes[1:]), run_time=self.timing.fast)
            self.clear_stage()

    def expand(self) -> None:
        with self.beat("first layer"):
            self.show_heading(f"First layer: {self.d_model} numbers a word become {self.d_ff}",
                              formula_where(r"H = Y\,W_{\mathrm{in}} + b_{\mathrm{in}}", self.where))
            self.show_product(
                lambda rows, cols: (
                    self.stream(rows, cols),
                    WeightBlock(self.values(f"param.{self.m}.W_in"), r"W_{\mathrm{in}}", cell=0.14),
                    MatrixView(self.values(f"{self.m}.hook_pre"), "H", palette.TEXT, max_rows=rows, max_cols=cols),
                ),
                self.n, self.d_model,
            )
            pre = self.trace[f"{self.m}.hook_pre"]
            neg = int((pre < 0).sum())
            self.say(f"{self.n} \u00d7 {self.d_ff} numbers now, and {neg} of these {pre.size} are negative.")
            self.clear_stage()

    def relu(self) -> None:
        with self.beat("relu", poster=True):
            self.show_heading("ReLU: every negative becomes 0",
                              formula_where(r"\mathrm{ReLU}(H) = \max(0, H)", self.where))
            pre_v, post_v = self.values(f"{self.m}.hook_pre"), self.values(f"{self.m}.hook_post")
            width = cell_width([pre_v, post_v], 2)

            def build(rows: int, cols: int) -> VGroup:
                pre = MatrixView(pre_v, "H", palette.TEXT, row_labels=self.labels("encoder", 22), max_rows=rows,
                                 max_cols=cols, col_width=width)
                post = mute_zeros(MatrixView(post_v, r"\mathrm{ReLU}(H)", palette.TEXT, max_rows=rows, max_cols=cols,
                                             col_width=width))
                post.shift(pre.brackets[0].get_corner(UP + RIGHT) - post.brackets[0].get_corner(UP + RIGHT))
                return VGroup(pre, post)

            pre, post = self.fit_folding(build, self.n, self.d_ff)
            self.play(Appear(pre), run_time=self.timing.build)
            shown = [r for r in pre.row_ids if r is not None]
            self.play(CrossFade(pre.title, post.title),
                      *(CrossFade(pre.row_cells(r), post.row_cells(r)) for r in shown), run_time=self.timing.build)
            finish_swap(self, pre, post)
            self.say("Where H was negative, ReLU writes 0 (grey): that unit is silent for that word.",
                     pause=self.timing.look)
            self.clear_stage()

    def all_units(self) -> None:
        with self.beat("all units"):
            # all d_ff units at once, as a picture: the zeros are the dark squares
            self.show_heading(f"All {self.d_ff} units for every word", formula_where(r"\mathrm{ReLU}(H)", self.where))
            post_data = self.trace[f"{self.m}.hook_post"]
            cmap = self.fit(ActivationMap(post_data, r"\mathrm{ReLU}(H)", self.labels("encoder", 24), cell=0.34))
            self.play(Appear(cmap), run_time=self.timing.build)
            first, units = self.zeros_sentences(post_data)
            self.say(first, pause=self.timing.look)
            self.say(units, pause=self.timing.read)
            self.clear_stage()

    def zeros_sentences(self, post: np.ndarray) -> tuple[str, str]:
        zeros = int((post == 0).sum())
        silent = int((post == 0).all(axis=0).sum())
        on = self.d_ff - (post == 0).sum(axis=1)
        most = int(np.argmax(on))
        first = f"ReLU zeroes {zeros} of these {post.size} numbers: the dark squares."
        if silent == 0:
            units = f"Every one of the {self.d_ff} units fires for at least one word"
        elif silent == 1:
            units = f"1 of the {self.d_ff} units stays at 0 for every word"
        else:
            units = f"{silent} of the {self.d_ff} units stay at 0 for every word"
        return first, f"{units}; {quote(self.words[most])} keeps the most on: {int(on[most])} of {self.d_ff}."

    def contract(self) -> None:
        with self.beat("second layer"):
            self.show_heading(f"Second layer: back to {self.d_model} numbers a word",
                              formula_where(r"F = \mathrm{ReLU}(H)\,W_{\mathrm{out}} + b_{\mathrm{out}}", self.where))
            self.show_product(
                lambda rows, cols: (
                    mute_zeros(MatrixView(self.values(f"{self.m}.hook_post"), r"\mathrm{ReLU}(H)", palette.TEXT,
                                          row_labels=self.labels("encoder", 22), max_rows=rows, max_cols=cols)),
                    WeightBlock(self.values(f"param.{self.m}.W_out"), r"W_{\mathrm{out}}", cell=0.1),
                    MatrixView(self.values(f"{self.m}.hook_out"), "F", palette.ENCODER, max_rows=rows,
                               max_cols=cols),
                ),
                self.n, self.d_ff,
            )
            self.say("Back to one row per word, the same size as the stream: it is added to Y and normalised "
                     "again (add & norm).", pause=self.timing.read)
            self.clear_stage()
