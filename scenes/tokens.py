"""Tokens: the sentence becomes tokens, the tokens ids, the ids rows of the embedding matrix.

Every number is read from the trace of the user's sentence: the ids (`encoder.hook_tokens`),
the rows of the real embedding matrix (`param.encoder.W_E`, the vocabulary folded around the
sentence's rows), the looked-up rows (`encoder.hook_embed`) and the same rows × √d_model
(`encoder.hook_embed_scaled`).

    python render.py --scene tokens --sentence "…"
"""

from __future__ import annotations

from collections import Counter

from manim import DOWN, LEFT, RIGHT, UP, Arrow, Create, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.components import MatrixView, _fold, formula, label, plain_text, token, words_row
from scenes.kit.encoding import LabelledNumbers, entry, vocabulary_rows
from scenes.kit.layout import SAFE_WIDTH


class Tokens(ReelScene):
    name = "tokens"
    summary = "the sentence → tokens → ids → rows of the embedding matrix W_E → × √d_model"

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.tokenize()
        self.look_up()
        self.scale_up()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.src = t.tokens("encoder")
        self.ids = [int(i) for i in t["encoder.hook_tokens"]]
        self.d_model = t.config["d_model"]
        self.d_vocab = t.config["d_vocab"]
        self.first = {}  # id → the first position that reads it
        for pos, i in enumerate(self.ids):
            self.first.setdefault(i, pos)

    def id_number(self, pos: int, size: float = 24, color=palette.MUTED):
        """The id of position `pos`, as the trace recorded it."""
        return entry(self.values("encoder.hook_tokens"), 0, pos, 0, size, color)

    # ------------------------------------------------------------------ beats
    def tokenize(self) -> None:
        with self.beat("tokens and ids"):
            self.show_heading("From words to numbers")
            sentence = plain_text(f"\u201c{self.trace.sentence}\u201d", 34, palette.TEXT)
            if sentence.width > SAFE_WIDTH:
                sentence.scale_to_fit_width(SAFE_WIDTH)
            sentence.move_to(1.2 * UP)
            self.play(Appear(sentence), run_time=self.timing.fast)
            self.say("Your sentence, as you typed it.", pause=self.timing.fast)
            self.sentence = sentence
            self.ids_row = self.token_row()
            words = self.ids_row.words
            self.play(Appear(words), run_time=self.timing.build)
            n = len(self.src)
            end = " and one more, <eos>, that marks the end" if self.src[-1] == "<eos>" else ""
            unknown = [w for w in self.src if w == "<unk>"]
            extra = f"; {len(unknown)} unknown word{'s' if len(unknown) > 1 else ''} became <unk>" if unknown else ""
            self.say(f"Split into tokens: one per word{end}: {n} tokens{extra}.")
            self.play(Appear(self.ids_row.numbers), run_time=self.timing.build)
            counts = Counter(self.src)
            repeated = [w for w, k in counts.items() if k > 1]
            times = {2: "twice", 3: "three times"}.get(counts[repeated[0]], f"{counts[repeated[0]]} times") if repeated else ""
            same = f" \u201c{repeated[0]}\u201d appears {times}, with the same id each time." if repeated else ""
            self.say(f"Each token is a row number in a vocabulary of {self.d_vocab} tokens.{same}")
            self.clear_stage()

    def token_row(self) -> LabelledNumbers:
        """The tokens in a line with their ids under them, wrapped to the frame's width by folding the middle."""
        def build(shown: list[int | None]) -> LabelledNumbers:
            items = []
            for p in shown:
                if p is None:
                    items.append((label("\u22ef", 30), label("\u22ef", 24)))
                else:
                    items.append((token(self.src[p], palette.ENCODER, 30), self.id_number(p)))
            return LabelledNumbers(items, across=True, buff=0.32, row_height=0.55)

        n = len(self.src)
        limit = n
        row = build(list(range(n)))
        while row.width > SAFE_WIDTH and limit > 4:
            limit -= 1
            row = build(_fold(n, limit))
        return row.move_to(0.2 * DOWN)

    def look_up(self) -> None:
        with self.beat("lookup", poster=True):
            heading = self.show_heading("Each id picks a row of the embedding matrix",
                                        formula(r"E = W_E[\mathrm{ids}]", 36, W_E=palette.WEIGHT))
            w_e = self.values("param.encoder.W_E")
            fold: dict = {}

            def build(rows: int, cols: int) -> VGroup:
                positions = [p for p in _fold(len(self.src), rows) if p is not None]
                vocab_rows = vocabulary_rows([self.ids[p] for p in positions], self.d_vocab)
                labels = {i: words_row([self.id_number(self.first[i], 22),
                                        token(self.src[self.first[i]], palette.ENCODER, 24)], buff=0.15)
                          for i in vocab_rows if i is not None}
                table = MatrixView(w_e, "W_E", palette.WEIGHT, row_labels=labels,
                                   row_ids=vocab_rows, max_cols=cols)
                emb = MatrixView(self.values("encoder.hook_embed"), "E", palette.ENCODER,
                                 row_labels=self.labels("encoder", 24), max_rows=rows, max_cols=cols)
                arrow = Arrow(LEFT, RIGHT, color=palette.MUTED, stroke_width=5, max_tip_length_to_length_ratio=0.2)
                group = VGroup(table, arrow, emb).arrange(RIGHT, buff=0.4)
                emb.shift((table.entries.get_top()[1] - emb.entries.get_top()[1]) * UP)
                arrow.move_to([arrow.get_center()[0], emb.brackets.get_center()[1], 0])
                fold.update(rows=rows, cols=cols, positions=positions)
                return group

            # columns fold first (five of them tell the story); rows only when the sentence is long
            table, arrow, emb = self.fit_folding(build, len(self.src), min(5, self.d_model), max_height=4.9)
            self.play(Appear(table), run_time=self.timing.build)
            self.say(f"The embedding matrix: one row of {self.d_model} learned numbers for each of the "
                     f"{self.d_vocab} tokens; only your sentence's rows are shown.", pause=self.timing.read)
            # the first token: its row in W_E, its row in E — the same numbers
            p0 = fold["positions"][0]
            box_in = table.row_box(self.ids[p0], palette.HIGHLIGHT)
            self.play(Create(box_in), run_time=self.timing.fast)
            box_out = emb.row_box(p0, palette.HIGHLIGHT)
            self.play(Appear(VGroup(emb.title, emb.brackets, emb.row_labels, emb.row_cells(p0))), Appear(arrow),
                      Create(box_out), run_time=self.timing.build)
            self.say(f"The id of \u201c{self.src[p0]}\u201d picks its row of the embedding matrix: copied number for number.",
                     pause=self.timing.fast)
            rest = VGroup(*(emb.row_cells(p) for p in emb.row_ids if p is not None and p != p0), *(
                m for m in emb.entries if not hasattr(m, "shown")))
            self.play(Vanish(box_in), Vanish(box_out), Appear(rest), run_time=self.timing.build)
            self.say(f"Every token gets its row: {len(self.src)} tokens, {len(self.src)} \u00d7 {self.d_model} numbers.",
                     pause=self.timing.look)
            self.play(Vanish(table), Vanish(arrow), Vanish(heading), run_time=self.timing.fast)
            self.emb = emb

    def scale_up(self) -> None:
        with self.beat("scale"):
            d = self.d_model
            self.clear_stage()  # E leaves with the lookup; it comes back beside its scaled copy
            self.show_heading("Scaled up, as in the paper",
                              formula(rf"E\,\sqrt{{d_\mathrm{{model}}}} = E\,\sqrt{{{d}}}", 36))

            def build(rows: int, cols: int) -> VGroup:
                left = MatrixView(self.values("encoder.hook_embed"), "E", palette.ENCODER,
                                  row_labels=self.labels("encoder", 24), max_rows=rows, max_cols=cols)
                times = formula(rf"\times\sqrt{{{d}}}", 40)
                right = MatrixView(self.values("encoder.hook_embed_scaled"), rf"E\sqrt{{{d}}}", palette.ENCODER,
                                   max_rows=rows, max_cols=cols)
                group = VGroup(left, times, right).arrange(RIGHT, buff=0.35)
                right.shift((left.entries.get_top()[1] - right.entries.get_top()[1]) * UP)
                times.move_to([times.get_center()[0], left.brackets.get_center()[1], 0])
                return group

            left, times, right = self.fit_folding(build, len(self.src), self.d_model, max_height=4.9)
            self.play(Appear(left), run_time=self.timing.fast)
            self.play(Appear(times), run_time=self.timing.fast)
            self.play(Appear(right), run_time=self.timing.build)
            self.say(self.scale_sentence(), pause=self.timing.look)
            self.clear_stage()

    def scale_sentence(self) -> str:
        """Why × √d_model, said of these numbers: how the rows compare with the position values (within ±1) added next."""
        d = self.d_model
        before = float(abs(self.trace["encoder.hook_embed"]).max())
        after = float(abs(self.trace["encoder.hook_embed_scaled"]).max())
        if before < 1 <= after:
            return (f"Every number times \u221a{d}, as in the paper: no longer all smaller than the position values "
                    f"added next, which stay between \u22121 and 1.")
        return (f"Every number is multiplied by \u221a{d}, as in the paper, before the position values are added; "
                f"those stay between \u22121 and 1.")
