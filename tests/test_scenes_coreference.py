"""The coreference scene: how its traces come from the user's sentence, what its manifest holds, and its
captions, computed from the numbers, on the real pairs and on doctored ones where the row of "it" lands on
its noun and where it does not. (tests/test_scenes.py covers its frame check and every number for the
default, two-word and word-limit sentences; here: a coreference sentence of each kind, up to the limit.)"""

from __future__ import annotations

import numpy as np
import pytest

from model.coref import (COREFERENCE_PAIR, COREFERENCE_SENTENCE, KIND, choose_head_in_traces, find, finds_its_noun,
                         pronoun_row, twin)
from model.tracefile import Trace
from scenes import scene_class
from scenes.kit.choose import moving_head, quote
from scenes.kit.components import caption
from scenes.kit.encoding import fold_keeping

from .checks import check_manifest
from .conftest import SENTENCES, without_torch

Coreference = scene_class("coreference")
import scenes.coreference as coref  # noqa: E402  (the module: its Pair and its caption functions)

RABBIT = "the rabbit does not take the bottle because it is too big"
PLURAL = "the wolves do not carry the boxes because they are too heavy"
LIMIT = "the small black duck does not push the old table in front of the house because it is too heavy"  # 20 words
SCENE_SENTENCES = {"rabbit": RABBIT, "plural": PLURAL, "limit": LIMIT}


def captions(scene, beat: str | None = None) -> list[str]:
    return [c.text for b in scene.beats if beat in (None, b.name) for c in b.captions]


# ----------------------------------------------------------------------------- the slots
def test_a_sentence_with_the_construction_is_read_with_its_twin():
    r = Coreference.recording
    assert r("sentence", RABBIT, "le lapin …") == {"name": "translator", "sentence": RABBIT, "target": "le lapin …"}
    assert r("twin", RABBIT, "le lapin …") == {"name": "translator", "sentence": twin(RABBIT), "target": None}
    # the user's own slot is every scene's plain translator slot: in a lecture it is the same recording
    assert r("translator", RABBIT, "le lapin …") == r("sentence", RABBIT, "le lapin …")
    assert twin(RABBIT) == "the rabbit does not take the bottle because it is too lazy"


@pytest.mark.parametrize("sentence", [None, "cats sleep", SENTENCES["limit"], "the cat sleeps because it is"])
def test_a_sentence_without_it_stands_in_the_default_pair(sentence):
    r = Coreference.recording
    assert r("sentence", sentence, "x")["sentence"] == COREFERENCE_PAIR[0] == COREFERENCE_SENTENCE
    assert r("sentence", sentence, "x")["target"] is None  # a target for the user's sentence, not for the pair
    assert r("twin", sentence, "x")["sentence"] == COREFERENCE_PAIR[1]
    assert r("translator", sentence, "x") == {"name": "translator", "sentence": sentence, "target": "x"}


@pytest.mark.parametrize("sentence", [COREFERENCE_SENTENCE, RABBIT, PLURAL, LIMIT,
                                      "the hen does not eat apples because they are too big",
                                      "the hens do not carry a bag because they are too tired"])
def test_the_twin_slot_swaps_the_adjective_for_one_of_the_other_kind(sentence):
    """The twin differs in the adjective (of the other kind) and, where the referent's number changes, in
    "it is"/"they are"; every position stays, and the referent moves to the other noun."""
    first, second = (Coreference.recording(slot, sentence, None)["sentence"] for slot in ("sentence", "twin"))
    c, t = find(first), find(second)
    assert len(c.words) == len(t.words) and c.pronoun == t.pronoun and c.adjective == t.adjective
    assert KIND[t.words[t.adjective]] != KIND[c.words[c.adjective]]
    assert {i for i, (x, y) in enumerate(zip(c.words, t.words)) if x != y} <= {c.pronoun, c.pronoun + 1, c.adjective}
    assert c.role != t.role and {c.role, t.role} == {"subject", "object"}


def test_the_pronoun_row_is_the_one_reading_qu():
    tokens = ["<bos>", "le", "canard", "ne", "pousse", "pas", "la", "table", "parce", "qu'", "elle", "est"]
    assert pronoun_row(tokens) == 9 and tokens[pronoun_row(tokens) + 1] == "elle"
    assert pronoun_row(["<bos>", "le", "chat", "dort"]) is None


# ----------------------------------------------------------------------------- the kit pieces it added
def test_fold_keeping_keeps_the_words_that_matter():
    assert fold_keeping(10, 12, [3]) == list(range(10))
    shown = fold_keeping(21, 12, [1, 9, 15, 16, 19])
    assert len(shown) <= 12 and {1, 9, 15, 16, 19} <= set(shown)
    numbers = [i for i in shown if i is not None]
    assert numbers == sorted(numbers)
    # a ⋯ wherever indices are skipped, and only there
    for x, y in zip(shown, shown[1:]):
        if x is not None and y is not None:
            assert y == x + 1
    assert (shown[0] is None) == (0 not in numbers) and (shown[-1] is None) == (20 not in numbers)


