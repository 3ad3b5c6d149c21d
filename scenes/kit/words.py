"""The words of a trace: every model's vocabulary, and what each decoder row helps predict.

A trace names its own tokens but not the whole vocabulary (the columns of W_U, the logits and the
probabilities), so the words come from the vocabulary file shipped beside each checkpoint
(`model.vocabulary_path`: `assets/vocab.json` for the translator, `assets/<model>.vocab.json` for
bert and gpt), read without PyTorch, and are checked against the trace: the right size, and the
trace's own ids spell its own tokens. Nothing here draws; `components.py` and `vocab.py` build on it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

STACKS = {"translator": ("encoder", "decoder"), "bert": ("encoder",), "gpt": ("decoder",)}


@lru_cache(maxsize=8)
def model_words(model: str) -> tuple[str, ...]:
    """Every word of `model`'s vocabulary, by id (special tokens first), from its shipped file."""
    from model import vocabulary_path
    from model.tokenizer import Tokenizer

    return tuple(Tokenizer.load(vocabulary_path(model)).itos)


@lru_cache(maxsize=8)
def language_words(model: str, language: str) -> tuple[str, ...]:
    """The words of one language ("en", "fr") in `model`'s vocabulary, as its shipped file marks them."""
    from model import vocabulary_path
    from model.tokenizer import Tokenizer

    return tuple(Tokenizer.load(vocabulary_path(model)).words_of(language))


def language_ids(trace, language: str) -> list[int]:
    """The vocabulary ids of one language's words (e.g. the English rows of W_E), checked against the trace."""
    ids = {w: i for i, w in enumerate(vocabulary(trace))}
    return sorted(ids[w] for w in language_words(trace.model, language))


def vocabulary(trace) -> list[str]:
    """The word of every vocabulary id of the trace's model, checked against the trace."""
    words = model_words(trace.model)
    ok = len(words) == trace.config["d_vocab"] and all(
        [words[int(i)] for i in trace[f"{stack}.hook_tokens"]] == trace.tokens(stack) for stack in STACKS[trace.model])
    if not ok:
        from model import vocabulary_path

        raise ValueError(f"{vocabulary_path(trace.model).name} is not the vocabulary this trace was recorded with")
    return list(words)


def next_tokens(trace) -> list[str]:
    """What each row of the translator's decoder helps predict: the token after it in what the decoder reads.

    After the last comes <eos>: a finished translation, or a --target, ends there. One exception:
    the model's own translation cut at the length limit (it never chose <eos>). Its last row then
    predicts the word the translation would have gone on with — the row's most probable word, read
    from the trace (for a finished translation that word is <eos>, which is why greedy decoding stopped).
    """
    tokens = trace.tokens("decoder")
    last = "<eos>"
    if trace.output.split() == tokens[1:] and "unembed.hook_probs" in trace:
        last = vocabulary(trace)[int(np.argmax(trace["unembed.hook_probs"][-1]))]
    return tokens[1:] + [last]
