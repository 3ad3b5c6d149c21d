"""The decoder's scenes (issue 8): what each must show, read from its values manifest.

Each scene runs once per sentence without writing video (`check_scene`), as in
tests/test_scenes.py; the frame check itself is covered there for every registered scene.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenes import scene_class
from scenes.kit.framecheck import check_scene
from scenes.kit.manifest import NEG_INF

from .conftest import SENTENCES


@pytest.fixture(scope="module")
def run(checked):
    def get(name: str, sentence: str | None = None):
        return checked(name, sentence)

    return get


def records(scene, tensor: str | None = None) -> list[dict]:
    values = scene.manifest.to_dict()["values"]
    return [v for v in values if tensor is None or v["tensor"] == tensor]


@pytest.mark.parametrize("sentence", ["default", "two_words"])
def test_masked_attention_shows_minus_infinity_exactly_on_the_blocked_cells(run, sentence):
    scene, problems = run("masked_attention", SENTENCES[sentence])
    assert not problems
    a = f"decoder.blocks.{scene.layer}.self_attn"
    mask = scene.trace[f"{a}.hook_mask"]
    assert mask.any(), "a causal mask blocks something"
    inf = {tuple(v["index"]) for v in records(scene) if v["shown"] == NEG_INF}
    # every −∞ is recorded against the unmasked scores, at a cell the mask blocks
    assert all(v["tensor"] == f"{a}.hook_scores_scaled" for v in records(scene) if v["shown"] == NEG_INF)
    assert all(h == scene.head and mask[r, c] for h, r, c in inf)
    # and every blocked cell of the masked matrix on screen shows −∞ (none shows a number)
    view = scene.masked
    shown = [(r, c) for r in view.row_ids for c in view.col_ids if r is not None and c is not None]
    assert inf == {(scene.head, r, c) for r, c in shown if mask[r, c]}
    assert any(not mask[r, c] for r, c in shown), "the allowed cells keep their scores"
    # after softmax the blocked cells are exact zeros, and they are shown as such
    pattern = scene.trace[f"{a}.hook_pattern"][scene.head]
    assert np.all(pattern[mask] == 0.0)
    zeros = [v for v in records(scene, f"{a}.hook_pattern") if mask[tuple(v["index"][1:])]]
    assert zeros and all(v["shown"] == "0.00" for v in zeros)


def test_masked_attention_hands_its_output_to_cross_attention(run):
    scene, _ = run("masked_attention", SENTENCES["default"])
    p = f"decoder.blocks.{scene.layer}"
    tensors = {v["tensor"] for v in records(scene)}
    # its output, added to its input and normalised: the X whose rows are cross-attention's queries
    assert {f"{p}.self_attn.hook_out", f"{p}.hook_resid_pre", f"{p}.ln1.hook_out", "encoder.hook_out"} <= tensors
    assert {f"{p}.self_attn.hook_q", f"{p}.self_attn.hook_k", f"{p}.self_attn.hook_scores"} <= tensors
    assert scene.beats[-1].name == "hand on"


@pytest.mark.parametrize("sentence", ["default", "two_words"])
def test_output_softmax_shows_logits_and_probabilities_of_the_real_top_words(run, sentence):
    scene, problems = run("output_softmax", SENTENCES[sentence])
    assert not problems
    probs, logits = scene.trace["unembed.hook_probs"], scene.trace["unembed.hook_logits"]
    shown = {v["tensor"]: [] for v in records(scene)}
    for v in records(scene):
        shown[v["tensor"]].append(tuple(v["index"]))
    assert shown.get("unembed.hook_logits") and shown.get("unembed.hook_probs")
    assert "decoder.hook_out" in shown
    # the bars: the row's most probable words, in order, each number from hook_probs at [row, word]
    t, bars = scene.row, scene.bars
    order = np.argsort(-probs[t], kind="stable")
    assert bars.cols == [int(i) for i in order[:len(bars.cols)]]
    assert len(bars.cols) >= 2
    assert {(t, c) for c in bars.cols} <= set(shown["unembed.hook_probs"])
    assert {(t, c) for c in bars.cols} <= set(shown["unembed.hook_logits"])
    # the highlighted bar is the argmax: the predicted word
    assert bars.cols[0] == int(probs[t].argmax()) == int(logits[t].argmax())
    # the words are the model's: each row's predicted word spells the next token the decoder reads
    words = scene.words
    tgt = scene.tgt
    assert [words[int(probs[r].argmax())] for r in range(len(tgt) - 1)] == tgt[1:]


def test_decoder_input_shows_the_shifted_tokens_embedded_with_positions(run):
    scene, problems = run("decoder_input", SENTENCES["default"])
    assert not problems
    tensors = {v["tensor"] for v in records(scene)}
    assert {"decoder.hook_embed", "decoder.hook_embed_scaled", "decoder.hook_pos_embed", "decoder.hook_input"} <= tensors
    # every row shown belongs to the decoder's positions: <bos> + the translation, shifted right
    T = len(scene.tgt)
    assert scene.tgt[0] == "<bos>" and scene.trace.tokens("decoder")[1:] == scene.trace.output.split()[:T - 1]
    assert all(v["index"][0] < T for v in records(scene, "decoder.hook_input"))
    assert {0, T - 1} <= {v["index"][0] for v in records(scene, "decoder.hook_input")}


@pytest.mark.parametrize("sentence", ["default", "two_words"])
def test_decoding_shows_each_steps_probabilities_and_cross_attention_row(run, sentence):
    scene, problems = run("decoding", SENTENCES[sentence])
    assert not problems
    T = len(scene.tgt)
    assert scene.shown_steps == list(range(T)), "one step per position, in order"
    probs = records(scene, "unembed.hook_probs")
    cross = records(scene, f"decoder.blocks.{scene.layer}.cross_attn.hook_pattern")
    for t in range(T):
        step_probs = {v["index"][1] for v in probs if v["index"][0] == t}
        # the step's top words, the chosen one first among them
        assert int(scene.trace["unembed.hook_probs"][t].argmax()) in step_probs
        assert len(step_probs) >= 2
        # the step's cross-attention row, from the scene's head
        row = [v for v in cross if v["index"][:2] == [scene.head, t]]
        assert row, f"step {t} shows no cross-attention row"
    # the steps write the translation: each chosen word is the next token read, and the last ends it
    words = scene.words
    assert [words[c] for c in scene.choice[:-1]] == scene.tgt[1:]
    assert scene.ended == (words[scene.choice[-1]] == "<eos>")


@pytest.mark.parametrize("sentence", ["default", "two_words", "limit"])
def test_step_by_step_decoding_equals_the_teacher_forced_trace_row_by_row(translator, traces_for, sentence):
    """Why the decoding scene may read step t from row t of one trace: with the causal mask, running
    the model on the prefix of step t gives row t of the trace on the whole translation.

    The same numbers up to float32 rounding: the prefix and the whole run take matrices of other shapes,
    which the kernels sum in other orders; 1e-5 of a tensor's scale is ~80 ulps there."""
    import torch

    def same(a, b):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * max(1.0, float(np.abs(b).max())))

    model, tok = translator
    trace = traces_for(SENTENCES[sentence], ("translator",))["translator"]
    src = torch.from_numpy(trace["encoder.hook_tokens"])[None]
    tgt = torch.from_numpy(trace["decoder.hook_tokens"])[None]
    T = tgt.shape[1]
    n_layers = trace.config["n_layers"]["decoder"]
    for t in range(T):
        _, cache = model.run_with_cache(src, tgt[:, : t + 1])
        step = {k: v[0].numpy() for k, v in cache.items()}
        same(step["unembed.hook_logits"][t], trace["unembed.hook_logits"][t])
        same(step["unembed.hook_probs"][t], trace["unembed.hook_probs"][t])
        for layer in range(n_layers):
            for attn in ("cross_attn", "self_attn"):
                name = f"decoder.blocks.{layer}.{attn}.hook_pattern"
                same(step[name][:, t], trace[name][:, t, : step[name].shape[-1]])
                if attn == "self_attn":  # nothing past the prefix had any weight in the whole trace
                    assert np.all(trace[name][:, t, t + 1:] == 0.0)
        # greedy: the step's most probable word is the next token the trace reads
        if t + 1 < T:
            assert int(step["unembed.hook_probs"][t].argmax()) == int(tgt[0, t + 1])
    # and the model's own greedy decoding wrote exactly this translation
    out = model.greedy(src, tok.bos_id, tok.eos_id)[0]
    assert out[: T - 1] == tgt[0, 1:].tolist()


