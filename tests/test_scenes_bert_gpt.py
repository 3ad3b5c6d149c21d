"""The bert_gpt scene (issue 10): what it must show, read from its values manifest, and how each
model's input is derived from the user's sentence.

The scene runs once per sentence without writing video (`check_scene`), as in tests/test_scenes.py
(which covers its frame check and every number for the three sentences).
"""

from __future__ import annotations

import numpy as np
import pytest

from model.errors import InputError
from model.tokenizer import normalize
from scenes import scene_class
from scenes.kit.choose import quote
from scenes.kit.vocab import top_k

from .checks import check_manifest
from .conftest import SENTENCES

BertGpt = scene_class("bert_gpt")


@pytest.fixture(scope="module")
def run(checked):
    def get(sentence: str | None = None):
        return checked("bert_gpt", sentence)

    return get


def records(scene, model: str, tensor: str) -> list[dict]:
    return [v for v in scene.manifest.to_dict()["values"] if v["trace"] == model and v["tensor"] == tensor]


def captions(scene, beat: str) -> str:
    return " ".join(c.text if hasattr(c, "text") else c["text"]
                    for b in scene.beats if b.name == beat for c in b.captions)


@pytest.mark.parametrize("sentence", ["default", "two_words", "limit"])
def test_the_manifest_draws_from_all_three_traces(run, sentence):
    scene, problems = run(SENTENCES[sentence])
    assert not problems
    check_manifest(scene.manifest.to_dict(), scene.traces, min_values=20)
    bert, gpt = scene.traces["bert"], scene.traces["gpt"]
    slot = bert.tokens("encoder").index("[MASK]")
    # BERT's top-k at the hidden word, GPT's top-k after the last word it read: the real top-k, largest first
    shown_b = [v["index"][1] for v in records(scene, "bert", "mlm.hook_probs") if v["index"][0] == slot]
    assert shown_b == top_k(bert["mlm.hook_probs"][slot], len(shown_b)) and len(shown_b) >= 3
    n_read = len(gpt.tokens("decoder")) - len(gpt.output.split())
    shown_g = [v["index"][1] for v in records(scene, "gpt", "unembed.hook_probs") if v["index"][0] == n_read - 1]
    assert shown_g[:3] == top_k(gpt["unembed.hook_probs"][n_read - 1], 3)
    # every word GPT wrote is shown with the probability it had when chosen
    written = {(v["index"][0], v["index"][1]) for v in records(scene, "gpt", "unembed.hook_probs")}
    ids = gpt["decoder.hook_tokens"]
    for t in range(n_read, len(ids)):
        assert (t - 1, int(ids[t])) in written
    # the three masks: a hook_pattern from each model
    for model in ("translator", "bert", "gpt"):
        patterns = [v for v in scene.manifest.to_dict()["values"]
                    if v["trace"] == model and v["tensor"].endswith(".hook_pattern")]
        assert len(patterns) >= 4, model
    assert any(v["tensor"].endswith("cross_attn.hook_pattern") for v in records_all(scene, "translator"))


def records_all(scene, model: str) -> list[dict]:
    return [v for v in scene.manifest.to_dict()["values"] if v["trace"] == model]


def test_the_masks_drawn_are_the_traces_own(run):
    scene, _ = run(None)
    gpt_cells = {tuple(v["index"]) for v in records_all(scene, "gpt") if v["tensor"].endswith("self_attn.hook_pattern")}
    bert_cells = {tuple(v["index"]) for v in records_all(scene, "bert") if v["tensor"].endswith("self_attn.hook_pattern")}
    # GPT shows no number above the diagonal (blocked, drawn dark); BERT shows some (nothing is blocked)
    assert gpt_cells and all(q >= k for _, q, k in gpt_cells)
    assert any(k > q for _, q, k in bert_cells)


def test_the_parameter_tally_is_the_sum_of_the_traces_parameter_sizes(run):
    scene, _ = run(None)
    for model, trace in scene.traces.items():
        expected = sum(int(np.prod(trace.param(n).shape)) for n in trace.param_names)
        assert scene.tally[model] == expected > 0
    # the translator carries a second stack and cross-attention: it is the largest
    assert scene.tally["translator"] > max(scene.tally["bert"], scene.tally["gpt"])


def test_the_captions_name_the_real_top_guesses(run):
    scene, _ = run(SENTENCES["two_words"])
    bert, gpt = scene.traces["bert"], scene.traces["gpt"]
    slot = bert.tokens("encoder").index("[MASK]")
    from scenes.kit.words import vocabulary as family_vocabulary

    assert quote(family_vocabulary(bert)[int(bert["mlm.hook_probs"][slot].argmax())]) in captions(scene, "bert fills in")
    n_read = len(gpt.tokens("decoder")) - len(gpt.output.split())
    guess = family_vocabulary(gpt)[int(gpt["unembed.hook_probs"][n_read - 1].argmax())]
    assert quote(guess) in captions(scene, "gpt writes")


def test_the_sentence_rule_hides_the_middle_word_and_gpt_reads_the_words_before_it():
    from model.families import default_sentence
    from model.trace import DEFAULT_SENTENCE

    # the rule gives each model's default on the default sentence
    assert BertGpt.model_input("bert", DEFAULT_SENTENCE, None)["sentence"] == default_sentence("bert")
    assert BertGpt.model_input("gpt", DEFAULT_SENTENCE, None)["sentence"] == default_sentence("gpt")
    assert BertGpt.model_input("bert", "cats sleep", None) == {"sentence": "cats [MASK]"}
    assert BertGpt.model_input("gpt", "cats sleep", None) == {"sentence": "cats"}
    words = normalize(SENTENCES["limit"])
    hidden = BertGpt.model_input("bert", SENTENCES["limit"], None)["sentence"].split()
    i = hidden.index("[MASK]")
    assert i == len(words) // 2 and hidden[:i] == words[:i] and hidden[i + 1:] == words[i + 1:]
    assert BertGpt.model_input("gpt", SENTENCES["limit"], None)["sentence"].split() == words[:i]
    # the translator reads the sentence as given, with the user's target
    assert BertGpt.model_input("translator", "cats sleep", "les chats dorment") == {
        "sentence": "cats sleep", "target": "les chats dorment"}
    # no sentence: every model's own default
    assert BertGpt.model_input("bert", None, None)["sentence"] is None


def test_a_word_bert_does_not_know_is_not_the_one_hidden():
    from scenes.bert_gpt import middle_word

    assert middle_word(["a", "b", "c", "d"], lambda w: w != "c") == 3  # nearest known, the later on a tie
    assert middle_word(["a", "b", "c"], lambda w: w == "a") == 0


def test_a_sentence_with_mask_is_refused_in_one_line():
    with pytest.raises(InputError, match="plain sentence"):
        BertGpt.model_input("bert", "the [MASK] cat sleeps", None)
