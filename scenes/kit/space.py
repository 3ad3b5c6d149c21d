"""Words as points: a vocabulary's rows drawn on two axes fitted to them, a sentence's words as arrows.

What a word is (noun, adjective …) and, for a noun, its French gender come from the grammar's lexicon
(`model.corpus`, no PyTorch); where it is comes from the trace, through a `derived.Basis`. Nothing here
puts a number on screen: the numbers (coordinates, cosines, distances, the share of variance kept) are
`derived` records, drawn with `components.number`.

- `word_class(word)`, `french_noun(word)` (its French, its gender), `CLASSES` — the lexicon's view.
- `nearest(vectors, i, candidates, k)` — the rows nearest row i by cosine, in all dimensions.
- `WordPlane(points, width, height)` — axes (a faint grid, no numbers) fitted around the points with
  one scale on both axes, so a distance on screen means the same in every direction; `c2p`, `dots`,
  `arrow`.
- `place_labels(items, bounds, obstacles, segments)` — labels beside their points, never on each other,
  on the obstacles or across the segments (arrows), with a leader line where one stands off; `backed(text)`
  puts a label on a patch of background.
- `class_legend(classes)` — a dot and a name for each class drawn.
- `table(rows, right)` — texts in columns on common baselines, numbers right-aligned.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Arrow, BackgroundRectangle, Dot, Line, NumberPlane, VGroup

from . import palette
from .components import label
from .glyphs import set_baseline
from .layout import SMALL

CLASSES = ("noun", "adjective", "verb", "preposition", "determiner", "other")
PLURAL_CLASS = {"noun": "nouns", "adjective": "adjectives", "verb": "verbs", "preposition": "prepositions",
                "determiner": "determiners", "other": "other words"}
ONE_OF_CLASS = {"noun": "a noun", "adjective": "an adjective", "verb": "a verb", "preposition": "a preposition",
                "determiner": "a determiner", "other": "one of the other words"}


@dataclass(frozen=True)
class FrenchNoun:
    text: str  # the English word's French, with its article: "la pomme", "les chats"
    gender: str  # "m" or "f"
    singular: str  # the singular with its article, which shows the gender: "le chat" (for "cats" too)


@lru_cache(maxsize=1)
def _french_nouns() -> dict[str, FrenchNoun]:
    """English noun (singular and plural) → its French, with the article that shows its gender, from the grammar."""
    from model import corpus

    nouns: dict[str, FrenchNoun] = {}
    for n in corpus.NOUNS:
        singular = ("le " if n.gender == "m" else "la ") + n.fr
        nouns[n.en] = FrenchNoun(singular, n.gender, singular)
        if n.plural:
            nouns[n.en_pl] = FrenchNoun("les " + n.fr_pl, n.gender, singular)
    return nouns


def word_class(word: str) -> str:
    """The class a dot is coloured by: the grammar's class of an English word (`model.words`), one of CLASSES;
    "other" for the rest (auxiliaries, pronouns, conjunctions, adverbs, and words outside the grammar)."""
    from model.words import word_class as grammar_class

    found = grammar_class(word)
    return found if found in CLASSES else "other"


def french_noun(word: str) -> FrenchNoun | None:
    """An English noun's French and its gender; None for a word that is not a noun of the grammar."""
    return _french_nouns().get(word)


def nearest(vectors: np.ndarray, i: int, candidates, k: int) -> list[tuple[int, float]]:
    """The `k` rows among `candidates` (row i left out) nearest row i by cosine, in all dimensions:
    (row, cosine), nearest first (ties: the lower row first)."""
    rows = [int(c) for c in candidates if int(c) != i]
    v = np.asarray(vectors, dtype=np.float64)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = unit[rows] @ unit[i]
    order = np.lexsort((rows, -sims))[:k]
    return [(rows[o], float(sims[o])) for o in order]


# ---------------------------------------------------------------------------
# The plane
# ---------------------------------------------------------------------------