def test_moving_head_picks_the_row_that_changes_most():
    rows = np.full((2, 2, 4), 0.25)
    other = rows.copy()
    other[1, 0] = [0.7, 0.1, 0.1, 0.1]  # total variation 0.45
    other[0, 1] = [0.35, 0.15, 0.25, 0.25]  # 0.1
    assert moving_head(rows, other) == (1, 0) == moving_head(other, rows)


# ----------------------------------------------------------------------------- the scene
@pytest.fixture(scope="module")
def default(checked):
    return checked("coreference", None)


def test_the_options_default_to_the_coref_rule(default):
    scene, _ = default
    assert (scene.layer, scene.head) == choose_head_in_traces(scene.traces["sentence"], scene.traces["twin"])
    assert scene.a == f"encoder.blocks.{scene.layer}.self_attn"


def test_a_layer_given_keeps_the_rule_for_the_head(default):
    from scenes.kit.options import resolve_options

    scene, _ = default
    for layer in range(scene.trace.config["n_layers"]["encoder"]):
        opts = resolve_options(Coreference, {"layer": layer}, scene.traces)
        rows = [t[f"encoder.blocks.{layer}.self_attn.hook_pattern"][:, find(t.sentence).pronoun]
                for t in (scene.traces["sentence"], scene.traces["twin"])]
        c = find(scene.traces["sentence"].sentence)
        change = [abs((rows[0][h, c.subject.index] - rows[0][h, c.object.index])
                      - (rows[1][h, c.subject.index] - rows[1][h, c.object.index])) for h in range(len(rows[0]))]
        assert opts == {"layer": layer, "head": int(np.argmax(change))}
    assert resolve_options(Coreference, {"layer": 0, "head": 1}, scene.traces) == {"layer": 0, "head": 1}


def test_the_manifest_shows_both_sentences_rows(default):
    scene, problems = default
    assert not problems
    manifest = scene.manifest.to_dict()
    check_manifest(manifest, scene.traces, min_values=40)
    pair = scene.pair
    for side, slot in zip(pair.sides, ("sentence", "twin")):
        mine = [v for v in manifest["values"] if v["trace"] == slot]
        it_row = {tuple(v["index"]) for v in mine if v["tensor"] == f"{scene.a}.hook_pattern"}
        # the whole row of "it" in the chosen head, every word of the sentence (nothing folds here)
        p = side.c.pronoun + side.shift
        assert {(scene.head, p, k) for k in range(len(side.keys))} <= it_row
        # the four French pronouns' probabilities where the pronoun is written
        probs = {tuple(v["index"]) for v in mine if v["tensor"] == "unembed.hook_probs"}
        assert {(side.row, side.vocab.index(w)) for w in ("il", "elle", "ils", "elles")} <= probs
        layer, head = pair.cross
        cross = {tuple(v["index"]) for v in mine if v["tensor"] == f"decoder.blocks.{layer}.cross_attn.hook_pattern"}
        assert {(head, side.row, k) for k in range(len(side.keys))} <= cross
    assert not [v for v in manifest["values"] if v["trace"] == "translator"]  # the user's own: its words only


def test_the_default_pair_is_the_scenes_own_and_it_says_why(default, checked):
    scene, _ = default
    assert (scene.traces["sentence"].sentence, scene.traces["twin"].sentence) == COREFERENCE_PAIR
    first = captions(scene, "pair")[0]
    assert quote(scene.traces["translator"].sentence) in first and "has no" in first
    short, _ = checked("coreference", SENTENCES["two_words"])
    assert quote("cats sleep") in captions(short, "pair")[0]
    rabbit, _ = checked("coreference", RABBIT)
    assert not any("has no" in c for c in captions(rabbit, "pair"))


# ----------------------------------------------------------------------------- captions from the numbers
def _expected_verdict(pair) -> str:
    """What the attention caption must say, from model.coref's own reading of each row."""
    lands = [finds_its_noun(s.it_row, s.c, s.shift) for s in pair.sides]
    if lands[0] == lands[1]:
        return "right both times" if lands[0] else "wrong both times"
    good, bad = (pair.a, pair.b) if lands[0] else (pair.b, pair.a)
    return f"right with {quote(good.adjective)}, wrong with {quote(bad.adjective)}"


@pytest.mark.parametrize("name", [None, *SCENE_SENTENCES])
def test_the_captions_follow_the_real_numbers(name, checked):
    scene, _ = checked("coreference", SCENE_SENTENCES.get(name))
    pair, said = scene.pair, captions(scene)
    assert _expected_verdict(pair) in coref.attention_sentence(pair) and coref.attention_sentence(pair) in said
    for side in pair.sides:
        noun = side.c.words[int(max(side.c.nouns, key=lambda i: side.it_row[i + side.shift]))]
        assert f"{quote(noun)} more than" in " ".join(said) or f"{quote(noun)} most among" in " ".join(said)
        written = side.vocab[int(np.argmax(scene.traces[scene.slot(side)]["unembed.hook_probs"][side.row]))]
        assert quote(written) in coref.pronoun_sentence(pair)
    assert coref.verdict_sentence(pair) in captions(scene, "verdict")
    for text in said:  # every caption stays on its two lines
        assert len(caption(text)) <= 2, text


