"""Overview: the map of the lecture. The paper's encoder–decoder, with your sentence going in
and the model's translation coming out.

Every number is read from the trace of the user's sentence: the token ids
(`encoder.hook_tokens`), the rows the encoder reads (`encoder.hook_input`, embedding plus
position) and, coming out, the probability of each word written (`unembed.hook_probs`).

`--highlight PART` (a part of the map, or the scene that explains it: `--highlight tokens`,
`--highlight attention`, `--highlight cross_attention` …; see scenes/kit/architecture.py)
turns the scene into the short map a lecture shows between chapters: the whole map at once,
then every part but that one dimmed.

    python render.py --scene overview --sentence "…"
    python render.py --scene overview --highlight masked_attention
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UL, UP, Arrow, Indicate, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear, Slide, Vanish
from scenes.kit.architecture import PARTS, ArchitectureMap, Highlight
from scenes.kit.base import ReelScene
from scenes.kit.components import MatrixView, _fold, label, plain_text, token, words_row
from scenes.kit.encoding import LabelledNumbers, entry
from scenes.kit.reveal import Reveal, hide
from scenes.kit.layout import SAFE_WIDTH
from scenes.kit.vocab import next_tokens, vocabulary

SURE = 0.9  # a word written with at least this probability counts as sure


class Overview(ReelScene):
    name = "overview"
    summary = "the map: the paper's encoder and decoder, your sentence going in, the model's translation coming out"
    options = (Highlight(),)

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        if self.part is None:
            self.draw_map()
            self.sentence_in()
            self.through_the_stacks()
            self.translation_out()
        else:  # between chapters: the whole map at once, then the part the next chapter explains
            self.recap()
            self.point_to_next()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.part = self.opt.get("highlight")
        self.src = t.tokens("encoder")
        self.tgt = t.tokens("decoder")
        self.ids = [int(i) for i in t["encoder.hook_tokens"]]
        self.d_model = t.config["d_model"]
        n = t.config["n_layers"]
        self.n_enc, self.n_dec = n["encoder"], n["decoder"]
        # row t of the decoder predicts token t+1; after the last, <eos> (or, for a translation cut short, its next word)
        words = vocabulary(t)
        self.next_words = next_tokens(t)
        self.next_ids = [words.index(w) for w in self.next_words]
        self.layout = self.build()

    def build(self) -> VGroup:
        """The map with the two panels, folded and fitted as one picture."""
        from scenes.kit import layout

        def make(rows: int, _cols: int) -> VGroup:
            arch = ArchitectureMap(self.n_enc, self.n_dec)
            # in: the rows the encoder reads, each labelled with its token and id
            labels = [words_row([entry(self.values("encoder.hook_tokens"), 0, p, 0, 18, palette.MUTED),
                                 token(w, palette.ENCODER, 22)], buff=0.12) for p, w in enumerate(self.src)]
            def x_panel(r: int) -> MatrixView:
                x = MatrixView(self.values("encoder.hook_input"), "X", palette.ENCODER, where="word + position",
                               row_labels=labels, max_rows=r, max_cols=3, font_size=22)
                return x.next_to(arch, LEFT, buff=0.5).align_to(arch.encoder_entry, DOWN)

            # the panels fold to the map's height, leaving the corner above X to the title
            r_in = rows
            x = x_panel(r_in)
            while x.get_top()[1] > arch.get_top()[1] - 0.9 and r_in > 3:
                r_in -= 1
                x = x_panel(r_in)
            entry_pt = arch.encoder_input_point
            into = Arrow([x.brackets.get_right()[0] + 0.1, entry_pt[1], 0], entry_pt + 0.06 * LEFT, buff=0.0,
                         color=palette.ENCODER, stroke_width=4, max_tip_length_to_length_ratio=0.12, tip_length=0.18)
            # out: each word written, with the probability the model gave it
            probs = self.values("unembed.hook_probs")

            def out_panel(r: int) -> VGroup:
                items = []
                for t in _fold(len(self.next_words), r):
                    if t is None:
                        items.append((label("\u22ee", 22), label("\u22ee", 22)))
                    else:
                        items.append((token(self.next_words[t], palette.DECODER, 22),
                                      entry(probs.select([t], [self.next_ids[t]]), 0, 0, 2, 22, palette.TEXT)))
                out = LabelledNumbers(items, row_height=0.36)
                head = label("p(word)", 20).next_to(out.numbers, UP, buff=0.2).align_to(out.numbers, RIGHT)
                panel = VGroup(head, out)
                return panel.next_to(arch, RIGHT, buff=0.6).align_to(arch.softmax, UP)

            r_out = rows
            panel = out_panel(r_out)
            while panel.get_bottom()[1] < arch.get_bottom()[1] and r_out > 3:
                r_out -= 1
                panel = out_panel(r_out)
            outof = Arrow(arch.softmax.get_right(), [panel.get_left()[0] - 0.05, arch.softmax.get_center()[1], 0],
                          buff=0.05, color=palette.DECODER, stroke_width=4, max_tip_length_to_length_ratio=0.25)
            words = VGroup(*(token(w, palette.DECODER, 18) for w in self.tgt[:3]), label("\u2026", 18))
            reads = words_row(list(words), buff=0.12)
            reads.next_to(arch.decoder_entry, DOWN, buff=0.15)
            title = plain_text("The Transformer", 40, palette.TEXT)
            return VGroup(arch, x, into, panel, outof, reads, title)

        # no heading: the map uses the stage and the heading's room (the title sits in the corner)
        picture = layout.fit_folding(make, len(self.src), 3, center=0.45 * UP, max_width=SAFE_WIDTH, max_height=6.4)
        picture[6].to_corner(UL, buff=0.35)
        return picture

    # ------------------------------------------------------------------ beats
    def draw_map(self) -> None:
        with self.beat("map"):
            arch, title = self.layout[0], self.layout[6]
            self.add(hide(self.layout))  # the whole map, built up piece by piece over the beats
            self.play(Reveal(title), run_time=self.timing.fast)
            self.play(Reveal(arch.encoder), run_time=self.timing.build)
            self.play(Reveal(arch.decoder), Reveal(arch.memory), run_time=self.timing.build)
            layers = (f"a stack of {self.n_enc} identical layers" if self.n_enc == self.n_dec
                      else f"stacks of {self.n_enc} and {self.n_dec} layers")
            self.say(f"The paper's Transformer: an encoder on the left, a decoder on the right, each {layers}.")
            self.say("The encoder reads the whole English sentence at once; the decoder writes the French, "
                     "one word at a time.")

    def sentence_in(self) -> None:
        with self.beat("in"):
            arch, x, into = self.layout[:3]
            self.drop_caption()
            self.play(Reveal(x), run_time=self.timing.build)
            self.play(Reveal(into), Indicate(arch.encoder_entry, color=palette.ENCODER), run_time=self.timing.build)
            n = len(self.src)
            self.say(f"Your sentence goes in as {n} tokens, each with its id in the vocabulary.", pause=self.timing.fast)
            self.say(f"Each token becomes a row of {self.d_model} numbers: its word plus its position.")

    def through_the_stacks(self) -> None:
        with self.beat("through"):
            arch, reads = self.layout[0], self.layout[5]
            self.drop_caption()
            self.play(Indicate(arch.encoder_block, color=palette.ENCODER, scale_factor=1.03), run_time=self.timing.build)
            self.play(Indicate(arch.memory, color=palette.HIGHLIGHT, scale_factor=1.0), run_time=self.timing.build)
            self.say(f"Each of the decoder's {self.n_dec} layers reads the encoder's output, through cross-attention.",
                     pause=self.timing.fast)
            self.play(Reveal(reads), Indicate(arch.decoder_entry, color=palette.DECODER), run_time=self.timing.build)
            self.say(f"The decoder reads the French written so far, shifted right: \u201c{self.tgt[0]}\u201d first.")

    def translation_out(self) -> None:
        with self.beat("out", poster=True):
            panel, outof = self.layout[3], self.layout[4]
            self.drop_caption()
            self.play(Reveal(outof), run_time=self.timing.fast)
            self.play(Reveal(panel), run_time=self.timing.build)
            self.say(self.sureness(), pause=self.timing.look)
            self.clear_stage()

    def sureness(self) -> str:
        """What the probabilities say, computed from them."""
        probs = self.trace["unembed.hook_probs"]
        p = [float(probs[t, i]) for t, i in enumerate(self.next_ids)]
        own = self.trace.output.split() == self.tgt[1:]
        what = "the model's own translation" if own else "the French it was given"
        least = min(range(len(p)), key=p.__getitem__)
        if p[least] >= SURE:
            return f"Out comes {what}, one word at a time, each written with near certainty."
        return f"Out comes {what}, one word at a time; the model is least sure of \u201c{self.next_words[least]}\u201d."

    def recap(self) -> None:
        with self.beat("map"):
            self.play(Appear(self.layout), run_time=self.timing.build)
            self.say("The map: your sentence in, the translation out.", pause=self.timing.fast)

    def point_to_next(self) -> None:
        with self.beat("next", poster=True):
            arch = self.layout[0]
            others = VGroup(*self.layout[1:6])
            self.drop_caption()
            self.play(Vanish(others), Slide(arch, [0, arch.get_center()[1], 0]), run_time=self.timing.move)
            animations, frames = arch.focus(self.part)
            self.play(*animations, run_time=self.timing.build)
            self.layout.remove(*others)  # gone from the map (a fade-out restores opacity once it is over)
            self.say(f"Next: {PARTS[self.part]}.", pause=self.timing.look)
            self.clear_stage()
