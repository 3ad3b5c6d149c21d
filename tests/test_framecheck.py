"""The frame check catches what a viewer would see wrong — shown on deliberately broken scenes."""

from __future__ import annotations

import numpy as np
import pytest
from manim import LEFT, RIGHT, UP

from scenes.kit import layout
from scenes.kit.animations import Appear, CrossFade, Vanish
from scenes.kit.base import ReelScene
from scenes.kit.components import AttentionGrid, MatrixView, Values, label, token
from scenes.kit.framecheck import _hull, _penetration, check_scene
from scenes.kit.layout import LayoutError, fit, fit_folding


@pytest.fixture(scope="module")
def traces(traces_for):
    return traces_for(None, ("translator",))


def run(construct, traces):
    cls = type("Probe", (ReelScene,), {"name": "probe", "construct": construct})
    return check_scene(cls, traces)[1]


def rules(problems) -> set[str]:
    return {p.rule for p in problems}


def test_a_clean_scene_passes(traces):
    def construct(self):
        with self.beat("one", poster=True):
            m = MatrixView(self.values("encoder.hook_out"), "M", max_cols=4)
            self.fit(m)
            self.play(Appear(m))
            self.say("A sentence.")
            self.clear_stage()

    assert run(construct, traces) == []


def test_a_matrix_moved_off_frame_fails(traces):
    def construct(self):
        with self.beat("one"):
            m = MatrixView(self.values("encoder.hook_out"), "M", max_cols=4)
            self.fit(m)
            m.shift(6 * RIGHT)
            self.play(Appear(m))
            self.clear_stage()

    problems = run(construct, traces)
    assert rules(problems) == {"off-frame"}
    assert any("reaches" in p.what for p in problems)


def test_two_labels_on_top_of_each_other_fail(traces):
    def construct(self):
        with self.beat("one"):
            a, b = label("le chat", 30), label("noir", 30).shift(0.3 * RIGHT)
            self.play(Appear(a), Appear(b))
            self.clear_stage()

    problems = run(construct, traces)
    assert rules(problems) == {"overlap"}
    assert {p.when for p in problems} == {"midway"}  # reported once, where first seen


def test_tilted_labels_side_by_side_pass_but_crossed_ones_fail(traces):
    def construct(self):
        with self.beat("one"):
            words = [label(w, 30).rotate(np.pi / 4) for w in ("looking", "looking")]
            words[1].shift(0.45 * RIGHT)  # bounding boxes overlap, the slanted words do not
            crossed = label("looking", 30).rotate(-np.pi / 4).move_to(words[0]).shift(3 * LEFT)
            other = label("looking", 30).rotate(np.pi / 4).move_to(crossed)
            self.play(Appear(VGroup(*words)), Appear(crossed), Appear(other))
            self.clear_stage()

    from manim import VGroup

    problems = run(construct, traces)
    assert len(problems) == 1 and problems[0].rule == "overlap", problems


def test_tiny_text_fails(traces):
    def construct(self):
        with self.beat("one"):
            t = label("tiny", layout.MIN_FONT * 0.8)
            self.play(Appear(t))
            self.clear_stage()

    assert rules(run(construct, traces)) == {"too-small"}


def test_a_declared_cross_fade_is_the_one_allowed_overlap(traces):
    def construct(self):
        with self.beat("one"):
            old, new = label("0.41", 30), label("0.52", 30)
            self.play(Appear(old))
            self.play(CrossFade(old, new))
            self.play(Vanish(new))

    def undeclared(self):
        with self.beat("one"):
            old, new = label("0.41", 30), label("0.52", 30)
            self.play(Appear(old))
            self.play(Vanish(old), Appear(new))
            self.play(Vanish(new))

    assert run(construct, traces) == []
    assert rules(run(undeclared, traces)) == {"overlap"}


def test_clearing_the_last_beat_first_is_fine(traces):
    def construct(self):
        with self.beat("one"):
            self.play(Appear(label("caption", 30).shift(2 * UP)))
        with self.beat("two"):
            self.clear_stage()
            self.play(Appear(label("new", 30)))
            self.clear_stage()

    assert run(construct, traces) == []


def test_something_left_from_an_earlier_beat_fails(traces):
    def construct(self):
        with self.beat("one"):
            self.play(Appear(label("stays", 30).shift(2 * UP)))
        with self.beat("two"):
            self.play(Appear(label("new", 30)))
            self.clear_stage()

    problems = run(construct, traces)
    assert rules(problems) == {"left-over"}
    assert "'stays'" in problems[0].what and "'one'" in problems[0].what


def test_something_left_at_the_end_fails(traces):
    def construct(self):
        with self.beat("one"):
            self.play(Appear(label("forever", 30)))

    assert rules(run(construct, traces)) == {"left-over"}


def test_fit_refuses_to_shrink_below_the_floor_and_folding_fits():
    data = np.random.default_rng(0).normal(size=(21, 16)).astype(np.float32)
    values = Values("translator", "t", data)
    with pytest.raises(LayoutError):
        fit(MatrixView(values, "X", max_rows=21, max_cols=16))
    folded = fit_folding(lambda r, c: MatrixView(values, "X", max_rows=r, max_cols=c), 21, 16)
    assert layout.smallest_text(folded) >= layout.MIN_FONT
    assert folded.width <= layout.SAFE_WIDTH + 1e-6 and folded.height <= layout.STAGE_HEIGHT + 1e-6
    assert None in folded.row_ids or None in folded.col_ids


def test_attention_grid_folds_at_the_word_limit():
    w = np.random.default_rng(1).dirichlet(np.ones(21), size=22).astype(np.float32)
    rows, cols = [token(f"r{i}", "#fff", 24) for i in range(22)], [token(f"c{j}", "#fff", 24) for j in range(21)]
    grid = fit_folding(lambda r, c: AttentionGrid(Values("translator", "p", w), [t.copy() for t in rows],
                                                  [t.copy() for t in cols], max_rows=r, max_cols=c), 22, 21)
    assert layout.smallest_text(grid) >= layout.MIN_FONT
    assert None in grid.row_ids or None in grid.col_ids
    assert grid.square(21, 20) is not None
    hidden = [(r, c) for r in range(22) for c in range(21) if r not in grid.row_ids or c not in grid.col_ids]
    assert hidden and all(grid.square(r, c) is None for r, c in hidden)


def test_hull_and_penetration():
    square = _hull(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 0]], dtype=float))
    assert len(square) == 4
    assert _penetration(square, square + [0.5, 0]) == pytest.approx(0.5)
    assert _penetration(square, square + [1.5, 0]) < 0
