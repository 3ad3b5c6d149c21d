"""Training, loading and evaluating the translator. Seeded and deterministic on the CPU.

Training keeps the translator's weights at a few steps (TrainConfig.snapshots: the random start,
points on the way) besides the final ones, and its loss at every step: `save` writes them to
assets/translator.snapshots.pt and assets/translator.training.json (read without torch by
model/history.py), and `load_snapshot` loads one back."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from . import MODELS, SNAPSHOTS, TRAINING, VOCAB, checkpoint_path
from .coref import (Coreference, choose_head, find, finds_its_noun, french_pronoun, noun_weights, pronoun_gender,
                    pronoun_rows, twin)
from .corpus import CONSTRUCTIONS, LENGTH_BUCKETS, PRONOUNS, constructions, generate, length_bucket
from .errors import InputError
from .files import atomic_write
from .history import LOSS_DIGITS
from .tokenizer import Tokenizer
from .transformer import Config, Translator


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 10000
    batch_size: int = 64
    lr: float = 3e-3
    warmup: int = 300
    weight_decay: float = 1e-4
    threads: int = 1  # d_model 16: a second thread only adds waiting, and on a shared machine a lot of it
    label_smoothing: float = 0.1  # the paper's ε (§5.4): every word gets ε / vocabulary, the target 1 − ε more
    # Steps whose weights are kept, besides the final ones (step s: the weights after s updates): the random
    # start and the points where the default sentence's greedy translation visibly changes, measured on a run
    # with a snapshot every 25 steps: gibberish (0), "les les les les et les" (150), fluent but wrong "un cheval
    # ne mange pas de voiture" (300), the right start caught in a loop "le chat noir ne veut pas les petites
    # petites …" (600), right but unsure, 0.39 on "regarde" (1000); the final weights give each word about 0.9.
    snapshots: tuple[int, ...] = (0, 150, 300, 600, 1000)


@dataclass
class Progress:
    """What a training run leaves besides the model: its time, its loss at each step (the batch of step s,
    read by the weights after s updates), and copies of the weights at the snapshot steps."""

    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    snapshots: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)

    @property
    def step(self) -> int:
        """How many updates the weights have had."""
        return len(self.losses)


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; known: {', '.join(MODELS)}")


def make_batch(tok: Tokenizer, pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source ids (words + <eos>), decoder input (<bos> + words) and labels (words + <eos>), padded."""
    src = [tok.encode(en).ids + [tok.eos_id] for en, _ in pairs]
    tgt = [tok.encode(fr).ids for _, fr in pairs]

    def pad(rows: list[list[int]]) -> torch.Tensor:
        n = max(map(len, rows))
        return torch.tensor([r + [tok.pad_id] * (n - len(r)) for r in rows], dtype=torch.long)

    return pad(src), pad([[tok.bos_id] + t for t in tgt]), pad([t + [tok.eos_id] for t in tgt])


def train(name: str = "translator", tc: TrainConfig | None = None, log=print, until: int | None = None
          ) -> tuple[Translator, Tokenizer, Progress]:
    """Train from scratch; returns the model, its tokenizer and the run's Progress. `until`: stop after
    that many steps of the same run (the learning-rate schedule still that of `tc.steps`), as a cheap way
    to reproduce its early snapshots."""
    _check_name(name)
    if name != "translator":
        raise ValueError(f"{name} trains in model.families")
    tc = tc or TrainConfig()
    deterministic(tc)
    corpus = generate(seed=tc.seed)
    tok = Tokenizer.from_pairs(corpus.train + corpus.heldout)
    model = Translator(Config(d_vocab=len(tok)), pad_id=tok.pad_id)
    rng = random.Random(tc.seed)

    def loss_at(step: int) -> torch.Tensor:
        src, tgt_in, labels = make_batch(tok, rng.sample(corpus.train, tc.batch_size))
        return F.cross_entropy(model(src, tgt_in).flatten(0, 1), labels.flatten(), ignore_index=tok.pad_id,
                               label_smoothing=tc.label_smoothing)

    return model, tok, optimise(model, tc, loss_at, log, snapshots=tc.snapshots, until=until)


def deterministic(tc: TrainConfig) -> None:
    """Seeded, on a fixed number of threads, deterministic kernels: the same run gives the same weights."""
    torch.manual_seed(tc.seed)
    torch.set_num_threads(tc.threads)
    torch.use_deterministic_algorithms(True)