def test_the_shipped_model_does_not_point_it_at_its_noun(default):
    """The README's finding, on the default pair: the row of "it" weighs the same noun in both sentences, and the
    scene says so, and that the pronouns are right all the same."""
    scene, _ = default
    a, b = scene.pair.sides
    assert a.pick == b.pick and a.lands != b.lands and a.right and b.right
    said = " ".join(captions(scene))
    assert "it is not this attention that picks the noun" in said
    assert "In both sentences, \u201cit\u201d weighs \u201ctable\u201d more than \u201cduck\u201d" in said


def _doctored(trace: Trace, layer: int, head: int, noun: int, weight: float = 0.6) -> Trace:
    """A copy of `trace` whose row of "it" (in one layer and head) puts `weight` on word `noun`, the rest as it was."""
    arrays = dict(trace.arrays)
    name = f"encoder.blocks.{layer}.self_attn.hook_pattern"
    pattern = arrays[name].copy()
    c = find(trace.sentence)
    row = pattern[head, c.pronoun].astype(np.float64)
    row[noun] = 0.0
    row *= (1 - weight) / row.sum()
    row[noun] = weight
    pattern[head, c.pronoun] = row.astype(np.float32)
    arrays[name] = pattern
    return Trace(trace.meta, arrays)


@pytest.fixture(scope="module")
def real_pair(traces_for):
    traces = traces_for(None, Coreference.needs, Coreference)
    return traces, choose_head_in_traces(traces["sentence"], traces["twin"])


def test_captions_where_attention_lands_on_the_noun(real_pair):
    traces, (layer, head) = real_pair
    c, t = find(traces["sentence"].sentence), find(traces["twin"].sentence)
    sentence = _doctored(traces["sentence"], layer, head, c.referent.index)  # heavy: the table
    other = _doctored(traces["twin"], layer, head, t.referent.index)  # tired: the duck
    pair = coref.Pair(sentence, other, layer, head)
    assert coref.attention_sentence(pair) == (
        "With \u201cheavy\u201d, \u201cit\u201d weighs \u201ctable\u201d more than \u201cduck\u201d; with "
        "\u201ctired\u201d, \u201cduck\u201d more than \u201ctable\u201d: right both times.")
    assert coref.agreement_sentence(pair) == "Both pronouns have the gender of the noun \u201cit\u201d weighed most."
    assert coref.verdict_sentence(pair).startswith("Here attention does find the noun")
    # and the scene, run on them, says so
    with without_torch():
        from scenes.kit.framecheck import check_scene

        scene, problems = check_scene(Coreference, {**traces, "sentence": sentence, "twin": other})
    assert not problems
    assert (scene.layer, scene.head) == (layer, head)  # the rule finds the doctored head: it moves most
    assert coref.attention_sentence(pair) in captions(scene, "where it looks")
    assert coref.verdict_sentence(pair) in captions(scene, "verdict")


def test_captions_where_attention_lands_on_the_other_noun(real_pair):
    traces, (layer, head) = real_pair
    c, t = find(traces["sentence"].sentence), find(traces["twin"].sentence)
    wrong = [n for n in (c.subject, c.object) if n != c.referent][0].index  # heavy: the duck
    wrong_twin = [n for n in (t.subject, t.object) if n != t.referent][0].index  # tired: the table
    pair = coref.Pair(_doctored(traces["sentence"], layer, head, wrong),
                      _doctored(traces["twin"], layer, head, wrong_twin), layer, head)
    assert coref.attention_sentence(pair).endswith(": wrong both times.")
    assert coref.agreement_sentence(pair) == "Neither pronoun has the gender of the noun \u201cit\u201d weighed most."
    assert coref.verdict_sentence(pair) == (
        "\u201cIt\u201d did not weigh the noun it means most in both sentences, yet both pronouns are right: it is "
        "not this attention that picks the noun.")
    swap = "Swapping \u201cheavy\u201d for \u201ctired\u201d"
    assert coref.change_sentence(pair).startswith(f"{swap} moves this row most")


@pytest.mark.parametrize("name", list(SCENE_SENTENCES))
def test_frame_check_passes_on_coreference_sentences(name, checked, traces_for):
    scene, problems = checked("coreference", SCENE_SENTENCES[name])
    assert not problems, "\n".join(map(str, problems[:20]))
    check_manifest(scene.manifest.to_dict(), scene.traces, min_values=40)
    assert scene.traces["sentence"].sentence == SCENE_SENTENCES[name]
