"""One palette for every scene: each colour has one meaning everywhere."""

from __future__ import annotations

import numpy as np
from manim import ManimColor, interpolate_color

BACKGROUND = ManimColor("#0E1116")
TEXT = ManimColor("#ECECEC")
MUTED = ManimColor("#8A8F98")
FAINT = ManimColor("#3A3F47")

# roles
ENCODER = ManimColor("#58C4DD")  # English, the encoder's stream and output
DECODER = ManimColor("#FF8C42")  # French, the decoder's stream
QUERY = ManimColor("#F4D35E")
KEY = ManimColor("#83C167")
VALUE = ManimColor("#B48EDB")
WEIGHT = ManimColor("#E07A9B")  # weight matrices (parameters)
ATTENTION = ManimColor("#FFFFFF")  # attention weights: brightness is the weight
HIGHLIGHT = ManimColor("#FFE66D")

# numbers coloured by value: blue positive, red negative, brighter for larger magnitude
POSITIVE = ManimColor("#6CB4FF")
NEGATIVE = ManimColor("#FF6B6B")
NEUTRAL = ManimColor("#B8BCC4")


def value_to_color(value: float, scale: float) -> ManimColor:
    """3Blue1Brown's idea: a matrix reads as a picture before anyone reads its digits."""
    t = float(np.clip(abs(value) / scale, 0.0, 1.0)) if scale > 0 else 0.0
    return interpolate_color(NEUTRAL, POSITIVE if value >= 0 else NEGATIVE, 0.25 + 0.75 * t ** 0.7)

# word classes, where words are points (embedding_space): one colour each, none a role's
WORD_CLASSES = {
    "noun": ManimColor("#E9B44C"),
    "adjective": ManimColor("#9BC53D"),
    "verb": ManimColor("#C77DFF"),
    "preposition": ManimColor("#F28482"),
    "determiner": ManimColor("#F3EFE0"),
    "other": ManimColor("#6E7681"),
}