class WordPlane(VGroup):
    """Axes fitted around `points` ([n, 2] coordinates), one unit the same length on both axes, drawn
    as a faint grid without numbers; the axes named `names` at their positive ends."""

    def __init__(self, points: np.ndarray, width: float, height: float, names=("PC1", "PC2"), pad: float = 0.35):
        super().__init__()
        pts = np.asarray(points, dtype=np.float64)
        lo = np.floor(np.minimum(pts.min(0) - pad, -1.0))
        hi = np.ceil(np.maximum(pts.max(0) + pad, 1.0))
        self.unit = float(min(width / (hi[0] - lo[0]), height / (hi[1] - lo[1])))
        self.grid = NumberPlane(
            x_range=[lo[0], hi[0], 1], y_range=[lo[1], hi[1], 1],
            x_length=self.unit * (hi[0] - lo[0]), y_length=self.unit * (hi[1] - lo[1]),
            background_line_style={"stroke_color": palette.FAINT, "stroke_width": 1, "stroke_opacity": 0.6},
            axis_config={"stroke_color": palette.MUTED, "stroke_width": 2, "include_ticks": False},
            faded_line_ratio=1,
        )
        x_name = label(names[0], SMALL).next_to(self.grid.c2p(hi[0], 0), UP + LEFT, buff=0.08)
        y_name = label(names[1], SMALL).next_to(self.grid.c2p(0, hi[1]), DOWN + RIGHT, buff=0.08)
        self.names = VGroup(x_name, y_name)
        self.add(self.grid, self.names)

    def c2p(self, xy) -> np.ndarray:
        return self.grid.c2p(float(xy[0]), float(xy[1]))

    def dots(self, coords: np.ndarray, colors: list, radius: float = 0.045) -> VGroup:
        return VGroup(*(Dot(self.c2p(xy), radius=radius, color=c) for xy, c in zip(coords, colors)))

    def arrow(self, end, start=(0.0, 0.0), color=palette.ENCODER, width: float = 4.0) -> Arrow:
        """An arrow from `start` to `end` (coordinates), its tip a fixed size however short the arrow."""
        return Arrow(self.c2p(start), self.c2p(end), buff=0, color=color, stroke_width=width, tip_length=0.16,
                     max_tip_length_to_length_ratio=0.5, max_stroke_width_to_length_ratio=40)


def backed(mob, pad: float = 0.05, opacity: float = 0.85) -> VGroup:
    """Text on a patch of the background, so a label over dots and grid lines reads cleanly (nothing shows
    through it in pieces). The label's box is the patch's."""
    patch = BackgroundRectangle(mob, color=palette.BACKGROUND, fill_opacity=opacity, buff=pad, stroke_width=0)
    return VGroup(patch, mob)


def class_legend(classes, size: float = SMALL, columns: int = 3) -> VGroup:
    """A dot in each class's colour and the class's name, in rows of `columns`."""
    items = [VGroup(Dot(radius=0.07, color=palette.WORD_CLASSES[c]), label(PLURAL_CLASS[c], size, palette.TEXT))
             .arrange(RIGHT, buff=0.12) for c in classes]
    rows = [VGroup(*items[i:i + columns]) for i in range(0, len(items), columns)]
    width = max(m.width for m in items) + 0.3
    for row in rows:
        for j, item in enumerate(row):
            item.move_to([j * width, 0, 0], aligned_edge=LEFT)
    return VGroup(*rows).arrange(DOWN, buff=0.18, aligned_edge=LEFT)


def table(rows: list[list], right=(), buff: float = 0.45, row_height: float = 0.46) -> VGroup:
    """Rows of texts in columns, each row on one baseline: a column is left-aligned, or right-aligned where
    its index is in `right` (numbers: their decimal points line up). A cell may be None (left empty).
    Returns a VGroup of the rows, each a VGroup of its cells."""
    n = max(len(r) for r in rows)
    widths = [max((r[c].width for r in rows if c < len(r) and r[c] is not None), default=0.0) for c in range(n)]
    lefts = np.concatenate([[0.0], np.cumsum([w + buff for w in widths])])
    out = VGroup()
    for i, cells in enumerate(rows):
        row = VGroup()
        for c, mob in enumerate(cells):
            if mob is None:
                continue
            if c in right:
                mob.move_to([lefts[c] + widths[c], 0, 0], aligned_edge=RIGHT)
            else:
                mob.move_to([lefts[c], 0, 0], aligned_edge=LEFT)
            set_baseline(mob, -i * row_height)
            row.add(mob)
        out.add(row)
    return out


# ---------------------------------------------------------------------------
# Labels that never collide
# ---------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # left, bottom, right, top

