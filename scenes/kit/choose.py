"""Choosing what to show, and saying what the numbers show, from the numbers themselves.

Every choice here (which head, which cell) and every sentence (which word gets the
weight, whether a row is sharp) is computed from the trace, so it is true for the
user's sentence whatever it is.
"""

from __future__ import annotations

import numpy as np

SHARP = 0.5  # a row that puts more than half its weight on one key "reads" that key


def _allowed(pattern: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Rows that have a choice to make: more than one key not blocked."""
    if mask is None:
        return np.ones(pattern.shape[-2], dtype=bool)
    return (~mask).sum(-1) > 1


def row_sharpness(pattern: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean of each row's largest weight, over rows with a choice to make ([q, k] pattern)."""
    rows = _allowed(pattern, mask)
    if not rows.any():
        return float(pattern.max(-1).mean())
    return float(pattern[rows].max(-1).mean())


def sharpest_head(trace, attention: str) -> int:
    """The head of `attention` (e.g. "decoder.blocks.1.cross_attn") that attends most sharply: the one that teaches.

    Works for any attention: encoder self-attention, masked self-attention (the first
    rows, which can only see themselves, are left out), cross-attention.
    """
    pattern = trace[f"{attention}.hook_pattern"]
    mask_name = f"{attention}.hook_mask"
    mask = trace[mask_name] if mask_name in trace else None
    return int(np.argmax([row_sharpness(pattern[h], mask) for h in range(pattern.shape[0])]))


def example_cell(pattern: np.ndarray, rows: list[int], cols: list[int], avoid_diagonal: bool = True) -> tuple[int, int]:
    """A cell worth building by hand: a shown query row and the shown key it weights most.

    Prefers the clearest match among rows past the first whose best key is not on the
    diagonal and not the last key (often <eos>), since those teach the least.
    """
    cols_set = set(cols)
    best = [(t, int(pattern[t].argmax())) for t in rows if int(pattern[t].argmax()) in cols_set]
    if avoid_diagonal:
        teaching = [(t, s) for t, s in best if t > 0 and s != t and s < pattern.shape[1] - 1]
        if teaching:  # the clearest match among them
            return max(teaching, key=lambda ts: (pattern[ts], -ts[0]))
    if best:
        return best[0]
    return rows[0], min(cols)


def quote(word: str) -> str:
    return f"\u201c{word}\u201d"


def describe_row(weights: np.ndarray, query: str, keys: list[str]) -> str:
    """One sentence on one row of weights: where its weight goes, and how decisively.

    In words, not digits: the digits are on screen in the matrix, where the manifest records them.
    """
    order = np.argsort(-weights)
    top = int(order[0])
    if weights[top] > 0.9:
        return f"{quote(query)} puts almost all of its weight on {quote(keys[top])}."
    if weights[top] > SHARP:
        return f"{quote(query)} puts most of its weight on {quote(keys[top])}."
    second = int(order[1]) if len(order) > 1 else top
    return f"{quote(query)} spreads its weight; the most goes to {quote(keys[top])}, then {quote(keys[second])}."


def describe_pattern(pattern: np.ndarray, what_rows: str, what_keys: str, mask: np.ndarray | None = None) -> str:
    """One sentence on a whole pattern ([q, k]): how many rows read one key, true for these numbers."""
    rows = np.flatnonzero(_allowed(pattern, mask))
    if len(rows) == 0:
        return f"Each of the {pattern.shape[0]} {what_rows} can only read itself."
    sharp = int((pattern[rows].max(-1) > SHARP).sum())
    n = len(rows)
    if sharp == n:
        return f"All {n} {what_rows} put most of their weight on a single {what_keys}."
    verb, their = ("puts", "its") if sharp == 1 else ("put", "their")
    if sharp >= n / 2:
        return f"{sharp} of the {n} {what_rows} {verb} most of {their} weight on a single {what_keys}; the rest spread it."
    if sharp == 0:
        return f"No row puts more than half its weight on one {what_keys}: here the model spreads its attention."
    return f"Only {sharp} of the {n} {what_rows} {verb} most of {their} weight on one {what_keys}; the others spread it."


EARLY = 7  # rows and keys this early stay on screen however a long sentence folds


def early_cell(pattern: np.ndarray) -> tuple[int, int]:
    """The cell the encoder's attention scenes build by hand (qkv → attention_scores → softmax →
    weighted_values follow the same one): `example_cell` among the first rows and keys, which
    every fold keeps on screen."""
    early = list(range(min(pattern.shape[-2], pattern.shape[-1], EARLY)))
    return example_cell(pattern, early, early)


def named(words: list[str], i: int) -> str:
    """A position by its word, quoted; with its number where the word occurs more than once ("the", word 6)."""
    if words.count(words[i]) > 1:
        return f"{quote(words[i])} (word {i + 1})"
    return quote(words[i])


def moving_head(rows: np.ndarray, other_rows: np.ndarray) -> tuple[int, int]:
    """(layer, head) whose row moves most from one trace to another: the largest total variation,
    half the sum over the keys of |a − b|, ties to the earlier layer and head. `rows`, `other_rows`:
    [layers, heads, keys], one query's row in each layer and head of two traces whose keys line up (a
    sentence and its twin, which differ in one word). Like `model.coref.choose_head`, it reads the
    attention only: the head it picks is where the one word that differs makes a difference."""
    change = 0.5 * np.abs(np.asarray(rows, dtype=np.float64) - np.asarray(other_rows, dtype=np.float64)).sum(-1)
    layer, head = np.unravel_index(int(np.argmax(change)), change.shape)
    return int(layer), int(head)
