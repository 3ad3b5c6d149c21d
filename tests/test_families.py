"""BERT and GPT: what each family sees, the masking recipe, training, and the shipped checkpoints."""

import re

import numpy as np
import pytest
import torch

from model.families import IGNORE, TrainConfig, bert_ids, default_sentence, mask_words, train
from model.tokenizer import MASK, SPECIALS
from model.trace import DEFAULT_SENTENCE, record
from model.train import load

from .conftest import model_cli


def _probs_at_mask(sentence: str) -> np.ndarray:
    t = record("bert", sentence)
    return t["mlm.hook_probs"][t.tokens("encoder").index(MASK)]


def test_bert_guess_depends_on_words_on_both_sides():
    """Changing a word left of the mask, or one right of it, moves the guess at the mask."""
    masked = "the black cat [MASK] at the small fish"
    base = _probs_at_mask(masked)
    left = _probs_at_mask("the black cats [MASK] at the small fish")  # the subject's number
    right = _probs_at_mask("the black cat [MASK] to the small fish")  # the particle after the verb
    for changed in (left, right):
        assert 0.5 * np.abs(changed - base).sum() > 0.2  # total variation distance
        assert changed.argmax() != base.argmax()


def test_bert_guess_reads_every_position():
    """Bidirectional: the guess at a mask changes with the word at any other position, before or after it."""
    words = "the black cat [MASK] at the small fish".split()
    m = words.index(MASK)
    base = _probs_at_mask(" ".join(words))
    for j, w in enumerate(words):
        if j == m:
            continue
        other = [*words[:j], "dog" if w != "dog" else "cow", *words[j + 1 :]]
        assert not np.allclose(_probs_at_mask(" ".join(other)), base, atol=1e-4), f"position {j} ({'left' if j < m else 'right'})"


def test_gpt_never_reads_later_words():
    """Changing the token at position j leaves every row before j exactly as it was, and changes row j."""
    model, tok = load("gpt")
    ids = [tok.bos_id] + tok.encode(DEFAULT_SENTENCE).ids
    _, base = model.run_with_cache(torch.tensor([ids]))
    replacement = tok.stoi["dog"]
    for j in range(1, len(ids)):
        changed = list(ids)
        changed[j] = replacement if ids[j] != replacement else tok.stoi["cow"]
        _, cache = model.run_with_cache(torch.tensor([changed]))
        for name, before in base.items():
            after = cache[name]
            if name.endswith("hook_mask"):
                continue  # the causal mask depends on no token
            pos_axis = 2 if before.ndim == 4 else 1  # [B,H,pos,…] for attention tensors, [B,pos,…] otherwise
            after, before = after.narrow(pos_axis, 0, j), before.narrow(pos_axis, 0, j)
            if name.endswith(("hook_scores", "hook_scores_scaled", "hook_pattern")):
                # [B,H,q,k]: the scores of later keys change (they are blocked: the pattern there is exactly 0)
                if name.endswith("hook_pattern"):
                    assert (after[..., j:] == 0).all()
                after, before = after[..., :j], before[..., :j]
            torch.testing.assert_close(after, before, atol=0, rtol=0, msg=f"{name}, token {j} changed")
        assert not torch.equal(cache["unembed.hook_probs"][0, j], base["unembed.hook_probs"][0, j])


def test_bert_masking_recipe():
    """15 % of words chosen (at least one a sentence), of those 80 % [MASK], 10 % a random word, 10 % unchanged."""
    _, tok = load("bert")
    sentences = [DEFAULT_SENTENCE, "the cat sleeps", "my old horses look for a heavy box in front of the house"] * 400
    ids = bert_ids(tok, sentences)
    inputs, labels = mask_words(tok, ids, 0.15, torch.Generator().manual_seed(0))
    words = ids >= len(SPECIALS)
    chosen = labels != IGNORE
    assert not (chosen & ~words).any()  # [CLS], [SEP] and padding are never chosen
    assert chosen.any(1).all()  # every sentence has something to predict
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])  # unchosen words are left alone
    # expected: 15 % of the words, plus one where a sentence would have had none
    lengths = words.sum(1).double()
    expected = (0.15 * lengths + 0.85**lengths).sum() / lengths.sum()
    assert abs(chosen.sum() / words.sum() - expected) < 0.01
    n = chosen.sum()
    as_mask = (inputs[chosen] == tok.stoi[MASK]).sum() / n
    unchanged = (inputs[chosen] == ids[chosen]).sum() / n
    assert abs(as_mask - 0.8) < 0.03 and abs(unchanged - 0.1) < 0.03  # random words may hit the word itself: ~0.1
    assert ((inputs[chosen] >= len(SPECIALS)) | (inputs[chosen] == tok.stoi[MASK])).all()  # random means a word


