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

Measures in the space of a 2-D tensor's rows (words as vectors: `embedding_space`), each in float64 over
all d_model dimensions, the parameters as extra keys of the record:

- `cosine`        cos(tensor[i], tensor[j])                 index [i], "with": [j]
- `distance`      ‖tensor[i] − other[j]‖                     index [i], "with": [j], "with_tensor": other
                                                             (optional; by default the same tensor)
- `project`       (tensor[i] − origin) · axis_a of a basis   index [i], "basis": name, "axis": a
- `variance_pct`  100 × the share of the rows' variance       index [], "basis": name, "rows": [...]
                  (about their own mean) lying in the span    (optional; by default every row)
                  of the basis's axes

A basis is defined once, in the manifest's `"bases"` (a record names it by `"basis"`):

    "bases": {"pca-en": {"trace": "translator", "tensor": "param.encoder.W_E", "rows": [7, 12, …],
                         "scale": 4.0, "center": true, "k": 2, "sign": "largest component positive"}}

its points are `scale × tensor[rows]`; its origin their mean (`center`); its axes their first `k`
principal directions (the right singular vectors of the centred points, by decreasing variance), each
turned so that its largest-magnitude component is positive: anyone recomputes the same axes.
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


# ---------------------------------------------------------------------------
# Words as vectors: a basis to draw them on, and measures in all dimensions
# ---------------------------------------------------------------------------

SIGN = "largest component positive"


@dataclass(frozen=True, eq=False)
class Basis:
    """`k` principal axes of the points `scale × tensor[rows]` of one trace, and their mean (the origin).

    `share[a]` is the fraction of the points' variance along axis a. `project(vectors)` gives the
    coordinates of any vectors of the same space: (v − origin) · axis."""

    name: str
    trace: str  # the slot the tensor is read from
    tensor: str
    rows: tuple[int, ...]
    scale: float
    origin: np.ndarray
    axes: np.ndarray  # [k, d]
    share: np.ndarray  # [k]

    def project(self, vectors: np.ndarray) -> np.ndarray:
        return (np.asarray(vectors, dtype=np.float64) - self.origin) @ self.axes.T

    def record(self) -> dict:
        return {"trace": self.trace, "tensor": self.tensor, "rows": list(self.rows), "scale": self.scale,
                "center": True, "k": len(self.axes), "sign": SIGN}


def fit_basis(name: str, slot: str, trace, tensor: str, rows, scale: float = 1.0, k: int = 2) -> Basis:
    """The first `k` principal axes of `scale × trace[tensor][rows]`, signs fixed (see the module's docstring)."""
    rows = tuple(int(r) for r in rows)
    points = scale * trace[tensor][list(rows)].astype(np.float64)
    origin = points.mean(0)
    _, s, vt = np.linalg.svd(points - origin, full_matrices=False)
    axes = vt[:k].copy()
    for axis in axes:
        if axis[np.argmax(np.abs(axis))] < 0:
            axis *= -1
    variance = s**2
    return Basis(name, slot, tensor, rows, float(scale), origin, axes, variance[:k] / variance.sum())


def _measure(slot: str, tensor: str, index, value: float, op: str, decimals: int, along: Basis | None = None,
             **params) -> Shown:
    """A derived value as shown text with its record; `params` become the record's extra keys (None: left out)."""
    return Shown(slot, tensor, tuple(index), format_value(value, decimals), derived=op,
                 params=tuple((k, v) for k, v in params.items() if v is not None), basis=along)


def _row(trace, tensor: str, i: int) -> np.ndarray:
    return trace[tensor][i].astype(np.float64)


def cosine_value(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def cosine(slot: str, trace, tensor: str, i: int, j: int, decimals: int = 2) -> Shown:
    """cos(tensor[i], tensor[j]) in all dimensions, as shown text with its record."""
    value = cosine_value(_row(trace, tensor, i), _row(trace, tensor, j))
    return _measure(slot, tensor, (i,), value, "cosine", decimals, **{"with": (j,)})


def distance(slot: str, trace, tensor: str, i: int, j: int, other: str | None = None, decimals: int = 2) -> Shown:
    """‖tensor[i] − other[j]‖ in all dimensions (`other`: another tensor of the same trace, default the same)."""
    value = float(np.linalg.norm(_row(trace, tensor, i) - _row(trace, other or tensor, j)))
    return _measure(slot, tensor, (i,), value, "distance", decimals,
                    **{"with": (j,), "with_tensor": other if other != tensor else None})


def projection(basis: Basis, trace, tensor: str, i: int, axis: int, decimals: int = 2) -> Shown:
    """The coordinate of tensor[i] along one of `basis`'s axes."""
    value = float(basis.project(_row(trace, tensor, i))[axis])
    return _measure(basis.trace, tensor, (i,), value, "project", decimals, basis, basis=basis.name, axis=axis)


def kept_share(basis: Basis, trace, tensor: str, rows=None, decimals: int = 0) -> Shown:
    """How much of the variance of `tensor`'s rows (all, or `rows`) the basis's axes keep, in percent."""
    points = trace[tensor].astype(np.float64)
    if rows is not None:
        rows = tuple(int(r) for r in rows)
        points = points[list(rows)]
    centred = points - points.mean(0)
    value = 100 * float(((centred @ basis.axes.T) ** 2).sum() / (centred**2).sum())
    return _measure(basis.trace, tensor, (), value, "variance_pct", decimals, basis, basis=basis.name, rows=rows)


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
