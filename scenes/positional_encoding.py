"""Positional encoding: where each word stands, as sines and cosines added to its row.

The paper's formula; columns of the real sinusoid table drawn as functions of the position,
with the traced table's values (`encoder.hook_pos_embed`, the first rows of `param.W_pos`)
marked on them; then the sum the encoder reads: `hook_embed_scaled + hook_pos_embed = hook_input`.

    python render.py --scene positional_encoding --sentence "…"
"""

from __future__ import annotations

from collections import defaultdict

from manim import DOWN, LEFT, RIGHT, UP, Create, DashedLine, SurroundingRectangle, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.components import MatrixView, formula, label, without
from scenes.kit.encoding import WAVE_COLORS, WavePlot

# the table's columns drawn as curves: sin and cos of the fastest frequency, then two slower sines
DIMS = (0, 1, 2, 4)


class PositionalEncoding(ReelScene):
    name = "positional_encoding"
    summary = "the paper's sines and cosines: the real position table, drawn as waves and added to the embeddings"

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.state_formula()
        self.draw_waves()
        self.add_to_embeddings()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.src = t.tokens("encoder")
        self.n = len(self.src)
        self.d_model = t.config["d_model"]
        self.dims = [d for d in DIMS if d < self.d_model]

    def paper_formula(self, size: float = 34, one_line: bool = False) -> VGroup:
        sin = formula(r"PE_{(pos,\,2i)} = \sin\!\big(pos / 10000^{2i/d_\mathrm{model}}\big)", size)
        cos = formula(r"PE_{(pos,\,2i+1)} = \cos\!\big(pos / 10000^{2i/d_\mathrm{model}}\big)", size)
        if one_line:
            return VGroup(sin, cos).arrange(RIGHT, buff=0.6)
        return VGroup(sin, cos).arrange(DOWN, buff=0.2, aligned_edge=LEFT)

    # ------------------------------------------------------------------ beats
    def state_formula(self) -> None:
        with self.beat("formula"):
            title = self.heading("Positional encoding")
            paper = self.paper_formula(44).move_to(0.5 * UP)
            self.play(Appear(title), run_time=self.timing.fast)
            self.play(Appear(paper), run_time=self.timing.build)
            self.say("Attention by itself does not see word order: each position gets its own pattern of numbers.",
                     pause=self.timing.read)
            d = self.d_model
            self.say(f"The even columns of the table are sines, the odd ones cosines: {d} columns, "
                     "one row per position.", pause=self.timing.read)
            self.clear_stage()

    def draw_waves(self) -> None:
        with self.beat("waves", poster=True):
            heading = self.show_heading("Positions as waves", self.paper_formula(28, one_line=True))
            table = self.values("encoder.hook_pos_embed")
            cols = table.select(cols=self.dims)
            colors = {d: WAVE_COLORS[k] for k, d in enumerate(self.dims)}

            def build(rows: int, _cols: int) -> VGroup:
                plot = WavePlot(table, self.dims, self.d_model, width=6.6, height=3.3)
                keys = VGroup(*(
                    label(f"column {d}: {'sin' if d % 2 == 0 else 'cos'}, i = {d // 2}", 22, colors[d])
                    for d in self.dims
                )).arrange_in_grid(rows=2, buff=(0.5, 0.15), flow_order="rd", col_alignments="ll")
                keys.next_to(plot.axes, UP, buff=0.25)
                view = MatrixView(cols, "PE", palette.TEXT, show_shape=False,
                                  where=f"{self.n} \u00d7 {self.d_model}: columns {', '.join(map(str, self.dims))}",
                                  row_labels=self.labels("encoder", 22),
                                  col_labels=[label(str(d), 20, colors[d]) for d in self.dims], max_rows=rows)
                return VGroup(VGroup(keys, plot), view).arrange(RIGHT, buff=0.7)

            # the table folds past ten rows, so the waves keep their size
            left, view = self.fit_folding(build, min(self.n, 10), len(self.dims), max_height=4.9)
            keys, plot = left
            self.waves = plot
            self.play(Appear(VGroup(plot.axes, plot.ticks, plot.x_name)), run_time=self.timing.fast)
            for k in range(len(self.dims)):
                self.play(Create(plot.curves[k]), Appear(keys[k]), run_time=self.timing.build)
            self.say("Each column of the table is a wave over the positions: fast ones and slow ones.",
                     pause=self.timing.fast)
            # the real table: its values sit on the curves, one dot per position
            self.play(Appear(plot.dots), Appear(view), run_time=self.timing.build)
            self.say(f"The dots are the table's real values at your sentence's {self.n} positions; "
                     f"the same numbers are in the matrix.", pause=self.timing.read)
            # one position: a vertical line through its dots, its row in the table
            p = min(2, self.n - 1)
            line = DashedLine(plot.axes.c2p(p, -1.15), plot.axes.c2p(p, 1.15), color=palette.HIGHLIGHT, stroke_width=3)
            box = view.row_box(p) if p in view.row_ids else SurroundingRectangle(view.entries, color=palette.HIGHLIGHT)
            rings = VGroup(*(SurroundingRectangle(plot.dots[k][p], color=palette.HIGHLIGHT, buff=0.04, stroke_width=3)
                             for k in range(len(self.dims))))
            self.play(Create(line), Create(box), Create(rings), run_time=self.timing.build)
            distinct = self.n > 1 and len({tuple(r) for r in self.trace["encoder.hook_pos_embed"].round(4)}) == self.n
            tail = " No two positions share a row." if distinct else ""
            self.say(f"Position {p} (\u201c{self.src[p]}\u201d) reads its numbers off the waves where they cross the line.{tail}",
                     pause=self.timing.look)
            self.play(Vanish(line), Vanish(box), Vanish(rings), Vanish(heading), run_time=self.timing.fast)
            self.clear_stage()

    def add_to_embeddings(self) -> None:
        with self.beat("sum"):
            n, d = self.n, self.d_model
            self.show_heading("Added to the embeddings",
                              formula(rf"X = E\sqrt{{{d}}} + PE \quad ({n}\times {d}) + ({n}\times {d}) = ({n}\times {d})", 34))

            def build(rows: int, cols: int) -> VGroup:
                emb = MatrixView(self.values("encoder.hook_embed_scaled"), rf"E\sqrt{{{d}}}", palette.ENCODER,
                                 row_labels=self.labels("encoder", 24), max_rows=rows, max_cols=cols)
                pos = MatrixView(self.values("encoder.hook_pos_embed"), "PE", palette.TEXT, max_rows=rows, max_cols=cols)
                out = MatrixView(self.values("encoder.hook_input"), "X", palette.ENCODER, max_rows=rows, max_cols=cols)
                plus, eq = formula("+", 40), formula("=", 40)
                row = VGroup(emb, plus, pos, eq, out).arrange(RIGHT, buff=0.3)
                for m in (pos, out):
                    m.shift((emb.entries.get_top()[1] - m.entries.get_top()[1]) * UP)
                for m in (plus, eq):
                    m.move_to([m.get_center()[0], emb.brackets.get_center()[1], 0])
                return row

            emb, plus, pos, eq, out = self.fit_folding(build, n, min(d, 6), max_height=4.9)
            self.play(Appear(VGroup(emb, plus, pos, eq)), run_time=self.timing.build)
            # the first row, entry by entry, then all of them
            boxes = VGroup(emb.row_box(0), pos.row_box(0))
            self.play(Create(boxes), run_time=self.timing.fast)
            first = out.row_cells(0)
            box_out = out.row_box(0)
            self.play(Appear(VGroup(out.title, out.brackets, first)), Create(box_out), run_time=self.timing.build)
            self.say(f"Row by row, number by number: \u201c{self.src[0]}\u201d at position 0 plus the table's row 0.",
                     pause=self.timing.fast)
            self.play(Vanish(boxes), Vanish(box_out), Appear(without(out.entries, *first)), run_time=self.timing.build)
            twice = self.repeated_word()
            if twice is not None:  # the same word twice: equal rows in, different rows out
                shown = [p for p in twice if p in emb.row_ids]
                if len(shown) == 2:
                    marks = VGroup(*(m.row_box(p) for m in (emb, out) for p in shown))
                    self.play(Create(marks), run_time=self.timing.fast)
            self.say(self.repeated_word_sentence(), pause=self.timing.look)
            self.clear_stage()

    def repeated_word(self) -> tuple[int, int] | None:
        """Two positions of the first word that appears twice and whose rows the position sets apart."""
        where = defaultdict(list)
        for p, w in enumerate(self.src):
            where[w].append(p)
        x = self.trace["encoder.hook_input"]
        for w, ps in where.items():
            if len(ps) > 1 and not (abs(x[ps[0]] - x[ps[1]]) < 1e-6).all():
                return ps[0], ps[1]
        return None

    def repeated_word_sentence(self) -> str:
        """What the sum changes, said of this sentence: a word that appears twice now has two different rows."""
        twice = self.repeated_word()
        if twice is not None:
            a, b = twice
            return (f"\u201c{self.src[a]}\u201d at positions {a} and {b} had the same row; "
                    f"with its position added, the two rows differ.")
        return "Each row now carries both the word and where it stands: X is what the encoder reads."
