"""Pictures built up piece by piece: the whole picture enters the scene at once, hidden, and its
pieces are revealed in place, beat by beat.

A picture that grows over several beats (the lecture's map) is then one mobject on screen that
every beat uses, and every number in it is in the values manifest from the start.

    self.add(hide(picture))            # on screen, nothing visible yet
    self.play(Reveal(picture.part))    # a piece fades in to its own opacity
"""

from __future__ import annotations

from manim import Mobject

from .animations import _InPlace


def hide(mob: Mobject) -> Mobject:
    """Make `mob` invisible, remembering each piece's opacities for `Reveal`."""
    for m in mob.family_members_with_points():
        if not hasattr(m, "fill_rgbas"):
            continue
        if not hasattr(m, "_revealed_alphas"):
            m._revealed_alphas = (m.fill_rgbas[:, 3].copy(), m.stroke_rgbas[:, 3].copy(),  # type: ignore[attr-defined]
                                  m.background_stroke_rgbas[:, 3].copy())
        m.fill_rgbas[:, 3] = 0.0
        m.stroke_rgbas[:, 3] = 0.0
        m.background_stroke_rgbas[:, 3] = 0.0
    return mob


class Reveal(_InPlace):
    """Fade the hidden pieces of `mob` in, in place, to the opacities they had before `hide`."""

    def begin(self) -> None:
        self._pieces = [m for m in self.mobject.family_members_with_points() if hasattr(m, "_revealed_alphas")]
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        k = self.rate_func(alpha)
        for m in self._pieces:
            fill, stroke, back = m._revealed_alphas
            m.fill_rgbas[:, 3] = fill * k
            m.stroke_rgbas[:, 3] = stroke * k
            m.background_stroke_rgbas[:, 3] = back * k

    def finish(self) -> None:
        super().finish()
        for m in self._pieces:
            m.fill_rgbas[:, 3], m.stroke_rgbas[:, 3], m.background_stroke_rgbas[:, 3] = m._revealed_alphas
            del m._revealed_alphas
