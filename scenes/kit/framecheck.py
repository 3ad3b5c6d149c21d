"""The check of every frame: what a viewer sees, measured on the scene graph, as a test.

Attached to a scene (`observer=FrameCheck()`), it looks after every animation and wait,
and at the midpoint of every animation, and reports

- `off-frame`  — something visible closer to the frame's edge than `layout.MARGIN`;
- `overlap`    — two texts or numbers whose outlines overlap (their convex hulls, so
                 tilted labels side by side pass); a `CrossFade` declares the one
                 exception, for its pair, while it plays;
- `too-small`  — a text below `layout.MIN_FONT` (a digit 18 px tall at 1080p);
- `left-over`  — something on screen at the end of a beat that the next beat neither
                 clears at once (its first animation) nor uses (animates other than
                 fading it out), or anything still on screen when the scene ends.

`python render.py --scene NAME --check` runs it from the command line; the test suite
runs it over every registered scene.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from manim import AnimationGroup, Mobject, Succession, tempconfig

from . import layout

VISIBLE = 0.05  # opacity below which a mobject counts as not shown
OVERLAP = 0.02  # outlines may touch by this much (2.7 px at 1080p): glyph outlines are not ink


@dataclass(frozen=True)
class Problem:
    rule: str
    what: str
    time: float
    beat: str
    when: str  # "after" an animation or wait, or "midway" through one

    def __str__(self) -> str:
        return f"{self.rule}: {self.what} (beat {self.beat!r}, {self.when} t={self.time:.2f}s)"


def _describe(mob: Mobject) -> str:
    text = getattr(mob, "text", None) or getattr(mob, "tex_string", None)
    c = mob.get_center()
    name = f"{text!r}" if text else type(mob).__name__
    return f"{name} at ({c[0]:.2f}, {c[1]:.2f})"


def _opacity(mob: Mobject) -> float:
    fill = mob.fill_rgbas[:, 3].max() if len(getattr(mob, "fill_rgbas", [])) else 0.0
    stroke = 0.0
    if getattr(mob, "stroke_width", 0) and len(getattr(mob, "stroke_rgbas", [])):
        stroke = mob.stroke_rgbas[:, 3].max()
    return float(max(fill, stroke))


def _visible_leaves(mob: Mobject) -> list[Mobject]:
    return [m for m in mob.family_members_with_points() if _opacity(m) > VISIBLE]


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (counter-clockwise) of 2-D points: Andrew's monotone chain."""
    pts = np.unique(np.round(points[:, :2], 5), axis=0)
    if len(pts) <= 2:
        return pts

    def half(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-1] - out[-2], p - out[-2]) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(half(pts) + half(pts[::-1]))


def _penetration(a: np.ndarray, b: np.ndarray) -> float:
    """How deep two convex polygons overlap (≤ 0: apart), by the separating-axis theorem."""
    depth = np.inf
    for poly in (a, b):
        if len(poly) < 2:
            continue
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
        lengths = np.linalg.norm(normals, axis=1)
        normals = normals[lengths > 1e-9] / lengths[lengths > 1e-9, None]
        pa, pb = a @ normals.T, b @ normals.T
        overlap = np.minimum(pa.max(0), pb.max(0)) - np.maximum(pa.min(0), pb.min(0))
        depth = min(depth, float(overlap.min()))
        if depth <= 0:
            return depth
    return depth


def _animated(animations) -> list[tuple[Mobject, bool]]:
    """(mobject, whether the animation removes it) for every animation, groups opened."""
    found = []
    for a in animations:
        if isinstance(a, (AnimationGroup, Succession)):
            found += _animated(a.animations)
            continue
        mob = getattr(a, "mobject", None)
        if isinstance(mob, Mobject):
            found.append((mob, bool(getattr(a, "remover", False))))
    return found


def _allowed_pairs(animations) -> list[tuple[set[int], set[int]]]:
    pairs = []
    for a in animations:
        allowed = getattr(a, "overlap_allowed", None)
        if allowed:
            old, new = allowed
            pairs.append(({id(m) for m in old.get_family()}, {id(m) for m in new.get_family()}))
        if isinstance(a, (AnimationGroup, Succession)):
            pairs += _allowed_pairs(a.animations)
    return pairs


