"""The encoder stack: one block (self-attention, add & norm, feed-forward, add & norm) repeated N
times; each word's vector changing block by block; the final output, the memory, handed to the
decoder where `cross_attention` picks it up (the scene ends with M where that scene's inputs beat
shows it). Every number from the trace.
"""

from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Arrow, Create, RoundedRectangle, SurroundingRectangle, VGroup

from scenes.kit import palette
from scenes.kit.animations import Appear, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.choose import quote
from scenes.kit.components import MatrixView, cell_width, formula, label
from scenes.kit.stream import ActivationMap, line_up_cols, memory_and_stream

STEPS = ("self-attention", "add & norm", "feed-forward", "add & norm")


class EncoderStack(ReelScene):
    name = "encoder_stack"
    summary = "the block repeated N times: each word's vector block by block, and the memory handed to the decoder"

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.repeat_block()
        self.layer_by_layer()
        self.hand_over()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        t = self.trace
        self.words = t.tokens("encoder")
        self.n = len(self.words)
        self.n_layers = t.config["n_layers"]["encoder"]
        self.d_model = t.config["d_model"]
        # the stream before the first block, then after each block
        self.stages = ["encoder.blocks.0.hook_resid_pre"] + [f"encoder.blocks.{i}.hook_resid_post"
                                                             for i in range(self.n_layers)]
        self.stage_names = ["input"] + [f"after block {i}" for i in range(self.n_layers)]

    # ------------------------------------------------------------------ beats
    def block_column(self, i: int) -> VGroup:
        """One block as in the paper's figure: its four steps from the bottom up, framed, named below."""
        boxes = VGroup()
        for step in STEPS:
            text = label(step, 24, palette.TEXT)
            box = RoundedRectangle(corner_radius=0.12, width=2.6, height=0.6, stroke_color=palette.ENCODER,
                                   stroke_width=2.5)
            boxes.add(VGroup(box, text.move_to(box)))
        boxes.arrange(UP, buff=0.35)
        arrows = VGroup(*(Arrow(a.get_top(), b.get_bottom(), buff=0.04, color=palette.MUTED, stroke_width=3,
                                max_tip_length_to_length_ratio=0.4) for a, b in zip(boxes[:-1], boxes[1:])))
        frame = SurroundingRectangle(VGroup(boxes, arrows), buff=0.2, color=palette.FAINT, corner_radius=0.15)
        name = label(f"block {i}", 26, palette.ENCODER).next_to(frame, DOWN, buff=0.2)
        return VGroup(frame, boxes, arrows, name)

    def repeat_block(self) -> None:
        with self.beat("the block, N times"):
            self.show_heading(f"The encoder: one block, {self.n_layers} times",
                              formula(r"x \;\to\; \mathrm{LN}\big(x + \mathrm{Attn}(x)\big) = y \;\to\; "
                                      r"\mathrm{LN}\big(y + \mathrm{FFN}(y)\big)", 34))
            blocks = VGroup(*(self.block_column(i) for i in range(self.n_layers))).arrange(RIGHT, buff=1.0,
                                                                                           aligned_edge=UP)
            source = VGroup(label("words +", 26, palette.ENCODER), label("positions", 26, palette.ENCODER))
            source.arrange(DOWN, buff=0.1).next_to(blocks[0][0], LEFT, buff=0.9)
            memory = label("memory M", 26, palette.ENCODER).next_to(blocks[-1][0], RIGHT, buff=0.9)
            frames = [source] + [b[0] for b in blocks] + [memory]
            flow = VGroup(*(Arrow(a.get_right(), b.get_left(), buff=0.1, color=palette.MUTED, stroke_width=4)
                            for a, b in zip(frames[:-1], frames[1:])))
            diagram = self.fit(VGroup(source, blocks, memory, flow))
            self.play(Appear(source), run_time=self.timing.fast)
            self.play(Create(flow[0]), Appear(blocks[0]), run_time=self.timing.build)
            self.say("One block: self-attention, add & norm, feed-forward, add & norm, from the bottom up.",
                     pause=self.timing.fast)
            for i in range(1, self.n_layers):
                self.play(Create(flow[i]), Appear(blocks[i]), run_time=self.timing.build)
            self.play(Create(flow[-1]), Appear(memory), run_time=self.timing.fast)
            self.say(f"The encoder stacks {self.n_layers} of them, each with its own weights; "
                     "each block's output is the next one's input.", pause=self.timing.read)
            self.play(Vanish(diagram), run_time=self.timing.fast)
            self.clear_stage()

    def moved_most(self) -> tuple[np.ndarray, int]:
        """How far each block moves each word's vector ([blocks, words]), and the word moved furthest in all."""
        t = self.trace
        s = [t[name] for name in self.stages]
        steps = np.stack([np.linalg.norm(b - a, axis=-1) for a, b in zip(s[:-1], s[1:])])
        total = np.linalg.norm(s[-1] - s[0], axis=-1)
        words = [i for i, w in enumerate(self.words) if not w.startswith("<")] or list(range(self.n))
        return steps, max(words, key=lambda i: total[i])

    def layer_by_layer(self) -> None:
        with self.beat("block by block", poster=True):
            self.show_heading("Each word's vector, block by block")
            steps, w = self.moved_most()
            views = [self.values(name).select(rows=[w]) for name in self.stages]
            width = cell_width(views, 2)

            # rows far enough apart for words: every row labelled; else only the word followed
            pitch = 0.3 if self.n <= 12 else max(0.13, 3.0 / self.n)

            def row_labels() -> list:
                labels = self.labels("encoder", 20)
                return labels if self.n <= 12 else [lab if i == w else None for i, lab in enumerate(labels)]

            def build(rows: int, cols: int) -> VGroup:
                maps = VGroup(*(ActivationMap(self.trace[name], rf"X_{{{k}}}", row_labels() if k == 0 else None,
                                              cell=0.22, cell_height=pitch, where=what)
                                for k, (name, what) in enumerate(zip(self.stages, self.stage_names))))
                maps.arrange(RIGHT, buff=0.5, aligned_edge=UP)
                vecs = VGroup(*(MatrixView(v, rf"X_{{{k}}}", palette.ENCODER, max_cols=cols, col_width=width,
                                           show_shape=False, title_side=LEFT)
                                for k, v in enumerate(views)))
                vecs.arrange(DOWN, buff=0.12)
                line_up_cols(vecs[0], *vecs[1:])
                word = label(f"the row of {quote(self.words[w])}, {self.d_model} numbers", 22)
                lower = VGroup(word, vecs).arrange(DOWN, buff=0.15)
                return VGroup(maps, lower).arrange(DOWN, buff=0.4)

            maps, lower = self.fit_folding(build, 1, self.d_model)
            word, vecs = lower
            self.play(Appear(maps[0]), run_time=self.timing.build)
            for m in maps[1:]:
                self.play(Appear(m), run_time=self.timing.fast)
            self.say(self.blocks_sentence(steps), pause=self.timing.read)
            # one word's numbers at every stage, its row boxed in every picture
            boxes = VGroup(*(SurroundingRectangle(m.row(w), color=palette.HIGHLIGHT, buff=0.02, stroke_width=2)
                             for m in maps))
            self.play(*(Create(b) for b in boxes), Appear(word), run_time=self.timing.fast)
            for v in vecs:
                self.play(Appear(v), run_time=self.timing.fast)
            self.say(f"Still the row of {quote(self.words[w])}: after {self.n_layers} blocks, it also carries "
                     "what attention gathered from the other words.", pause=self.timing.look)
            first, last = self.trace[self.stages[0]][w], self.trace[self.stages[-1]][w]
            flipped = int((np.sign(first) != np.sign(last)).sum())
            self.say(f"{flipped} of its {self.d_model} numbers changed sign from the input to the last block's output.",
                     pause=self.timing.read)
            self.clear_stage()

    def blocks_sentence(self, steps: np.ndarray) -> str:
        most = np.argmax(steps, axis=0)  # for each word, the block that moves it furthest
        counts = np.bincount(most, minlength=self.n_layers)
        b = int(np.argmax(counts))
        if counts[b] == self.n:
            return f"Block {b} moves every word's vector further than any other block does."
        return f"Block {b} moves {int(counts[b])} of the {self.n} words' vectors further than any other block does."

    def hand_over(self) -> None:
        with self.beat("the memory"):
            self.show_heading("The memory: handed to the decoder")
            decoder_layer = self.trace.config["n_layers"]["decoder"] - 1
            memory, stream = self.fit_folding(lambda r, c: memory_and_stream(self, decoder_layer, r, c), 12, 6)
            self.play(Appear(memory), run_time=self.timing.build)
            start = memory.brackets.get_right() + 0.3 * RIGHT
            arrow = Arrow(start, [stream.brackets.get_center()[0], start[1], 0], color=palette.ENCODER, stroke_width=5)
            note = VGroup(label("to every decoder layer's", 24, palette.ENCODER),
                          label("cross-attention: keys and values", 24, palette.ENCODER)).arrange(DOWN, buff=0.1)
            note.next_to(arrow, DOWN, buff=0.2, aligned_edge=LEFT)
            self.play(Create(arrow), Appear(note), run_time=self.timing.build)
            self.say(f"The encoder's output M, one row for each of the {self.n} English tokens: computed once, "
                     "read by the decoder at every step.", pause=self.timing.read)
            self.say("Cross-attention takes it from here: M gives the keys and values, the decoder the queries.",
                     pause=self.timing.read)
            self.clear_stage()