@pytest.mark.parametrize("name", ["bert", "gpt"])
def test_training_is_seeded_and_deterministic(name):
    def run(seed):
        return train(name, TrainConfig(steps=3, warmup=2, batch_size=16, seed=seed), log=lambda _: None)[0].state_dict()

    a, b, other = run(0), run(0), run(1)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0)
    stack = "encoder" if name == "bert" else "decoder"
    assert not torch.equal(a[f"{stack}.W_E"], other[f"{stack}.W_E"])


def test_shipped_checkpoints_have_the_translators_sizes():
    translator, _ = load("translator")
    for name, stack in (("bert", "encoder"), ("gpt", "decoder")):
        model, tok = load(name)
        cfg = model.cfg
        assert cfg.n_layers == {stack: translator.cfg.n_layers[stack]}
        for k in ("d_model", "n_heads", "d_head", "d_ff", "eps", "max_len"):
            assert getattr(cfg, k) == getattr(translator.cfg, k), k
        assert MASK in tok.stoi and "chat" not in tok.stoi  # English only


def _figures(name: str) -> dict[str, float]:
    """The figures `python -m model evaluate` prints (in this process: `model_cli`)."""
    r = model_cli("evaluate", "--model", name)
    assert r.returncode == 0, r.stderr
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([\d.]+)", r.stdout, re.M)}


def test_bert_heldout_masked_accuracy_at_least_twice_unigram():
    f = _figures("bert")
    assert f["masked_accuracy"] >= 2 * f["unigram_accuracy"] > 0, f


def test_gpt_heldout_perplexity_at_most_half_unigram():
    f = _figures("gpt")
    assert 1 <= f["perplexity"] <= 0.5 * f["unigram_perplexity"], f


def test_default_sentences_follow_the_translators():
    words = DEFAULT_SENTENCE.split()
    bert = default_sentence("bert").split()
    assert len(bert) == len(words) and bert.count(MASK) == 1
    assert [w for w, b in zip(words, bert) if w != b] == [words[bert.index(MASK)]]
    gpt = default_sentence("gpt").split()
    assert 0 < len(gpt) < len(words) and words[: len(gpt)] == gpt


def test_record_takes_renders_arguments_for_every_model():
    """render.py calls record(model, sentence, target): bert and gpt ignore the translator's French target."""
    for name in ("bert", "gpt"):
        plain = record(name)
        with_target = record(name, None, "le chat noir regarde le petit poisson")
        assert plain.meta == with_target.meta
        assert record(name, DEFAULT_SENTENCE if name == "gpt" else None).model == name


def test_mask_word_masks_the_first_occurrence():
    t = record("bert", "the cat sees the dog", mask_word="the")
    assert t.tokens("encoder") == ["[CLS]", MASK, "cat", "sees", "the", "dog", "[SEP]"]
    assert t.sentence == "the cat sees the dog"
    assert t.output.split()[1:] == ["cat", "sees", "the", "dog"]


@pytest.mark.parametrize("name", ["translator", "bert", "gpt"])
def test_the_shipped_vocabulary_file_is_the_checkpoints_own(name):
    """Scenes read a model's words from its JSON vocabulary (no PyTorch): it must be the checkpoint's."""
    from model import vocabulary_path
    from model.tokenizer import Tokenizer

    assert Tokenizer.load(vocabulary_path(name)).itos == load(name)[1].itos
