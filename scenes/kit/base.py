"""The base of every scene: traces in; values manifest, beat records and poster frame out.

A scene declares what it is and what it needs, once, on its class:

    class CrossAttention(ReelScene):
        name = "cross_attention"
        summary = "queries from the decoder, keys and values from the encoder"
        needs = ("translator",)                      # the traces it reads (slots, named after their model
                                                     # unless `model_input` says otherwise)
        options = (Layer("decoder"), Head("decoder.blocks.{layer}.cross_attn"))

and never runs a model: `reel` records the traces and hands them in; run with
plain `manim`, a scene reads the default traces shipped in `assets/`.

`construct()` reads as a storyboard: one method per beat, each opened with
`with self.beat(name):` (one beat is the scene's `poster=True`). A beat is where
narration, a subtitle, a slide break and a pause attach; all timing goes through
`self.timing`, so narration can stretch it. The shared beats every scene needs — a
heading with its formula, a caption, a matrix product with the arrow from the stack
its input comes from, fitting a layout on the stage — live here, not in scene files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ClassVar

from manim import DOWN, RIGHT, UP, Create, CurvedArrow, Mobject, Scene, VGroup, config

from model.tracefile import Trace

from . import layout, palette
from .animations import Appear, Vanish
from .beats import Beat, Caption
from .components import (
    Values,
    WeightBlock,
    caption,
    formula,
    label,
    plain_text,
    shown_in,
    stack_labels,
    without,
)
from .defaults import default_traces
from .manifest import ValuesManifest
from .options import Option

config.notify_outdated_version = False  # its advice (upgrade Manim) would break the slides: never print it


@dataclass
class Timing:
    """Every duration a scene uses, in one place: whole frames at 15, 30 and 60 fps."""

    swap: float = 0.4  # one caption out, the next in
    fast: float = 0.6  # a quick transition
    move: float = 0.8  # moving a matrix to its next place
    build: float = 1.0  # a result appearing
    read: float = 2.0  # pause after a sentence or a result, for the viewer to read
    look: float = 3.0  # pause on a picture worth studying


class ReelScene(Scene):
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ("translator",)
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, traces: dict[str, Trace] | None = None, options: dict | None = None,
                 observer=None, still_beat: str | None = None, narrator=None, captions: bool = True, **kwargs):
        self.traces = traces
        self.narrator = narrator  # reel.narration.Narrator: speaks each caption (None: silent)
        self.captions = captions  # False: captions are spoken and recorded but not drawn (subtitles carry them)
        self.given_options = dict(options or {})
        self.timing = Timing()
        self.beats: list[Beat] = []
        self.observer = observer  # the frame check, in tests
        self.still_beat = still_beat  # the beat whose frame at rest to keep (None: the poster beat)
        self.still_image = None
        self._seen: dict[int, object] = {}  # holds the mobjects too, so that no id is reused
        self._caption = None
        self.heading_shown = None  # the heading (and formula) on screen, which `turn` takes away
        self._caption_record: Caption | None = None
        super().__init__(**kwargs)

    # --- set-up -------------------------------------------------------------
    def setup(self) -> None:
        from .options import resolve_options

        self.camera.background_color = palette.BACKGROUND
        if self.traces is None:
            self.traces = default_traces(type(self))
        missing = [n for n in self.needs if n not in self.traces]
        if missing:
            raise ValueError(f"scene {self.name} needs traces of {', '.join(missing)}")
        self.trace = self.traces[self.needs[0]]
        self.opt = resolve_options(type(self), self.given_options, self.traces)
        self._name_the_attention()
        self.manifest = ValuesManifest(self.name, {n: self.trace_file(n) for n in self.needs})

    def tear_down(self) -> None:
        end = self.renderer.time
        writer = getattr(self.renderer, "file_writer", None)
        if self.narrator is not None and writer is not None and getattr(writer, "includes_sound", False):
            from pydub import AudioSegment

            writer.add_audio_segment(AudioSegment.silent(0), time=end)  # the sound lasts as long as the picture
        if self.beats and (self.beats[-1].end is None or self.beats[-1].end < end):
            self.beats[-1].end = end
        if self.observer is not None:
            self.observer.scene_ended(self)

    def _name_the_attention(self) -> None:
        """What every attention scene derives from its options: `self.layer`, `self.head`, `self.a`
        (the attention's tensor prefix, e.g. "encoder.blocks.1.self_attn") and `self.where`
        ("encoder layer 1 · head 0", as the matrices' titles say it)."""
        from .options import Head, Layer

        self.layer, self.head = self.opt.get("layer"), self.opt.get("head")
        head = next((o for o in self.options if isinstance(o, Head)), None)
        layer = next((o for o in self.options if isinstance(o, Layer)), None)
        self.a = head.attention.format(**self.opt) if head is not None else None
        where = [f"{layer.stack} layer {self.layer}"] if layer is not None else []
        where += [f"head {self.head}"] if head is not None else []
        self.where = " \u00b7 ".join(where)

    @classmethod
    def trace_file(cls, model: str) -> str:
        """CONTRACT: NAME.trace.npz, or NAME.<model>.trace.npz where a scene uses several models."""
        return f"{cls.name}.trace.npz" if len(cls.needs) == 1 else f"{cls.name}.{model}.trace.npz"

    @classmethod
    def model_input(cls, slot: str, sentence: str | None, target: str | None) -> dict:
        """How the trace in `slot` (one of `needs`) is recorded from the user's sentence and target: the
        keyword arguments of `model.trace.record`. By default a slot is named after its model, which reads
        the sentence as given, and only the translator takes the target; a scene whose traces need more
        (bert a masked word, a second sentence, a snapshot of training) says so here, with `"name"` for
        the model where the slot is not named after it. `reel` and the tests record through `recording`."""
        return {"sentence": sentence, "target": target if slot == "translator" else None}

    @classmethod
    def recording(cls, slot: str, sentence: str | None, target: str | None) -> dict:
        """The keyword arguments of `model.trace.record` for `slot`, the model's name under "name"."""
        how = dict(cls.model_input(slot, sentence, target))
        how.setdefault("name", slot)
        return how

    # --- the trace ------------------------------------------------------------
    def values(self, tensor: str, *prefix: int, model: str | None = None) -> Values:
        """A 2-D view of a traced tensor (`prefix` picks e.g. the head) that records what is shown."""
        model = model or self.needs[0]
        data = self.traces[model][tensor]
        for i in prefix:
            data = data[i]
        if data.ndim == 1:  # a vector is shown as a one-row matrix
            return Values(model, tensor, data[None, :], tuple(prefix), vector=True)
        return Values(model, tensor, data, tuple(prefix))

    def labels(self, stack: str, size: float = layout.TOKEN, model: str | None = None) -> list[VGroup]:
        """Row labels for a stack's positions (encoder: the words; decoder: "le → chat")."""
        return stack_labels(self.traces[model or self.needs[0]], stack, size)

    # --- the manifest ---------------------------------------------------------
    def add(self, *mobjects):
        for mob in mobjects:
            if id(mob) not in self._seen:
                self._seen[id(mob)] = mob
                for shown in shown_in(mob):
                    self.manifest.add(shown)
        return super().add(*mobjects)

    # --- playing: the frame check watches, the still is taken ---------------
    def play(self, *animations, **kwargs):
        if self.observer is not None:
            self.observer.animations_started(self, animations)
        super().play(*animations, **kwargs)
        if self.observer is not None:
            self.observer.checkpoint(self, "after")

    def play_internal(self, skip_rendering: bool = False) -> None:
        if self.observer is not None and self.duration > 0:
            self.update_to_time(self.duration / 2)
            # while skipping, the renderer's clock has already moved past the whole animation
            self.observer.checkpoint(self, "midway", self.renderer.time - self.duration / 2)
        super().play_internal(skip_rendering)

    def wait(self, duration: float = 1.0, **kwargs):
        beat = self.beats[-1] if self.beats and self.beats[-1].end is None else None
        if beat is not None and duration >= beat.longest_pause:
            # a pause is a frame at rest: the beat's longest one is its still
            beat.longest_pause, beat.rest = duration, self.renderer.time
            wanted = self.still_beat if self.still_beat is not None else (beat.name if beat.poster else None)
            if beat.name == wanted:
                self.renderer.update_frame(self, ignore_skipping=True)
                self.still_image = self.camera.get_image().copy()
        super().wait(duration, **kwargs)

    # --- beats and captions ---------------------------------------------------
    @contextlib.contextmanager
    def beat(self, name: str, poster: bool = False):
        if self.beats and self.beats[-1].end is None:
            raise RuntimeError(f"beat {name!r} opened inside beat {self.beats[-1].name!r}")
        self.slide_break()
        beat = Beat(name, self.renderer.time, poster=poster)
        self.beats.append(beat)
        yield beat
        beat.end = self.renderer.time
        if self.observer is not None:
            self.observer.beat_ended(self, beat)

    def slide_break(self) -> None:
        """Where a lecturer would click: every beat starts one. A video ignores it; a deck
        (`reel/slides.py` mixes manim-slides' `Slide` into the scene) starts a new slide here."""

    def say(self, text: str, pause: float | None = None) -> None:
        """Show one sentence at the bottom (replacing the last), then pause for reading.

        With a narrator the sentence is spoken first and measured: its sound starts as the
        caption appears, and the pause lasts at least until the speech has ended (plus a gap).
        """
        speech = self.narrator.speak(text) if self.narrator is not None else None
        if self._caption is not None:  # one after the other: two captions never overlap
            self.play(Vanish(self._caption, run_time=self.timing.swap))
        self._caption_ended()
        record = Caption(text, self.renderer.time)
        if self.beats and self.beats[-1].end is None:
            self.beats[-1].captions.append(record)
        if speech is not None:
            self.add_sound(str(speech.path))
            record.cues = [(piece, record.start + a) for piece, a, _ in speech.parts]
        if self.captions:
            new = caption(text).to_edge(DOWN, buff=layout.CAPTION_BUFF)
            self.play(Appear(new, run_time=self.timing.swap))
            self._caption = new
        self._caption_record = record
        pause = self.timing.read if pause is None else pause
        if speech is not None:
            from reel.narration import GAP

            pause = max(pause, record.start + speech.duration + GAP - self.renderer.time)
        self.wait(pause)

    def _caption_ended(self) -> None:
        if self._caption_record is not None:
            self._caption_record.end = self.renderer.time
        self._caption, self._caption_record = None, None

    def drop_caption(self) -> None:
        if self._caption is not None:
            self.play(Vanish(self._caption, run_time=self.timing.fast))
        self._caption_ended()

    def clear_stage(self, *keep) -> None:
        """Fade out everything but `keep`, the caption included."""
        keep_ids = {id(m) for m in keep}
        gone = [m for m in self.mobjects if id(m) not in keep_ids]
        if gone:
            self.play(*(Vanish(m, run_time=self.timing.fast) for m in gone))
        if self._caption is None or id(self._caption) not in keep_ids:
            self._caption_ended()
        if self.heading_shown is not None and id(self.heading_shown) not in keep_ids:
            self.heading_shown = None

    # --- layout -----------------------------------------------------------------
    def fit(self, group: Mobject, center=layout.STAGE_CENTER, max_width: float = layout.SAFE_WIDTH,
            max_height: float = layout.STAGE_HEIGHT) -> Mobject:
        """Centre a layout on the stage, shrunk only as far as needed (never below the readability floor)."""
        return layout.fit(group, center, max_width, max_height)

    def fit_folding(self, make, rows: int, cols: int, center=layout.STAGE_CENTER,
                    max_width: float = layout.SAFE_WIDTH, max_height: float = layout.STAGE_HEIGHT) -> Mobject:
        """`make(max_rows, max_cols)`, folded until it fits without shrinking below the floor."""
        return layout.fit_folding(make, rows, cols, center, max_width, max_height)

    def heading(self, text: str) -> VGroup:
        return plain_text(text, layout.HEADING, palette.TEXT).to_edge(UP, buff=layout.HEADING_BUFF)

    def show_heading(self, text: str, formula_mob=None) -> VGroup:
        """The heading at the top, with its formula under it; the last caption goes first."""
        self.drop_caption()
        head = self.heading(text)
        group = VGroup(head)
        if formula_mob is not None:
            formula_mob.next_to(head, DOWN, buff=0.15)
            group.add(formula_mob)
        self.play(Appear(group, run_time=self.timing.fast))
        self.heading_shown = group
        return group

    def turn(self, *animations, run_time: float | None = None) -> None:
        """The next step: the heading and the caption on screen leave while `animations` play."""
        gone = [Vanish(self.heading_shown)] if self.heading_shown is not None else []
        self.heading_shown = None
        had_caption = self._caption is not None
        if had_caption:
            gone.append(Vanish(self._caption))
        self.play(*animations, *gone, run_time=run_time or self.timing.fast)
        if had_caption:
            self._caption_ended()

    # --- the shared beats -----------------------------------------------------------
    def show_product(self, make, rows: int, cols: int, source_tag: str | None = None,
                     tag_color=palette.MUTED) -> VGroup:
        """A × W = B as a beat: the first row of B built from the first row of A, then the rest,
        and an arrow from the stack A really comes from (`source_tag`, e.g. "from the encoder").

        `make(max_rows, max_cols)` builds (A, W, B) with at most that many rows and columns
        shown; they fold until the product fits the stage without shrinking below the floor.
        """
        def build(r: int, c: int) -> VGroup:
            left, weight, result = make(r, c)
            times, equals = formula(r"\times", 40), formula("=", 40)
            row = VGroup(left, times, weight, equals, result).arrange(RIGHT, buff=0.3)
            # the result's rows are the left matrix's rows: line them up
            result.shift((left.entries.get_top()[1] - result.entries.get_top()[1]) * UP)
            parts = VGroup(row)
            if source_tag:
                low = min(left.get_bottom()[1], result.get_bottom()[1], weight.get_bottom()[1]) - 0.15
                arrow = CurvedArrow([left.brackets.get_center()[0], low, 0], [result.brackets.get_center()[0], low, 0],
                                    angle=0.45, color=tag_color, stroke_width=5)
                tag = label(source_tag, 28, tag_color).next_to(arrow, DOWN, buff=0.1)
                parts.add(arrow, tag)
            return parts

        parts = self.fit_folding(build, rows, cols)
        left, times, weight, equals, result = parts[0]
        self.play(Appear(VGroup(left, times, weight, equals), run_time=self.timing.build))
        box_in, box_out = left.row_box(0), result.row_box(0)
        self.play(Create(box_in), run_time=self.timing.fast)
        first = result.row_cells(0)
        self.play(Appear(VGroup(result.title, result.brackets, result.row_labels, first)), Create(box_out),
                  run_time=self.timing.fast)
        self.play(Appear(without(result.entries, *first)), Vanish(box_in), Vanish(box_out), run_time=self.timing.build)
        if len(parts) > 1:
            arrow, tag = parts[1], parts[2]
            self.play(Create(arrow), Appear(tag), run_time=self.timing.build)
        return parts

    def weight_block(self, tensor: str, name: str, *prefix: int, where: str | None = None) -> WeightBlock:
        return WeightBlock(self.values(tensor, *prefix), name, where=where)

