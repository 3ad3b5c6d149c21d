"""BERT and GPT: the two one-stack families, trained on the English side of the corpus.

* `bert` reads `[CLS] words [SEP]` with some words replaced by `[MASK]` and guesses them,
  seeing the words on both sides (no causal mask). It is trained with BERT's own recipe:
  each word is chosen with probability 15 % (at least one per sentence); a chosen word
  becomes `[MASK]` 80 % of the time, a random word 10 %, and stays itself 10 %; the loss
  counts only the chosen words.
* `gpt` reads `<bos> words` and predicts each next word (the last one `<eos>`), seeing only
  the words before it (a causal mask, no cross-attention).

Both have an English-only vocabulary, stored inside the checkpoint (`assets/bert.pt`,
`assets/gpt.pt`, key "vocab"), built from the English side of `corpus.generate()`.
Training is seeded and deterministic on the CPU, like the translator's.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from . import checkpoint_path, vocabulary_path
from .corpus import generate
from .errors import InputError
from .files import atomic_write
from .tokenizer import CLS, MASK, SEP, SPECIALS, UNK, Encoded, Tokenizer, normalize
from .tracefile import Trace
from .train import TrainConfig as _TranslatorTrainConfig
from .coref import find
from .train import Progress, coreference_attention, deterministic, optimise
from .transformer import GPT, Bert, Config

FAMILIES = ("bert", "gpt")
IGNORE = -100  # label of a position the loss skips
MAX_NEW_WORDS = 8  # gpt's greedy continuation stops at <eos> or after this many words


@dataclass
class TrainConfig(_TranslatorTrainConfig):
    steps: int | None = None  # None: the model's tuned number, TUNED below
    batch_size: int | None = None  # likewise
    mask_rate: float = 0.15  # bert: the share of words chosen for prediction
    label_smoothing: float = 0.0  # bert and gpt keep their plain cross-entropy (their figures are likelihoods)
    snapshots: tuple[int, ...] = ()  # only the translator's training is kept step by step
    threads: int = 1  # the model is tiny: a second thread gains little and loses much on a busy machine


# (steps, batch size). On the first corpus, gpt's held-out perplexity was best after 4000 steps of 64
# (14.57; 17.68 after 12000 of 128: it learns the training sentences by heart) and bert's masked
# accuracy rose up to 12000 steps of 128 (0.181). On the wider corpus (40 000 sentences) bert was cut
# to 5000 steps of 128 for time on a busy machine: masked accuracy 0.234 against 0.068 for unigram.
TUNED = {"bert": (5000, 128), "gpt": (4000, 64)}


def _check_name(name: str) -> None:
    if name not in FAMILIES:
        raise InputError(f"unknown model {name!r} here; known: {', '.join(FAMILIES)}")


def english(pairs: list[tuple[str, str]]) -> list[str]:
    return [en for en, _ in pairs]


def new_model(name: str, tok: Tokenizer) -> Bert | GPT:
    """A freshly initialised model: the translator's sizes, one stack of two layers."""
    if name == "bert":
        return Bert(Config(d_vocab=len(tok), n_layers={"encoder": 2}), pad_id=tok.pad_id)
    return GPT(Config(d_vocab=len(tok), n_layers={"decoder": 2}), pad_id=tok.pad_id)


def _pad(rows: list[list[int]], value: int) -> torch.Tensor:
    n = max(map(len, rows))
    return torch.tensor([r + [value] * (n - len(r)) for r in rows], dtype=torch.long)


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------


def bert_ids(tok: Tokenizer, sentences: list[str]) -> torch.Tensor:
    """`[CLS] words [SEP]` per sentence, padded: [B,P]."""
    cls, sep = tok.stoi[CLS], tok.stoi[SEP]
    return _pad([[cls] + tok.encode(s).ids + [sep] for s in sentences], tok.pad_id)


