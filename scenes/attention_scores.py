"""Attention scores: one entry of Q·Kᵀ built term by term, then the whole matrix, then ÷ √d_k and why.

Every number is read from the trace of the user's sentence: the encoder's queries and keys
(`hook_q`, `hook_k`), its scores (`hook_scores`) and scaled scores (`hook_scores_scaled`), for
one head of one encoder layer. The products q_m·k_m are not traced, so only their factors are
written, and the sum is the traced score.

    manim -ql scenes/attention_scores.py AttentionScores        # the default sentence
    python render.py --scene attention_scores --sentence "…"     # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Create, Indicate, SurroundingRectangle, VGroup

from scenes.kit import palette
from scenes.kit.layout import LayoutError
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import early_cell, named
from scenes.kit.components import MatrixView, cell_width, formula, without
from scenes.kit.derived import row_sums
from scenes.kit.options import Head, Layer
from scenes.kit.products import DotProduct

QK = dict(Q=palette.QUERY, K=palette.KEY)  # lower-case q, k would split \sqrt and d_k


class AttentionScores(ReelScene):
    name = "attention_scores"
    summary = "one score q·k built term by term, the whole Q·Kᵀ with its shapes, then ÷ √d_k and why"
    options = (Layer(stack="encoder"), Head(attention="encoder.blocks.{layer}.self_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.show_queries_and_keys()
        self.one_entry()
        self.all_entries()
        self.scale()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.words = t.tokens("encoder")
        self.n = len(self.words)
        self.dk = t.config["d_head"]
        self.scores = t[f"{self.a}.hook_scores"][self.head]
        self.scaled_scores = t[f"{self.a}.hook_scores_scaled"][self.head]
        # the entry to build: an early row and key (shown however the matrix folds), the row's favourite
        self.t, self.s = early_cell(t[f"{self.a}.hook_pattern"][self.head])

    def v(self, hook: str):
        return self.values(f"{self.a}.{hook}", self.head)

    def word(self, i: int, size: float = 24, color=palette.ENCODER):
        return self.labels("encoder", size)[i].set_color(color)

    def quoted(self, i: int) -> str:
        return named(self.words, i)

    # ------------------------------------------------------------------ beats
    def show_queries_and_keys(self) -> None:
        with self.beat("queries and keys"):
            self.show_heading("Scores: how well each query matches each key",
                              formula(r"S = Q\,K^\top", 36, **QK))

            def build(rows: int, cols: int) -> VGroup:
                q = MatrixView(self.v("hook_q"), "Q", palette.QUERY, where=self.where, row_labels=self.labels("encoder"),
                               max_rows=rows, max_cols=cols)
                k = MatrixView(self.v("hook_k"), "K", palette.KEY, row_labels=self.labels("encoder"), max_rows=rows,
                               max_cols=cols)
                return VGroup(q, k).arrange(RIGHT, buff=0.9, aligned_edge=UP)

            q, k = self.fit_folding(build, self.n, self.dk)
            self.play(Appear(q), Appear(k), run_time=self.timing.build)
            self.say(f"Each word has a query for what it looks for, and a key for what it offers: {self.n} \u00d7 {self.dk} each.")
            boxes = [q.row_box(self.t, palette.QUERY), k.row_box(self.s, palette.KEY)]
            self.play(*(Create(b) for b in boxes), run_time=self.timing.fast)
            self.say(f"Take the query of {self.quoted(self.t)} and the key of {self.quoted(self.s)}.", pause=self.timing.fast)
            self.clear_stage()

    def one_entry(self) -> None:
        with self.beat("one entry", poster=True):
            t, s, dk = self.t, self.s, self.dk
            self.show_heading("One score, built by hand",
                              formula(r"q \cdot k = \sum_{m=1}^{d_k} q_m\, k_m", 36))
            qv, kv = self.v("hook_q").select(rows=[t]), self.v("hook_k").select(rows=[s])
            width = cell_width([qv, kv], 2)

            def row(values, name, color, i):
                return MatrixView(values, name, color, row_labels=[self.word(i)], show_shape=False, title_side=LEFT,
                                  col_width=width, max_rows=1, max_cols=dk)

            q, k = row(qv, "q", palette.QUERY, t), row(kv, "k", palette.KEY, s)
            pair = VGroup(q, k).arrange(DOWN, buff=0.3, aligned_edge=RIGHT)
            dot = DotProduct(qv, kv, self.v("hook_scores").select(rows=[t], cols=[s]), per_line=4)
            lead = formula(r"q \cdot k =", 36)
            written = VGroup(lead, dot)
            lead.next_to(dot.lines[0], LEFT, buff=0.25)
            layout = VGroup(pair, written).arrange(DOWN, buff=0.7)
            self.fit(layout)
            self.play(Appear(q), run_time=self.timing.fast)
            self.say(f"The query of {self.quoted(t)}: {dk} numbers.", pause=self.timing.fast)
            self.play(Appear(k), run_time=self.timing.fast)
            self.say(f"The key of {self.quoted(s)}: {dk} numbers too, so they pair up.", pause=self.timing.fast)
            self.play(Appear(lead), run_time=self.timing.fast)
            box = None
            for m, term in enumerate(dot.terms):
                new = SurroundingRectangle(VGroup(q.cell(0, m), k.cell(0, m)), color=palette.HIGHLIGHT, buff=0.06,
                                           stroke_width=3)
                gone = [Vanish(box)] if box is not None else []
                self.play(Create(new), Appear(term), *gone, run_time=self.timing.swap)
                box = new
            self.play(Vanish(box), Appear(VGroup(dot.equals, dot.result)), run_time=self.timing.fast)
            self.play(Indicate(dot.result, color=palette.HIGHLIGHT), run_time=self.timing.build)
            rank = int((self.scores[t] > self.scores[t, s]).sum()) + 1
            where = "the highest in its row" if rank == 1 else f"number {rank} of the {self.n} in its row"
            self.say(f"Multiply pair by pair and add: the score of {self.quoted(t)} for {self.quoted(s)}, {where}.",
                     pause=self.timing.look)
            self.clear_stage()

    def all_entries(self) -> None:
        with self.beat("all scores"):
            n, dk, t, s = self.n, self.dk, self.t, self.s
            heading = self.show_heading(
                "Every query meets every key",
                formula(rf"Q\,K^\top:\ ({n}\times {dk})\cdot({dk}\times {n}) = ({n}\times {n})", 36, **QK))
            width = cell_width([self.v("hook_k"), self.v("hook_scores")], 2)

            def build(rows: int, cols: int, d: int) -> VGroup:
                q = MatrixView(self.v("hook_q"), "Q", palette.QUERY, row_labels=self.labels("encoder", 22),
                               max_rows=rows, max_cols=d, title_side=LEFT)
                kt = MatrixView(self.v("hook_k").T, r"K^\top", palette.KEY, col_labels=self.labels("encoder", 20),
                                max_rows=d, max_cols=cols, col_width=width, title_side=LEFT)
                scores = MatrixView(self.v("hook_scores"), r"Q K^\top", palette.TEXT, max_rows=rows, max_cols=cols,
                                    col_width=width, title_side=RIGHT)
                # the layout of a matrix product: Kᵀ above the result, Q to its left, rows and columns lined up
                q.next_to(scores, LEFT, buff=0.4)
                q.shift((scores.entries.get_top()[1] - q.entries.get_top()[1]) * UP)
                kt.next_to(scores, UP, buff=0.25)
                kt.shift((scores.brackets[0].get_right()[0] - kt.brackets[0].get_right()[0]) * RIGHT)
                return VGroup(q, kt, scores)

            top = heading.get_bottom()[1] - 0.2
            bottom = -2.75
            box = dict(center=(top + bottom) / 2 * UP, max_height=top - bottom)
            # keep every row (the built one among them) if folding d_k makes room; fold rows only after that
            # and the built column too, if that can be done (a fold shows the first max_cols - 2 and the last)
            keep = min(n, s + 3) if s < n - 1 else 3
            tries = [(n, d, keep) for d in sorted({dk, min(dk, 6), min(dk, 5), min(dk, 4)}, reverse=True)]
            tries += [(r, min(dk, 5), 3) for r in range(n, 2, -1)]
            for rows, d, least in tries:
                try:  # rows fixed: only the columns fold here, down to `least`
                    q, kt, scores = self.fit_folding(lambda _, cols: build(rows, max(cols, least), d), 3, n, **box)
                    break
                except LayoutError:
                    continue
            else:
                q, kt, scores = self.fit_folding(lambda r, c: build(r, c, 4), n, n, **box)
            self.play(Appear(q), Appear(kt), run_time=self.timing.build)
            built = scores.cell(t, s) is not None
            if not built:  # folded away (a long sentence): a shown cell stands in, and the caption says so
                t = t if t in scores.row_ids else scores.row_ids[0]
                shown = [c for c in scores.col_ids if c is not None]
                s = s if s in shown else max(shown, key=lambda c: self.scores[t, c])
            cell = scores.cell(t, s)
            boxes = [q.row_box(t, palette.QUERY), kt.col_box(s, palette.KEY)]
            self.play(*(Create(b) for b in boxes), run_time=self.timing.fast)
            self.play(Appear(VGroup(scores.title, scores.brackets, cell)), run_time=self.timing.fast)
            self.play(Indicate(cell, color=palette.HIGHLIGHT), run_time=self.timing.build)
            what = "the score we built" if built else "one score, the same way"
            self.say(f"The query of {self.quoted(t)} times the key of {self.quoted(s)}: {what}.",
                     pause=self.timing.fast)
            self.play(*(Vanish(b) for b in boxes), Appear(without(scores.entries, cell)), run_time=self.timing.build)
            self.say(f"{n} rows times {n} columns: a square of scores, because the sentence attends to itself.")
            self.clear_stage()

    def scale(self) -> None:
        with self.beat("divide by root dk"):
            t, n, dk = self.t, self.n, self.dk
            self.show_heading(f"Divide by \u221a{dk}, the square root of the key size",
                              formula(r"\frac{Q\,K^\top}{\sqrt{d_k}}", 36, **QK))
            raw, scaled = self.v("hook_scores").select(rows=[t]), self.v("hook_scores_scaled").select(rows=[t])
            width = cell_width([raw, scaled], 2)

            def build(rows: int, cols: int) -> VGroup:
                def line(values, name, **kw):
                    view = MatrixView(values, name, palette.TEXT, max_rows=1, max_cols=cols, col_width=width,
                                      show_shape=False, title_side=LEFT, **kw)
                    # how far apart the row's values lie (max − min, over the whole row): a derived value
                    spread = MatrixView(row_sums(values, self.trace, "spread"), r"\text{spread}", palette.MUTED,
                                        show_shape=False, title_side=UP)
                    spread.next_to(view.brackets, RIGHT, buff=0.5)
                    spread.shift((view.entries.get_top()[1] - spread.entries.get_top()[1]) * UP)
                    return VGroup(view, spread)

                a = line(raw, r"Q K^\top", col_labels=self.labels("encoder", 20))
                b = line(scaled, rf"Q K^\top / \sqrt{{{dk}}}")
                return VGroup(a, b).arrange(DOWN, buff=0.45, aligned_edge=RIGHT)

            rows = self.fit_folding(build, 1, n, center=1.0 * UP, max_height=2.6)
            why = VGroup(
                formula(r"q \cdot k = \sum_{m=1}^{d_k} q_m\, k_m", 34),
                formula(r"\mathrm{Var}(q\cdot k) = d_k\,\mathrm{Var}(q_m k_m)"
                        r"\quad\Rightarrow\quad \mathrm{Var}\Big(\frac{q\cdot k}{\sqrt{d_k}}\Big) = \mathrm{Var}(q_m k_m)",
                        34),
            ).arrange(DOWN, buff=0.3)
            self.fit(why, center=1.3 * DOWN, max_height=1.8)
            (raw_row, raw_spread), (scaled_row, scaled_spread) = rows
            self.play(Appear(raw_row), run_time=self.timing.build)
            self.play(Appear(raw_spread), run_time=self.timing.fast)
            self.say(f"The scores of {self.quoted(t)} lie far apart: the spread is the largest minus the smallest.")
            self.play(Appear(why[0]), run_time=self.timing.fast)
            self.say(f"A score adds up {dk} products, one per dimension: the longer the key, the bigger the scores.",
                     pause=self.timing.fast)
            self.play(Appear(why[1]), run_time=self.timing.fast)
            self.say("Big scores would saturate the softmax: nearly all weight on one key, and gradients near zero.")
            self.play(Appear(scaled_row), run_time=self.timing.build)
            self.play(Appear(scaled_spread), run_time=self.timing.fast)
            self.say(f"Divided by \u221a{dk}, all the scores shrink by the same factor, and so does their spread.",
                     pause=self.timing.look)
            self.clear_stage()
