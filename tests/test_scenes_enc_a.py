"""The first encoder scenes and the map: overview, tokens, positional_encoding.

Each runs once under the frame check (no video) and its values manifest and drawing are
compared with the trace: the ids shown are the traced ids, the rows of W_E shown are the rows
the embedding copied, the marked points on the waves are the traced position table, the
probabilities coming out of the map are those of the words written.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from model.errors import InputError
from scenes import TEACHING_ORDER
from scenes.kit.architecture import PARTS, SCENE_PARTS, ArchitectureMap, part_for
from scenes.kit.encoding import vocabulary_rows

from .conftest import SENTENCES


@pytest.fixture(scope="module")
def run(checked):
    """(scene, problems, trace) of one frame-checked run (shared with the other scene tests: conftest.checked)."""

    def get(name: str, sentence=None, **options):
        scene, problems = checked(name, sentence, **options)
        return scene, problems, scene.traces["translator"]

    return get


def shown_by_tensor(scene) -> dict[str, dict[tuple, str]]:
    found: dict = defaultdict(dict)
    for v in scene.manifest.to_dict()["values"]:
        found[v["tensor"]][tuple(v["index"])] = v["shown"]
    return found


def test_the_catalogue_names_every_scene_the_map_can_point_to():
    assert set(SCENE_PARTS) <= set(TEACHING_ORDER)
    assert set(SCENE_PARTS.values()) <= set(PARTS)
    arch = ArchitectureMap(2, 3)
    for part in PARTS:
        assert len(arch.part(part)) > 0, part
    assert part_for("qkv") == "attention" and part_for("attention") == "attention"
    with pytest.raises(InputError):
        part_for("nonsense")


@pytest.mark.parametrize("sentence", [SENTENCES["default"]])
def test_overview_shows_ids_in_and_the_written_words_probabilities_out(run, sentence):
    scene, problems, trace = run("overview", sentence)
    assert not problems
    shown = shown_by_tensor(scene)
    ids = trace["encoder.hook_tokens"]
    assert shown["encoder.hook_tokens"], "no token ids on screen"
    for (p,), text in shown["encoder.hook_tokens"].items():
        assert text == str(int(ids[p]))
    assert len(shown["encoder.hook_input"]) >= 2 * len(shown["encoder.hook_tokens"])
    # out: row t's probability of the word the decoder writes next (token t+1, <eos> after the last)
    nxt = list(trace["decoder.hook_tokens"][1:]) + [ids[-1]]
    probs = shown["unembed.hook_probs"]
    assert len(probs) >= 3
    for t, i in probs:
        assert i == int(nxt[t]), (t, i)
    assert [b.name for b in scene.beats if b.poster] == ["out"]


def test_overview_highlights_the_part_the_next_scene_explains(run):
    scene, problems, _ = run("overview", None, highlight="masked_attention")
    assert not problems, problems[:5]
    assert scene.part == "masked_attention"
    assert [b.name for b in scene.beats] == ["map", "next"]
    assert [b.name for b in scene.beats if b.poster] == ["next"]
    assert "masked self-attention" in scene.beats[-1].captions[0].text
    assert len(scene.manifest) >= 20


def test_tokens_shows_the_traced_ids_and_the_rows_of_W_E_the_embedding_copied(run):
    scene, problems, trace = run("tokens")
    assert not problems
    shown = shown_by_tensor(scene)
    ids = [int(i) for i in trace["encoder.hook_tokens"]]
    assert {p for (p,) in shown["encoder.hook_tokens"]} == set(range(len(ids)))  # every id, short sentence
    for (p,), text in shown["encoder.hook_tokens"].items():
        assert text == str(ids[p])
    w_e, emb = shown["param.encoder.W_E"], shown["encoder.hook_embed"]
    assert w_e and emb and shown["encoder.hook_embed_scaled"]
    rows_of_w_e = {i for i, _ in w_e}
    assert rows_of_w_e <= set(ids), "W_E shows a row no token of the sentence reads"
    for (i, c), text in w_e.items():  # each row of W_E shown is E's row, number for number, wherever E shows it
        readers = [p for p, id_ in enumerate(ids) if id_ == i and (p, c) in emb]
        assert readers, (i, c)
        assert all(emb[p, c] == text for p in readers), (i, c)
    assert [b.name for b in scene.beats if b.poster] == ["lookup"]


def test_a_folded_vocabulary_shows_each_id_once_with_gaps_between():
    assert vocabulary_rows([5, 3, 5, 4, 9], 10) == [None, 3, 4, 5, None, 9]
    assert vocabulary_rows([0, 1], 2) == [0, 1]


@pytest.mark.parametrize("sentence", [SENTENCES["limit"]])
def test_positional_encoding_marks_the_traced_table_on_the_paper_curves(run, sentence):
    scene, problems, trace = run("positional_encoding", sentence)
    assert not problems
    shown = shown_by_tensor(scene)
    for name in ("encoder.hook_pos_embed", "encoder.hook_embed_scaled", "encoder.hook_input"):
        assert shown[name], f"{name} is not on screen"
    table = trace["encoder.hook_pos_embed"]
    np.testing.assert_allclose(table, trace["param.W_pos"][: len(table)])
    plot = scene.waves
    assert len(plot.dims) >= 3 and len({d // 2 for d in plot.dims}) >= 3, "several frequencies"
    for k, dim in enumerate(plot.dims):
        dots = plot.dots[k]
        assert len(dots) == len(table)  # a dot at every position of the sentence
        for p, dot in enumerate(dots):
            tensor, index, value = dot.mark
            assert tensor == "encoder.hook_pos_embed" and index == (p, dim) and value == table[p, dim]
            assert abs(plot.value_at(dot) - table[p, dim]) < 1e-3  # drawn where the table says
            # and the curve, drawn from the formula, passes through it
            on_curve = plot.axes.p2c(plot.axes.i2gp(p, plot.curves[k]))[1]
            assert abs(on_curve - table[p, dim]) < 2e-3, (dim, p)
    # the numbers in the table shown beside the waves are the same columns of the same tensor
    assert {c for _, c in shown["encoder.hook_pos_embed"]} >= set(plot.dims)
    assert [b.name for b in scene.beats if b.poster] == ["waves"]


def test_a_bad_highlight_fails_cleanly(tmp_path):
    from .conftest import run_cli

    out = tmp_path / "out"
    r = run_cli("render.py", "--scene", "overview", "--highlight", "nonsense", "--check", "--out", str(out))
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "--highlight" in lines[0] and "attention" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
