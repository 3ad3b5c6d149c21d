"""Training: how the translator learned. The loss curve as training logged it; then the user's sentence through
snapshots of the weights kept along the way: the translation each one writes, from gibberish to the final one,
and the cross-attention of one head sharpening from spread to the alignment `cross_attention` shows.

Every number is read from the snapshots' traces (`model.trace.record(snapshot=STEP)`, one slot per snapshot:
`step-0` … `step-10000`): the loss at each snapshot from its `training.loss`, the line drawn through the final
trace's whole curve, each snapshot's pattern and its sharpness (the mean of its rows' largest weights, a derived
value). Every snapshot's decoder reads the same French, the final model's translation (or the user's --target),
so that the patterns have one shape and morph into one another; what each snapshot writes itself is its own
greedy translation (`meta["output_tokens"]`).

    python render.py --scene training --sentence "…"
"""

from __future__ import annotations

from manim import DOWN, LEFT, RIGHT, UP, Circle, Create, MoveAlongPath, SurroundingRectangle, Transform, VGroup

from model.history import read_history
from scenes.kit import layout, palette
from scenes.kit.animations import Appear, CrossFade, Refill, Slide, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.components import AttentionGrid, formula, label, plain_text
from scenes.kit.derived import mean_row_max
from scenes.kit.encoding import entry
from scenes.kit.manifest import format_value
from scenes.kit.options import Head, Layer
from scenes.kit.snapshots import (
    LossCurve,
    Written,
    describe_translation,
    english_only,
    first_same,
    first_sharpness,
    pattern_picture,
    sharpness_change,
    smoothing_floor,
    snapshot_slots,
    step_of,
    translation_words,
)

SLOTS = snapshot_slots()  # the final step first: every other snapshot's decoder reads its translation
WORDS = 24  # font size of the translations
LEFT_X = (-layout.FRAME_WIDTH / 2 + 0.35, -2.35)  # the left column: where in training, and the figures
RIGHT_X = (-1.95, layout.FRAME_WIDTH / 2 - 0.35)  # the right column: the translation, the pattern
READING = 3.0  # words a second a viewer reads while watching the picture (a caption without a voice stays that long)


