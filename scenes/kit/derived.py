"""Derived values: numbers computed from traced tensors, for the few steps the trace does not record.

A softmax's exponentials and its row sum are not tensors of the model; the issue asks to
show them anyway ("exponentiate, sum, divide, with the real values at each step"). A
derived value is never typed and never free-floating: it is computed here from one
traced tensor by one operation of a closed list, and its manifest record names both:

    {"trace": "translator", "tensor": "encoder.blocks.1.self_attn.hook_scores_scaled",
     "index": [0, 2, 5], "shown": "2.83", "derived": "exp"}

`tensor` and `index` are the source, `derived` the operation (`OPS`); anyone holding the
trace recomputes the value and checks it at the shown precision. Prefer a traced tensor
wherever one exists: a derived value is for the in-between steps only.

- `exp`      e^tensor[index]                        (index: one element)
- `sum_exp`  Σ_k e^tensor[index + (k,)]             (index: one row; the sum runs over the whole last axis)
- `sum`      Σ_k tensor[index + (k,)]               (index: one row; e.g. a pattern row, which sums to 1)
- `spread`   max_k − min_k of tensor[index + (k,)]  (index: one row; how far apart its values lie)
- `mean_row_max`  mean over rows q of max_k tensor[index + (q, k)]  (index: one matrix, e.g. a head's attention
             pattern; how sharp it is: 1 when every row puts all its weight on one key, 1/keys when all are even)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .components import Values
from .manifest import Shown, format_value

ROW_OPS = ("sum_exp", "sum", "spread")
MATRIX_OPS = ("mean_row_max",)


def _exp(a: np.ndarray) -> np.ndarray:
    return np.exp(a.astype(np.float64))


OPS = {
    "exp": lambda tensor, index: float(_exp(tensor[tuple(index)])),
    "sum_exp": lambda tensor, index: float(_exp(tensor[tuple(index)]).sum()),
    "sum": lambda tensor, index: float(tensor[tuple(index)].astype(np.float64).sum()),
    "spread": lambda tensor, index: float(np.ptp(tensor[tuple(index)].astype(np.float64))),
    "mean_row_max": lambda tensor, index: float(tensor[tuple(index)].astype(np.float64).max(-1).mean()),
}


def recompute(tensor: np.ndarray, index, op: str) -> float:
    """The value a derived record stands for (raises KeyError for an unknown operation)."""
    return OPS[op](tensor, index)


@dataclass(frozen=True)
class DerivedValues(Values):
    """A view of values derived from a traced tensor by `op`; each entry's record names the source and `op`."""

    op: str = ""

    def index(self, r: int, c: int) -> tuple[int, ...]:
        if self.op in ROW_OPS:  # one value per row of the source: its index is the row's
            return self.prefix + (self.rows[r],)
        if self.op in MATRIX_OPS:  # one value for the whole matrix: its index is the prefix that picks it
            return self.prefix
        return super().index(r, c)

    def shown(self, r: int, c: int, decimals: int) -> Shown:
        return Shown(self.trace, self.tensor, self.index(r, c), format_value(float(self.data[r, c]), decimals),
                     derived=self.op)


def exp_of(values: Values) -> DerivedValues:
    """e^x of every entry of a view (a row of scores: the softmax's first step)."""
    fields = {k: getattr(values, k) for k in ("trace", "tensor", "prefix", "rows", "cols", "transposed", "vector")}
    return DerivedValues(data=_exp(values.data), op="exp", **fields)


def row_sums(values: Values, trace, op: str = "sum") -> DerivedValues:
    """One number per row of a view — Σ_k x, Σ_k e^x or max − min over the tensor's WHOLE row, columns
    the view folds or leaves out included — as a column (n × 1). `trace` is the trace `values` reads."""
    if op not in ROW_OPS:
        raise ValueError(f"unknown row operation {op!r}")
    if values.transposed or values.vector:
        raise ValueError("row sums need the rows of a matrix view, not a transposed view or a vector")
    full = trace[values.tensor]
    for i in values.prefix:
        full = full[i]
    rows = full[list(values.rows)]
    rows = rows.astype(np.float64)
    if op == "spread":
        data = np.ptp(rows, axis=1, keepdims=True)
    else:
        data = (_exp(rows) if op == "sum_exp" else rows).sum(1, keepdims=True)
    return DerivedValues(trace=values.trace, tensor=values.tensor, data=data, prefix=values.prefix,
                         rows=values.rows, cols=(0,), op=op)


def mean_row_max(values: Values, trace) -> DerivedValues:
    """How sharp a pattern is, as one number (1 × 1): the mean over its rows of each row's largest weight, over
    the tensor's WHOLE matrix (rows and columns the view folds included). `trace` is the trace `values` reads."""
    if values.transposed or values.vector:
        raise ValueError("mean_row_max needs a matrix view, not a transposed view or a vector")
    full = trace[values.tensor]
    for i in values.prefix:
        full = full[i]
    data = np.array([[OPS["mean_row_max"](full, ())]])
    return DerivedValues(trace=values.trace, tensor=values.tensor, data=data, prefix=values.prefix, rows=(0,),
                         cols=(0,), op="mean_row_max")
