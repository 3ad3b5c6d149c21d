"""The decoder's input: <bos> and the translation so far, shifted right, embedded, with positions.

Every number is read from the trace of the user's sentence: the decoder's token embeddings,
scaled by √d_model, the sinusoid table of positions, and their sum — the decoder's input.

    manim -ql scenes/decoder_input.py DecoderInput      # the default sentence
    python render.py --scene decoder_input --sentence "…"  # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Arrow, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, CrossFade, Slide, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.components import MatrixView, formula, label, plain_text, token
from scenes.kit.glyphs import set_baseline
from scenes.kit.vocab import next_tokens


class DecoderInput(ReelScene):
    name = "decoder_input"
    summary = "<bos> + the translation so far, shifted right: row t reads up to token t and predicts token t+1"

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.shift()
        self.embed()
        self.positions()
        self.into_the_decoder()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.tgt = t.tokens("decoder")  # <bos> + the translation
        self.d_model, self.d_vocab = t.config["d_model"], t.config["d_vocab"]

    def rows(self, size: float = 24):
        return self.labels("decoder", size)

    # ------------------------------------------------------------------ beats
    def shift(self) -> None:
        with self.beat("shift"):
            title = plain_text("The decoder's input", 56, palette.TEXT).to_edge(UP, buff=0.5)
            sub = label("what it reads, and what each position must predict  \u00b7  on your sentence", 24)
            sub.next_to(title, DOWN, buff=0.2)
            words = self.tgt[1:]
            out = next_tokens(self.trace)  # what row t predicts: token t+1 (after the last, the end)

            def make(per_line: int) -> VGroup:
                size = 28
                reads = [token(w, palette.DECODER, size) for w in self.tgt]
                wants = [token(w, palette.TEXT, size) for w in out]
                width = max(m.width for m in reads + wants) + 0.3
                tags = VGroup()
                for j, (a, b) in enumerate(zip(reads, wants)):
                    line, col = divmod(j, per_line)
                    y = -line * 2.4
                    a.move_to([col * width, y, 0])
                    b.move_to([col * width, y - 1.2, 0])
                    set_baseline(a, y)
                    set_baseline(b, y - 1.2)
                    if col == 0:
                        tag_r = label("reads", 24, palette.DECODER).next_to(a, LEFT, buff=0.5)
                        tag_w = label("predicts", 24, palette.TEXT)
                        tag_w.move_to(tag_r.get_right() + (y - 1.2 - y) * UP, aligned_edge=RIGHT)
                        set_baseline(tag_r, y)
                        set_baseline(tag_w, y - 1.2)
                        tags.add(VGroup(tag_r, tag_w))
                arrows = VGroup(*(Arrow(a.get_bottom(), b.get_top(), buff=0.12, color=palette.MUTED, stroke_width=3,
                                        max_tip_length_to_length_ratio=0.2) for a, b in zip(reads, wants)))
                return VGroup(VGroup(*reads), VGroup(*wants), arrows, tags)

            T = len(self.tgt)
            for lines in range(1, T + 1):  # as few lines as fit, the words shared evenly between them
                try:
                    reads, wants, arrows, tags = self.fit(make(-(-T // lines)), 0.2 * DOWN)
                    break
                except layout.LayoutError:
                    if lines == T:
                        raise
            self.play(Appear(VGroup(title, sub)), run_time=self.timing.build)
            # the translation first, as the words to be written
            self.play(Appear(VGroup(*wants[:len(words)], *(t[1] for t in tags))), run_time=self.timing.build)
            self.say("The decoder must write the translation, word by word, and then stop.", pause=self.timing.fast)
            # what it reads: the same words, each moved one place to the right, behind <bos>
            ends = [m.get_center().copy() for m in reads]
            step = (wants[1].get_center() - wants[0].get_center())[0] * RIGHT if len(wants) > 1 else 0.8 * RIGHT
            for j in range(1, len(reads)):
                reads[j].move_to(ends[j] - step)
            self.play(Appear(VGroup(*reads[1:])), run_time=self.timing.fast)
            self.play(*(Slide(reads[j], ends[j]) for j in range(1, len(reads))), run_time=self.timing.move)
            self.play(Appear(reads[0]), Appear(VGroup(*(t[0] for t in tags))), Appear(wants[-1]),
                      run_time=self.timing.fast)
            self.say("It reads the same words shifted one place right, behind a start token <bos>.",
                     pause=self.timing.fast)
            self.play(*(Appear(a) for a in arrows), run_time=self.timing.build)
            if out[-1] == "<eos>":
                self.say("So position t reads what has been written so far and predicts token t+1; the last predicts "
                         "the end.")
            else:  # the model's own translation, cut at the length limit
                self.say("Position t predicts token t+1; the translation was cut at the limit, so the last predicts "
                         "its next word.")
            self.clear_stage()

    def embed(self) -> None:
        with self.beat("embedding"):
            d, V = self.d_model, self.d_vocab
            self.show_heading("Each token becomes a vector",
                              formula(rf"E = W_E[\text{{tokens}}]:\ \text{{rows of a }} {V}\times {d} \text{{ table}}", 34))
            fold: dict = {}

            def make(rows: int, cols: int) -> MatrixView:
                fold.update(rows=rows, cols=cols)
                return MatrixView(self.values("decoder.hook_embed"), "E", palette.DECODER, where="decoder embedding",
                                  row_labels=[token(w, palette.DECODER, 24) for w in self.tgt], max_rows=rows,
                                  max_cols=cols)

            e = self.fit_folding(make, len(self.tgt), d)
            self.play(Appear(e), run_time=self.timing.build)
            self.say(f"Each French token looks up its own row of the decoder's embedding table: {d} numbers.")
            # the scaled numbers are wider: fold again from E's folding if they must
            scaled = self.fit_folding(
                lambda r, c: MatrixView(self.values("decoder.hook_embed_scaled"), r"E\sqrt{d_{\mathrm{model}}}",
                                        palette.DECODER, where="decoder embedding, scaled",
                                        row_labels=[token(w, palette.DECODER, 24) for w in self.tgt],
                                        max_rows=r, max_cols=c),
                fold["rows"], fold["cols"])
            self.turn(CrossFade(e, scaled))
            self.show_heading("Scaled", formula(rf"E\sqrt{{d_{{\mathrm{{model}}}}}} = E\sqrt{{{d}}}", 34))
            self.say(f"Multiplied by \u221a{d}, as in the encoder, so that the positions added next do not drown them.")
            self.clear_stage()

    def positions(self) -> None:
        with self.beat("positions", poster=True):
            T, d = len(self.tgt), self.d_model
            self.show_heading("Where each token stands: add the positions",
                              formula(r"X = E\sqrt{d_{\mathrm{model}}} + P", 36))

            def make(rows: int, cols: int) -> VGroup:
                e = MatrixView(self.values("decoder.hook_embed_scaled"), r"E\sqrt{d}", palette.DECODER,
                               row_labels=self.rows(), max_rows=rows, max_cols=cols)
                p = MatrixView(self.values("decoder.hook_pos_embed"), "P", palette.MUTED, where="sinusoids",
                               max_rows=rows, max_cols=cols)
                x = MatrixView(self.values("decoder.hook_input"), "X", palette.DECODER, where="decoder input",
                               max_rows=rows, max_cols=cols)
                row = VGroup(e, formula("+", 40), p, formula("=", 40), x).arrange(RIGHT, buff=0.3)
                for m in (p, x):
                    m.shift((e.entries.get_top()[1] - m.entries.get_top()[1]) * UP)
                return row

            e, plus, p, eq, x = self.fit_folding(make, T, d, center=layout.STAGE_CENTER)
            self.play(Appear(e), run_time=self.timing.build)
            self.play(Appear(VGroup(plus, p)), run_time=self.timing.build)
            self.say("Row t of the sine and cosine table marks position t: the same table the encoder uses.",
                     pause=self.timing.fast)
            self.play(Appear(VGroup(eq, x)), run_time=self.timing.build)
            self.say(f"Their sum is the decoder's input: {T} rows, one per position, {d} numbers each.",
                     pause=self.timing.look)
            self.parts = (e, plus, p, eq, x)

    def into_the_decoder(self) -> None:
        with self.beat("into the decoder"):
            e, plus, p, eq, x = self.parts
            self.turn(Vanish(VGroup(e, plus, p, eq)))
            self.show_heading("Into the decoder: masked self-attention next")
            whole = self.fit_folding(
                lambda r, c: MatrixView(self.values("decoder.hook_input"), "X", palette.DECODER, where="decoder input",
                                        row_labels=self.rows(), max_rows=r, max_cols=c),
                len(self.tgt), self.d_model)
            self.play(Slide(x, whole.brackets, scale=whole.brackets.height / x.brackets.height), run_time=self.timing.move)
            self.play(CrossFade(x, whole), run_time=self.timing.fast)  # its rows labelled again, unfolded where it fits
            self.say("Row t may use rows 0 to t only: the words written so far. The mask makes sure of that.",
                     pause=self.timing.read)
            self.clear_stage()
