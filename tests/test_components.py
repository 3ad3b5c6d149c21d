"""Scene components: folding, formatting, and the manifest records a number carries."""

import numpy as np
import pytest

from scenes.kit.components import AttentionGrid, MatrixView, Values, caption, shown_in, tex_escape, token
from scenes.kit.manifest import MINUS, ValuesManifest, format_value, parse_shown


@pytest.mark.parametrize(
    "value, decimals, text",
    [(0.414, 2, "0.41"), (-1.236, 2, MINUS + "1.24"), (-0.004, 2, "0.00"), (12.0, 1, "12.0"), (-np.inf, 2, MINUS + "\u221e")],
)
def test_format_value(value, decimals, text):
    assert format_value(value, decimals) == text
    if np.isfinite(value):
        assert parse_shown(text) == pytest.approx(round(value, decimals) + 0.0)


def test_values_index_mapping_with_prefix_transpose_and_selection():
    data = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    v = Values("translator", "x", data[1], prefix=(1,))
    assert v.index(2, 3) == (1, 2, 3)
    assert v.T.index(3, 2) == (1, 2, 3) and v.T.shape == (4, 3)
    s = v.select(rows=[2], cols=[1, 3])
    assert s.index(0, 1) == (1, 2, 3) and s.data[0, 1] == data[1, 2, 3]
    for r in range(3):
        for c in range(4):
            sh = v.shown(r, c, 2)
            assert parse_shown(sh.shown) == pytest.approx(data[sh.index], abs=0.005)


def test_matrix_folds_and_records_exactly_what_it_shows():
    data = np.random.default_rng(0).normal(size=(12, 16)).astype(np.float32)
    m = MatrixView(Values("translator", "t", data), "X", max_rows=6, max_cols=5)
    assert m.row_ids == [0, 1, 2, 3, None, 11] and m.col_ids == [0, 1, 2, None, 15]
    records = shown_in(m)
    assert len(records) == 5 * 4  # shown rows × shown columns, no folded ones
    assert {r.index for r in records} == {(i, j) for i in (0, 1, 2, 3, 11) for j in (0, 1, 2, 15)}
    for r in records:
        assert r.shown == format_value(float(data[r.index]), 2)
    assert m.cell(4, 0) is None and m.cell(11, 15) is not None


def test_attention_grid_shows_weights_and_leaves_blocked_cells_empty():
    w = np.array([[1.0, 0.0, 0.0], [0.25, 0.75, 0.0]], dtype=np.float32)
    mask = np.array([[False, True, True], [False, False, True]])
    g = AttentionGrid(Values("translator", "p", w), [token("a", "#fff"), token("b", "#fff")],
                      [token(t, "#fff") for t in "xyz"], mask=mask)
    assert {r.index for r in shown_in(g)} == {(0, 0), (1, 0), (1, 1)}
    assert g.square(1, 1).get_fill_opacity() == pytest.approx(0.75)
    assert g.square(0, 2).get_fill_opacity() == 0.0


def test_manifest_deduplicates_and_matches_contract(tmp_path):
    m = ValuesManifest("s", {"translator": "s.trace.npz"})
    data = np.ones((2, 2), np.float32)
    view = MatrixView(Values("translator", "t", data), "X")
    for r in shown_in(view) + shown_in(view):
        m.add(r)
    assert len(m) == 4
    m.save(tmp_path / "s.values.json")
    import json

    d = json.loads((tmp_path / "s.values.json").read_text())
    assert d["scene"] == "s" and d["traces"] == {"translator": "s.trace.npz"}
    assert d["values"][0] == {"trace": "translator", "tensor": "t", "index": [0, 0], "shown": "1.00"}


def test_tex_escape_neutralises_every_special_character():
    hostile = r"\input{/etc/passwd} $x$ % & # _ { } ~ ^ <b>x</b>"
    escaped = tex_escape(hostile)
    for bare in ("\\input", "$x$", " % ", " & ", " # ", " _ "):
        assert bare not in escaped
    assert escaped.count(r"\{") == 2 and escaped.count(r"\}") == 2


def test_caption_wraps_long_sentences_within_the_frame():
    short, long = caption("One line."), caption("word " * 40)
    assert len(short) == 1 and len(long) > 1
    assert long.width <= 12.7


def test_caption_never_breaks_a_shape_across_its_lines():
    for k in range(1, 16):  # the shape lands at every place a line could end
        text = "word " * k + "mixed 2 ways: 2 outputs of 11 \u00d7 8 and 3 \u00d7 4 \u00d7 5."
        lines = [m.text for m in caption(text)]
        assert " ".join(lines) == text
        assert not any(line.endswith("\u00d7") or line.startswith("\u00d7") for line in lines), lines


def test_sentences_about_numbers_follow_the_numbers():
    from scenes.kit.choose import describe_pattern, describe_row, example_cell, row_sharpness, sharpest_head

    keys = ["the", "cat", "sleeps"]
    assert "almost all" in describe_row(np.array([0.95, 0.03, 0.02]), "le", keys)
    assert "most of its weight on \u201ccat\u201d" in describe_row(np.array([0.2, 0.7, 0.1]), "chat", keys)
    spread = describe_row(np.array([0.4, 0.35, 0.25]), "dort", keys)
    assert "spreads" in spread and spread.index("the") < spread.index("cat")
    assert not any(ch.isdigit() for ch in spread), "digits belong in the matrix, where the manifest records them"
    sharp = np.eye(3)
    flat = np.full((3, 3), 1 / 3)
    assert describe_pattern(sharp, "rows", "key").startswith("All 3 rows put")
    assert describe_pattern(flat, "rows", "key").startswith("No row")
    half = np.array([[0.9, 0.05, 0.05], [0.34, 0.33, 0.33], [0.1, 0.8, 0.1]])
    assert describe_pattern(half, "rows", "key").startswith("2 of the 3")
    # a causal mask: the first row has no choice and is left out
    mask = np.triu(np.ones((3, 3), bool), 1)
    causal = np.array([[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.2, 0.6]])
    assert row_sharpness(causal, mask) == pytest.approx((0.5 + 0.6) / 2)

    class T:
        arrays = {"a.hook_pattern": np.stack([flat, sharp]), "a.hook_mask": np.zeros((3, 3), bool)}

        def __getitem__(self, k):
            return self.arrays[k]

        def __contains__(self, k):
            return k in self.arrays

    assert sharpest_head(T(), "a") == 1
    assert example_cell(half, [0, 1, 2], [0, 1, 2]) == (2, 1)


def test_a_shown_number_matches_its_tensor_at_the_shown_precision_and_only_a_boundary_may_differ():
    """The manifest check: the shown text is the value rounded; a value within 1e-5 of a rounding
    boundary may show either neighbouring last digit (another CPU rounds the float32 the other way)."""
    from .checks import shown_matches

    assert shown_matches("0.41", 0.4149) and shown_matches("\u22120.41", -0.41) and shown_matches("0.00", -0.001)
    assert not shown_matches("0.42", 0.4149) and not shown_matches("0.40", 0.4149)
    assert shown_matches("0.13", 0.125000001) and shown_matches("0.12", 0.125000001)  # on the boundary
    assert shown_matches("0.12", 0.1250049) and not shown_matches("0.12", 0.12502)  # 1e-5 of it, not more
    assert not shown_matches("0.11", 0.125) and not shown_matches("0.14", 0.125)  # never two digits off
    assert shown_matches("7.00", 7.004999) and shown_matches("7.01", 7.004999) and not shown_matches("7.01", 7.0049)
