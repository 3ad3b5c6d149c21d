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


def default_traces(needs: tuple[str, ...]) -> dict[str, Trace]:
    path = os.environ.get(TRACE_ENV)
    traces = {}
    if path:
        trace = Trace.load(path)
        traces[trace.model] = trace
    for model in needs:
        if model not in traces:
            file = default_trace_path(model)
            if not file.exists():
                raise FileNotFoundError(f"{file} is missing: run `make traces` to record the default traces")
            traces[model] = Trace.load(file)
    return traces