def mask_words(tok: Tokenizer, ids: torch.Tensor, rate: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's recipe: (inputs, labels); labels are IGNORE except at the chosen words."""
    is_word = ids >= len(SPECIALS)
    u = torch.rand(ids.shape, generator=gen)
    chosen = is_word & (u < rate)
    # at least one word per sentence: the word with the smallest draw
    first = torch.where(is_word, u, 2.0).argmin(1)
    chosen[torch.arange(ids.shape[0]), first] = True
    labels = torch.where(chosen, ids, IGNORE)
    action = torch.rand(ids.shape, generator=gen)
    random_words = torch.randint(len(SPECIALS), len(tok), ids.shape, generator=gen)
    inputs = torch.where(chosen & (action < 0.8), tok.stoi[MASK], ids)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_words, inputs)
    return inputs, labels


def gpt_batch(tok: Tokenizer, sentences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs `<bos> words` and labels `words <eos>` (IGNORE on padding): row t predicts token t+1."""
    enc = [tok.encode(s).ids for s in sentences]
    return _pad([[tok.bos_id] + e for e in enc], tok.pad_id), _pad([e + [tok.eos_id] for e in enc], IGNORE)


# ---------------------------------------------------------------------------
# Training and loading
# ---------------------------------------------------------------------------


def train(name: str, tc: TrainConfig | None = None, log=print) -> tuple[Bert | GPT, Tokenizer, Progress]:
    """Train from scratch on the English side of the corpus; returns the model, its tokenizer and the run's Progress."""
    _check_name(name)
    tc = tc or TrainConfig()
    steps, batch_size = TUNED[name]
    tc = dataclasses.replace(tc, steps=tc.steps or steps, batch_size=tc.batch_size or batch_size)
    deterministic(tc)
    corpus = generate(seed=tc.seed)
    sentences = english(corpus.train)
    tok = Tokenizer.from_corpus(sentences + english(corpus.heldout))
    model = new_model(name, tok)
    rng = random.Random(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)

    def loss_at(step: int) -> torch.Tensor:
        batch = rng.sample(sentences, tc.batch_size)
        if name == "bert":
            inputs, labels = mask_words(tok, bert_ids(tok, batch), tc.mask_rate, gen)
        else:
            inputs, labels = gpt_batch(tok, batch)
        return F.cross_entropy(model(inputs).flatten(0, 1), labels.flatten(), ignore_index=IGNORE,
                               label_smoothing=tc.label_smoothing)

    return model, tok, optimise(model, tc, loss_at, log)


def save(model: Bert | GPT, tok: Tokenizer, name: str, progress: Progress | None = None, tc: TrainConfig | None = None) -> None:
    """assets/<name>.pt, with its vocabulary inside (and the number of steps it trained, from `progress`), and
    the vocabulary alone as JSON, for readers without PyTorch (the scenes)."""
    step = progress.step if progress else None
    tok.save(vocabulary_path(name))
    with atomic_write(checkpoint_path(name)) as f:
        torch.save({"model": name, "config": model.cfg.to_dict(), "vocab": tok.itos, "step": step,
                    "state_dict": model.state_dict()}, f)


@functools.lru_cache(maxsize=None)
def load(name: str) -> tuple[Bert | GPT, Tokenizer]:
    """The shipped checkpoint and its vocabulary."""
    _check_name(name)
    path = checkpoint_path(name)
    if not path.exists():
        raise InputError(f"no checkpoint at {path}; run: python -m model train --model {name}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    tok = Tokenizer(ckpt["vocab"])
    model = (Bert if name == "bert" else GPT)(Config(**ckpt["config"]), pad_id=tok.pad_id)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    model.step = ckpt.get("step")
    return model, tok


# ---------------------------------------------------------------------------
# Held-out figures
# ---------------------------------------------------------------------------


@torch.no_grad()
def bert_figures(model: Bert, tok: Tokenizer, sentences: list[str], train_sentences: list[str], batch: int = 1000) -> dict:
    """Each word of each sentence masked alone: how often the model's top guess is the word,
    and how often always guessing the commonest training word would be."""
    ids = bert_ids(tok, sentences)
    rows, cols = (ids >= len(SPECIALS)).nonzero(as_tuple=True)  # one case per word
    hits = 0
    for i in range(0, len(rows), batch):
        r, c = rows[i : i + batch], cols[i : i + batch]
        inputs = ids[r].clone()
        inputs[torch.arange(len(r)), c] = tok.stoi[MASK]
        guess = model(inputs)[torch.arange(len(r)), c].argmax(-1)
        hits += int((guess == ids[r, c]).sum())
    commonest, _ = Counter(w for s in train_sentences for w in normalize(s)).most_common(1)[0]
    truth = ids[rows, cols]
    return {
        "words": len(rows),
        "masked_accuracy": hits / len(rows),
        "unigram_accuracy": float((truth == tok.stoi[commonest]).float().mean()),
        "commonest_word": commonest,
    }


@torch.no_grad()
def gpt_figures(model: GPT, tok: Tokenizer, sentences: list[str], train_sentences: list[str]) -> dict:
    """Perplexity per predicted token (each word and the closing <eos>), and that of a unigram
    model of the training sentences (add-one smoothed over the words and <eos>)."""
    inputs, labels = gpt_batch(tok, sentences)
    nll = F.cross_entropy(model(inputs).flatten(0, 1), labels.flatten(), ignore_index=IGNORE, reduction="sum")
    n = int((labels != IGNORE).sum())
    counts = Counter(t for s in train_sentences for t in tok.encode(s).ids + [tok.eos_id])
    outcomes = [tok.eos_id] + list(range(len(SPECIALS), len(tok)))
    total = sum(counts.values()) + len(outcomes)
    logp = {t: math.log((counts[t] + 1) / total) for t in outcomes}
    unseen = math.log(1 / total)  # <unk>, for a held-out word outside the vocabulary
    unigram_nll = -sum(logp.get(t, unseen) for t in labels[labels != IGNORE].tolist())
    return {"tokens": n, "perplexity": math.exp(float(nll) / n), "unigram_perplexity": math.exp(unigram_nll / n)}


def heldout_figures(name: str) -> dict:
    _check_name(name)
    model, tok = load(name)
    corpus = generate()
    figures = bert_figures if name == "bert" else gpt_figures
    return figures(model, tok, english(corpus.heldout), english(corpus.train))


@torch.no_grad()
def evaluate(name: str, out=None) -> dict:
    """The held-out figures; then whether the self-attention row of "it" finds its noun in the coreference
    sentences, as for the translator's encoder (gpt's row of "it" cannot: the adjective comes after it).
    Printed to `out`, by default the standard output of the moment (a redirection of it included)."""
    out = out or sys.stdout
    f = heldout_figures(name)
    if name == "bert":
        print(f"held-out words, each masked alone: {f['words']}", file=out)
        print(f"masked_accuracy={f['masked_accuracy']:.3f}", file=out)
        print(f"unigram_accuracy={f['unigram_accuracy']:.3f}  (always guessing {f['commonest_word']!r})", file=out)
    else:
        print(f"held-out tokens predicted (words and <eos>): {f['tokens']}", file=out)
        print(f"perplexity={f['perplexity']:.2f}", file=out)
        print(f"unigram_perplexity={f['unigram_perplexity']:.2f}", file=out)
    model, tok = load(name)
    stack = "encoder" if name == "bert" else "decoder"

    def patterns(sentences: list[str]) -> list:
        ids = bert_ids(tok, sentences) if name == "bert" else gpt_batch(tok, sentences)[0]
        _, cache = model.run_with_cache(ids)
        return [cache[f"{stack}.blocks.{i}.self_attn.hook_pattern"].numpy() for i in range(model.cfg.n_layers[stack])]

    cases = [c for en in english(generate().heldout) if (c := find(en)) is not None and c.referent is not None]
    if name == "gpt":
        print("(gpt reads left to right: its row of 'it' has not read the adjective yet; it differs between a sentence "
              "and its twin only where the twin says 'they' for 'it' or back, and elsewhere the rule falls back on "
              "layer 0 head 0)", file=out)
    f["it_finds_its_noun"] = coreference_attention(patterns, cases, shift=1, stack=stack, out=out)
    return f


# ---------------------------------------------------------------------------
# Traces
# ---------------------------------------------------------------------------

# One sentence followed through all three families: the translator reads DEFAULT_SENTENCE,
# bert reads it with BERT_DEFAULT_MASK hidden, gpt reads its first GPT_DEFAULT_PROMPT words and writes on.
BERT_DEFAULT_MASK = "look"
GPT_DEFAULT_PROMPT = 5


def default_sentence(name: str) -> str:
    from .trace import DEFAULT_SENTENCE

    words = DEFAULT_SENTENCE.split()
    if name == "bert":
        return " ".join(MASK if w == BERT_DEFAULT_MASK else w for w in words)
    return " ".join(words[:GPT_DEFAULT_PROMPT])


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def bert_tokens(tok: Tokenizer, model: Bert, sentence: str, mask_word: str | None) -> tuple[list[str], list[str]]:
    """The words bert reads (each [MASK] kept, the first `mask_word` masked) and the words they stand for."""
    enc = tok.encode(sentence, what="sentence", max_words=model.cfg.max_words)
    words = normalize(sentence)
    tokens = list(enc.tokens)
    if mask_word is not None:
        target = normalize(mask_word)
        if len(target) != 1 or target[0] == MASK:
            raise InputError(f"--mask-word takes one word of the sentence (got {mask_word!r})")
        if MASK in tokens:
            raise InputError(f"the sentence already has {MASK}; drop --mask-word or write the word back")
        if target[0] not in words:
            raise InputError(f"--mask-word {target[0]!r} is not a word of the sentence {' '.join(words)!r}")
        tokens[words.index(target[0])] = MASK
    if MASK not in tokens:
        raise InputError(
            f"bert fills in a masked word, and the sentence has no {MASK}: write {MASK} in place of a word "
            f"(\"the {MASK} cat sleeps\") or name one with --mask-word WORD"
        )
    return tokens, words


def record(name: str, sentence: str | None = None, *, mask_word: str | None = None,
           warn: Callable[[str], None] = _warn, allow_unknown: bool = False) -> Trace:
    """One forward pass of bert or gpt on `sentence` (default: `default_sentence(name)`), every tensor kept.

    bert reads `[CLS] words [SEP]`; its `output` is the sentence with each [MASK] replaced by its top guess.
    gpt first writes on greedily from `<bos> words` (up to <eos> or MAX_NEW_WORDS words), then reads
    `<bos> words continuation` in one pass, so row t of its probabilities is the choice it made for token t+1;
    its `output` is the continuation alone (empty if the first thing it predicts is <eos>).
    """
    from .trace import make_trace

    _check_name(name)
    model, tok = load(name)
    if sentence is None:
        sentence = default_sentence(name)
    if name == "bert":
        tokens, words = bert_tokens(tok, model, sentence, mask_word)
        unknown = [w for w, t in zip(words, tokens) if t == UNK]
        tok.check_known(Encoded([], tokens, unknown), "sentence", None, allow_unknown, warn)
        ids = [tok.stoi[CLS]] + [tok.stoi[t] for t in tokens] + [tok.stoi[SEP]]
        logits, cache = model.run_with_cache(torch.tensor([ids]))
        guesses = logits[0].argmax(-1).tolist()
        filled = [tok.itos[guesses[i + 1]] if t == MASK else t for i, t in enumerate(tokens)]
        return make_trace(name, model, cache, {"encoder": [tok.itos[i] for i in ids]}, sentence, " ".join(filled))

    if mask_word is not None:
        raise InputError("--mask-word is for --model bert; gpt masks no words")
    enc = tok.encode(sentence, what="sentence", max_words=model.cfg.max_words)
    if MASK in enc.tokens:
        raise InputError(f"{MASK} is for --model bert; gpt reads plain words and writes on")
    tok.check_known(enc, "sentence", None, allow_unknown, warn)
    prompt = [tok.bos_id] + enc.ids
    more = model.greedy(prompt, tok.eos_id, MAX_NEW_WORDS)
    ids = prompt + more
    _, cache = model.run_with_cache(torch.tensor([ids]))
    output = " ".join(tok.itos[i] for i in more)
    return make_trace(name, model, cache, {"decoder": [tok.itos[i] for i in ids]}, sentence, output)