class Training(ReelScene):
    name = "training"
    summary = "how it learned: the loss curve, then your sentence through snapshots of training, gibberish to right"
    needs = SLOTS
    options = (Layer(stack="decoder", model=SLOTS[0]),
               Head(attention="decoder.blocks.{layer}.cross_attn", model=SLOTS[0]))

    @classmethod
    def model_input(cls, slot: str, sentence: str | None, target: str | None) -> dict:
        how = {"name": "translator", "sentence": sentence, "snapshot": step_of(slot)}
        if slot == SLOTS[0]:
            how["target"] = target
        else:  # every snapshot reads the final translation: one shape for every pattern
            how["target_from"] = SLOTS[0]
        return how

    # ------------------------------------------------------------------ storyboard
    def construct(self):
        self.choose()
        self.loss_curve()
        for i in range(len(self.order)):
            self.snapshot(i)
        self.side_by_side()

    # ------------------------------------------------------------------ set-up
    def choose(self) -> None:
        self.order = sorted(self.needs, key=step_of)  # in order of training
        self.steps = [step_of(s) for s in self.order]
        self.written = [Written.of(self.traces[s]) for s in self.order]
        self.final = Written.of(self.trace)
        self.first = self.steps[first_same(self.written, self.final)]  # the final snapshot's at the latest
        self.patterns = [self.traces[s][f"{self.a}.hook_pattern"][self.head] for s in self.order]
        self.sharpness = [mean_row_max(self.values(f"{self.a}.hook_pattern", self.head, model=s), self.traces[s])
                          for s in self.order]
        self.losses = [self.values("training.loss", model=s) for s in self.order]
        # where each snapshot sits on the curve: its last logged step (the final weights: the last batch's)
        self.logged = [int(self.traces[s]["training.step"][-1]) for s in self.order]
        history = read_history()
        self.batch, self.epsilon = history.batch_size, history.label_smoothing
        self.floor = smoothing_floor(self.epsilon, self.trace.config["d_vocab"])
        self.english = english_only()

    def say(self, text: str, pause: float | None = None) -> None:
        """A caption, left up at least as long as it takes to read (these are long: a translation, numbers)."""
        super().say(text, max(self.timing.read if pause is None else pause, len(text.split()) / READING))

    def loss_number(self, i: int, size: float = layout.NUMBER, color=palette.TEXT):
        view = self.losses[i]
        return entry(view, 0, view.shape[1] - 1, 2, size, color)

    def sharp_number(self, i: int, size: float = layout.NUMBER, color=palette.ATTENTION):
        return entry(self.sharpness[i], 0, 0, 2, size, color)

    def shown(self, view, c: int = -1) -> str:
        return format_value(float(view.data[0, c]), 2)

    def curve(self, **kw) -> LossCurve:
        final = self.trace
        return LossCurve(final["training.step"], final["training.loss"], marks=self.logged, **kw)

    # ------------------------------------------------------------------ beats
    def loss_curve(self) -> None:
        with self.beat("loss"):
            n_words = self.trace.config["d_vocab"]
            self.show_heading("How it learned: the loss at every step",
                              formula(r"\text{loss} = -\sum_{w} q(w)\,\log p(w)", 34))
            hint = label(f"p: the model's probabilities   \u00b7   q: {1 - self.epsilon:g} on the right word, "
                         f"{self.epsilon:g} shared by all {n_words} words", 20)
            hint.next_to(self.heading_shown, DOWN, buff=0.15)
            curve = self.curve(width=9.0, height=3.3, floor=self.floor)
            self.fit(curve, layout.STAGE_CENTER + 0.35 * DOWN, max_height=layout.STAGE_HEIGHT - 0.7)
            self.play(Appear(hint), Appear(VGroup(curve.axes, curve.graphics[1], curve.texts)),
                      run_time=self.timing.build)
            self.play(Create(curve.line), run_time=2.0)
            self.say(f"Training nudged its weights {self.steps[-1]} times, after each batch of {self.batch} "
                     f"sentence pairs.")
            # the start and the end, their losses traced
            dots, numbers = VGroup(), VGroup()
            for i in range(len(self.order)):
                dot = curve.dot(self.logged[i], self.losses[i].data[0, -1])
                num = self.loss_number(i, 22, palette.HIGHLIGHT).next_to(dot, UP + RIGHT, buff=0.05)
                dots.add(dot)
                numbers.add(num)
            ends = [0, len(self.order) - 1]
            self.play(*(Appear(VGroup(dots[i], numbers[i])) for i in ends), run_time=self.timing.fast)
            self.say(f"The loss, the label-smoothed cross-entropy of each batch, fell from "
                     f"{self.shown(self.losses[0])} to {self.shown(self.losses[-1])}.")
            floor_name = label("the floor label smoothing sets", 20).next_to(curve.floor, DOWN, buff=0.1)
            floor_name.align_to(curve.floor, RIGHT)
            self.play(Create(curve.floor), Appear(floor_name), run_time=self.timing.fast)
            self.say(f"Label smoothing keeps it above {self.floor:.2f}.")
            middle = [i for i in range(len(self.order)) if i not in ends]
            self.play(*(Appear(VGroup(dots[i], numbers[i])) for i in middle), run_time=self.timing.build)
            self.wait(self.timing.fast)
            self.curve_mob, self.dots, self.dot_numbers, self.extras = curve, dots, numbers, VGroup(hint, floor_name)

    def lay_out_stage(self) -> None:
        """The stage of the snapshot beats: the curve small on the left, the figures below it; the translation and
        the pattern on the right, placed once for all snapshots (the grid never moves, it morphs)."""
        left_w = LEFT_X[1] - LEFT_X[0]
        right_w = RIGHT_X[1] - RIGHT_X[0]
        top = layout.FRAME_HEIGHT / 2 - 0.3
        # the left column: step, curve, figures
        self.step_titles = [plain_text(f"step {s}", 40, palette.TEXT) for s in self.steps]
        for t in self.step_titles:
            t.move_to([LEFT_X[0], top, 0], aligned_edge=UP + LEFT)
        small = self.curve(width=left_w - 0.7, height=1.9, tick_size=16, tick_labels=False)
        spot = self.step_titles[0].get_bottom()[1] - 0.75 - small.graphics.height / 2
        small.shift([LEFT_X[0] + 0.55 + small.graphics.width / 2, spot, 0] - small.graphics.get_center())
        self.small = small
        # the figures: loss and sharpness, each beside its name
        y0 = small.graphics.get_bottom()[1] - 0.95
        self.fig_names = VGroup(label("loss", 24, palette.TEXT), label("sharpness", 24, palette.TEXT))
        for k, name in enumerate(self.fig_names):
            name.move_to([LEFT_X[0], y0 - 0.55 * k, 0], aligned_edge=LEFT)
        self.fig_x = LEFT_X[0] + 2.9
        self.fig_y = [name.get_center()[1] for name in self.fig_names]
        self.fig_note = VGroup(label("sharpness: each French row's largest", 18),
                               label("weight, averaged over the rows, in", 18),
                               label(f"cross-attention, {self.where.replace(' · ', ', ')}", 18)).arrange(
            DOWN, buff=0.1, aligned_edge=LEFT).next_to(self.fig_names, DOWN, buff=0.3, aligned_edge=LEFT)
        # the right column: the translation (room for the longest), then the pattern
        self.translations = []
        for w in self.written:
            words = translation_words(w, self.english, WORDS, right_w)
            same = w == self.final
            said = [f"cut at {len(w)} words"] if not w.ended else []
            said.append("the final translation" if same else "not the final translation")
            verdict = VGroup(label(" \u00b7 ".join(said), 20, palette.KEY if same else palette.MUTED))
            if any(t in self.english for t in w.tokens):  # the colour of English, said where it is seen
                verdict.add(label("\u00b7", 20), label("blue: English words", 20, palette.ENCODER))
                verdict.arrange(RIGHT, buff=0.2)
                if verdict.width > right_w:
                    verdict.remove(verdict[1]).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
            verdict.next_to(words, DOWN, buff=0.18, aligned_edge=LEFT)
            group = VGroup(words, verdict).move_to([RIGHT_X[0], top, 0], aligned_edge=UP + LEFT)
            self.translations.append(group)
        box_top = top - max(t.height for t in self.translations) - 0.35
        box_bottom = layout.STAGE_BOTTOM + 0.15
        tgt, src = self.trace.tokens("decoder"), self.trace.tokens("encoder")
        # cells as large as the box allows a short sentence, no smaller than a long one needs before folding
        cell = min(0.6, max(0.36, (box_top - box_bottom - 1.2) / len(tgt)))
        cell_width = min(0.9, max(0.62, (right_w - 2.6) / len(src)))
        self.grid = self.fit_folding(
            lambda rows, cols: AttentionGrid(self.values(f"{self.a}.hook_pattern", self.head, model=self.order[0]),
                                             self.labels("decoder", 24), self.labels("encoder", 24), cell=cell,
                                             cell_width=cell_width, numbers=False, max_rows=rows, max_cols=cols),
            len(tgt), len(src), center=[(RIGHT_X[0] + RIGHT_X[1]) / 2, (box_top + box_bottom) / 2, 0],
            max_width=right_w, max_height=box_top - box_bottom)
        # the pattern, in the middle of what the longest translation leaves
        self.grid.align_to([RIGHT_X[0], 0, 0], LEFT)
        self.cells = [(r, c) for r in self.grid.shown_rows for c in self.grid.shown_cols]

    def figure(self, number, k: int):
        return number.move_to([self.fig_x, self.fig_y[k], 0], aligned_edge=RIGHT)

    def snapshot(self, i: int) -> None:
        step = self.steps[i]
        with self.beat(f"step {step}"):
            if i == 0:
                self.first_snapshot()
            else:
                self.next_snapshot(i)
            is_last, shown = i == len(self.order) - 1, self.shown(self.sharpness[i], 0)
            change = None if i == 0 else sharpness_change(shown, self.shown(self.sharpness[i - 1], 0))
            self.say(describe_translation(step, self.written[i], self.final, self.first, i == 0, is_last,
                                          self.english, then=change))
            if i == 0:
                self.say(first_sharpness(shown, self.patterns[i].shape[1]))

    def first_snapshot(self) -> None:
        self.lay_out_stage()
        curve, small = self.curve_mob, self.small
        # the curve goes small into the corner, with its dots; its numbers and names make way
        moving = VGroup(curve.graphics, self.dots)
        scale = small.graphics.width / curve.graphics.width
        target = small.graphics.get_center()
        self.turn(Vanish(curve.texts), Vanish(self.dot_numbers), Vanish(self.extras),
                  Slide(moving, target, scale=scale), run_time=self.timing.move)
        self.marker = VGroup(Circle(radius=0.13, color=palette.HIGHLIGHT, stroke_width=3)).move_to(self.dots[0])
        self.panel = VGroup(moving, small.texts, self.marker, self.fig_names, self.fig_note)
        self.loss_shown = self.figure(self.loss_number(0), 0)
        self.sharp_shown = self.figure(self.sharp_number(0), 1)
        self.play(Appear(self.step_titles[0]), Appear(small.texts), Create(self.marker), Appear(self.fig_names),
                  Appear(self.loss_shown), run_time=self.timing.fast)
        self.play(Appear(self.translations[0]), Appear(self.grid), Appear(self.sharp_shown),
                  Appear(self.fig_note), run_time=self.timing.build)
        self.say(f"All {len(self.order)} snapshots read the same French, so their patterns line up.")
        self.step_shown, self.translation_shown = self.step_titles[0], self.translations[0]
        self.add(self.panel)  # one group from here on: the marker moving along the curve uses it all

    def next_snapshot(self, i: int) -> None:
        """The next snapshot: the marker travels along the curve, the pattern morphs, the words and figures swap."""
        path = self.small_path(i)
        loss, sharp = self.figure(self.loss_number(i), 0), self.figure(self.sharp_number(i), 1)
        squares, weights = [self.grid.square(r, c) for r, c in self.cells], [self.patterns[i][rc] for rc in self.cells]
        self.turn(MoveAlongPath(self.marker, path), Refill(self.grid, squares, weights),
                  CrossFade(self.step_shown, self.step_titles[i]), CrossFade(self.loss_shown, loss),
                  CrossFade(self.sharp_shown, sharp), CrossFade(self.translation_shown, self.translations[i]),
                  run_time=1.6)
        self.step_shown, self.translation_shown, self.loss_shown, self.sharp_shown = (
            self.step_titles[i], self.translations[i], loss, sharp)

    def small_path(self, i: int):
        """The drawn curve from the last snapshot to this one, where it is now (the curve was scaled)."""
        final = self.trace
        return self.curve_mob.path(final["training.step"], final["training.loss"], self.logged[i - 1], self.logged[i])

    def side_by_side(self) -> None:
        with self.beat("side by side", poster=True):
            grid, n = self.grid, len(self.order)
            # the table: one column per snapshot, a picture of its pattern, its loss, its sharpness, its verdict
            names = VGroup(*(label(t, 24, palette.TEXT) for t in ("loss", "sharpness", "final translation")))
            col_w = (layout.SAFE_WIDTH - names.width - 0.4) / n
            x0 = -layout.SAFE_WIDTH / 2 + names.width + 0.4
            xs = [x0 + col_w * (k + 0.5) for k in range(n)]
            rows, cols = self.patterns[0].shape
            cell = min((col_w - 0.3) / cols, 2.0 / rows, 0.4)
            # each snapshot's whole pattern (a picture has room for every row, the grid folds a long sentence)
            pictures = [VGroup(pattern_picture(p, cell), VGroup()) for p in self.patterns]
            heads = VGroup(*(label(f"step {s}", 24, palette.TEXT) for s in self.steps))
            losses = VGroup(*(self.loss_number(i) for i in range(n)))
            sharps = VGroup(*(self.sharp_number(i) for i in range(n)))
            verdicts = VGroup(*(label("yes", 24, palette.KEY) if w == self.final else label("no", 24, palette.MUTED)
                                for w in self.written))
            tallest = max(p.height for p in pictures)
            y = layout.STAGE_TOP - 0.1
            for k, x in enumerate(xs):
                heads[k].move_to([x, y, 0], aligned_edge=UP)
                pictures[k].move_to([x, y - 0.55 - tallest / 2, 0])
            rows_y = [y - 0.55 - tallest - 0.5 - 0.55 * j for j in range(3)]
            for j, row in enumerate((losses, sharps, verdicts)):
                for k, x in enumerate(xs):
                    row[k].move_to([x, rows_y[j], 0])
                names[j].move_to([-layout.SAFE_WIDTH / 2, rows_y[j], 0], aligned_edge=LEFT)
            table = VGroup(heads, *pictures, names, losses, sharps, verdicts)
            table.shift((layout.STAGE_CENTER[1] - table.get_center()[1]) * UP)
            heading = self.heading("Snapshot by snapshot")
            # everything but the pattern leaves; its squares become the last snapshot's picture
            self.turn(Vanish(self.panel), Vanish(self.step_shown), Vanish(self.loss_shown), Vanish(self.sharp_shown),
                      Vanish(self.translation_shown), Vanish(grid.row_labels), Vanish(grid.col_labels),
                      run_time=self.timing.fast)
            grid.remove(grid.row_labels, grid.col_labels)
            self.play(Transform(VGroup(grid.squares, grid.dots), pictures[-1]), Appear(heading),
                      run_time=self.timing.move)
            self.heading_shown = heading
            self.play(*(Appear(p) for p in pictures[:-1]), Appear(heads), Appear(names), Appear(losses), Appear(sharps),
                      Appear(verdicts), run_time=self.timing.build)
            k = self.steps.index(self.first)
            box = SurroundingRectangle(VGroup(heads[k], pictures[k] if k < n - 1 else grid.squares, verdicts[k]),
                                       color=palette.HIGHLIGHT, buff=0.15)
            self.play(Create(box), run_time=self.timing.fast)
            loss = self.shown(self.losses[k])
            s0, s1 = self.shown(self.sharpness[0], 0), self.shown(self.sharpness[-1], 0)
            change = (f"sharpened from {s0} to {s1}" if float(s1) > float(s0) else
                      f"blurred from {s0} to {s1}" if float(s1) < float(s0) else f"stayed at {s1}")
            self.say(f"The final translation first comes out at step {self.first}, at a loss of {loss}; the pattern "
                     f"{change}." if k < n - 1 else
                     f"Only the last snapshot writes the final translation, at a loss of {loss}; the pattern "
                     f"{change}.", pause=self.timing.look)
            self.clear_stage()
