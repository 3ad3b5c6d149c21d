"""Recording a trace: one forward pass on the user's sentence, every tensor kept by name."""

from __future__ import annotations

import sys
from typing import Callable

import torch

from .errors import InputError
from .tokenizer import MASK, Tokenizer
from .tracefile import PARAM, Trace
from .train import load, load_snapshot, one_thread
from .transformer import HookedModel, Translator

# Shows negation, one English word read by two French words around the verb ("not" → "ne … pas"),
# adjective reordering ("black cat" → "chat noir") and two words becoming one ("look at" →
# "regarde"), so the two sentences differ in length. The one place the default sentence is written.
DEFAULT_SENTENCE = "the black cat does not look at the small fish"


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def encode_source(tok: Tokenizer, model: Translator, sentence: str, warn: Callable[[str], None],
                  allow_unknown: bool = False) -> list[int]:
    enc = tok.encode(sentence, what="sentence", max_words=model.cfg.max_words, language="en")
    if MASK in enc.tokens:
        raise InputError(f"{MASK} is for --model bert; the translator reads plain words")
    tok.check_known(enc, "sentence", "en", allow_unknown, warn)
    return enc.ids + [tok.eos_id]


def greedy_run(tok: Tokenizer, model: Translator, src: list[int]) -> tuple[list[int], bool]:
    """The ids of the model's own translation of `src`, up to (not with) <eos>, and whether it ended (else it
    reached the length limit and is cut there)."""
    out_ids = model.greedy(torch.tensor([src]), tok.bos_id, tok.eos_id)[0]
    if tok.eos_id not in out_ids:  # cut at the limit (Translator.greedy)
        return out_ids, False
    return out_ids[: out_ids.index(tok.eos_id)], True


def _cut_warning(n: int, snapshot: int | None = None) -> str:
    who = "the translation" if snapshot is None else f"the snapshot at step {snapshot}'s translation"
    return f"warning: {who} reached the limit of {n} words without ending; it is cut there"


def greedy_ids(tok: Tokenizer, model: Translator, src: list[int], warn: Callable[[str], None]) -> list[int]:
    """The ids of the model's own translation of `src`, up to (not with) <eos>; a warning if it never ended."""
    ids, ended = greedy_run(tok, model, src)
    if not ended:
        warn(_cut_warning(len(ids)))
    return ids


def greedy_output(tok: Tokenizer, model: Translator, src: list[int], warn: Callable[[str], None]) -> str:
    """The model's own translation of `src`, with a warning if it never ended."""
    return tok.decode(greedy_ids(tok, model, src, warn))


def translate(sentence: str, name: str = "translator", warn: Callable[[str], None] = _warn,
              allow_unknown: bool = False) -> str:
    if name != "translator":
        raise InputError(f"translate is what the translator does; {name} cannot (try: python -m model trace --model {name})")
    model, tok = load(name)
    return greedy_output(tok, model, encode_source(tok, model, sentence, warn, allow_unknown), warn)


def record(
    name: str = "translator",
    sentence: str | None = None,
    target: str | None = None,
    warn: Callable[[str], None] = _warn,
    *,
    mask_word: str | None = None,
    snapshot: int | None = None,
    allow_unknown: bool = False,
) -> Trace:
    """Run the model `name` on `sentence` (default: DEFAULT_SENTENCE) and record everything.

    The translator's decoder reads <bos> + `target`; without a target it reads the model's
    own greedy translation, so the trace shows what the model really does. `bert` and `gpt`
    (model/families.py) read the English only and ignore `target`, the translator's French;
    `mask_word` is for `bert`. A word the model does not know stops with an InputError naming it,
    unless `allow_unknown`: then it is read as <unk> (what a model does with a word it never saw is
    a lesson too), with a warning.

    `snapshot`: a step of the translator's training (model.train.snapshot_steps()) whose weights
    to use instead of the final ones; `meta["step"]` says which step the weights are from, and
    `meta["output"]` is always that model's own greedy answer, whatever `target` the decoder reads
    (an early snapshot's may be gibberish that never ends: it is cut, with a warning). A snapshot's trace also
    holds `meta["output_tokens"]` (the tokens its greedy decoding wrote, specials included, ending with <eos>
    unless it was cut) and the loss curve up to its step, `training.step` and `training.loss`
    (`model.history.TrainingHistory.curve_until`).
    """
    with one_thread():
        return _record(name, sentence, target, warn, mask_word, snapshot, allow_unknown)


def _record(name: str, sentence: str | None, target: str | None, warn: Callable[[str], None], mask_word: str | None,
            snapshot: int | None, allow_unknown: bool) -> Trace:
    if name in ("bert", "gpt"):
        if snapshot is not None:
            raise InputError(f"snapshots are the translator's; {name} ships its final weights only")
        from .families import record as record_family

        return record_family(name, sentence, mask_word=mask_word, warn=warn, allow_unknown=allow_unknown)
    model, tok = load(name) if snapshot is None else load_snapshot(snapshot)
    sentence = DEFAULT_SENTENCE if sentence is None else sentence
    src = encode_source(tok, model, sentence, warn, allow_unknown)
    src_t = torch.tensor([src])
    own, ended = greedy_run(tok, model, src)
    if not ended:
        warn(_cut_warning(len(own), snapshot))
    output = tok.decode(own)
    if target is None:
        if not own:
            if snapshot is None:
                raise InputError("the model produced an empty translation; give one with --target")
            warn(f"warning: the snapshot at step {snapshot} writes nothing for this sentence; its decoder reads <bos> alone")
        tgt_ids = own  # its own words, as ids: an early snapshot may write specials that text would lose
    else:
        enc = tok.encode(target, what="target", max_words=model.cfg.max_words, language="fr")
        tok.check_known(enc, "target", "fr", allow_unknown, warn)
        tgt_ids = enc.ids
    tgt_t = torch.tensor([[tok.bos_id] + tgt_ids])
    _, cache = model.run_with_cache(src_t, tgt_t)
    tokens = {"encoder": [tok.itos[i] for i in src], "decoder": [tok.itos[i] for i in tgt_t[0].tolist()]}
    trace = make_trace(name, model, cache, tokens, sentence, output)
    if snapshot is not None:  # what training had done by then: the translation it wrote, the loss curve so far
        from .history import read_history

        trace.meta["output_tokens"] = [tok.itos[i] for i in own] + ([tok.itos[tok.eos_id]] if ended else [])
        trace.arrays.update(read_history().curve_until(snapshot))
    return trace


def make_trace(name: str, model: HookedModel, cache: dict[str, torch.Tensor], tokens: dict[str, list[str]],
               sentence: str, output: str) -> Trace:
    """The Trace of one recorded forward pass (batch of one): meta, every parameter, every hook.
    `meta["step"]`: how many training updates the weights had (`model.step`, set when loaded)."""
    cfg = model.cfg
    meta = {
        "model": name,
        "config": {
            "d_model": cfg.d_model,
            "n_heads": cfg.n_heads,
            "d_head": cfg.d_head,
            "d_ff": cfg.d_ff,
            "n_layers": dict(cfg.n_layers),
            "d_vocab": cfg.d_vocab,
            "eps": cfg.eps,
        },
        "tokens": tokens,
        "sentence": sentence,
        "output": output,
        "step": getattr(model, "step", None),
    }
    arrays = {PARAM + k: v.detach().numpy().astype("float32") for k, v in model.state_dict().items()}
    for k, v in cache.items():
        v = v[0]  # drop the batch dimension
        arrays[k] = v.numpy().astype("int64" if k.endswith("hook_tokens") else v.numpy().dtype)
    return Trace(meta, arrays)
