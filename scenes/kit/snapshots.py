"""What the training scene needs of snapshot traces (`model.trace.record(snapshot=STEP)`, CONTRACT's notes):
which step each is from, the loss curve drawn from its `training.step` and `training.loss`, each snapshot's own
greedy translation (`meta["output_tokens"]`) as words on screen and in a sentence, and how sharp a pattern is
said in a sentence. Every sentence is computed from the traces, so it is true for any sentence the user gives.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from manim import DOWN, LEFT, UP, Axes, DashedLine, Dot, Line, Rectangle, VGroup, VMobject

from . import palette
from .choose import quote
from .components import label, token, wrapped_words
from .layout import SMALL

EOS = "<eos>"
QUOTED = 4  # the most words of a translation a caption quotes (a longer right start is counted, not read out)
STEP_SLOT = "step-"  # a snapshot's slot: "step-150"


def slot_of(step: int) -> str:
    return f"{STEP_SLOT}{step}"


def step_of(slot: str) -> int:
    return int(slot[len(STEP_SLOT):])


def snapshot_slots() -> tuple[str, ...]:
    """The slots of the training scene, read from the training record (torch-free): the final step first (its
    translation is what every other snapshot's decoder reads), then the others from the random start on."""
    from model.history import read_history

    steps = read_history().snapshot_steps
    return (slot_of(steps[-1]),) + tuple(slot_of(s) for s in steps[:-1])


# ----------------------------------------------------------------------------- the loss
def smoothing_floor(epsilon: float, n_words: int) -> float:
    """The lowest label-smoothed cross-entropy any model can reach: the entropy of the smoothed target (the right
    word gets 1 − ε + ε/V, every other word ε/V), which is the loss of a model that predicts exactly that."""
    right, other = 1 - epsilon + epsilon / n_words, epsilon / n_words
    return -(right * math.log(right) + (n_words - 1) * other * math.log(other))


def log_step(step) -> np.ndarray:
    """Where a step sits on the curve's axis: log10(step + 1), so that step 0 is at 0 and each tick is ten times
    the last."""
    return np.log10(np.asarray(step, dtype=np.float64) + 1)


def drawn_steps(n: int, marks=(), points: int = 400) -> np.ndarray:
    """The logged steps the drawn line passes through: about `points`, evenly spaced on the log axis, the first
    and the last, and `marks` (the snapshots, so that their dots lie on the line)."""
    spaced = np.unique(np.round(np.geomspace(1, n, points)).astype(np.int64) - 1)
    return np.unique(np.concatenate([spaced, [0, n - 1], [m for m in marks if 0 <= m < n]]))


class LossCurve(VGroup):
    """The loss at every logged step, drawn on Manim axes: steps on a log scale (ticks 0, 10, 100 …, placed at
    log10(step + 1)), the loss up the side; the drawn line passes through the logged values at a few hundred
    steps (a picture; the numbers shown beside it are traced values). `floor`: a dashed line at that loss.

    Parts: `graphics` (axes, tick marks, line, floor: what scales), `texts` (tick labels and the axes' names);
    `point(step, loss)` is where a logged value lies."""

    def __init__(self, steps: np.ndarray, losses: np.ndarray, marks=(), width: float = 9.0, height: float = 4.2,
                 tick_size: float = SMALL, floor: float | None = None, tick_labels: bool = True):
        super().__init__()
        n = len(steps)
        self.u_max = float(log_step(steps[-1]))
        self.y_top = float(math.ceil(float(np.max(losses))))
        y_step = 1 if self.y_top <= 5 else 2
        self.axes = Axes(x_range=[0, self.u_max, 1], y_range=[0, self.y_top, y_step], x_length=width, y_length=height,
                         tips=False, axis_config={"color": palette.MUTED, "stroke_width": 2},
                         x_axis_config={"include_ticks": False}, y_axis_config={"tick_size": 0.05})
        ticks, texts = VGroup(), VGroup()
        tens = [0] + [10**k for k in range(1, int(math.log10(max(int(steps[-1]) + 1, 1))) + 1)]
        for s in tens:
            x = self.axes.c2p(float(log_step(s)), 0)
            ticks.add(Line(x + 0.05 * DOWN, x + 0.05 * UP, color=palette.MUTED, stroke_width=2))
            if tick_labels:
                texts.add(label(str(s), tick_size).next_to(x, DOWN, buff=0.15))
        if tick_labels:
            for v in range(0, int(self.y_top) + 1, y_step):
                texts.add(label(str(v), tick_size).next_to(self.axes.c2p(0, v), LEFT, buff=0.15))
        x_name = label("training step (log scale)", tick_size)
        x_name.next_to(self.axes.c2p(self.u_max / 2, 0), DOWN, buff=0.2 + (0.3 if tick_labels else 0.0))
        y_name = label("loss", tick_size).next_to(self.axes.c2p(0, self.y_top), LEFT, buff=0.15)
        texts.add(x_name, y_name)
        drawn = drawn_steps(n, marks)
        self.line = VMobject(stroke_color=palette.TEXT, stroke_width=2.5)
        self.line.set_points_as_corners([self.point(steps[i], losses[i]) for i in drawn])
        self.floor = VGroup()
        if floor is not None:
            self.floor.add(DashedLine(self.axes.c2p(0, floor), self.axes.c2p(self.u_max, floor), color=palette.MUTED,
                                      stroke_width=2, dash_length=0.1))
        self.graphics = VGroup(self.axes, ticks, self.floor, self.line)
        self.texts = texts
        self.add(self.graphics, self.texts)

    def point(self, step, loss) -> np.ndarray:
        return self.axes.c2p(float(log_step(step)), float(loss))

    def dot(self, step, loss, color=palette.HIGHLIGHT, radius: float = 0.07) -> Dot:
        return Dot(self.point(step, loss), radius=radius, color=color)

    def path(self, steps: np.ndarray, losses: np.ndarray, start: int, end: int) -> VMobject:
        """The drawn line between two logged steps (indices into `steps`), e.g. for a marker to travel along."""
        idx = drawn_steps(len(steps), (start, end))
        idx = idx[(idx >= start) & (idx <= end)]
        path = VMobject()
        path.set_points_as_corners([self.point(steps[i], losses[i]) for i in idx] if len(idx) > 1 else
                                   [self.point(steps[start], losses[start])] * 2)
        return path


def pattern_picture(weights: np.ndarray, cell: float) -> VGroup:
    """A whole attention pattern as a small picture: one square per weight, as bright as the weight (an
    `AttentionGrid`'s squares, without words or folds, for a pattern small on screen beside others)."""
    squares = VGroup()
    for r in range(weights.shape[0]):
        for c in range(weights.shape[1]):
            sq = Rectangle(width=cell * 0.92, height=cell * 0.92, stroke_color=palette.FAINT, stroke_width=1)
            sq.set_fill(palette.ATTENTION, opacity=float(weights[r, c])).move_to([c * cell, -r * cell, 0])
            squares.add(sq)
    return squares


# ----------------------------------------------------------------------------- the translation
@dataclass(frozen=True)
class Written:
    """What a snapshot wrote for the sentence, greedy: its tokens up to <eos> (specials included, as written)."""

    tokens: tuple[str, ...]
    ended: bool  # False: it reached the length limit without writing <eos>, and is cut there

    @classmethod
    def of(cls, trace) -> "Written":
        out = list(trace.meta["output_tokens"])
        ended = bool(out) and out[-1] == EOS
        return cls(tuple(out[:-1] if ended else out), ended)

    def __len__(self) -> int:
        return len(self.tokens)


def first_same(written: list[Written], final: Written) -> int:
    """The index of the first of `written` (in order of training, the final weights' last) that is `final`."""
    return next(i for i, w in enumerate(written) if w == final)


def translation_words(written: Written, english: frozenset[str], size: float, width: float) -> VGroup:
    """The snapshot's translation as tokens wrapped into lines `width` wide: French in the decoder's colour, a word
    only the English side knows in the encoder's, special tokens in grey; then <eos> as written, or, for a cut
    translation, a grey "…"."""
    from model.tokenizer import SPECIALS

    def colour(w: str):
        return palette.MUTED if w in SPECIALS else palette.ENCODER if w in english else palette.DECODER

    words = [token(w, colour(w), size) for w in written.tokens]
    words.append(token(EOS if written.ended else "\u2026", palette.MUTED, size))
    return wrapped_words(words, width, buff=0.22, line_buff=0.22)


@functools.lru_cache(maxsize=1)
def english_only() -> frozenset[str]:
    """The words of the translator's vocabulary that only its English side has (an early snapshot writes some)."""
    from model import vocabulary_path
    from model.tokenizer import Tokenizer

    languages = Tokenizer.load(vocabulary_path("translator")).languages
    return frozenset(languages.get("en", ())) - frozenset(languages.get("fr", ()))


def describe_translation(step: int, written: Written, final: Written, first: int, is_first: bool, is_last: bool,
                         english: frozenset[str], then: str | None = None) -> str:
    """One sentence on what the snapshot at `step` wrote, compared with the final translation (`first`: the step at
    which that first comes out; at the latest, the last), with `then` (a clause) after a semicolon."""
    when = f"At step {step}" + (", with random weights," if is_first and step == 0 else "")
    words, target = list(written.tokens), list(final.tokens)
    if written == final:
        clause = (f"Only at step {step}, the end of training, does it write the final translation" if first == step
                  and is_last else f"{when} it writes the final translation for the first time" if first == step else
                  f"At step {step}, the end of training, it writes the same translation" if is_last else
                  f"At step {step} it still writes the final translation")
    else:
        prefix = 0
        while prefix < min(len(words), len(target)) and words[prefix] == target[prefix]:
            prefix += 1
        repeated, times = Counter(words).most_common(1)[0] if words else ("", 0)
        shared = sum((Counter(words) & Counter(target)).values())
        n_english = sum(w in english for w in words)
        if not words:
            body = "it writes nothing at all"
        elif prefix > QUOTED:
            body = f"its first {prefix} words are right, then it goes wrong"
        elif prefix >= 2:
            body = f"it starts right, {quote(' '.join(words[:prefix]))}, then goes wrong"
        elif times >= 3:
            body = f"it writes {quote(repeated)} {times} times"
        elif n_english:
            body = f"it writes {len(words)} words, {n_english} of them English"
        elif shared:
            body = f"it writes {len(words)} words, {shared} of them from the final translation"
        else:
            body = f"it writes {len(words)} words, none of them from the final translation"
        if not written.ended:
            body += f" and never stops, cut at {len(words)} words"
        clause = f"{when} {body}"
    return f"{clause}; {then}." if then else f"{clause}."


def first_sharpness(shown: str, keys: int) -> str:
    """One sentence on the first snapshot's pattern: `shown`, its mean row maximum as on screen, against the same
    for weights spread evenly over its `keys` English words."""
    return f"Each French row's largest weight is {shown} on average; spread evenly, it would be {1 / keys:.2f}."


def sharpness_change(shown: str, before: str) -> str:
    """A clause on how a pattern's sharpness (`shown`, as on screen) compares with the one before (`before`, on
    screen a moment ago: not said again)."""
    v, b = float(shown), float(before)
    if v == b:
        return f"the pattern stays at {shown}"
    return f"the pattern {'sharpens' if v > b else 'blurs'} to {shown}"


__all__ = ["EOS", "LossCurve", "Written", "describe_translation", "drawn_steps", "english_only", "first_same",
           "first_sharpness", "log_step", "pattern_picture", "sharpness_change", "slot_of", "smoothing_floor",
           "snapshot_slots", "step_of", "translation_words"]
