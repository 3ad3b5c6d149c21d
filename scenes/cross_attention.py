"""Cross-attention: the decoder's French positions ask, the encoder's English words answer.

Every number is read from the trace of the user's sentence: the encoder's output
(the memory), the decoder's stream after masked self-attention and add & norm, the
queries, keys, values, scores, weights and outputs of one head of one decoder layer.

    manim -ql scenes/cross_attention.py CrossAttention      # the default sentence
    python render.py --scene cross_attention --sentence "…"  # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, ORIGIN, RIGHT, UL, UP, Brace, Create, CurvedArrow, Indicate, SurroundingRectangle, VGroup

from scenes import palette
from scenes.animations import Appear, Slide, Vanish
from scenes.base import ReelScene
from scenes.components import (
    AttentionGrid,
    MatrixView,
    Values,
    WeightBlock,
    cell_width,
    decoder_row_label,
    formula,
    label,
    plain_text,
    token,
    without,
    words_row,
)

FRAME_WIDTH = 13.4  # usable width, leaving a margin inside Manim's 14.2


def best_head(trace, layer: int) -> int:
    """The head whose cross-attention is sharpest (largest mean row maximum): the one that teaches."""
    pattern = trace[f"decoder.blocks.{layer}.cross_attn.hook_pattern"]
    return int(pattern.max(-1).mean(-1).argmax())


class CrossAttention(ReelScene):
    scene_name = "cross_attention"
    summary = "queries from the decoder, keys and values from the encoder"
    defaults = {"layer": None, "head": None}  # None: the last decoder layer, its sharpest head

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
        n_layers = t.config["n_layers"]["decoder"]
        layer = self.options["layer"]
        self.layer = n_layers - 1 if layer is None else layer
        head = self.options["head"]
        self.head = best_head(t, self.layer) if head is None else head
        self.p = f"decoder.blocks.{self.layer}"
        self.a = f"{self.p}.cross_attn"
        self.where = f"decoder layer {self.layer} \u00b7 head {self.head}"
        self.src = t.tokens("encoder")
        self.tgt = t.tokens("decoder")
        self.d_head = t.config["d_head"]
        self.d_model = t.config["d_model"]

    def src_labels(self, size: float = 24) -> list[VGroup]:
        return [token(w, palette.ENCODER, size) for w in self.src]

    def tgt_labels(self, size: float = 24) -> list[VGroup]:
        return [decoder_row_label(self.tgt, i, size) for i in range(len(self.tgt))]

    def fit(self, group: VGroup, center=ORIGIN + 0.1 * DOWN, max_height: float = 5.6) -> VGroup:
        """Centre a layout; shrink it only if it would leave its place (the frame's width, `max_height`)."""
        factor = min(1.0, FRAME_WIDTH / group.width, max_height / group.height)
        if factor < 1.0:
            group.scale(factor)
        return group.move_to(center)

    def heading(self, text: str) -> VGroup:
        return plain_text(text, 34, palette.TEXT).to_edge(UP, buff=0.3)

    def show_heading(self, text: str, formula_mob=None) -> VGroup:
        self.drop_caption()
        head = self.heading(text)
        group = VGroup(head)
        if formula_mob is not None:
            formula_mob.next_to(head, DOWN, buff=0.15)
            group.add(formula_mob)
        self.play(Appear(group, run_time=self.timing.fast))
        return group

    # ------------------------------------------------------------------ beats
    def introduce(self) -> None:
        with self.beat("introduce"):
            title = plain_text("Cross-attention", 56, palette.TEXT)
            sub = label(f"{self.where}  \u00b7  every number computed by the model on your sentence", 24)
            head = VGroup(title, sub).arrange(DOWN, buff=0.2).to_edge(UP, buff=0.5)

            def stack_row(name: str, words: list[VGroup], color) -> VGroup:
                return words_row([label(name, 26, color), words_row(words, buff=0.3)], buff=0.5)

            enc = stack_row("encoder reads", [token(w, palette.ENCODER, 30) for w in self.src], palette.ENCODER)
            dec = stack_row("decoder reads", [token(w, palette.DECODER, 30) for w in self.tgt], palette.DECODER)
            rows = VGroup(enc, dec).arrange(DOWN, buff=0.6, aligned_edge=LEFT)
            self.fit(rows, ORIGIN + 0.3 * UP)
            attention = formula(
                r"\mathrm{softmax}\big(Q\,{K}^\top / \sqrt{d_k}\big)\,V",
                size=44,
                Q=palette.QUERY,
                K=palette.KEY,
                V=palette.VALUE,
            ).next_to(rows, DOWN, buff=0.6)
            self.play(Appear(head), run_time=self.timing.build)
            self.play(Appear(enc), run_time=self.timing.fast)
            self.play(Appear(dec), run_time=self.timing.fast)
            self.play(Appear(attention), run_time=self.timing.fast)
            self.say("Queries come from the decoder. Keys and values come from the encoder.")
            self.clear_stage()

    def show_inputs(self) -> None:
        with self.beat("inputs"):
            memory = MatrixView(
                self.values("encoder.hook_out"), "M", palette.ENCODER, where="encoder output",
                row_labels=self.src_labels(), max_cols=6,
            )
            stream = MatrixView(
                self.values(f"{self.p}.ln1.hook_out"), "X", palette.DECODER,
                where="decoder, after masked self-attention, add & norm",
                row_labels=self.tgt_labels(), max_cols=6,
            )
            self.fit(VGroup(memory, stream).arrange(RIGHT, buff=0.9, aligned_edge=UP), 0.2 * DOWN)
            self.play(Appear(memory, run_time=self.timing.build))
            self.say("The encoder's output: one row of numbers for each English word.", pause=self.timing.fast)
            self.play(Appear(stream, run_time=self.timing.build))
            self.say("The decoder's stream: one row for each French word so far, each helping to predict the next.")
            self.clear_stage()

    def show_product(self, left: MatrixView, weight: WeightBlock, result: MatrixView, source_tag: str, tag_color) -> None:
        """left × W = result, with an arrow from the stack the input really comes from."""
        times, equals = formula(r"\times", 40), formula("=", 40)
        self.fit(VGroup(left, times, weight, equals, result).arrange(RIGHT, buff=0.3), 0.2 * DOWN)
        # the result's rows are the left matrix's rows: line them up
        result.shift((left.entries.get_top()[1] - result.entries.get_top()[1]) * UP)
        low = min(left.get_bottom()[1], result.get_bottom()[1]) - 0.15
        arrow = CurvedArrow([left.brackets.get_center()[0], low, 0], [result.brackets.get_center()[0], low, 0],
                            angle=0.45, color=tag_color, stroke_width=5)
        tag = label(source_tag, 28, tag_color).next_to(arrow, DOWN, buff=0.1)
        self.play(Appear(VGroup(left, times, weight, equals), run_time=self.timing.build))
        box_in, box_out = left.row_box(0), result.row_box(0)
        self.play(Create(box_in), run_time=self.timing.fast)
        first = result.row_cells(0)
        self.play(Appear(VGroup(result.title, result.brackets, first)), Create(box_out), run_time=self.timing.fast)
        self.play(Appear(without(result.entries, *first)), Vanish(box_in), Vanish(box_out), run_time=self.timing.build)
        self.play(Create(arrow), Appear(tag), run_time=self.timing.build)

    def make_queries(self) -> None:
        with self.beat("queries"):
            h = self.head
            self.show_heading("Queries come from the decoder", formula(r"Q = X\,W_{Q} + b_{Q}", 36, Q=palette.QUERY))
            x = MatrixView(self.values(f"{self.p}.ln1.hook_out"), "X", palette.DECODER, row_labels=self.tgt_labels(), max_cols=6)
            w = WeightBlock(self.values(f"param.{self.a}.W_Q", h), "W_Q", where=f"head {h}")
            q = MatrixView(self.values(f"{self.a}.hook_q", h), "Q", palette.QUERY, max_cols=8)
            self.show_product(x, w, q, "from the decoder", palette.DECODER)
            self.say(f"One query for each French position: {len(self.tgt)} \u00d7 {self.d_head}.")
            self.clear_stage()

    def make_keys_and_values(self) -> None:
        h = self.head
        for name, role, color, what in (("K", "hook_k", palette.KEY, "Keys"), ("V", "hook_v", palette.VALUE, "Values")):
            with self.beat(what.lower()):
                self.show_heading(
                    f"{what} come from the encoder", formula(rf"{name} = M\,W_{{{name}}} + b_{{{name}}}", 36, **{name: color})
                )
                m = MatrixView(self.values("encoder.hook_out"), "M", palette.ENCODER, row_labels=self.src_labels(), max_cols=6)
                w = WeightBlock(self.values(f"param.{self.a}.W_{name}", h), f"W_{name}", where=f"head {h}")
                result = MatrixView(self.values(f"{self.a}.{role}", h), name, color, max_cols=8)
                self.show_product(m, w, result, "from the encoder", palette.ENCODER)
                self.say(f"One {what[:-1].lower()} for each English word: {len(self.src)} \u00d7 {self.d_head}.")
                self.clear_stage()

    def score(self) -> None:
        with self.beat("scores"):
            h, T, S, dk = self.head, len(self.tgt), len(self.src), self.d_head
            views = {n: self.values(f"{self.a}.{n}", h) for n in ("hook_k", "hook_scores", "hook_scores_scaled", "hook_pattern")}
            width = cell_width(list(views.values()), 2)
            q = MatrixView(self.values(f"{self.a}.hook_q", h), "Q", palette.QUERY, row_labels=self.tgt_labels(), max_cols=6,
                           title_side=DOWN)
            kt = MatrixView(views["hook_k"].T, r"K^\top", palette.KEY, col_labels=self.src_labels(20), max_rows=6,
                            max_cols=10, col_width=width, title_side=LEFT)
            scores = MatrixView(views["hook_scores"], r"Q K^\top", palette.TEXT, max_cols=10, col_width=width, title_side=DOWN)
            # the layout of a matrix product: Kᵀ above the result, Q to its left, rows and columns lined up
            q.next_to(scores, LEFT, buff=0.4)
            q.shift((scores.entries.get_top()[1] - q.entries.get_top()[1]) * UP)
            kt.next_to(scores, UP, buff=0.25)
            kt.shift((scores.brackets[0].get_right()[0] - kt.brackets[0].get_right()[0]) * RIGHT)
            heading = VGroup(
                plain_text("Every query meets every key", 30, palette.TEXT),
                formula(rf"({T}\times {dk})\cdot({dk}\times {S}) = ({T}\times {S})", 32),
            ).arrange(DOWN, buff=0.2)
            layout = VGroup(q, kt, scores)
            self.fit(layout, 0.45 * UP, max_height=6.4)
            heading.to_corner(UL, buff=0.4)
            self.play(Appear(heading), run_time=self.timing.fast)
            self.play(Appear(q), Appear(kt), run_time=self.timing.build)
            # one entry, built from a row of Q and a column of Kᵀ
            t, s = self.example_cell(scores)
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
            scaled = MatrixView(views["hook_scores_scaled"], rf"Q K^\top / \sqrt{{{dk}}}", palette.TEXT, max_cols=10,
                                col_width=width, title_side=DOWN).align_grid(scores)
            self.play(Vanish(scores.entries), Vanish(scores.title), Appear(scaled.entries), Appear(scaled.title),
                      run_time=self.timing.build)
            self.remove(scores)
            self.add(scaled)
            self.say(f"Divided by \u221a{dk}, the square root of the key size, so the softmax does not saturate.")
            # softmax along each row, in place
            pattern = MatrixView(views["hook_pattern"], "A", palette.ATTENTION, max_cols=10, col_width=width,
                                 title_side=DOWN).align_grid(scores)
            self.play(Vanish(heading), run_time=self.timing.fast)
            soft = formula(r"A = \mathrm{softmax}\big(Q\,{K}^\top / \sqrt{d_k}\big)", 34,
                           Q=palette.QUERY, K=palette.KEY).move_to(heading)
            row_box = scaled.row_box(0)
            self.play(Appear(soft), Create(row_box), run_time=self.timing.fast)
            self.play(Vanish(scaled.row_cells(0)), Appear(pattern.row_cells(0)), run_time=self.timing.build)
            self.say("Softmax along each row: weights between 0 and 1 that add up to 1.", pause=self.timing.fast)
            rest = [r for r in range(T) if r != 0]
            self.play(Vanish(row_box), Vanish(scaled.title), Appear(pattern.title),
                      *(Vanish(scaled.row_cells(r)) for r in rest), *(Appear(pattern.row_cells(r)) for r in rest),
                      run_time=self.timing.build)
            self.wait(self.timing.read)
            self.clear_stage()

    def example_cell(self, view: MatrixView) -> tuple[int, int]:
        """A shown cell worth building: a query row and the key it matches best, off the diagonal if possible."""
        pattern = self.trace[f"{self.a}.hook_pattern"][self.head]
        rows = [r for r in view.row_ids if r is not None]
        cols = {c for c in view.col_ids if c is not None}
        best = [(t, int(pattern[t].argmax())) for t in rows if int(pattern[t].argmax()) in cols]
        for t, s in best:
            if t > 0 and s != t and s < len(self.src) - 1:
                return t, s
        if best:
            return best[0]
        return rows[0], min(cols)

    def read_alignment(self) -> None:
        with self.beat("alignment"):
            h = self.head
            heading = self.show_heading("The pattern: which English word each French position reads")
            grid = AttentionGrid(self.values(f"{self.a}.hook_pattern", h), self.tgt_labels(24), self.src_labels(24),
                                 cell=0.5, cell_width=0.9)
            hint = label("rows: queries (French, decoder)   \u00b7   columns: keys (English, encoder)", 22)
            hint.next_to(heading, DOWN, buff=0.15)
            self.fit(grid, 0.3 * DOWN, max_height=5.0)
            self.play(Appear(grid), Appear(hint), run_time=self.timing.build)
            # sweep: the brightest key of each row
            weights = self.trace[f"{self.a}.hook_pattern"][h]
            boxes = VGroup(*(SurroundingRectangle(grid.square(r, int(weights[r].argmax())), color=palette.HIGHLIGHT, buff=0.02,
                                                  stroke_width=3) for r in range(len(self.tgt))))
            self.play(*(Create(b) for b in boxes), run_time=self.timing.build)
            self.say("Each French position reads the English word it must write next.", pause=self.timing.look)
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
            v = MatrixView(self.values(f"{self.a}.hook_v", h), "V", palette.VALUE, row_labels=self.src_labels(22), max_cols=6)
            z = MatrixView(self.values(f"{self.a}.hook_z", h), "Z", palette.QUERY, max_cols=6, where=f"head {h}")
            # the pattern, already read word by word, now as a picture: its rows are Z's rows, its columns V's rows
            extras = VGroup(a.numbers, a.row_labels, a.col_labels)
            self.play(Vanish(extras), run_time=self.timing.fast)
            a.remove(*extras)
            spot = a.copy().scale(v.brackets.height / a.height)
            name = formula("A", 40, palette.ATTENTION).next_to(spot, UP, buff=0.2)
            target = VGroup(VGroup(spot, name), formula(r"\cdot", 40), v, formula("=", 40), z).arrange(RIGHT, buff=0.35)
            self.fit(target, 0.3 * DOWN)
            self.play(Slide(a, spot, scale=spot.width / a.width), Appear(name), run_time=self.timing.move)
            self.play(Appear(VGroup(target[1], v, target[3])), run_time=self.timing.build)
            self.play(Appear(z), run_time=self.timing.build)
            self.say("Each French position receives a mix of the English words' values, weighted by its row.")
            self.clear_stage()

    def combine_heads(self) -> None:
        with self.beat("heads"):
            t = self.trace
            n_heads = t.config["n_heads"]
            concat = r"\ ".join(f"Z_{hh}" for hh in range(n_heads))
            heading = self.show_heading("Every head at once, then mixed", formula(rf"\mathrm{{out}} = [{concat}]\,W_O + b_O", 36))
            grids = VGroup()
            for hh in range(n_heads):
                g = AttentionGrid(self.values(f"{self.a}.hook_pattern", hh), self.tgt_labels(20), self.src_labels(18),
                                  cell=0.36, cell_width=0.46, numbers=False)
                cap = label(f"head {hh}", 22, palette.HIGHLIGHT if hh == self.head else palette.MUTED)
                grids.add(VGroup(g, cap.next_to(g, DOWN, buff=0.15)))
            grids.arrange(RIGHT, buff=0.8)
            self.fit(grids, 0.3 * DOWN)
            self.play(Appear(grids), run_time=self.timing.build)
            self.say("Each head learns its own way of looking.", pause=self.timing.read)
            self.play(Vanish(grids), run_time=self.timing.fast)
            # the heads' outputs side by side; only the first carries row labels, the rows line up
            zs = [
                MatrixView(self.values(f"{self.a}.hook_z", hh), f"Z_{hh}", palette.QUERY, max_cols=4,
                           row_labels=self.tgt_labels(20) if hh == 0 else None)
                for hh in range(n_heads)
            ]
            w_o = t.param(f"{self.a}.W_O")  # [heads, d_head, d_model]: stacked, it maps the concatenation
            w_o = WeightBlock(Values(self.needs[0], f"param.{self.a}.W_O", w_o.reshape(-1, self.d_model)), "W_O", cell=0.12)
            out = MatrixView(self.values(f"{self.a}.hook_out"), r"\mathrm{out}", palette.DECODER, max_cols=5)
            heads = VGroup(*zs).arrange(RIGHT, buff=0.08, aligned_edge=UP)
            brace = Brace(VGroup(*(z.brackets for z in zs)), DOWN, color=palette.MUTED)
            joined = label(f"concatenated: {len(self.tgt)} \u00d7 {n_heads * self.d_head}", 22).next_to(brace, DOWN, buff=0.1)
            heads.add(brace, joined)
            row = self.fit(VGroup(heads, formula(r"\times", 36), w_o, formula("=", 36), out).arrange(RIGHT, buff=0.25), 0.4 * DOWN)
            out.shift((zs[0].entries.get_top()[1] - out.entries.get_top()[1]) * UP)  # same rows, same height
            self.play(Appear(row), run_time=self.timing.build)
            self.say("Side by side, the heads' outputs are mixed by one more matrix, then added back to the decoder's stream.",
                     pause=self.timing.look)
            self.play(*(Vanish(m) for m in (row, heading)), run_time=self.timing.fast)
