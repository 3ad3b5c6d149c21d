"""The encoder's attention, step by step (issue 7): qkv, attention_scores, softmax, weighted_values.

Each scene runs once, on the default sentence, under the frame check (no video); the tests read
its values manifest and beat records. The frame check itself, for the three sentences, is
tests/test_scenes.py's. Also: derived values (scenes/kit/derived.py) and their manifest records.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenes import exists
from scenes.kit.components import Values
from scenes.kit.derived import exp_of, row_sums
from scenes.kit.manifest import ValuesManifest

from .checks import check_manifest


@pytest.fixture(scope="module")
def run(checked):
    """scene name → (scene, records of its manifest), run on the default sentence (conftest.checked)."""

    def get(name: str):
        if not exists(name):
            pytest.skip(f"scenes/{name}.py is not written yet")
        scene, problems = checked(name)
        assert not problems, problems[:5]
        return scene, scene.manifest.to_dict()["values"]

    return get


def attention(scene) -> str:
    return f"encoder.blocks.{scene.opt['layer']}.self_attn"


def records(values: list[dict], tensor: str, derived: str | None = None) -> list[dict]:
    return [v for v in values if v["tensor"] == tensor and v.get("derived") == derived]


def poster(scene) -> str:
    return next(b.name for b in scene.beats if b.poster)


# ---------------------------------------------------------------------------------------------
# derived values
# ---------------------------------------------------------------------------------------------


def test_derived_values_name_their_source_and_operation(trace):
    scores = trace["encoder.blocks.1.self_attn.hook_scores_scaled"]
    view = Values("translator", "encoder.blocks.1.self_attn.hook_scores_scaled", scores[1], (1,)).select(rows=[3])
    ex = exp_of(view)
    rec = ex.shown(0, 4, 2)
    assert (rec.tensor, rec.index, rec.derived) == (view.tensor, (1, 3, 4), "exp")
    assert rec.shown == f"{np.exp(np.float64(scores[1, 3, 4])):.2f}"
    total = row_sums(view, trace, "sum_exp").shown(0, 0, 2)
    assert (total.index, total.derived) == ((1, 3), "sum_exp")
    assert total.shown == f"{np.exp(scores[1, 3].astype(np.float64)).sum():.2f}"
    manifest = ValuesManifest("s", {"translator": "s.trace.npz"})
    manifest.add(rec)
    manifest.add(total)
    manifest.add(view.shown(0, 0, 2))
    out = manifest.to_dict()["values"]
    assert [v.get("derived") for v in out] == ["exp", "sum_exp", None]
    assert "derived" not in out[2]  # a traced value's record is as before
    check_manifest({"traces": {"translator": "s.trace.npz"}, "values": out}, {"translator": trace})


def test_a_wrong_derived_value_is_caught(trace):
    name = "encoder.blocks.1.self_attn.hook_pattern"
    good = {"trace": "translator", "tensor": name, "index": [0, 2], "shown": "1.00", "derived": "sum"}
    check_manifest({"traces": {"translator": "t"}, "values": [good]}, {"translator": trace})
    for bad in ({**good, "shown": "0.90"}, {**good, "derived": "mean"}, {**good, "index": [0, 2, 1]}):
        with pytest.raises(AssertionError):
            check_manifest({"traces": {"translator": "t"}, "values": [bad]}, {"translator": trace})


def test_row_sums_run_over_the_whole_row(trace):
    name = "encoder.blocks.1.self_attn.hook_scores_scaled"
    view = Values("translator", name, trace[name][0], (0,))
    folded = row_sums(view.select(rows=[2], cols=[0, 1]), trace, "sum_exp")  # the view shows 2 columns
    assert folded.shown(0, 0, 3).shown == f"{np.exp(trace[name][0, 2].astype(np.float64)).sum():.3f}"
    assert folded.index(0, 0) == (0, 2)
    with pytest.raises(ValueError):
        row_sums(view.T, trace)
    with pytest.raises(ValueError):
        row_sums(view, trace, "mean")


# ---------------------------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------------------------


def test_softmax_builds_one_row_from_the_traced_scores(run):
    scene, values = run("softmax")
    a, h, r = attention(scene), scene.opt["head"], scene.row
    n = len(scene.trace.tokens("encoder"))
    # the row: its scaled scores, their exponentials, their sum, the pattern row
    xs = {tuple(v["index"]) for v in records(values, f"{a}.hook_scores_scaled") if v["index"][:2] == [h, r]}
    ex = {tuple(v["index"]) for v in records(values, f"{a}.hook_scores_scaled", "exp")}
    assert ex and ex <= xs, "every exponential shown sits under its traced score"
    assert {i[:2] for i in ex} == {(h, r)}
    total = records(values, f"{a}.hook_scores_scaled", "sum_exp")
    assert [v["index"] for v in total] == [[h, r]]
    assert {v["index"][1] for v in records(values, f"{a}.hook_pattern") if v["index"][0] == h} >= {r}
    # every row, and each sums to 1 (the shown sums are of the whole rows, folded entries included)
    sums = records(values, f"{a}.hook_pattern", "sum")
    assert sums and all(v["shown"] == "1.00" for v in sums)
    assert {v["index"][1] for v in sums} <= set(range(n))
    assert poster(scene) == "one row"
    assert [b.name for b in scene.beats] == ["scores", "one row", "every row", "pattern"]


# ---------------------------------------------------------------------------------------------
# attention_scores
# ---------------------------------------------------------------------------------------------


def test_attention_scores_draws_from_the_scores_and_the_scaled_scores(run):
    scene, values = run("attention_scores")
    a, h, t, s = attention(scene), scene.opt["head"], scene.t, scene.s
    dk = scene.trace.config["d_head"]
    shown = {(v["tensor"], tuple(v["index"])) for v in values}
    # the acceptance: both tensors, and the built entry itself
    assert (f"{a}.hook_scores", (h, t, s)) in shown
    assert any(name == f"{a}.hook_scores_scaled" for name, _ in shown)
    # the entry written out term by term: every factor of row t of Q and row s of K
    assert {(f"{a}.hook_q", (h, t, m)) for m in range(dk)} <= shown
    assert {(f"{a}.hook_k", (h, s, m)) for m in range(dk)} <= shown
    # ÷ √d_k: the same row, before and after, side by side
    raw = {i[2] for name, i in shown if name == f"{a}.hook_scores" and len(i) == 3 and i[:2] == (h, t)}
    scaled = {i[2] for name, i in shown if name == f"{a}.hook_scores_scaled" and len(i) == 3 and i[:2] == (h, t)}
    assert raw and raw == scaled
    # their spreads (max − min of each whole row): the one derived value here, named after its source row
    spreads = {(v["tensor"], tuple(v["index"])) for v in values if "derived" in v}
    assert {v["derived"] for v in values if "derived" in v} == {"spread"}
    assert spreads == {(f"{a}.hook_scores", (h, t)), (f"{a}.hook_scores_scaled", (h, t))}
    assert poster(scene) == "one entry"


# ---------------------------------------------------------------------------------------------
# qkv
# ---------------------------------------------------------------------------------------------


def test_qkv_shows_the_input_the_three_weights_and_their_outputs(run):
    scene, values = run("qkv")
    a, h, layer = attention(scene), scene.opt["head"], scene.opt["layer"]
    x = "encoder.hook_input" if layer == 0 else f"encoder.blocks.{layer}.hook_resid_pre"
    tensors = {v["tensor"] for v in values}
    assert x in tensors
    for name, hook in (("Q", "hook_q"), ("K", "hook_k"), ("V", "hook_v")):
        shown = [v for v in values if v["tensor"] == f"{a}.{hook}"]
        assert shown and all(v["index"][0] == h for v in shown), f"{hook} of head {h} only"
    # each product's first row is built from the input's first row: both are on screen
    assert any(v["tensor"] == x and v["index"][0] == 0 for v in values)
    assert poster(scene) == "queries"
    assert [b.name for b in scene.beats] == ["input", "queries", "keys", "values", "three from one"]


# ---------------------------------------------------------------------------------------------
# weighted_values
# ---------------------------------------------------------------------------------------------


def test_weighted_values_blends_value_rows_into_one_output_row(run):
    scene, values = run("weighted_values")
    a, h, r = attention(scene), scene.opt["head"], scene.row
    dv = scene.trace.config["d_head"]
    shown = {(v["tensor"], tuple(v["index"])) for v in values}
    # the built row: its weights (a row of the pattern), every value row beside them, its output row whole
    weights = {i[2] for name, i in shown if name == f"{a}.hook_pattern" and i[:2] == (h, r)}
    value_rows = {i[1] for name, i in shown if name == f"{a}.hook_v" and i[0] == h}
    assert weights and weights <= value_rows, "each weight sits beside the value row it scales"
    assert {(f"{a}.hook_z", (h, r, m)) for m in range(dv)} <= shown
    # then all of it, as one product
    assert any(name == f"{a}.hook_z" and i[1] != r for name, i in shown)
    assert not any("derived" in v for v in values)
    assert poster(scene) == "one row"
