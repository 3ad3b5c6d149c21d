"""Multi-head attention, on the encoder: the heads' different patterns side by side, their
outputs concatenated, × W_O = the layer's attention output. Every number from the trace.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Create, SurroundingRectangle, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import SHARP, quote
from scenes.kit.components import AttentionGrid, MatrixView, formula, label
from scenes.kit.heads import head_patterns, mix_heads
from scenes.kit.options import Head, Layer
from scenes.kit.stream import formula_where, line_up_rows


class MultiHead(ReelScene):
    name = "multi_head"
    summary = "several heads look in different ways at once; their outputs side by side, mixed by W_O"
    options = (Layer(stack="encoder"), Head(attention="encoder.blocks.{layer}.self_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.introduce()
        self.compare_heads()
        self.head_outputs()
        self.concatenate_and_mix()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.layer, self.head = self.opt["layer"], self.opt["head"]
        self.a = f"encoder.blocks.{self.layer}.self_attn"
        self.where = f"encoder layer {self.layer}"
        self.words = t.tokens("encoder")
        self.n_heads, self.d_head, self.d_model = t.config["n_heads"], t.config["d_head"], t.config["d_model"]
        self.rows = lambda size: self.labels("encoder", size)

    # ------------------------------------------------------------------ beats
    def introduce(self) -> None:
        with self.beat("introduce"):
            title = label("Multi-head attention", 52, palette.TEXT)
            each = formula(r"\mathrm{head}_h = \mathrm{softmax}\big(Q_h K_h^\top / \sqrt{d_k}\big)\,V_h", 40,
                           Q_h=palette.QUERY, K_h=palette.KEY, V_h=palette.VALUE)
            concat = r",\ ".join(rf"\mathrm{{head}}_{h}" for h in range(self.n_heads))
            whole = formula(rf"\mathrm{{MultiHead}}(X) = \mathrm{{Concat}}({concat})\,W_O + b_O", 40)
            total = self.n_heads * self.d_head
            sizes = label(f"{self.n_heads} heads of {self.d_head} numbers each: {self.n_heads} \u00d7 {self.d_head} = "
                          f"{total}" + (", as wide as the stream" if total == self.d_model else ""), 28)
            group = VGroup(title, each, whole, sizes).arrange(DOWN, buff=0.45)
            self.fit(group)
            self.play(Appear(title), run_time=self.timing.fast)
            self.play(Appear(each), run_time=self.timing.build)
            self.play(Appear(whole), run_time=self.timing.build)
            self.play(Appear(sizes), run_time=self.timing.fast)
            self.say(f"The layer runs {self.n_heads} attentions side by side, "
                     "each with its own query, key and value weights.")
            self.clear_stage()

    def compare_heads(self) -> None:
        with self.beat("heads", poster=True):
            heading = self.show_heading("Each head looks its own way",
                                        formula_where(r"A_h = \mathrm{softmax}\big(Q_h K_h^\top / \sqrt{d_k}\big)",
                                                      self.where))
            hint = label("rows: queries  \u00b7  columns: keys  \u00b7  both the English words", 22)
            grids = head_patterns(self, self.a, self.rows, self.rows, chosen=self.head, numbers=True, cell=0.5,
                                  cell_width=0.62, center=layout.STAGE_CENTER + 0.3 * DOWN,
                                  max_height=layout.STAGE_HEIGHT - 0.8)
            hint.next_to(heading, DOWN, buff=0.12)
            self.play(Appear(grids), Appear(hint), run_time=self.timing.build)
            pattern = self.trace[f"{self.a}.hook_pattern"]
            self.say(self.sharpness_sentence(pattern), pause=self.timing.read)
            r = self.differing_row(pattern, [g for g, _ in grids])
            if r is not None:
                boxes = VGroup(*(SurroundingRectangle(g.square(r, int(pattern[h, r].argmax())), color=palette.HIGHLIGHT,
                                                      buff=0.02, stroke_width=3)
                                 for h, (g, _) in enumerate(grids)))
                self.play(*(Create(b) for b in boxes), run_time=self.timing.fast)
                looks = ", ".join(f"head {h} at {self.which_word(int(pattern[h, r].argmax()))}"
                                  for h in range(self.n_heads))
                self.say(f"The same word, {self.which_word(r)}, looks in different places: {looks}.",
                         pause=self.timing.look)
                self.play(Vanish(boxes), run_time=self.timing.fast)
            self.clear_stage()

    def sharpness_sentence(self, pattern: np.ndarray) -> str:
        n = pattern.shape[1]
        sharp = [int((pattern[h].max(-1) > SHARP).sum()) for h in range(self.n_heads)]
        if not any(sharp):
            every = "either head" if self.n_heads == 2 else "any head"
            return f"None of the {n} words puts most of its weight on one word, in {every}: they spread it."
        parts = [f"{k if k else 'none'} in head {h}" for h, k in enumerate(sharp)]
        heads = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"Of the {n} words, {heads} put most of their weight on one word."

    def which_word(self, r: int) -> str:
        """“cat”, or “the” (the second one) where the word occurs more than once."""
        w = self.words[r]
        if self.words.count(w) == 1:
            return quote(w)
        k = self.words[: r + 1].count(w)
        nth = {1: "first", 2: "second", 3: "third", 4: "fourth"}.get(k, f"{k}th")
        return f"{quote(w)} (the {nth} one)"

    def differing_row(self, pattern: np.ndarray, grids) -> int | None:
        """A shown row whose heads each put their largest weight on a different, shown word: the sharpest
        such row (to a tenth; then a word that occurs once, which needs no "the second one")."""
        best, found = (-1.0, False), None
        for r in grids[0].shown_rows:
            tops = [int(pattern[h, r].argmax()) for h in range(pattern.shape[0])]
            if len(set(tops)) < len(tops) or any(g.square(r, c) is None for g, c in zip(grids, tops)):
                continue
            score = (round(min(float(pattern[h, r, c]) for h, c in enumerate(tops)), 1),
                     self.words.count(self.words[r]) == 1)
            if score > best:
                best, found = score, r
        return found

    def head_outputs(self) -> None:
        with self.beat("each head's output"):
            self.show_heading("Each head blends the values with its own weights",
                              formula_where(r"Z_h = A_h\,V_h", self.where, V_h=palette.VALUE))

            def build(rows: int, cols: int) -> VGroup:
                lines = VGroup()
                for h in range(self.n_heads):
                    grid = AttentionGrid(self.values(f"{self.a}.hook_pattern", h), self.rows(18), self.rows(16),
                                         cell=0.4, cell_width=0.4, numbers=False, max_rows=rows, max_cols=rows)
                    grid.remove(grid.col_labels)  # its columns are V's rows, labelled there
                    name = formula(f"A_{h}", 32, palette.ATTENTION).next_to(grid.squares, UP, buff=0.15)
                    v = MatrixView(self.values(f"{self.a}.hook_v", h), f"V_{h}", palette.VALUE, max_rows=rows,
                                   max_cols=cols, row_labels=self.rows(18))
                    z = MatrixView(self.values(f"{self.a}.hook_z", h), f"Z_{h}", palette.QUERY, max_rows=rows,
                                   max_cols=cols)
                    line = VGroup(VGroup(name, grid), formula(r"\cdot", 36), v, formula("=", 36), z)
                    line.arrange(RIGHT, buff=0.3)
                    # a row of A, of V and of Z on one line: the same words (a grid row is as tall as a matrix row)
                    top = grid.square(grid.shown_rows[0], grid.shown_cols[0])
                    line[0].shift((v.row_cells(v.row_ids[0]).get_center()[1] - top.get_center()[1]) * UP)
                    line_up_rows(v, z)
                    lines.add(line)
                return lines.arrange(DOWN, buff=0.35, aligned_edge=LEFT)

            lines = self.fit_folding(build, len(self.words), self.d_head)
            for line in lines:
                self.play(Appear(line), run_time=self.timing.build)
            self.say(f"The same {len(self.words)} value rows, mixed {self.n_heads} different ways: "
                     f"{self.n_heads} outputs of {len(self.words)} \u00d7 {self.d_head}.", pause=self.timing.read)
            self.clear_stage()

    def concatenate_and_mix(self) -> None:
        with self.beat("concatenate and mix"):
            concat = r"\ ".join(f"Z_{h}" for h in range(self.n_heads))
            self.show_heading("Side by side, then mixed",
                              formula_where(rf"\mathrm{{out}} = [{concat}]\,W_O + b_O", self.where))
            mix_heads(self, self.a, self.rows, palette.ENCODER)
            n = len(self.words)
            self.say(f"Each head gives {n} rows of {self.d_head}; side by side, {n} \u00d7 "
                     f"{self.n_heads * self.d_head}; one more matrix mixes them back into the stream's "
                     f"{self.d_model} columns.",
                     pause=self.timing.look)
            self.say("That output is added to the layer's input next: add & norm.", pause=self.timing.fast)
            self.clear_stage()
