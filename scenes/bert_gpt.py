"""BERT and GPT: one sentence through the three families of Transformers, side by side.

The encoder–decoder (the translator) reads the sentence with a full mask and writes French with a
causal mask plus cross-attention; BERT (encoder only) reads it with one word hidden and fills the
word in from both sides; GPT (decoder only) reads the words before that word, predicts it from
the left alone, and writes on. Every number is read from the three traces of the user's sentence.

How each model's input comes from the user's sentence (`model_input`): BERT hides the middle word
(word ⌊n/2⌋ of n, counting from 0; the nearest word its vocabulary knows if it does not know that one),
so it has words on both sides; GPT reads the words before that same word, so both guess the same
slot, one from both sides, one from the left only. The default sentence gives each model its own
default (`model/families.py`: "look" hidden, the first five words), which is this same rule.

    python render.py --scene bert_gpt --sentence "…"
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Arrow, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import quote, sharpest_head
from scenes.kit.components import AttentionGrid, label, plain_text, token, words_row
from scenes.kit.encoding import entry
from scenes.kit.families import FAMILY_MAP, FAMOUS, parameter_count, readable_count
from scenes.kit.vocab import ProbBars, top_k
from scenes.kit.words import model_words, vocabulary

TOP = 5  # the most probable words shown as bars
MASK = "[MASK]"


def middle_word(words: list[str], known=lambda w: True) -> int:
    """The position BERT hides: the middle word (⌊n/2⌋), or the nearest word `known` to it (the later on a tie)."""
    mid = len(words) // 2
    for d in range(len(words)):
        for i in (mid + d, mid - d):
            if 0 <= i < len(words) and known(words[i]):
                return i
    return mid


class BertGpt(ReelScene):
    name = "bert_gpt"
    summary = "one sentence through the encoder\u2013decoder, BERT and GPT: their masks, guesses and sizes"
    needs = ("translator", "bert", "gpt")

    @classmethod
    def model_input(cls, model: str, sentence: str | None, target: str | None) -> dict:
        if sentence is None:  # each model's own default: the same sentence, "look" hidden, its first five words
            return {"sentence": None, "target": target if model == "translator" else None}
        from model.errors import InputError
        from model.tokenizer import normalize

        words = normalize(sentence)
        if MASK.lower() in (w.lower() for w in words) or MASK in sentence:
            raise InputError(f"bert_gpt hides a word itself: give a plain sentence, without {MASK}")
        if model == "translator":
            return {"sentence": sentence, "target": target}
        vocab = set(model_words("bert"))
        i = middle_word(words, lambda w: w in vocab)
        if model == "bert":
            return {"sentence": " ".join(words[:i] + [MASK] + words[i + 1:])}
        return {"sentence": " ".join(words[:max(i, 1)])}

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.encoder_decoder()
        self.bert_fills_in()
        self.gpt_writes()
        self.three_masks()
        self.sizes()
        self.uses()
        self.family_map()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        tr, bert, gpt = (self.traces[m] for m in self.needs)
        self.t, self.b, self.g = tr, bert, gpt
        self.src, self.tgt = tr.tokens("encoder"), tr.tokens("decoder")
        self.btok, self.gtok = bert.tokens("encoder"), gpt.tokens("decoder")
        self.slot = self.btok.index(MASK)
        self.bwords, self.gwords = vocabulary(bert), vocabulary(gpt)
        n_prompt = len(gpt.tokens("decoder")) - len(gpt.output.split())
        self.prompt = n_prompt  # <bos> + the words read; the rest GPT wrote
        L = {m: self.traces[m].config["n_layers"] for m in self.needs}
        self.enc = f"encoder.blocks.{L['translator']['encoder'] - 1}.self_attn"
        self.dec = f"decoder.blocks.{L['translator']['decoder'] - 1}.self_attn"
        self.cross = f"decoder.blocks.{L['translator']['decoder'] - 1}.cross_attn"
        self.batt = f"encoder.blocks.{L['bert']['encoder'] - 1}.self_attn"
        self.gatt = f"decoder.blocks.{L['gpt']['decoder'] - 1}.self_attn"

    def grid(self, model: str, attention: str, rows: list[str], cols: list[str], color_rows, color_cols,
             max_rows: int, max_cols: int, cell: float = 0.5) -> VGroup:
        """One head's real attention weights (the sharpest head of the last layer), with its real mask."""
        trace = self.traces[model]
        h = sharpest_head(trace, attention)
        mask_name = f"{attention}.hook_mask"
        mask = trace[mask_name] if mask_name in trace else None
        return AttentionGrid(self.values(f"{attention}.hook_pattern", h, model=model),
                             [token(w, color_rows, 20) for w in rows], [token(w, color_cols, 20) for w in cols],
                             cell=cell, cell_width=cell * 1.5, mask=mask, font_size=16, max_rows=max_rows,
                             max_cols=max_cols)

    def titled(self, grid: VGroup, title: str, sub: str, color) -> VGroup:
        head = VGroup(plain_text(title, 28, color), label(sub, 20)).arrange(DOWN, buff=0.08)
        head.next_to(grid, UP, buff=0.2)
        return VGroup(head, grid)

    # ------------------------------------------------------------------ beats
    def encoder_decoder(self) -> None:
        with self.beat("encoder-decoder"):
            self.show_heading("The encoder\u2013decoder: reads everything, then writes")
            S, T = len(self.src), len(self.tgt)

            def make(rows: int, cols: int) -> VGroup:
                e = self.titled(self.grid("translator", self.enc, self.src, self.src, palette.ENCODER, palette.ENCODER,
                                          rows, rows), "encoder", "full mask: every word sees every word",
                                palette.ENCODER)
                d = self.titled(self.grid("translator", self.dec, self.tgt, self.tgt, palette.DECODER, palette.DECODER,
                                          rows, rows), "decoder", "causal mask: only earlier words", palette.DECODER)
                return VGroup(e, d).arrange(RIGHT, buff=0.8, aligned_edge=UP)

            pair = self.fit_folding(make, max(S, T), 1)  # one count folds both: each grid is `rows` square
            self.play(Appear(pair[0]), run_time=self.timing.build)
            self.say(f"The translator's encoder reads all {S} English tokens at once: no cell is blocked.")
            self.play(Appear(pair[1]), run_time=self.timing.build)
            self.say("Its decoder writes the French one word at a time: each word sees only the words before it.")
            self.say("And through cross-attention, every French word also reads the English.", pause=self.timing.read)
            self.clear_stage()

    def bert_fills_in(self) -> None:
        with self.beat("bert fills in"):
            probs = self.b["mlm.hook_probs"]
            row = probs[self.slot]
            top = top_k(row, TOP)
            self.show_heading("BERT: an encoder alone, filling in a hidden word")
            words = [token(w, palette.HIGHLIGHT if w == MASK else palette.ENCODER, 26) for w in self.btok]
            line = words_row(words, buff=0.22)
            bars = ProbBars(self.values("mlm.hook_probs", model="bert").select(rows=[self.slot]), top, self.bwords,
                            length=3.6, color=palette.ENCODER, highlight=top[0], word_color=palette.ENCODER)
            arrow = Arrow(UP, DOWN, color=palette.MUTED, stroke_width=4, buff=0).scale(0.4)
            note = label(f"probabilities at {MASK}, top {TOP} of {len(self.bwords)} words", 22)
            group = self.fit(VGroup(line, VGroup(arrow, note).arrange(RIGHT, buff=0.3), bars).arrange(DOWN, buff=0.35))
            self.play(Appear(line), run_time=self.timing.build)
            self.play(Appear(group[1]), Appear(bars), run_time=self.timing.build)
            left = [w for w in self.btok[1:self.slot]]
            right = [w for w in self.btok[self.slot + 1:-1]]
            sides = ("the words on both sides" if left and right else
                     "the words before it" if left else "the words after it")
            self.say(f"BERT reads the whole sentence with one word hidden, and guesses it from {sides}: "
                     f"its top guess is {quote(self.bwords[top[0]])}.", pause=self.timing.read)
            self.clear_stage()

    def gpt_writes(self) -> None:
        with self.beat("gpt writes"):
            probs = self.g["unembed.hook_probs"]
            last = self.prompt - 1  # the last word read: its row predicts the first word written
            top = top_k(probs[last], TOP)
            self.show_heading("GPT: a decoder alone, predicting the next word")
            read = [token(w, palette.DECODER, 26) for w in self.gtok[:self.prompt]]
            line = words_row(read, buff=0.22)
            bars = ProbBars(self.values("unembed.hook_probs", model="gpt").select(rows=[last]), top, self.gwords,
                            length=3.6, color=palette.DECODER, highlight=top[0])
            note = label(f"probabilities of the next word, top {TOP} of {len(self.gwords)}", 22)
            group = self.fit(VGroup(line, note, bars).arrange(DOWN, buff=0.35))
            self.play(Appear(line), run_time=self.timing.build)
            self.play(Appear(note), Appear(bars), run_time=self.timing.build)
            self.say(f"GPT sees only the words before: after {quote(self.gtok[last])} its top guess is "
                     f"{quote(self.gwords[top[0]])}.", pause=self.timing.read)
            self.play(Vanish(VGroup(note, bars)), run_time=self.timing.fast)
            # then it writes on: each word it chose is appended to its input, with its traced probability
            vals = self.values("unembed.hook_probs", model="gpt")
            n_written = len(self.gtok) - self.prompt
            if n_written:
                self.play(Vanish(line), run_time=self.timing.fast)
                words = [token(w, palette.DECODER if t < self.prompt else palette.HIGHLIGHT, 26)
                         for t, w in enumerate(self.gtok)]
                row = words_row(words, buff=0.32)
                probs = VGroup(*(entry(vals, t - 1, int(self.g["decoder.hook_tokens"][t]), 2, size=20)
                                 for t in range(self.prompt, len(self.gtok))))
                for t in range(self.prompt + 1, len(self.gtok)):  # a probability wider than its word ("it") keeps apart
                    a, b = probs[t - 1 - self.prompt], probs[t - self.prompt]
                    short = (a.width + b.width) / 2 + 0.2 - (words[t].get_center()[0] - words[t - 1].get_center()[0])
                    if short > 0:
                        VGroup(*words[t:]).shift(short * RIGHT)
                for t, p in zip(range(self.prompt, len(self.gtok)), probs):
                    p.move_to([words[t].get_center()[0], row.get_bottom()[1] - 0.3, 0])
                read_label = label("read", 22).next_to(VGroup(*words[:self.prompt]), DOWN, buff=0.3)
                wrote_label = label("written, one word at a time, with its probability", 22)
                wrote_label.next_to(probs, DOWN, buff=0.25)
                whole = self.fit(VGroup(row, probs, read_label, wrote_label), max_height=3)
                if wrote_label.get_left()[0] < read_label.get_right()[0] + 0.3:  # too wide under short words
                    wrote_label.next_to(read_label, DOWN, buff=0.15, aligned_edge=LEFT)
                self.fit(whole)
                self.play(Appear(VGroup(*words[:self.prompt])), Appear(read_label), run_time=self.timing.fast)
                for t in range(self.prompt, len(self.gtok)):
                    self.play(Appear(VGroup(words[t], probs[t - self.prompt])),
                              run_time=min(self.timing.swap, 4.0 / n_written))
                self.play(Appear(wrote_label), run_time=self.timing.fast)
                written = "one word" if n_written == 1 else f"{n_written} words"
                self.say(f"Each word it writes is appended to its input and read again: {written} here.",
                         pause=self.timing.read)
            else:
                self.say("Its most probable next token is the end of the sentence: it writes nothing more.")
            self.clear_stage()

    def three_masks(self) -> None:
        with self.beat("three masks", poster=True):
            self.show_heading("Three families, three ways of attending")
            n = max(len(self.btok), len(self.gtok), len(self.tgt), len(self.src))

            def make(rows: int, cols: int) -> VGroup:
                c = self.titled(self.grid("translator", self.cross, self.tgt, self.src, palette.DECODER, palette.ENCODER,
                                          rows, cols, cell=0.42), "encoder\u2013decoder",
                                "cross-attention: French reads English", palette.TEXT)
                b = self.titled(self.grid("bert", self.batt, self.btok, self.btok, palette.ENCODER, palette.ENCODER,
                                          rows, cols, cell=0.42), "BERT", "full mask: both sides", palette.ENCODER)
                g = self.titled(self.grid("gpt", self.gatt, self.gtok, self.gtok, palette.DECODER, palette.DECODER,
                                          rows, cols, cell=0.42), "GPT", "causal mask: the left only", palette.DECODER)
                return VGroup(c, b, g).arrange(RIGHT, buff=0.6, aligned_edge=UP)

            trio = self.fit_folding(make, n, n, max_height=layout.STAGE_HEIGHT - 0.3)  # clear of the caption
            for part in trio:
                self.play(Appear(part), run_time=self.timing.build)
            gmask = self.g[f"{self.gatt}.hook_mask"]
            bmask = self.b[f"{self.batt}.hook_mask"]
            self.say(f"BERT blocks {int(bmask.sum())} of its {bmask.size} cells, GPT {int(gmask.sum())} of {gmask.size}: "
                     "every cell above the diagonal.", pause=self.timing.look)
            self.clear_stage()

    def sizes(self) -> None:
        with self.beat("sizes"):
            self.show_heading("How big: our tiny models and the famous ones")
            rows = []
            self.tally = {m: parameter_count(self.traces[m]) for m in self.needs}  # what the labels say
            for m, color in (("translator", palette.TEXT), ("bert", palette.ENCODER), ("gpt", palette.DECODER)):
                n = self.tally[m]
                famous, size, cite = FAMOUS[m]
                ours = plain_text(f"our {m}: {n:,} parameters", 28, color)
                theirs = plain_text(f"{famous}: {readable_count(size)}", 28, palette.TEXT)
                src = label(f"published figure ({cite})", 20)
                rows.append(VGroup(ours, VGroup(theirs, src).arrange(DOWN, buff=0.06, aligned_edge=LEFT)))
            table = VGroup(*rows).arrange(DOWN, buff=0.45)
            for r in rows:
                r[1].next_to(r[0], RIGHT, buff=0.8)
            left = min(r[0].get_left()[0] for r in rows)
            for r in rows:
                r[0].shift((left - r[0].get_left()[0]) * RIGHT)
                r[1].shift((rows[0][1].get_left()[0] - r[1].get_left()[0]) * RIGHT)
            note = label("counted from the shapes of every weight in the traces", 22)
            self.fit(VGroup(table, note).arrange(DOWN, buff=0.5))
            for r in rows:
                self.play(Appear(r), run_time=self.timing.fast)
            self.play(Appear(note), run_time=self.timing.fast)
            ratio = FAMOUS["gpt"][1] / parameter_count(self.g)
            self.say(f"Same blocks, different scale: GPT-3 has about {readable_count(ratio)} times as many "
                     "parameters as our GPT.", pause=self.timing.read)
            self.clear_stage()

    def uses(self) -> None:
        with self.beat("what for"):
            self.show_heading("What each family is for")
            cols = []
            for name, color, what, examples in (
                ("BERT", palette.ENCODER, "understanding", ("classify a review", "find names in text",
                                                             "search: match a question to passages")),
                ("GPT", palette.DECODER, "generation", ("write on from a prompt", "chat", "complete code")),
                ("encoder\u2013decoder", palette.TEXT, "text to text", ("translate", "summarise",
                                                                        "answer from a passage")),
            ):
                head = VGroup(plain_text(name, 32, color), plain_text(what, 26, palette.HIGHLIGHT)).arrange(DOWN,
                                                                                                            buff=0.12)
                items = VGroup(*(label(e, 22, palette.TEXT) for e in examples)).arrange(DOWN, buff=0.18)
                cols.append(VGroup(head, items).arrange(DOWN, buff=0.35))
            table = self.fit(VGroup(*cols).arrange(RIGHT, buff=1.0, aligned_edge=UP))
            for c in table:
                self.play(Appear(c), run_time=self.timing.fast)
            self.say("Seeing both sides makes BERT good at understanding a text; "
                     "predicting only from the left is what lets GPT generate one.", pause=self.timing.read)
            self.clear_stage()

    def family_map(self) -> None:
        with self.beat("family map"):
            self.show_heading("The family tree")
            root = plain_text("Transformer (2017)", 32, palette.TEXT)
            branches = []
            for (family, how, members), color in zip(FAMILY_MAP, (palette.ENCODER, palette.DECODER, palette.TEXT)):
                head = VGroup(plain_text(family, 28, color), label(how, 20)).arrange(DOWN, buff=0.08)
                names = VGroup(*(token(m, color, 24) for m in members)).arrange(DOWN, buff=0.15)
                branches.append(VGroup(head, names).arrange(DOWN, buff=0.3))
            row = VGroup(*branches).arrange(RIGHT, buff=0.9, aligned_edge=UP)
            self.fit(VGroup(root, row).arrange(DOWN, buff=0.9))
            arrows = VGroup(*(Arrow(root.get_bottom() + 0.1 * DOWN, b[0].get_top() + 0.15 * UP, buff=0,
                                    color=palette.MUTED, stroke_width=3, tip_length=0.18,
                                    max_tip_length_to_length_ratio=0.2) for b in branches))
            self.play(Appear(root), run_time=self.timing.fast)
            self.play(Appear(arrows), *(Appear(b) for b in branches), run_time=self.timing.build)
            self.say("Encoders like BERT and RoBERTa read; decoders like GPT-2 and GPT-3 write; "
                     "T5 and BART keep both halves.", pause=self.timing.read)
            self.clear_stage()
