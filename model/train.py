"""Training, loading and evaluating the translator. Seeded and deterministic on the CPU."""

from __future__ import annotations

import functools
import random
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from . import MODELS, VOCAB, checkpoint_path
from .corpus import CONSTRUCTIONS, LENGTH_BUCKETS, constructions, generate, length_bucket
from .errors import InputError
from .files import atomic_write
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


def train(name: str = "translator", tc: TrainConfig | None = None, log=print) -> tuple[Translator, Tokenizer, float]:
    """Train from scratch; returns the model, its tokenizer and the seconds it took."""
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
        return F.cross_entropy(model(src, tgt_in).flatten(0, 1), labels.flatten(), ignore_index=tok.pad_id)

    return model, tok, optimise(model, tc, loss_at, log)


def deterministic(tc: TrainConfig) -> None:
    """Seeded, on a fixed number of threads, deterministic kernels: the same run gives the same weights."""
    torch.manual_seed(tc.seed)
    torch.set_num_threads(tc.threads)
    torch.use_deterministic_algorithms(True)


def optimise(model: torch.nn.Module, tc: TrainConfig, loss_at: Callable[[int], torch.Tensor], log=print) -> float:
    """The loop every model here trains with: AdamW, a linear warm-up then a linear decay (to no less than
    5 % of the rate), gradients clipped at norm 1; `loss_at(step)` draws a batch and returns its loss.
    Leaves the model in eval mode; returns the seconds it took."""
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / tc.warmup) * max(0.05, 1 - s / tc.steps)
    )
    start = time.perf_counter()
    model.train()
    for step in range(tc.steps):
        loss = loss_at(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == tc.steps - 1:
            log(f"step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - start:6.1f}s")
    model.eval()
    return time.perf_counter() - start


def save(model: Translator, tok: Tokenizer, name: str = "translator") -> None:
    tok.save(VOCAB)
    with atomic_write(checkpoint_path(name)) as f:
        torch.save({"config": model.cfg.to_dict(), "vocab": tok.itos, "state_dict": model.state_dict()}, f)


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
    return model, tok


def translate_batch(model: Translator, tok: Tokenizer, sentences: list[str]) -> list[str]:
    src = [tok.encode(s, language="en").ids + [tok.eos_id] for s in sentences]
    n = max(map(len, src))
    src_t = torch.tensor([r + [tok.pad_id] * (n - len(r)) for r in src], dtype=torch.long)
    return [tok.decode(ids) for ids in model.greedy(src_t, tok.bos_id, tok.eos_id)]


@torch.no_grad()
def evaluate(name: str = "translator", out=sys.stdout, batch: int = 250, heldout: list[tuple[str, str]] | None = None) -> float:
    """Held-out exact match, overall, by length and by construction; and how sharp cross-attention is.

    `heldout`: the (English, French) pairs to score, by default the corpus's whole held-out split."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # matrices this small gain nothing from a second thread, and lose a lot on a busy machine
    try:
        return _evaluate(name, out, batch, generate().heldout if heldout is None else heldout)
    finally:
        torch.set_num_threads(threads)


def _evaluate(name: str, out, batch: int, heldout: list[tuple[str, str]]) -> float:
    model, tok = load(name)
    hits = []
    for i in range(0, len(heldout), batch):
        chunk = heldout[i : i + batch]
        guesses = translate_batch(model, tok, [en for en, _ in chunk])
        hits += [g == fr for g, (_, fr) in zip(guesses, chunk)]
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
    print(f"exact_match={accuracy:.3f}", file=out)
    return accuracy
