"""Greedy decoding: the translation written one word at a time, each step's real numbers shown.

At step t the decoder reads <bos> and the t words written so far, attends (masked) to them,
reads the English through cross-attention, and picks its most probable next word. Because of
the causal mask, step t computes exactly row t of the trace of the finished translation (the
model reading its own output), so every number here is read from that one trace; the test
`tests/test_scenes_dec.py` runs the model on each prefix and checks that they agree.

    manim -ql scenes/decoding.py Decoding      # the default sentence
    python render.py --scene decoding --sentence "…"  # yours
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UL, UP, VGroup

from scenes.kit import layout, palette
from scenes.kit.animations import Appear, CrossFade, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import quote, sharpest_head
from scenes.kit.components import AttentionGrid, label, plain_text, token, wrapped_words
from scenes.kit.glyphs import baseline, set_baseline
from scenes.kit.options import Head, Layer
from scenes.kit.vocab import ProbBars, key_labels, top_k, vocabulary

TOP = 3  # the most probable words shown at each step
SLOW = 2  # the first steps, taken slowly with a sentence each


class Decoding(ReelScene):
    name = "decoding"
    summary = "greedy generation: one word at a time, the mask growing, each step's cross-attention and top words"
    options = (Layer(stack="decoder"), Head(attention="decoder.blocks.{layer}.cross_attn"))

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.start()
        self.steps()
        self.translation()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.layer, self.head = self.opt["layer"], self.opt["head"]
        self.cross = f"decoder.blocks.{self.layer}.cross_attn"
        self.masked = f"decoder.blocks.{self.layer}.self_attn"
        self.self_head = sharpest_head(t, self.masked)
        self.src, self.tgt = t.tokens("encoder"), t.tokens("decoder")
        self.words = vocabulary(t)
        self.probs = t["unembed.hook_probs"]
        self.blocked = t[f"{self.masked}.hook_mask"]
        # step t picks the most probable word of row t (greedy): the trace's next token, or the end
        self.choice = [int(self.probs[s].argmax()) for s in range(len(self.tgt))]
        self.ended = self.words[self.choice[-1]] == "<eos>"
        self.shown_steps: list[int] = []

    # ------------------------------------------------------------------ the pictures of one step
    def mask_grid(self, t: int, rows: int) -> AttentionGrid:
        """Masked self-attention over the t+1 tokens read so far: the mask grows with them."""
        n = t + 1
        return AttentionGrid(self.values(f"{self.masked}.hook_pattern", self.self_head).select(range(n), range(n)),
                             self.labels("decoder", 22)[:n], key_labels(self.trace, "decoder", 20)[:n],
                             cell=0.36, cell_width=0.36, numbers=False, mask=self.blocked[:n, :n],
                             max_rows=rows, max_cols=rows)

    def cross_row(self, t: int, cols: int) -> AttentionGrid:
        """Row t of cross-attention: where this step reads the English."""
        return AttentionGrid(self.values(f"{self.cross}.hook_pattern", self.head).select([t]),
                             [self.labels("decoder", 24)[t]], self.labels("encoder", 22), cell=0.55, cell_width=0.64,
                             max_cols=cols)

    def bars(self, t: int) -> ProbBars:
        return ProbBars(self.values("unembed.hook_probs").select([t]), top_k(self.probs[t], TOP), self.words,
                        length=3.0, highlight=self.choice[t], word_size=24)

    def step_layout(self, t: int, rows: int, cols: int) -> VGroup:
        """The whole picture of step t: the mask so far, the cross-attention row, the top words."""
        grid = self.mask_grid(t, rows)
        grid_tag = VGroup(label("masked self-attention", 22),
                          label(f"layer {self.layer} \u00b7 head {self.self_head}", 20)).arrange(DOWN, aligned_edge=LEFT,
                                                                                              buff=0.1)
        cross = self.cross_row(t, cols)
        cross_tag = VGroup(label("cross-attention: the English it reads", 22),
                           label(f"layer {self.layer} \u00b7 head {self.head}", 20)).arrange(DOWN, aligned_edge=LEFT,
                                                                                          buff=0.1)
        bars = self.bars(t)
        bars_tag = label("the most probable next words", 22)
        return VGroup(VGroup(grid_tag, grid), VGroup(cross_tag, cross), VGroup(bars_tag, bars))

    def arrange(self, parts: VGroup, full: VGroup | None = None) -> VGroup:
        """Place a step's pictures: the grid on the left, its top-left corner fixed as it grows; on the
        right the cross-attention row above the bars. `full` is the last step's layout, already placed."""
        (gtag, grid), (ctag, cross), (btag, bars) = parts
        gtag.next_to(grid.squares, UP, buff=1.0).align_to(grid, LEFT)
        ctag.next_to(cross.squares, UP, buff=1.0).align_to(cross, LEFT)
        btag.next_to(bars, UP, buff=0.25).align_to(bars.axis, LEFT)
        right = VGroup(parts[1], parts[2]).arrange(DOWN, buff=0.6, aligned_edge=LEFT)
        VGroup(parts[0], right).arrange(RIGHT, buff=1.0, aligned_edge=UP)
        if full is not None:
            parts.scale(full.scale_factor)
            # the grid grows from its first square; the row and the bars stay where the last step's are
            parts[0].shift(full[0][1].squares[0].get_corner(UL) - grid.squares[0].get_corner(UL))
            parts[1].shift(full[1][1].squares[0].get_corner(UL) - cross.squares[0].get_corner(UL))
            parts[2].shift(full[2][1].axis[0].get_top() - bars.axis[0].get_top())
        return parts

    # ------------------------------------------------------------------ beats
    def start(self) -> None:
        with self.beat("start"):
            title = plain_text("Decoding: one word at a time", 56, palette.TEXT).to_edge(UP, buff=0.5)
            sub = label("greedy: at each step, the most probable word  \u00b7  every number from your sentence", 24)
            sub.next_to(title, DOWN, buff=0.2)
            tag = label("the encoder has read", 24, palette.ENCODER)
            english = wrapped_words([token(w, palette.ENCODER, 30) for w in self.src], layout.SAFE_WIDTH - 1.0)
            enc = VGroup(tag, english).arrange(DOWN, buff=0.3)
            self.fit(enc, 0.2 * UP)
            self.play(Appear(VGroup(title, sub)), run_time=self.timing.build)
            self.play(Appear(enc), run_time=self.timing.build)
            self.say("The encoder has read the English once. The decoder now writes, starting from <bos> alone.",
                     pause=self.timing.read)
            self.clear_stage()
            # the layout of the last (largest) step, fitted once: every step is placed against it
            T, S = len(self.tgt), len(self.src)
            fold: dict = {}

            def make(rows: int, cols: int) -> VGroup:
                fold.update(rows=rows, cols=cols)
                return self.arrange(self.step_layout(T - 1, rows, cols))

            full = self.fit_folding(make, T, S, center=layout.STAGE_CENTER + 0.15 * DOWN,
                                    max_height=layout.STAGE_HEIGHT - 0.3)
            full.scale_factor = full[2][1].axis[0].height / self.bars(T - 1).axis[0].height
            self.full, self.fold = full, fold
            # the line of what has been written, above the pictures
            self.written_tag = label("written so far:", 24, palette.DECODER)
            self.written_tag.to_edge(UP, buff=0.45).align_to([-layout.SAFE_WIDTH / 2, 0, 0], LEFT)
            self.written = VGroup()

    def word_at(self, i: int) -> VGroup:
        """Token i of the decoder's input, in place on the written line (onto a second line if it must)."""
        w = token(self.tgt[i] if i < len(self.tgt) else "<eos>", palette.DECODER, 28)
        x0 = self.written_tag.get_right()[0] + 0.3
        x, y = x0, baseline(self.written_tag)
        for m in self.written:
            x = m.get_right()[0] + 0.25
            y = baseline(m)
        if x + w.width > layout.SAFE_WIDTH / 2:
            x, y = x0, y - 0.6
        w.move_to([x, 0, 0], aligned_edge=LEFT)
        set_baseline(w, y)
        return w

    def take_step(self, t: int, previous: VGroup | None, slow: bool) -> VGroup:
        parts = self.arrange(self.step_layout(t, self.fold["rows"], self.fold["cols"]), self.full)
        if previous is None:
            self.play(Appear(parts), run_time=self.timing.build)
        else:
            self.play(CrossFade(previous, parts), run_time=self.timing.fast)
        self.shown_steps.append(t)
        choice = self.words[self.choice[t]]
        if slow:
            self.say(self.describe_step(t), pause=self.timing.look if t == SLOW - 1 else self.timing.read)
        else:
            self.wait(self.timing.fast)
        # the chosen word leaves the bars and joins what has been written (the end token closes it)
        if t + 1 < len(self.tgt) or choice == "<eos>":
            new = self.word_at(t + 1)
            bars = parts[2][1]
            mover = bars.row(self.choice[t])[0]
            bars.words.remove(mover)  # it leaves the bars for the written line
            self.play(CrossFade(mover, new), run_time=self.timing.fast)  # a flight would cross the labels
            self.written.add(new)
        return parts

    def describe_step(self, t: int) -> str:
        """In words, from the numbers: what this step reads and how sure its choice is."""
        read = " ".join(self.tgt[: t + 1])
        cross = self.trace[f"{self.cross}.hook_pattern"][self.head][t]
        s = int(cross.argmax())
        p = self.probs[t][self.choice[t]]
        sure = "almost surely" if p > 0.9 else ("most probably" if p > 0.5 else "hesitantly")
        looks = (f"looks mostly at {quote(self.src[s])}" if cross[s] > 0.5
                 else f"spreads its look, most on {quote(self.src[s])}")
        return f"Reading {quote(read)}, this step {looks} and picks {quote(self.words[self.choice[t]])}, {sure}."

    def steps(self) -> None:
        with self.beat("steps", poster=True):
            self.play(Appear(self.written_tag), run_time=self.timing.fast)
            first = self.word_at(0)
            self.play(Appear(first), run_time=self.timing.fast)
            self.written.add(first)
            parts = None
            for t in range(len(self.tgt)):
                if t == SLOW:
                    self.say("And so on, one word per step: the input grows, and the mask with it.",
                             pause=self.timing.fast)
                parts = self.take_step(t, parts, slow=t < SLOW)
            self.wait(self.timing.fast)
            self.parts = parts

    def translation(self) -> None:
        with self.beat("translation"):
            gone = [Vanish(self.parts), Vanish(self.written), Vanish(self.written_tag)]
            if self._caption is not None:
                gone.append(Vanish(self._caption))
            self.play(*gone, run_time=self.timing.fast)
            self._caption_ended()
            self.show_heading("The translation")
            # a long sentence wraps onto more lines rather than shrinking into small print
            english = wrapped_words([token(w, palette.ENCODER, 34) for w in self.src if w != "<eos>"],
                                    layout.SAFE_WIDTH - 0.4, buff=0.3)
            out = wrapped_words([token(w, palette.DECODER, 40) for w in self.tgt[1:]], layout.SAFE_WIDTH - 0.4,
                                buff=0.35)
            both = VGroup(english, out).arrange(DOWN, buff=0.8, aligned_edge=LEFT)
            self.fit(both, layout.STAGE_CENTER)
            self.play(Appear(english), run_time=self.timing.fast)
            self.play(Appear(out), run_time=self.timing.build)
            if self.ended:
                self.say(f"At step {len(self.tgt)} the most probable word was <eos>: the translation is finished.",
                         pause=self.timing.look)
            else:
                self.say(f"The decoder never chose <eos>: after {len(self.tgt) - 1} words it reached the limit, "
                         "and the translation is cut there.", pause=self.timing.look)
            self.clear_stage()