class FrameCheck:
    def __init__(self, margin: float = layout.MARGIN, min_font: float = layout.MIN_FONT):
        self.margin = margin
        self.min_font = min_font
        self.problems: list[Problem] = []
        self._seen: set[tuple[str, str]] = set()
        self._allowed: list[tuple[set[int], set[int]]] = []
        self._used: set[int] = set()
        self._carried: list[Mobject] = []
        self._carried_from = ""
        self._plays_in_beat = 0
        self.checkpoints = 0

    # --- what the scene tells it ------------------------------------------------------
    def animations_started(self, scene, animations) -> None:
        self._allowed = _allowed_pairs(animations)
        first = self._plays_in_beat == 0
        self._plays_in_beat += 1
        for mob, removes in _animated(animations):
            # clearing what the last beat left is a beat's first move; fading it out later is not using it
            if first or not removes:
                self._used |= {id(m) for m in mob.get_family()}

    def checkpoint(self, scene, when: str, t: float | None = None) -> None:
        self.checkpoints += 1
        beat = scene.beats[-1].name if scene.beats else "(before the first beat)"
        t = scene.renderer.time if t is None else t
        left, right, bottom, top = layout.frame_box(self.margin)
        texts = []
        for top_mob in scene.mobjects:
            for leaf in _visible_leaves(top_mob):
                lo, hi = leaf.points[:, :2].min(0), leaf.points[:, :2].max(0)
                if lo[0] < left - 1e-6 or hi[0] > right + 1e-6 or lo[1] < bottom - 1e-6 or hi[1] > top + 1e-6:
                    self._report("off-frame", f"{_describe(leaf)} reaches ({lo[0]:.2f}..{hi[0]:.2f}, "
                                 f"{lo[1]:.2f}..{hi[1]:.2f}), outside the frame less its margin", t, beat, when)
            for text in layout.texts_in(top_mob):
                if _visible_leaves(text):
                    texts.append(text)
        for text in texts:
            size = layout.text_size(text)
            if size < self.min_font - 1e-6:
                self._report("too-small", f"{_describe(text)} is at font size {size:.1f} < {self.min_font}", t, beat, when)
        self._overlaps(texts, t, beat, when)
        shown = getattr(scene, "_caption", None)  # the stage ends above a two-line caption (layout.STAGE_BOTTOM)
        if shown is not None and len(shown) > layout.CAPTION_LINES:
            self._report("long-caption", f"caption {_describe(shown[0])}… takes {len(shown)} lines, more than "
                         f"the {layout.CAPTION_LINES} the stage leaves room for", t, beat, when)
        if when == "after":
            self._allowed = []

    def beat_ended(self, scene, beat) -> None:
        self._check_carried(beat.name, scene.renderer.time)
        self._carried = [m for m in scene.mobjects if _visible_leaves(m)]
        self._carried_from = beat.name
        self._used = set()
        self._plays_in_beat = 0

    def scene_ended(self, scene) -> None:
        self._check_carried("(end)", scene.renderer.time)
        for m in scene.mobjects:
            if _visible_leaves(m):
                self._report("left-over", f"{_describe(m)} is still on screen when the scene ends",
                             scene.renderer.time, "(end)", "after")

    # --- the rules ------------------------------------------------------------------------
    def _check_carried(self, beat: str, t: float) -> None:
        for m in self._carried:
            if not any(id(f) in self._used for f in m.get_family()):
                self._report("left-over", f"{_describe(m)} stays on screen after beat {self._carried_from!r} "
                             f"and beat {beat!r} does not use it", t, beat, "after")

    def _overlaps(self, texts: list[Mobject], t: float, beat: str, when: str) -> None:
        if len(texts) < 2:
            return
        boxes = []
        for m in texts:
            pts = np.concatenate([leaf.points for leaf in m.family_members_with_points()])[:, :2]
            boxes.append((pts.min(0), pts.max(0), pts))
        lo = np.array([b[0] for b in boxes])
        hi = np.array([b[1] for b in boxes])
        ox = np.minimum(hi[:, None, 0], hi[None, :, 0]) - np.maximum(lo[:, None, 0], lo[None, :, 0])
        oy = np.minimum(hi[:, None, 1], hi[None, :, 1]) - np.maximum(lo[:, None, 1], lo[None, :, 1])
        close = np.argwhere(np.triu((ox > OVERLAP) & (oy > OVERLAP), k=1))
        hulls: dict[int, np.ndarray] = {}
        for i, j in close:
            if self._is_allowed(texts[i], texts[j]):
                continue
            a = hulls.setdefault(i, _hull(boxes[i][2]))
            b = hulls.setdefault(j, _hull(boxes[j][2]))
            if _penetration(a, b) > OVERLAP:
                self._report("overlap", f"{_describe(texts[i])} overlaps {_describe(texts[j])}", t, beat, when)

    def _is_allowed(self, a: Mobject, b: Mobject) -> bool:
        for old, new in self._allowed:
            if (id(a) in old and id(b) in new) or (id(a) in new and id(b) in old):
                return True
        return False

    def _report(self, rule: str, what: str, t: float, beat: str, when: str) -> None:
        key = (rule, what.split(" at (")[0] + beat)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(Problem(rule, what, t, beat, when))


def check_scene(scene_cls, traces: dict, options: dict | None = None, media_dir: str | Path | None = None,
                quality: str = "low_quality", narrator=None, fps: int | None = None):
    """Run a scene without writing video, watched by a FrameCheck; returns (scene, problems).

    With a narrator, each beat waits for its spoken sentences (synthesised, not played), so the
    scene's times are those of the narrated video."""
    from .cache import CACHE

    with tempfile.TemporaryDirectory(prefix="framecheck-") as tmp:
        settings = {
            "quality": quality,
            "media_dir": str(media_dir or tmp),
            "tex_dir": str(CACHE / "tex"),
            "text_dir": str(CACHE / "texts"),
            "disable_caching": True,
            "verbosity": "WARNING",
            "progress_bar": "none",
            "write_to_movie": False,
            "save_last_frame": True,  # skips drawing every frame: the check reads the scene graph, not pixels
        }
        if fps:  # times snap to frames: the same rate as a video gives the same times
            settings["frame_rate"] = fps
        check = FrameCheck()
        with tempconfig(settings):
            scene = scene_cls(traces=traces, options=options or {}, observer=check, narrator=narrator)
            # the check reads the scene graph, never pixels: Manim draws a frame at every play even when it
            # skips animations (its static background, a wait's frozen frame), an eighth of the time here
            scene.renderer.update_frame = lambda *args, **kwargs: None
            scene.renderer.save_static_frame_data = lambda *args, **kwargs: None
            scene.render()
    return scene, check.problems