def test_the_last_decoder_row_predicts_eos_or_for_a_cut_translation_the_next_word():
    """Row labels "le → chat": after the last row comes <eos> for a finished translation or a --target;
    for the model's own translation cut at the length limit, the word it would have gone on with."""
    from model.trace import record
    from scenes.kit.components import stack_labels
    from scenes.kit.vocab import next_tokens

    full = record("translator", SENTENCES["default"], warn=lambda m: None)
    words = full.output.split()
    assert next_tokens(full) == words + ["<eos>"]
    # the same translation cut one word short, as greedy decoding leaves it at the limit
    cut = record("translator", SENTENCES["default"], target=" ".join(words[:-1]), warn=lambda m: None)
    assert next_tokens(cut)[-1] == "<eos>"  # as a --target, the French given ends there
    cut.meta["output"] = " ".join(words[:-1])
    assert next_tokens(cut) == words  # the last row's most probable word: greedy's next
    last = stack_labels(cut, "decoder")[-1]
    assert any(getattr(m, "text", "").endswith(words[-1]) for m in last.get_family()), last
    # decoder_input says so, and draws it
    scene, problems = check_scene(scene_class("decoder_input"), {"translator": cut})
    assert not problems, problems[:5]
    said = [c.text for b in scene.beats for c in b.captions]
    assert any("cut at the limit" in t for t in said) and not any("the last predicts the end" in t for t in said)


def test_output_softmax_says_why_no_row_shows_one_only_where_none_does(run):
    """Label smoothing is named as the reason no row reaches 1.00 — only when the numbers show it."""
    scene, _ = run("output_softmax")
    captions = [c.text for b in scene.beats for c in b.captions]
    expected = scene.smoothing()
    assert (expected is not None) == bool((1 - scene.probs.max(-1) >= 0.03).all())
    assert (expected in captions) if expected else not any("label smoothing" in c for c in captions)
    saved = scene.probs
    try:
        scene.probs = saved.copy()
        scene.probs[0] = 0.0
        scene.probs[0, 0] = 1.0  # one row sure of its word: the sentence is no longer true
        assert scene.smoothing() is None
    finally:
        scene.probs = saved