RADII = (0.06, 0.2, 0.38, 0.6, 0.85, 1.15, 1.5, 1.9, 2.4)
TURNS = (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8)  # sixteenths of a turn from the preferred side
LEADER = 0.2  # a label further than this from its point gets a line to it
PAD = 0.05


@dataclass
class Placed:
    label: VGroup
    anchor: np.ndarray
    leader: Line | None


def box_of(mob, pad: float = 0.05) -> Box:
    """A mobject's bounding box (left, bottom, right, top), grown by `pad`: an obstacle for `place_labels`."""
    (x0, y0, _), (x1, y1, _) = mob.get_corner(DOWN + LEFT), mob.get_corner(UP + RIGHT)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _meet(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a: Box, b: Box) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _crosses(box: Box, p: np.ndarray, q: np.ndarray) -> bool:
    """Whether the segment p–q passes through the box (Liang–Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    d = q - p
    for delta, lo, hi, start in ((d[0], box[0], box[2], p[0]), (d[1], box[1], box[3], p[1])):
        if abs(delta) < 1e-12:
            if start < lo or start > hi:
                return False
            continue
        a, b = (lo - start) / delta, (hi - start) / delta
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        if t0 > t1:
            return False
    return True


def place_labels(items, bounds: Box, obstacles: list[Box] = (), segments=(), points=(),
                 point_clearance: float = 0.07) -> list[Placed | None]:
    """Put each label beside its point, in order (the first placed get the nearest spots).

    `items` are (label, point, preferred direction); a label goes on the preferred side where it can,
    then turns round its point and steps further away, until it sits inside `bounds`, clear of every
    label placed before it, of `obstacles` (boxes), of `segments` (pairs of points: arrows) and of
    `points` (other dots that must stay visible). Beyond `LEADER` it gets a thin line to its point.
    A label with no room anywhere is left out (None): the caller decides whether it can go without.
    """
    taken: list[Box] = list(obstacles)
    placed: list[Placed | None] = []
    segs = [(np.asarray(p, float)[:2], np.asarray(q, float)[:2]) for p, q in segments]
    dots = [np.asarray(p, float)[:2] for p in points]
    for mob, anchor, prefer in items:
        anchor = np.asarray(anchor, dtype=float)
        prefer = np.asarray(prefer, dtype=float)[:2]
        base = np.arctan2(prefer[1], prefer[0]) if np.linalg.norm(prefer) > 1e-9 else np.pi / 4
        w, h = mob.width, mob.height
        spot = None
        for r in RADII:
            for turn in TURNS:
                angle = base + turn * np.pi / 8
                d = np.array([np.cos(angle), np.sin(angle)])
                reach = abs(d[0]) * w / 2 + abs(d[1]) * h / 2  # from the label's centre to its edge, along d
                c = anchor[:2] + d * (r + reach)
                box = (c[0] - w / 2 - PAD, c[1] - h / 2 - PAD, c[0] + w / 2 + PAD, c[1] + h / 2 + PAD)
                if not _inside(box, bounds) or any(_meet(box, t) for t in taken):
                    continue
                if any(_crosses(box, p, q) for p, q in segs):
                    continue
                if any(box[0] - point_clearance < x < box[2] + point_clearance
                       and box[1] - point_clearance < y < box[3] + point_clearance
                       for x, y in dots if np.hypot(x - anchor[0], y - anchor[1]) > 1e-6):
                    continue
                spot, spot_r = (c, box), r
                break
            if spot is not None:
                break
        if spot is None:
            placed.append(None)
            continue
        c, box = spot
        mob.move_to([c[0], c[1], 0])
        taken.append(box)
        leader = None
        if spot_r >= LEADER:
            inner = np.clip(anchor[:2], [box[0] + PAD, box[1] + PAD], [box[2] - PAD, box[3] - PAD])
            direction = inner - anchor[:2]
            start = anchor[:2] + direction / np.linalg.norm(direction) * 0.07
            leader = Line([*start, 0], [*inner, 0], color=palette.MUTED, stroke_width=1.5)
        placed.append(Placed(mob, anchor, leader))
    return placed


def placed_group(placed: list[Placed | None]) -> VGroup:
    """The labels placed and their leader lines, as one group."""
    return VGroup(*(m for p in placed if p is not None for m in (p.label, p.leader) if m is not None))
