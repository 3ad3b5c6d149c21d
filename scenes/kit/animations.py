"""Animations that never copy their mobject.

Manim's FadeIn, Transform and `.animate` deep-copy the whole mobject before they start;
for a matrix of a few hundred numbers that dominates render time. These change
opacity or position in place, so their cost is per frame only.
"""

from __future__ import annotations

import numpy as np
from manim import Animation, AnimationGroup, Mobject


class _InPlace(Animation):
    def create_starting_mobject(self) -> Mobject:
        return Mobject()  # never read: interpolation works on the mobject itself


class _Opacity(_InPlace):
    """Scales every fill and stroke opacity by a factor going from `start` to `end`."""

    start, end = 0.0, 1.0

    def begin(self) -> None:
        self._alphas = [
            (m, m.fill_rgbas[:, 3].copy(), m.stroke_rgbas[:, 3].copy(), m.background_stroke_rgbas[:, 3].copy())
            for m in self.mobject.family_members_with_points()
            if hasattr(m, "fill_rgbas")
        ]
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        k = self.start + (self.end - self.start) * self.rate_func(alpha)
        for m, fill, stroke, back in self._alphas:
            m.fill_rgbas[:, 3] = fill * k
            m.stroke_rgbas[:, 3] = stroke * k
            m.background_stroke_rgbas[:, 3] = back * k

    def _restore(self) -> None:
        for m, fill, stroke, back in self._alphas:
            m.fill_rgbas[:, 3] = fill
            m.stroke_rgbas[:, 3] = stroke
            m.background_stroke_rgbas[:, 3] = back


class Appear(_Opacity):
    """Fade in, in place."""

    def __init__(self, mobject: Mobject, **kwargs):
        super().__init__(mobject, introducer=True, **kwargs)

    def finish(self) -> None:
        super().finish()
        self._restore()


class Vanish(_Opacity):
    """Fade out, in place, and leave the scene."""

    start, end = 1.0, 0.0

    def __init__(self, mobject: Mobject, **kwargs):
        super().__init__(mobject, remover=True, **kwargs)

    def clean_up_from_scene(self, scene) -> None:
        super().clean_up_from_scene(scene)
        self._restore()  # so it can come back later looking as before


class Slide(_InPlace):
    """Move (and optionally scale) to a point or to another mobject's centre, in place."""

    def __init__(self, mobject: Mobject, to, scale: float = 1.0, **kwargs):
        self.to = to
        self.scale = scale
        super().__init__(mobject, **kwargs)

    def begin(self) -> None:
        self._start = self.mobject.get_center().copy()
        self._applied = 1.0
        self._end = self.to.get_center() if isinstance(self.to, Mobject) else np.asarray(self.to, dtype=float)
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        a = self.rate_func(alpha)
        s = 1 + (self.scale - 1) * a
        self.mobject.scale(s / self._applied)
        self._applied = s
        self.mobject.move_to(self._start + a * (self._end - self._start))


class CrossFade(AnimationGroup):
    """`old` fades out while `new` fades in at the same place: the one overlap the frame check allows.

    The allowance is declared here, where the cross-fade happens, and only for the pair,
    only while it plays: at rest, `old` is gone.
    """

    def __init__(self, old: Mobject, new: Mobject, **kwargs):
        run_time = kwargs.pop("run_time", None)
        timing = {} if run_time is None else {"run_time": run_time}
        super().__init__(Vanish(old, **timing), Appear(new, **timing), **kwargs)
        self.overlap_allowed = (old, new)


class Refill(_InPlace):
    """The fill opacity of each of `parts` (inside `mobject`, which is on screen) goes from what it is to its entry
    of `opacities`, in place: an attention grid's squares morphing from one pattern into another
    (`Refill(grid, [grid.square(r, c) …], [weights[r, c] …])`)."""

    def __init__(self, mobject: Mobject, parts, opacities, **kwargs):
        self.parts = list(parts)
        self.targets = [float(o) for o in opacities]
        if len(self.parts) != len(self.targets):
            raise ValueError(f"{len(self.parts)} parts, {len(self.targets)} opacities")
        super().__init__(mobject, **kwargs)

    def begin(self) -> None:
        self._from = [m.get_fill_opacity() for m in self.parts]
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        a = self.rate_func(alpha)
        for m, start, end in zip(self.parts, self._from, self.targets):
            m.set_fill(opacity=start + (end - start) * a)
