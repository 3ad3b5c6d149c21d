"""Linear and softmax: the decoder's last vectors become a choice among every word it knows.

Every number is read from the trace of the user's sentence: the decoder's output, the
unembedding W_U, the logits over the whole vocabulary and their softmax. The words are the
model's vocabulary; the top ones shown are the ones the model really ranks highest.

    manim -ql scenes/output_softmax.py OutputSoftmax      # the default sentence
    python render.py --scene output_softmax --sentence "…"  # yours
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Arrow, Create, SurroundingRectangle, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear
from scenes.kit.base import ReelScene
from scenes.kit.choose import quote
from scenes.kit.components import MatrixView, formula, label, plain_text, token
from scenes.kit.vocab import ProbBars, predicted_columns, top_k, vocab_matrix, vocab_weights, vocabulary

TOP = 5  # how many of the most probable words the bars show
SURE = 10  # a row is sure of its word when it has more than half and this many times the next word's probability


class OutputSoftmax(ReelScene):
    name = "output_softmax"
    summary = "the decoder's last vectors \u00d7 W_U: a logit for every word, softmax, the most probable word"

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.last_vectors()
        self.logits()
        self.softmax()
        self.classify()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.tgt = t.tokens("decoder")
        self.words = vocabulary(t)
        self.d_model, self.d_vocab = t.config["d_model"], t.config["d_vocab"]
        self.probs = t["unembed.hook_probs"]
        self.logit = t["unembed.hook_logits"]
        # the columns worth showing: each position's predicted word, then the runners-up
        cols = predicted_columns(self.probs)
        for w in np.argsort(-self.probs.max(0), kind="stable"):
            if len(cols) >= 12:
                break
            if int(w) not in cols:
                cols.append(int(w))
        self.cols = cols
        # the row to open up: the position the model is least sure of (past <bos>, where there is one)
        first = 1 if len(self.tgt) > 1 else 0
        self.row = first + int(np.argmin(self.probs[first:].max(-1)))

    def rows(self, size: float = 24):
        return self.labels("decoder", size)

    # ------------------------------------------------------------------ beats
    def last_vectors(self) -> None:
        with self.beat("last vectors"):
            title = plain_text("Linear and softmax", 56, palette.TEXT).to_edge(UP, buff=0.5)
            sub = label("from the decoder's last vectors to words  \u00b7  every number computed on your sentence", 24)
            sub.next_to(title, DOWN, buff=0.2)
            view = self.fit_folding(
                lambda r, c: MatrixView(self.values("decoder.hook_out"), "Y", palette.DECODER, where="decoder output",
                                        row_labels=self.rows(), max_rows=r, max_cols=c),
                len(self.tgt), self.d_model, center=0.5 * DOWN, max_height=4.6)
            self.play(Appear(VGroup(title, sub)), run_time=self.timing.build)
            self.play(Appear(view), run_time=self.timing.build)
            self.say(f"The decoder's last layer leaves one vector of {self.d_model} numbers for each French position.",
                     pause=self.timing.fast)
            self.say("Row t has read the words up to t; it must name the word that comes next.")
            self.clear_stage()

    def logits(self) -> None:
        with self.beat("logits"):
            T, d, V = len(self.tgt), self.d_model, self.d_vocab
            self.show_heading("A score for every word: the logits",
                              formula(rf"Z = Y\,W_U + b_U:\ ({T}\times {d})\cdot({d}\times {V}) = ({T}\times {V})", 34))

            def make(rows: int, cols: int):
                words = self.cols[:max(3, cols)]
                y = MatrixView(self.values("decoder.hook_out"), "Y", palette.DECODER, row_labels=self.rows(),
                               max_rows=rows, max_cols=min(cols, 6))
                w = vocab_weights(self.values("param.unembed.W_U"), words, "W_U", cell=0.15)
                z = vocab_matrix(self.values("unembed.hook_logits"), words, "Z", self.words, max_rows=rows)
                return y, w, z

            parts = self.show_product(make, T, len(self.cols), "from the decoder", palette.DECODER)
            z = parts[0][4]
            self.play(Appear(VGroup(z.col_labels, z.more)), run_time=self.timing.fast)  # the words of the columns
            self.say(f"W_U has one column per word: {V} words, so {V} logits for each position; a few are shown.",
                     pause=self.timing.fast)
            shown_rows = [r for r in z.row_ids if r is not None]
            shown = set(z.values.cols)
            found = sum(int(self.logit[r].argmax()) in shown for r in shown_rows)
            if found == len(shown_rows):
                self.say("Each row's largest logit is among the words shown: the word it ranks first.")
            else:
                self.say(f"{found} of the {len(shown_rows)} rows shown have their largest logit among these words.")
            self.clear_stage()

    def softmax(self) -> None:
        with self.beat("softmax", poster=True):
            t = self.row
            top = top_k(self.probs[t], TOP)
            here, nxt = self.tgt[t], self.words[top[0]]
            self.show_heading(f"Row \u201c{here}\u201d: softmax over {self.d_vocab} words",
                              formula(r"p_i = \frac{e^{z_i}}{\sum_j e^{z_j}}", 36))

            def make(rows: int, cols: int) -> VGroup:
                k = top[:rows]
                col = MatrixView(self.values("unembed.hook_logits").select(rows=[t], cols=k).T, "z", palette.TEXT,
                                 row_labels=[token(self.words[c], palette.DECODER, 26) for c in k], max_rows=len(k),
                                 show_shape=False, where=f"top {len(k)} of {self.d_vocab}")
                arrow = VGroup(Arrow(LEFT, RIGHT, color=palette.MUTED, stroke_width=5, buff=0),
                               label("softmax", 24)).arrange(DOWN, buff=0.1)
                bars = ProbBars(self.values("unembed.hook_probs").select(rows=[t]), k, self.words, length=3.6,
                                highlight=k[0])
                bars_title = formula("p", 40, palette.DECODER).next_to(bars, UP, buff=0.25)
                bars_title.align_to(bars.axis, LEFT)
                row = VGroup(col, arrow, VGroup(bars, bars_title)).arrange(RIGHT, buff=0.6)
                # the bars' words stand level with the logits' rows: the same words, in the same order
                bars.shift((col.entries[0].get_center()[1] - bars.words[0].get_center()[1]) * UP)
                bars_title.next_to(bars, UP, buff=0.25).align_to(bars.axis, LEFT)
                return row

            col, arrow, (bars, bars_title) = self.fit_folding(make, TOP, 1, center=layout.STAGE_CENTER + 0.1 * DOWN)
            self.bars = bars
            self.play(Appear(col), run_time=self.timing.build)
            self.say(f"The {len(bars.cols)} largest of the {self.d_vocab} logits of this row.", pause=self.timing.fast)
            self.play(Create(arrow[0]), Appear(arrow[1]), run_time=self.timing.fast)
            self.play(Appear(VGroup(bars, bars_title)), run_time=self.timing.build)
            best = SurroundingRectangle(bars.row(top[0]), color=palette.HIGHLIGHT, buff=0.08, stroke_width=3)
            self.play(Create(best), run_time=self.timing.fast)
            self.say(self.describe(t, top), pause=self.timing.look)
            self.clear_stage()

    def describe(self, t: int, top: list[int]) -> str:
        """In words, not digits: the digits are on screen, in the bars, where the manifest records them."""
        p = self.probs[t]
        first, second = quote(self.words[top[0]]), quote(self.words[top[1]])
        after = f"After {quote(self.tgt[t])}"
        if p[top[0]] > 0.9:
            return f"{after} the model gives almost all of its probability to {first}: the other words share what is left."
        if p[top[0]] > 0.5:
            return f"{after} most of the probability goes to {first}; {second} comes next."
        return f"{after} the model hesitates: {first} comes first, but {second} is close behind."

    def classify(self) -> None:
        with self.beat("classify"):
            T = len(self.tgt)
            self.show_heading("At every position: a classification over the vocabulary",
                              formula(r"\hat y_t = \arg\max_i\ p_{t,i}", 36))
            view = self.fit_folding(
                lambda r, c: vocab_matrix(self.values("unembed.hook_probs"), self.cols[:max(3, c)], "P", self.words,
                                          row_labels=self.rows(), max_rows=r),
                T, len(self.cols), center=layout.STAGE_CENTER)
            self.play(Appear(view), run_time=self.timing.build)
            boxes = VGroup()
            for r in view.row_ids:
                if r is None:
                    continue
                c = int(self.probs[r].argmax())
                if c in view.values.cols:
                    j = view.values.cols.index(c)
                    boxes.add(SurroundingRectangle(view.cell(r, j), color=palette.HIGHLIGHT, buff=0.05, stroke_width=3))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.build)
            self.say(f"Each row is a choice among {self.d_vocab} words, like a classifier's: the largest probability "
                     "names the next word.", pause=self.timing.fast)
            self.say(self.confidence(), pause=self.timing.read)
            kept = self.smoothing()
            if kept:
                self.say(kept, pause=self.timing.read)
            self.clear_stage()

    def smoothing(self) -> str | None:
        """Why no row shows 1.00, where the numbers show it: the paper's label smoothing (ε = 0.1), which the model
        was trained with, leaves every word some probability. Said only when no row gives its word almost all."""
        left = 1.0 - self.probs.max(-1)
        if (left < 0.03).any():
            return None
        share = "about a tenth" if 0.05 <= left.mean() <= 0.15 else "some"
        # two lines at most: a long sentence's matrix fills the stage down to a two-line caption
        return (f"Trained with label smoothing, as the paper was, no row gives its word all of its probability: "
                f"{share} is left for the others.")

    def confidence(self) -> str:
        """How many rows are sure: most of their probability on one word, ten times any other's. Trained with label
        smoothing, a sure row keeps about a tenth for the other words (0.9, not 1.00): only a close second hesitates."""
        T = len(self.probs)
        sure = sum(bool(p[top[0]] > 0.5 and p[top[0]] >= SURE * p[top[1]]) for p, top in
                   ((p, top_k(p, 2)) for p in self.probs))
        if sure == T:
            return (f"All {T} rows give most of their probability to one word, far ahead of any other: "
                    "the model is sure.")
        if sure == 0:
            return f"None of the {T} rows is sure of its word: this translation is a guess."
        others = "the other one hesitates" if T - sure == 1 else "the others hesitate"
        return f"{sure} of the {T} rows give most of their probability to one word, far ahead of any other; {others}."
