"""Q, K and V: the input enters three linear layers, W_Q, W_K and W_V, whose outputs are the queries,
keys and values of one head.

Every number is read from the trace of the user's sentence: the encoder layer's input
(`encoder.hook_input`, embedding + position, for layer 0; `hook_resid_pre` for a later layer),
the head's weights (`W_Q`, `W_K`, `W_V`) and its queries, keys and values (`hook_q`, `hook_k`, `hook_v`).

    manim -ql scenes/qkv.py Qkv                       # the default sentence
    python render.py --scene qkv --sentence "…"       # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, Arrow, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear
from scenes.kit.base import ReelScene
from scenes.kit.components import MatrixView, WeightBlock, formula
from scenes.kit.options import Head, Layer

ROLES = (("Q", "hook_q", palette.QUERY, "queries", "what each word looks for"),
         ("K", "hook_k", palette.KEY, "keys", "what each word offers to be found by"),
         ("V", "hook_v", palette.VALUE, "values", "what each word passes on when it is read"))


class Qkv(ReelScene):
    name = "qkv"
    summary = "the input goes through three linear layers W_Q, W_K, W_V: their outputs are Q, K and V, per head"
    options = (Layer(stack="encoder"), Head(attention="encoder.blocks.{layer}.self_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.show_input()
        for role in ROLES:
            self.project(*role)
        self.three_from_one()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        # what the layer reads: embedding + position for the first layer, the last layer's output after that
        self.x = "encoder.hook_input" if self.layer == 0 else f"encoder.blocks.{self.layer}.hook_resid_pre"
        self.n = len(t.tokens("encoder"))
        self.d_model, self.dk, self.n_heads = t.config["d_model"], t.config["d_head"], t.config["n_heads"]

    def input_view(self, rows: int, cols: int, where: str | None = None) -> MatrixView:
        return MatrixView(self.values(self.x), "X", palette.ENCODER, where=where, row_labels=self.labels("encoder"),
                          max_rows=rows, max_cols=cols)

    def weight(self, name: str, cell: float = 0.17) -> WeightBlock:
        return WeightBlock(self.values(f"param.{self.a}.W_{name}", self.head), f"W_{name}", cell=cell,
                           where=f"head {self.head}" if cell >= 0.12 else None)

    # ------------------------------------------------------------------ beats
    def show_input(self) -> None:
        with self.beat("input"):
            what = "embedding + position" if self.layer == 0 else f"the output of layer {self.layer - 1}"
            self.show_heading("Where queries, keys and values come from",
                              formula(r"X = \text{embedding} + \text{position}" if self.layer == 0 else
                                      rf"X = \text{{output of encoder layer {self.layer - 1}}}", 36))
            x = self.fit_folding(lambda rows, cols: self.input_view(rows, cols, f"input of encoder layer {self.layer}"),
                                 self.n, self.d_model)
            self.play(Appear(x), run_time=self.timing.build)
            self.say(f"The input of encoder layer {self.layer}: one row per word ({what}), "
                     f"{self.n} \u00d7 {self.d_model}.")
            self.clear_stage()

    def project(self, name: str, hook: str, color, what: str, meaning: str) -> None:
        with self.beat(what, poster=name == "Q"):
            self.show_heading(f"{what.capitalize()}: the input times a matrix of weights",
                              formula(rf"{name} = X\,W_{{{name}}} + b_{{{name}}}:\ ({self.n}\times {self.d_model})"
                                      rf"\cdot({self.d_model}\times {self.dk}) = ({self.n}\times {self.dk})",
                                      36, **{name: color}))
            self.show_product(
                lambda rows, cols: (
                    self.input_view(rows, cols),
                    self.weight(name),
                    MatrixView(self.values(f"{self.a}.{hook}", self.head), name, color, max_rows=rows, max_cols=cols),
                ),
                self.n, self.d_model, "from the input", palette.ENCODER,
            )
            self.say(f"One row of {what} per word, {meaning}: {self.n} \u00d7 {self.dk}.")
            if name == "Q":
                self.say(f"Each of the {self.n_heads} heads has its own three matrices; this is head {self.head}.",
                         pause=self.timing.fast)
            self.clear_stage()

    def three_from_one(self) -> None:
        with self.beat("three from one"):
            self.show_heading("One input, three linear layers",
                              formula(r"Q = X W_{Q} \qquad K = X W_{K} \qquad V = X W_{V}", 36,
                                      Q=palette.QUERY, K=palette.KEY, V=palette.VALUE))

            def build(rows: int, cols: int) -> VGroup:
                x = self.input_view(rows, cols)
                lines = VGroup()
                for name, hook, color, _, _ in ROLES:
                    w = self.weight(name, cell=0.075)
                    out = MatrixView(self.values(f"{self.a}.{hook}", self.head), name, color, max_rows=min(rows, 4),
                                     max_cols=cols, title_side=LEFT, row_labels=self.labels("encoder", 20))
                    lines.add(VGroup(w, out).arrange(RIGHT, buff=0.5))
                lines.arrange(DOWN, buff=0.3, aligned_edge=LEFT)
                group = VGroup(x, lines).arrange(RIGHT, buff=1.6)
                arrows = VGroup(*(Arrow(x.brackets[1].get_right(), line[0].get_left(), buff=0.15, color=palette.MUTED,
                                        stroke_width=4, max_tip_length_to_length_ratio=0.12) for line in lines))
                return VGroup(group, arrows)

            (x, lines), arrows = self.fit_folding(build, self.n, self.d_model)
            self.play(Appear(x), run_time=self.timing.fast)
            for arrow, line in zip(arrows, lines):
                self.play(Appear(arrow), Appear(line), run_time=self.timing.fast)
            self.say("Three different matrices read the same input, side by side: none of Q, K and V "
                     "comes from another.", pause=self.timing.look)
            self.clear_stage()