def optimise(model: torch.nn.Module, tc: TrainConfig, loss_at: Callable[[int], torch.Tensor], log=print,
             snapshots: tuple[int, ...] = (), until: int | None = None) -> Progress:
    """The loop every model here trains with: AdamW, a linear warm-up then a linear decay (to no less than
    5 % of the rate), gradients clipped at norm 1; `loss_at(step)` draws a batch and returns its loss.
    Keeps a copy of the weights at each of `snapshots` (steps); stops after `until` steps if given.
    Leaves the model in eval mode."""
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / tc.warmup) * max(0.05, 1 - s / tc.steps)
    )
    progress = Progress()
    start = time.perf_counter()
    model.train()
    for step in range(tc.steps if until is None else min(until, tc.steps)):
        if step in snapshots:
            progress.snapshots[step] = copy.deepcopy(model.state_dict())
        loss = loss_at(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        progress.losses.append(loss.item())
        if step % 500 == 0 or step == tc.steps - 1:
            log(f"step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - start:6.1f}s")
    if progress.step in snapshots:  # a snapshot at the step training stops at
        progress.snapshots[progress.step] = copy.deepcopy(model.state_dict())
    model.eval()
    progress.seconds = time.perf_counter() - start
    return progress


def save(model: Translator, tok: Tokenizer, name: str = "translator", progress: Progress | None = None,
         tc: TrainConfig | None = None) -> None:
    """assets/translator.pt and assets/vocab.json; with the run's `progress` (and its `tc`), its snapshots
    (assets/translator.snapshots.pt) and its loss curve (assets/translator.training.json) too."""
    step = progress.step if progress else None
    tok.save(VOCAB)
    with atomic_write(checkpoint_path(name)) as f:
        torch.save({"config": model.cfg.to_dict(), "vocab": tok.itos, "step": step, "state_dict": model.state_dict()}, f)
    if progress is None:
        return
    tc = tc or TrainConfig()
    earlier = {s: sd for s, sd in sorted(progress.snapshots.items()) if s < step}  # the final ones are translator.pt
    with atomic_write(SNAPSHOTS) as f:
        torch.save({"config": model.cfg.to_dict(), "vocab": tok.itos, "state_dicts": earlier}, f)
    with atomic_write(TRAINING, "w") as f:
        json.dump(training_record(model, tc, progress), f, indent=1)
        f.write("\n")


def training_record(model: Translator, tc: TrainConfig, progress: Progress) -> dict:
    """What assets/translator.training.json holds (model/history.py reads it)."""
    return {
        "model": "translator",
        "seed": tc.seed,
        "steps": progress.step,
        "batch_size": tc.batch_size,
        "lr": tc.lr,
        "warmup": tc.warmup,
        "weight_decay": tc.weight_decay,
        "label_smoothing": tc.label_smoothing,
        "config": model.cfg.to_dict(),
        "snapshot_steps": sorted({s for s in progress.snapshots if s < progress.step} | {progress.step}),
        "loss_note": "loss[s]: the label-smoothed cross-entropy of the training batch of step s, "
                     "read by the weights after s updates",
        "loss": [float(f"{x:.{LOSS_DIGITS}g}") for x in progress.losses],
    }


@functools.lru_cache(maxsize=None)
def load(name: str = "translator") -> tuple[Translator, Tokenizer]:
    """The shipped checkpoint and its vocabulary."""
    _check_name(name)
    if name != "translator":
        from .families import load as load_family

        return load_family(name)
    path = checkpoint_path(name)
    if not path.exists():
        raise InputError(f"no checkpoint at {path}; run: python -m model train --model {name}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    tok = Tokenizer.load(VOCAB)
    if tok.itos != ckpt["vocab"]:
        raise InputError(f"{VOCAB} does not match {path}; retrain with: python -m model train --model {name}")
    model = Translator(Config(**ckpt["config"]), pad_id=tok.pad_id)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    model.step = ckpt.get("step")
    return model, tok


@functools.lru_cache(maxsize=1)
def _snapshot_file() -> dict:
    if not SNAPSHOTS.exists():
        raise InputError(f"no snapshots at {SNAPSHOTS}; run: python -m model train --model translator")
    return torch.load(SNAPSHOTS, map_location="cpu", weights_only=True)


def snapshot_steps() -> list[int]:
    """The steps of the translator's training whose weights are shipped, the final step last."""
    final, _ = load("translator")
    return sorted(_snapshot_file()["state_dicts"]) + [final.step]


@functools.lru_cache(maxsize=None)
def load_snapshot(step: int) -> tuple[Translator, Tokenizer]:
    """The translator as it was after `step` updates (one of snapshot_steps()), with the shipped vocabulary."""
    final, tok = load("translator")
    if step == final.step:
        return final, tok
    data = _snapshot_file()
    if data["vocab"] != tok.itos or step not in data["state_dicts"]:
        if data["vocab"] != tok.itos:
            raise InputError(f"{SNAPSHOTS} does not match {VOCAB}; retrain with: python -m model train --model translator")
        raise InputError(f"no snapshot at step {step}; the shipped ones: {', '.join(map(str, snapshot_steps()))}")
    model = Translator(Config(**data["config"]), pad_id=tok.pad_id)
    model.load_state_dict(data["state_dicts"][step])
    model.eval()
    model.step = step
    return model, tok


def _source_batch(tok: Tokenizer, sentences: list[str]) -> torch.Tensor:
    src = [tok.encode(s, language="en").ids + [tok.eos_id] for s in sentences]
    n = max(map(len, src))
    return torch.tensor([r + [tok.pad_id] * (n - len(r)) for r in src], dtype=torch.long)


def translate_batch(model: Translator, tok: Tokenizer, sentences: list[str]) -> list[str]:
    return [tok.decode(ids) for ids in model.greedy(_source_batch(tok, sentences), tok.bos_id, tok.eos_id)]


def chosen_probabilities(model: Translator, tok: Tokenizer, sentences: list[str]) -> tuple[list[str], list[list[float]]]:
    """Each sentence's greedy translation, and the probability the model gave each word it chose
    (the closing <eos> included): the decoder rereads its own output, as a trace does."""
    src = _source_batch(tok, sentences)
    outs = [ids[: ids.index(tok.eos_id) + 1] if tok.eos_id in ids else ids for ids in model.greedy(src, tok.bos_id, tok.eos_id)]
    n = max(map(len, outs))
    tgt_in = torch.tensor([[tok.bos_id] + o[:-1] + [tok.pad_id] * (n - len(o)) for o in outs], dtype=torch.long)
    top = torch.softmax(model(src, tgt_in), -1).max(-1).values  # [B,P]
    return [tok.decode(o) for o in outs], [top[b, : len(o)].tolist() for b, o in enumerate(outs)]


@torch.no_grad()
def evaluate(name: str = "translator", out=None, batch: int = 250, heldout: list[tuple[str, str]] | None = None) -> float:
    """Held-out exact match, overall, by length and by construction; how sure the model is of the words it
    chooses; how sharp cross-attention is; and, on the coreference sentences, whether the French pronoun has
    the referent's gender and whether the encoder's row of "it" finds its noun.

    `heldout`: the (English, French) pairs to score, by default the corpus's whole held-out split. Printed to
    `out`, by default the standard output of the moment (a redirection of it included)."""
    with one_thread():
        return _evaluate(name, out or sys.stdout, batch, generate().heldout if heldout is None else heldout)


@contextlib.contextmanager
def one_thread():
    """Torch on one thread while it runs these models: matrices this small gain nothing from a second thread, and
    lose a lot on a busy machine (recording a trace: 10 times slower on two threads at a load of 7). And a
    recording's numbers must not depend on the thread count: sums split across threads round differently (by
    1e-7 here), and every render key (reel/clip.py) covers the trace's bytes, so a machine's OMP_NUM_THREADS —
    or a library that sets it, as Dask's `distributed` does on import — would render the same sentence again."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _evaluate(name: str, out, batch: int, heldout: list[tuple[str, str]]) -> float:
    model, tok = load(name)
    guesses, probs = [], []
    for i in range(0, len(heldout), batch):
        g, p = chosen_probabilities(model, tok, [en for en, _ in heldout[i : i + batch]])
        guesses += g
        probs += p
    hits = [g == fr for g, (_, fr) in zip(guesses, heldout)]
    accuracy = sum(hits) / len(hits)

    def line(label: str, rows: list[bool]) -> str:
        score = f"{sum(rows) / len(rows):.3f}" if rows else "  –  "
        return f"  {label:<27} {score}  ({sum(rows)} of {len(rows)})"

    print(f"held-out sentences (never seen in training): {len(heldout)}", file=out)
    print(line("all", hits), file=out)
    print("by length (English words):", file=out)
    for bucket in LENGTH_BUCKETS:
        print(line(bucket, [h for h, (en, _) in zip(hits, heldout) if length_bucket(en) == bucket]), file=out)
    print("by construction:", file=out)
    for c in CONSTRUCTIONS:
        print(line(c, [h for h, (en, _) in zip(hits, heldout) if c in constructions(en)]), file=out)
    # Peakedness: the mean over real query rows of each row's largest weight (1 = one word, 1/s = a smear).
    src, tgt_in, _ = make_batch(tok, heldout)
    _, cache = model.run_with_cache(src, tgt_in)
    real = tgt_in != tok.pad_id  # [B,P]
    lens = (src != tok.pad_id).sum(1).float()
    for i in range(model.cfg.n_layers["decoder"]):
        pattern = cache[f"decoder.blocks.{i}.cross_attn.hook_pattern"]  # [B,H,P,S]
        peak = pattern.max(-1).values  # [B,H,P]
        per_head = [(peak[:, h][real].mean().item()) for h in range(pattern.shape[1])]
        heads = "  ".join(f"head {h}: {p:.3f}" for h, p in enumerate(per_head))
        print(f"cross-attention peak, decoder layer {i}: {heads}  (uniform would be {(1 / lens).mean():.3f})", file=out)
    all_probs = [p for row in probs for p in row]
    print(f"mean_top_probability={sum(all_probs) / len(all_probs):.3f}  (the probability of each word chosen, "
          f"<eos> included, over {len(all_probs)} words; label smoothing ε = {TrainConfig.label_smoothing} "
          f"caps it near {1 - TrainConfig.label_smoothing:.2f})", file=out)

    coref = [(k, c) for k, (en, _) in enumerate(heldout) if (c := find(en)) is not None and c.referent is not None]
    print(f"coreference ('… because it is too ADJ'): {len(coref)} held-out sentences", file=out)
    print(f"coreference_exact_match={_share([hits[k] for k, _ in coref])}", file=out)
    gender = [pronoun_gender(french_pronoun(guesses[k])) == c.referent.gender for k, c in coref]
    differ = [g for g, (_, c) in zip(gender, coref) if c.subject.gender != c.object.gender]
    print(f"pronoun_gender={_share(gender)}  (where the two nouns differ in gender, so that only the referent's "
          f"fits: {_share(differ)} of {len(differ)})", file=out)

    def patterns(sentences: list[str]) -> list[np.ndarray]:
        src = _source_batch(tok, sentences)
        _, cache = model.run_with_cache(src, torch.full((len(sentences), 1), tok.bos_id))
        return [cache[f"encoder.blocks.{i}.self_attn.hook_pattern"].numpy() for i in range(model.cfg.n_layers["encoder"])]

    coreference_attention(patterns, [c for _, c in coref], shift=0, stack="encoder", out=out)
    print(f"exact_match={accuracy:.3f}", file=out)
    return accuracy


def _share(rows: list[bool]) -> str:
    return f"{sum(rows) / len(rows):.3f}" if rows else "–"


def coreference_attention(patterns: Callable[[list[str]], list[np.ndarray]], cases: list[Coreference], shift: int,
                          stack: str, out, batch: int = 250) -> float | None:
    """Whether the self-attention row of "it" finds its noun, in the layer and head `coref.choose_head` picks
    for each sentence (from the sentence and its twin, never from the referent); and per layer and head.
    `patterns(sentences)`: each layer's hook_pattern [B, heads, q, k] for a batch of sentences, whose words
    start at position `shift`. Prints the figures (it_finds_its_noun= last) and returns that share."""
    if not cases:
        print("it_finds_its_noun=–", file=out)
        return None
    rows, twin_rows = [], []
    for i in range(0, len(cases), batch):
        chunk = cases[i : i + batch]
        for sentences, into in (([" ".join(c.words) for c in chunk], rows), ([twin(" ".join(c.words)) for c in chunk], twin_rows)):
            layers = patterns(sentences)
            into += [pronoun_rows([p[b] for p in layers], c, shift) for b, c in enumerate(chunk)]  # [L,H,S] each
    L, H = rows[0].shape[:2]
    chosen = [choose_head(r, t, c, shift) for r, t, c in zip(rows, twin_rows, cases)]
    found = [finds_its_noun(r[l, h], c, shift) for r, (l, h), c in zip(rows, chosen, cases)]
    print(f"the row of '{PRONOUNS['en'][0]}' in the {stack}'s self-attention (layer, head chosen per sentence: the largest "
          f"change of its weights on the two nouns from the sentence to its twin):", file=out)
    for l in range(L):
        for h in range(H):
            ref = [noun_weights(r[l, h], c, shift)[int(c.role == "object")] for r, c in zip(rows, cases)]
            other = [noun_weights(r[l, h], c, shift)[int(c.role == "subject")] for r, c in zip(rows, cases)]
            finds = [finds_its_noun(r[l, h], c, shift) for r, c in zip(rows, cases)]
            print(f"  layer {l} head {h}: finds its noun {_share(finds)}, mean weight on the referent {np.mean(ref):.3f}, "
                  f"on the other noun {np.mean(other):.3f}; chosen for {chosen.count((l, h))} of {len(cases)}", file=out)
    share = sum(found) / len(found)
    print(f"it_finds_its_noun={share:.3f}", file=out)
    return share
