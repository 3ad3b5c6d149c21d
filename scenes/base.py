"""The base of every scene: it receives traces, exposes them, and keeps the values manifest.

A scene declares what it needs (`needs`: which models' traces; `defaults`: options such
as layer and head) and never runs a model. `render.py` records the traces and hands
them in; run with plain `manim`, the scene gets the default sentence's traces
(`default_traces`), or the file named by $TRANSFORMER_REEL_TRACE.

`construct()` reads as a storyboard: one method per beat, each opened with
`self.beat(name)`. A beat is where narration, a slide break and a pause will attach;
all timing goes through `self.timing`, so narration can later stretch it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import ClassVar

from manim import DOWN, Scene

from model.tracefile import Trace

from . import palette
from .animations import Appear, Vanish
from .components import Values, caption, shown_in
from .manifest import ValuesManifest

TRACE_ENV = "TRANSFORMER_REEL_TRACE"


@dataclass
class Timing:
    """Every duration a scene uses, in one place: whole frames at 15, 30 and 60 fps."""

    swap: float = 0.4  # one caption out, the next in
    fast: float = 0.6  # a quick transition
    move: float = 0.8  # moving a matrix to its next place
    build: float = 1.0  # a result appearing
    read: float = 2.0  # pause after a sentence or a result, for the viewer to read
    look: float = 3.0  # pause on a picture worth studying


@dataclass
class Beat:
    name: str
    start: float
    end: float | None = None


def default_traces(needs: tuple[str, ...]) -> dict[str, Trace]:
    """Traces for a scene run without render.py: $TRANSFORMER_REEL_TRACE, or the default sentence."""
    path = os.environ.get(TRACE_ENV)
    if path:
        trace = Trace.load(path)
        return {trace.model: trace}
    from model.trace import record  # only here: rendering through render.py never imports torch in scenes

    return {name: record(name) for name in needs}


class ReelScene(Scene):
    scene_name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ("translator",)
    defaults: ClassVar[dict] = {}

    def __init__(self, traces: dict[str, Trace] | None = None, options: dict | None = None, **kwargs):
        self.traces = traces
        self.options = {**self.defaults, **(options or {})}
        self.timing = Timing()
        self.beats: list[Beat] = []
        self._seen: dict[int, object] = {}  # holds the mobjects too, so that no id is reused
        self._caption = None
        super().__init__(**kwargs)

    # --- set-up -------------------------------------------------------------
    def setup(self) -> None:
        self.camera.background_color = palette.BACKGROUND
        if self.traces is None:
            self.traces = default_traces(self.needs)
        missing = [n for n in self.needs if n not in self.traces]
        if missing:
            raise ValueError(f"scene {self.scene_name} needs traces of {', '.join(missing)}")
        self.trace = self.traces[self.needs[0]]
        files = {n: self.trace_file(n) for n in self.needs}
        self.manifest = ValuesManifest(self.scene_name, files)

    @classmethod
    def trace_file(cls, model: str) -> str:
        """CONTRACT: NAME.trace.npz, or NAME.<model>.trace.npz where a scene uses several models."""
        return f"{cls.scene_name}.trace.npz" if len(cls.needs) == 1 else f"{cls.scene_name}.{model}.trace.npz"

    # --- the trace ------------------------------------------------------------
    def values(self, tensor: str, *prefix: int, model: str | None = None) -> Values:
        """A 2-D view of a traced tensor (`prefix` picks e.g. the head) that records what is shown."""
        model = model or self.needs[0]
        trace = self.traces[model]
        data = trace[tensor]
        for i in prefix:
            data = data[i]
        return Values(model, tensor, data, tuple(prefix))

    # --- the manifest ---------------------------------------------------------
    def add(self, *mobjects):
        for mob in mobjects:
            if id(mob) not in self._seen:
                self._seen[id(mob)] = mob
                for shown in shown_in(mob):
                    self.manifest.add(shown)
        return super().add(*mobjects)

    # --- beats and captions ---------------------------------------------------
    @contextlib.contextmanager
    def beat(self, name: str):
        beat = Beat(name, self.renderer.time)
        self.beats.append(beat)
        yield beat
        beat.end = self.renderer.time

    def say(self, text: str, pause: float | None = None) -> None:
        """Show one sentence at the bottom (replacing the last), then pause for reading."""
        new = caption(text).to_edge(DOWN, buff=0.35)
        if self._caption is not None:  # one after the other: two captions never overlap
            self.play(Vanish(self._caption, run_time=self.timing.swap))
        self.play(Appear(new, run_time=self.timing.swap))
        self._caption = new
        self.wait(self.timing.read if pause is None else pause)

    def drop_caption(self) -> None:
        if self._caption is not None:
            self.play(Vanish(self._caption, run_time=self.timing.fast))
            self._caption = None

    def clear_stage(self, *keep) -> None:
        """Fade out everything but `keep`, the caption included."""
        keep_ids = {id(m) for m in keep}
        gone = [m for m in self.mobjects if id(m) not in keep_ids]
        if self._caption is not None and id(self._caption) not in keep_ids:
            self._caption = None
        if gone:
            self.play(*(Vanish(m, run_time=self.timing.fast) for m in gone))
