"""Beat records (CONTRACT's `NAME.beats.json`): each beat's name, start and end, and its captions.

Each beat also records `rest`, when its longest pause begins: the frame a viewer would
pause on, and the one `render.py --still BEAT` writes (the poster beat's by default).

A beat is where narration, a subtitle, a slide break and a pause attach; the lecture,
its subtitles and the slides are built from these records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from model.files import atomic_write


@dataclass
class Caption:
    text: str
    start: float
    end: float | None = None
    cues: list[tuple[str, float]] | None = None  # narrated: (subtitle piece, when its speech starts)


@dataclass
class Beat:
    name: str
    start: float
    end: float | None = None
    poster: bool = False
    captions: list[Caption] = field(default_factory=list)
    rest: float | None = None  # start of the beat's longest pause: its frame at rest, the one --still writes
    longest_pause: float = -1.0


def _t(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def _caption(c: Caption, b: Beat) -> dict:
    rec = {"text": c.text, "start": _t(c.start), "end": _t(c.end if c.end is not None else b.end)}
    if c.cues:  # narrated: where each subtitle piece's speech starts (reel/subtitles.py)
        rec["cues"] = [{"text": text, "start": _t(start)} for text, start in c.cues]
    return rec


def beats_dict(scene: str, beats: list[Beat], duration: float) -> dict:
    out = []
    for b in beats:
        rec = {
            "name": b.name,
            "start": _t(b.start),
            "end": _t(b.end),
            "rest": _t(b.rest),
            "captions": [_caption(c, b) for c in b.captions],
        }
        if b.poster:
            rec["poster"] = True
        out.append(rec)
    return {"scene": scene, "duration": _t(duration), "beats": out}


def save_beats(path: str | Path, scene: str, beats: list[Beat], duration: float) -> None:
    with atomic_write(path, "w") as f:
        json.dump(beats_dict(scene, beats, duration), f, ensure_ascii=False, indent=1)
        f.write("\n")
