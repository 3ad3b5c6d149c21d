"""The traces a scene reads when it is run by plain `manim` rather than by `render.py`.

They are recorded once, from the shipped checkpoints on each model's default sentence,
and shipped in `assets/default.<model>.trace.npz` (`make traces` records them again), so
that a scene's process never loads PyTorch: scenes read traces, they never run models.
`$TRANSFORMER_REEL_TRACE` names another trace file to read instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from model.tracefile import Trace

TRACE_ENV = "TRANSFORMER_REEL_TRACE"
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def default_trace_path(model: str) -> Path:
    return ASSETS / f"default.{model}.trace.npz"


def slot_is_plain(cls, slot: str) -> bool:
    """A slot recorded as its model is by default (the model on its default sentence): its default trace is
    the model's own. Any other (a second sentence, a snapshot of training) has one of the scene's own."""
    from .base import ReelScene

    return cls.recording(slot, None, None) == ReelScene.recording(slot, None, None)


def default_slot_path(cls, slot: str) -> Path:
    """Where the default trace of a scene's slot is shipped (`make traces` records them all)."""
    return default_trace_path(slot) if slot_is_plain(cls, slot) else ASSETS / f"default.{cls.name}.{slot}.trace.npz"


def default_traces(cls) -> dict[str, Trace]:
    """The shipped traces of every slot the scene `cls` reads (`$TRANSFORMER_REEL_TRACE` replaces its model's)."""
    path = os.environ.get(TRACE_ENV)
    given = Trace.load(path) if path else None
    traces = {}
    for slot in cls.needs:
        if given is not None and slot == given.model:
            traces[slot] = given
            continue
        file = default_slot_path(cls, slot)
        if not file.exists():
            raise FileNotFoundError(f"{file} is missing: run `make traces` to record the default traces")
        traces[slot] = Trace.load(file)
    return traces
