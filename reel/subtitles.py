"""Subtitle cues from beat records: at most two lines of about 42 characters each, SRT and WebVTT.

A caption longer than one cue holds is cut into several, at a comma or a word boundary
near its middle (`cue_texts`). The narrator speaks each cue as its own piece, so a
narrated caption records where each piece starts (`cues` in NAME.beats.json); an
unnarrated one is divided in proportion to its characters.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from model.files import atomic_write

LINE = 42  # characters a subtitle line holds (the usual broadcast limit)
LINES = 2  # lines a cue holds
MIN_CUE = 0.2  # seconds: no cue is shorter (none is empty)
BREAKS = (".", "?", "!", ",", ";", ":", "\u2014", "\u2013")  # good places to cut a caption into cues


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def wrap(text: str, width: int = LINE) -> list[str]:
    """Greedy word wrap; a word longer than a line stands alone."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def fits(text: str) -> bool:
    return len(wrap(text)) <= LINES


def cue_texts(text: str) -> list[str]:
    """`text` cut into pieces that each fit one cue, at the most natural place near the middle."""
    text = " ".join(text.split())
    words = text.split(" ")
    if fits(text) or len(words) < 2:
        return [text]
    best, best_cost = 1, float("inf")
    total = len(text)
    for i in range(1, len(words)):
        left = " ".join(words[:i])
        cost = abs(len(left) - total / 2) / total  # balance, 0 … 0.5
        if not left.endswith(BREAKS):
            cost += 0.35  # a comma nearby beats the exact middle: a cue is spoken on its own, best whole phrases
        if cost < best_cost:
            best, best_cost = i, cost
    return cue_texts(" ".join(words[:best])) + cue_texts(" ".join(words[best:]))


def caption_cues(caption: dict, offset: float = 0.0) -> list[Cue]:
    """The cues of one caption record (CONTRACT's beat record), shifted by `offset` seconds."""
    start, end = caption["start"], caption["end"]
    if caption.get("cues"):  # narrated: each piece starts where its speech starts
        parts = caption["cues"]
        starts = [p["start"] for p in parts]
        texts = [p["text"] for p in parts]
    else:  # silent: in proportion to the characters
        texts = cue_texts(caption["text"])
        total = sum(len(t) for t in texts)
        starts, t = [], start
        for piece in texts:
            starts.append(t)
            t += (end - start) * len(piece) / total
    ends = starts[1:] + [end]
    return [Cue(offset + a, offset + b, piece) for a, b, piece in zip(starts, ends, texts)]


def scene_cues(beats: dict, offset: float = 0.0) -> list[Cue]:
    """Every cue of a scene's NAME.beats.json, in order, `offset` seconds into the lecture."""
    return [cue for b in beats["beats"] for c in b["captions"] for cue in caption_cues(c, offset)]


def tidy(cues: list[Cue]) -> list[Cue]:
    """In order, never overlapping, none shorter than MIN_CUE (a too-short one joins its neighbour)."""
    out: list[Cue] = []
    for cue in sorted(cues, key=lambda c: c.start):
        start = max(cue.start, out[-1].end) if out else cue.start
        if cue.end - start < MIN_CUE:
            if out and cue.end - out[-1].start >= MIN_CUE:  # too short: its words join the cue before
                out[-1] = Cue(out[-1].start, max(out[-1].end, cue.end), f"{out[-1].text} {cue.text}")
                continue
            cue = Cue(start, start + MIN_CUE, cue.text)
        out.append(Cue(start, cue.end, cue.text))
    return out


def display(text: str) -> str:
    """A cue's text as players show it: `<`, `>` would start a tag (SRT players drop "<bos>"), so ‹ › stand in."""
    return text.replace("<", "\u2039").replace(">", "\u203a")


def _td(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=round(seconds * 1000))


def srt_text(cues: list[Cue]) -> str:
    import srt

    return srt.compose([srt.Subtitle(i, _td(c.start), _td(c.end), "\n".join(wrap(display(c.text))))
                        for i, c in enumerate(cues, 1)], reindex=False)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def vtt_text(cues: list[Cue]) -> str:
    blocks = ["WEBVTT"]
    for c in cues:
        # "-->" may not appear in a cue's text; "&" and "<" must be escaped
        lines = [line.replace("&", "&amp;").replace("-->", "\u2192") for line in wrap(display(c.text))]
        blocks.append(f"{_vtt_time(c.start)} --> {_vtt_time(c.end)}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write(cues: list[Cue], srt_path: Path, vtt_path: Path) -> None:
    for path, text in ((srt_path, srt_text(cues)), (vtt_path, vtt_text(cues))):
        with atomic_write(path, "w") as f:
            f.write(text)
