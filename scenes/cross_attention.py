"""Cross-attention: the decoder's French positions ask, the encoder's English words answer.

Every number is read from the trace of the user's sentence: the encoder's output
(the memory), the decoder's stream after masked self-attention and add & norm, the
queries, keys, values, scores, weights and outputs of one head of one decoder layer.

    manim -ql scenes/cross_attention.py CrossAttention      # the default sentence
    python render.py --scene cross_attention --sentence "…"  # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, ORIGIN, RIGHT, UL, UP, Create, Indicate, SurroundingRectangle, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, CrossFade, Slide, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import describe_pattern, example_cell
from scenes.kit.components import (
    AttentionGrid,
    MatrixView,
    WeightBlock,
    cell_width,
    formula,
    label,
    plain_text,
    token,
    without,
    words_row,
    wrapped_words,
)
from scenes.kit.glyphs import baseline, set_baseline
from scenes.kit.heads import combine_heads
from scenes.kit.options import Head, Layer
from scenes.kit.stream import memory_and_stream


class CrossAttention(ReelScene):
    name = "cross_attention"
    summary = "queries from the decoder, keys and values from the encoder: how the French looks at the English"
    options = (Layer(stack="decoder"), Head(attention="decoder.blocks.{layer}.cross_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.introduce()
        self.show_inputs()
        self.make_queries()
        self.make_keys_and_values()
        self.score()
        self.read_alignment()
        self.weigh_values()
        self.combine_heads()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.p = f"decoder.blocks.{self.layer}"  # layer, head, the attention (self.a), self.where: from the options
        self.src = t.tokens("encoder")
        self.tgt = t.tokens("decoder")
        self.d_head = t.config["d_head"]
        self.d_model = t.config["d_model"]

    def src_labels(self, size: float = 24) -> list[VGroup]:
        return self.labels("encoder", size)

    def tgt_labels(self, size: float = 24) -> list[VGroup]:
        return self.labels("decoder", size)

    # ------------------------------------------------------------------ beats
    def introduce(self) -> None:
        with self.beat("introduce"):
            title = plain_text("Cross-attention", 56, palette.TEXT)
            sub = label(f"{self.where}  \u00b7  every number computed by the model on your sentence", 24)
            head = VGroup(title, sub).arrange(DOWN, buff=0.2).to_edge(UP, buff=0.5)

            def stack_row(name: str, words: list[VGroup], color) -> VGroup:
                tag = label(name, 26, color)
                text = wrapped_words(words, layout.SAFE_WIDTH - tag.width - 0.6, buff=0.3)
                row = VGroup(tag, text).arrange(RIGHT, buff=0.5, aligned_edge=UP)
                set_baseline(tag, baseline(text[0]))
                return row

            enc = stack_row("encoder reads", [token(w, palette.ENCODER, 30) for w in self.src], palette.ENCODER)
            dec = stack_row("decoder reads", [token(w, palette.DECODER, 30) for w in self.tgt], palette.DECODER)
            rows = VGroup(enc, dec).arrange(DOWN, buff=0.6, aligned_edge=LEFT)
            attention = formula(
                r"\mathrm{softmax}\big(Q\,{K}^\top / \sqrt{d_k}\big)\,V",
                size=44,
                Q=palette.QUERY,
                K=palette.KEY,
                V=palette.VALUE,
            )
            # the words and the formula under them share the stage: long sentences wrap onto more lines
            top, bottom = head.get_bottom()[1] - 0.3, layout.STAGE_BOTTOM
            self.fit(VGroup(rows, attention).arrange(DOWN, buff=0.6), (top + bottom) / 2 * UP, max_height=top - bottom)
            self.play(Appear(head), run_time=self.timing.build)
            self.play(Appear(enc), run_time=self.timing.fast)
            self.play(Appear(dec), run_time=self.timing.fast)
            self.play(Appear(attention), run_time=self.timing.fast)
            self.say("Queries come from the decoder. Keys and values come from the encoder.")
            self.clear_stage()

    def show_inputs(self) -> None:
        with self.beat("inputs"):
            # as masked_attention and encoder_stack end: the memory stays in one place across the cut
            memory, stream = self.fit_folding(lambda r, c: memory_and_stream(self, self.layer, r, c), 12, 6)
            self.play(Appear(memory, run_time=self.timing.build))
            self.say("The encoder's output: one row of numbers for each English word.", pause=self.timing.fast)
            self.play(Appear(stream, run_time=self.timing.build))
            self.say("The decoder's stream: one row for each French word so far, each helping to predict the next.")
            self.clear_stage()

    def make_queries(self) -> None:
        with self.beat("queries"):
            h = self.head
            self.show_heading("Queries come from the decoder", formula(r"Q = X\,W_{Q} + b_{Q}", 36, Q=palette.QUERY))
            self.show_product(
                lambda rows, cols: (
                    MatrixView(self.values(f"{self.p}.ln1.hook_out"), "X", palette.DECODER, row_labels=self.tgt_labels(),
                               max_rows=rows, max_cols=cols),
                    WeightBlock(self.values(f"param.{self.a}.W_Q", h), "W_Q", where=f"head {h}"),
                    MatrixView(self.values(f"{self.a}.hook_q", h), "Q", palette.QUERY, max_rows=rows, max_cols=cols),
                ),
                12, 6, "from the decoder", palette.DECODER,
            )
            self.say(f"One query for each French position: {len(self.tgt)} \u00d7 {self.d_head}.")
            self.clear_stage()

    def make_keys_and_values(self) -> None:
        h = self.head
        for name, role, color, what in (("K", "hook_k", palette.KEY, "Keys"), ("V", "hook_v", palette.VALUE, "Values")):
            with self.beat(what.lower()):
                self.show_heading(
                    f"{what} come from the encoder", formula(rf"{name} = M\,W_{{{name}}} + b_{{{name}}}", 36, **{name: color})
                )
                self.show_product(
                    lambda rows, cols, name=name, role=role, color=color: (
                        MatrixView(self.values("encoder.hook_out"), "M", palette.ENCODER, row_labels=self.src_labels(),
                                   max_rows=rows, max_cols=cols),
                        WeightBlock(self.values(f"param.{self.a}.W_{name}", h), f"W_{name}", where=f"head {h}"),
                        MatrixView(self.values(f"{self.a}.{role}", h), name, color, max_rows=rows, max_cols=cols),
                    ),
                    12, 6, "from the encoder", palette.ENCODER,
                )
                self.say(f"One {what[:-1].lower()} for each English word: {len(self.src)} \u00d7 {self.d_head}.")
                self.clear_stage()

    def score(self) -> None:
        with self.beat("scores"):
            h, T, S, dk = self.head, len(self.tgt), len(self.src), self.d_head
            views = {n: self.values(f"{self.a}.{n}", h) for n in ("hook_k", "hook_scores", "hook_scores_scaled", "hook_pattern")}
            width = cell_width(list(views.values()), 2)
            fold: dict[str, int] = {}

            def build(rows: int, cols: int) -> VGroup:
                fold.update(rows=rows, cols=cols)
                # Q's own columns fold first: this beat is about its rows meeting Kᵀ's columns
                q = MatrixView(self.values(f"{self.a}.hook_q", h), "Q", palette.QUERY, row_labels=self.tgt_labels(),
                               max_rows=rows, max_cols=min(6, max(3, cols - 4)), title_side=DOWN)
                kt = MatrixView(views["hook_k"].T, r"K^\top", palette.KEY, col_labels=self.src_labels(20), max_rows=6,
                                max_cols=cols, col_width=width, title_side=LEFT)
                scores = MatrixView(views["hook_scores"], r"Q K^\top", palette.TEXT, max_rows=rows, max_cols=cols,
                                    col_width=width, title_side=DOWN)
                # the layout of a matrix product: Kᵀ above the result, Q to its left, rows and columns lined up
                q.next_to(scores, LEFT, buff=0.4)
                q.shift((scores.entries.get_top()[1] - q.entries.get_top()[1]) * UP)
                kt.next_to(scores, UP, buff=0.25)
                kt.shift((scores.brackets[0].get_right()[0] - kt.brackets[0].get_right()[0]) * RIGHT)
                return VGroup(q, kt, scores)

            heading = VGroup(
                plain_text("Every query meets every key", 30, palette.TEXT),
                formula(rf"({T}\times {dk})\cdot({dk}\times {S}) = ({T}\times {S})", 32),
            ).arrange(DOWN, buff=0.2)
            q, kt, scores = self.fit_folding(build, T, S, center=0.45 * UP, max_height=6.4)
            # the heading takes the empty corner above Q and left of Kᵀ
            room = kt.get_left()[0] - (-layout.FRAME_WIDTH / 2 + 0.4) - 0.3
            if heading.width > room:
                heading.scale(room / heading.width)
            heading.to_corner(UL, buff=0.4)
            self.play(Appear(heading), run_time=self.timing.fast)
            self.play(Appear(q), Appear(kt), run_time=self.timing.build)
            # one entry, built from a row of Q and a column of Kᵀ
            pattern = self.trace[f"{self.a}.hook_pattern"][self.head]
            t, s = example_cell(pattern, [r for r in scores.row_ids if r is not None],
                                [c for c in scores.col_ids if c is not None])
            qb, kb = q.row_box(t, palette.QUERY), kt.col_box(s, palette.KEY)
            self.play(Create(qb), Create(kb), run_time=self.timing.fast)
            cell = scores.cell(t, s)
            self.play(Appear(VGroup(scores.title, scores.brackets, cell)), run_time=self.timing.fast)
            self.play(Indicate(cell, color=palette.HIGHLIGHT), run_time=self.timing.build)
            self.say(f"Row \u201c{self.tgt[t]}\u201d meets column \u201c{self.src[s]}\u201d: a large dot product is a good match.",
                     pause=self.timing.fast)
            self.play(Vanish(qb), Vanish(kb), Appear(without(scores.entries, cell)), run_time=self.timing.build)
            self.say(f"{T} French rows, {S} English columns: not square, because the two sentences differ in length.")
            # divide by √d_k, in place
            scaled = MatrixView(views["hook_scores_scaled"], rf"Q K^\top / \sqrt{{{dk}}}", palette.TEXT,
                                max_rows=fold["rows"], max_cols=fold["cols"], col_width=width,
                                title_side=DOWN).align_grid(scores)
            self.play(CrossFade(scores.entries, scaled.entries), CrossFade(scores.title, scaled.title),
                      run_time=self.timing.build)
            self.remove(scores)
            self.add(scaled)
            self.say(f"Divided by \u221a{dk}, the square root of the key size, so the softmax does not saturate.")
            # softmax along each row, in place
            pattern = MatrixView(views["hook_pattern"], "A", palette.ATTENTION, max_rows=fold["rows"],
                                 max_cols=fold["cols"], col_width=width, title_side=DOWN).align_grid(scores)
            self.play(Vanish(heading), run_time=self.timing.fast)
            soft = formula(r"A = \mathrm{softmax}\big(Q\,{K}^\top / \sqrt{d_k}\big)", 34,
                           Q=palette.QUERY, K=palette.KEY)
            if soft.width > room:  # the same empty corner as the heading's, however wide the product grew
                soft.scale(room / soft.width)
            soft.to_corner(UL, buff=0.4)
            row_box = scaled.row_box(0)
            self.play(Appear(soft), Create(row_box), run_time=self.timing.fast)
            self.play(CrossFade(scaled.row_cells(0), pattern.row_cells(0)), run_time=self.timing.build)
            self.say("Softmax along each row: weights between 0 and 1 that add up to 1.", pause=self.timing.fast)
            rest = [r for r in range(T) if r != 0]
            self.play(Vanish(row_box), CrossFade(scaled.title, pattern.title),
                      *(CrossFade(scaled.row_cells(r), pattern.row_cells(r)) for r in rest),
                      run_time=self.timing.build)
            self.wait(self.timing.read)
            self.clear_stage()

    def read_alignment(self) -> None:
        with self.beat("alignment", poster=True):
            h = self.head
            weights = self.trace[f"{self.a}.hook_pattern"][h]
            heading = self.show_heading("The pattern: which English word each French position reads")
            hint = label("rows: queries (French, decoder)   \u00b7   columns: keys (English, encoder)", 22)
            hint.next_to(heading, DOWN, buff=0.15)
            grid = self.fit_folding(
                lambda rows, cols: AttentionGrid(self.values(f"{self.a}.hook_pattern", h), self.tgt_labels(24),
                                                 self.src_labels(24), cell=0.5, cell_width=0.9,
                                                 max_rows=rows, max_cols=cols),
                len(self.tgt), len(self.src),
            )
            self.play(Appear(grid), Appear(hint), run_time=self.timing.build)
            # sweep: the brightest key of each row (where it is shown)
            best = [(r, int(weights[r].argmax())) for r in grid.shown_rows]
            boxes = VGroup(*(SurroundingRectangle(grid.square(r, c), color=palette.HIGHLIGHT, buff=0.02, stroke_width=3)
                             for r, c in best if grid.square(r, c) is not None))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.build)
            self.say(describe_pattern(weights, "French positions", "English word"), pause=self.timing.look)
            self.play(Vanish(boxes), Vanish(hint), Vanish(heading), run_time=self.timing.fast)
            self.grid = grid

    def weigh_values(self) -> None:
        with self.beat("weighted values"):
            h, T, S, dk = self.head, len(self.tgt), len(self.src), self.d_head
            self.show_heading(
                "Weights times values",
                formula(rf"Z = A\,{{V}}:\ ({T}\times {S})\cdot({S}\times {dk}) = ({T}\times {dk})", 36, V=palette.VALUE),
            )
            a = self.grid
            # the pattern, already read word by word, now as a picture: its rows are Z's rows, its columns V's rows
            extras = VGroup(a.numbers, a.row_labels, a.col_labels)
            self.play(Vanish(extras), run_time=self.timing.fast)
            a.remove(*extras)

            def build(rows: int, cols: int) -> VGroup:
                v = MatrixView(self.values(f"{self.a}.hook_v", h), "V", palette.VALUE, row_labels=self.src_labels(22),
                               max_rows=rows, max_cols=cols)
                z = MatrixView(self.values(f"{self.a}.hook_z", h), "Z", palette.QUERY, max_rows=rows, max_cols=cols,
                               where=f"head {h}")
                spot = a.copy().scale(v.brackets.height / a.height)
                name = formula("A", 40, palette.ATTENTION).next_to(spot, UP, buff=0.2)
                return VGroup(VGroup(spot, name), formula(r"\cdot", 40), v, formula("=", 40), z).arrange(RIGHT, buff=0.35)

            target = self.fit_folding(build, 12, 6, center=0.3 * DOWN)
            (spot, name), _, v, _, z = target
            self.play(Slide(a, spot, scale=spot.width / a.width), Appear(name), run_time=self.timing.move)
            self.play(Appear(VGroup(target[1], v, target[3])), run_time=self.timing.build)
            self.play(Appear(z), run_time=self.timing.build)
            self.say("Each French position receives a mix of the English words' values, weighted by its row.")
            self.clear_stage()

    def combine_heads(self) -> None:
        with self.beat("heads"):
            combine_heads(self, self.a, self.tgt_labels, self.src_labels, self.head, palette.DECODER,
                          mixing="Side by side, the heads' outputs are mixed by one more matrix, "
                                 "then added back to the decoder's stream.")
