"""Checks shared by the scene and render tests: a values manifest against its traces, beat records."""

from __future__ import annotations

import re

import numpy as np

from scenes.kit.manifest import MINUS, parse_shown

NEG_INF_TEXTS = ("-inf", MINUS + "\u221e")

# Derived values (scenes/kit/derived.py), recomputed here independently: operation → (how many
# indices the record has, fewer than the tensor's dimensions; the value).
DERIVED = {
    "exp": (0, lambda a, i: np.exp(np.float64(a[i]))),
    "sum_exp": (1, lambda a, i: np.exp(a[i].astype(np.float64)).sum()),
    "sum": (1, lambda a, i: a[i].astype(np.float64).sum()),
    "spread": (1, lambda a, i: a[i].astype(np.float64).max() - a[i].astype(np.float64).min()),
    "mean_row_max": (2, lambda a, i: np.mean([row.max() for row in a[i].astype(np.float64)])),
}

# Measures in the space of a 2-D tensor's rows (cosine, distance, projection, variance kept), recomputed
# from the record's parameters with NumPy alone, and not as the kit computes them (a basis from the
# eigenvectors of the scatter matrix, not an SVD): operation → (how many indices the record has, fewer than
# the tensor's two; the value from (trace, tensor, index, record, the manifest's bases)).
def _float_row(arr: np.ndarray, index) -> np.ndarray:
    return np.asarray(arr[tuple(index)], dtype=np.float64)


def basis_axes(trace, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """(origin, axes [k, d]) of a manifest basis: the principal axes of scale × tensor[rows]."""
    assert spec["center"] is True and spec["sign"] == "largest component positive", spec
    points = float(spec["scale"]) * np.asarray(trace[spec["tensor"]], dtype=np.float64)[spec["rows"]]
    origin = points.mean(axis=0)
    centred = points - origin
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, np.argsort(eigenvalues)[::-1][: spec["k"]]].T
    return origin, np.array([a if a[np.abs(a).argmax()] > 0 else -a for a in axes])


def _cosine(trace, arr, index, v, bases):
    a, b = _float_row(arr, index), _float_row(arr, v["with"])
    return np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b))


def _distance(trace, arr, index, v, bases):
    other = trace[v["with_tensor"]] if "with_tensor" in v else arr
    return np.sqrt(np.sum((_float_row(arr, index) - _float_row(other, v["with"])) ** 2))


def _project(trace, arr, index, v, bases):
    origin, axes = basis_axes(trace, bases[v["basis"]])
    return np.dot(_float_row(arr, index) - origin, axes[v["axis"]])


def _variance_pct(trace, arr, index, v, bases):
    _, axes = basis_axes(trace, bases[v["basis"]])
    rows = np.asarray(arr, dtype=np.float64)[v["rows"] if "rows" in v else slice(None)]
    centred = rows - rows.mean(axis=0)
    return 100 * np.sum((centred @ axes.T) ** 2) / np.trace(centred.T @ centred)


MEASURES = {"cosine": (1, _cosine), "distance": (1, _distance), "project": (1, _project),
            "variance_pct": (2, _variance_pct)}


def shown_decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


# A value within this much (of its scale) of a rounding boundary may round either way on another CPU,
# or in another process whose float32 kernels summed in another order (see tests/test_oneway.py).
BOUNDARY = 1e-5


def shown_matches(text: str, value: float) -> bool:
    """CONTRACT: right when the text equals the tensor at the shown precision (−0.00 counts as 0.00).

    One exception, and only one: a value that lies within BOUNDARY of a rounding boundary (…x5 at the
    shown precision) may be shown with either neighbouring last digit."""
    d = shown_decimals(text)
    value = float(value)
    expected = round(value, d)
    if expected == 0:
        expected = 0.0  # -0.0 → 0.0
    shown = parse_shown(text)
    if shown == expected:
        return True
    half = 0.5 * 10.0**-d
    return abs(abs(value - shown) - half) <= BOUNDARY * max(1.0, abs(value))


def check_manifest(manifest: dict, traces: dict, min_values: int = 1) -> None:
    """Every entry points into a trace (by model name) and shows that tensor's value at the shown precision."""
    values = manifest["values"]
    assert len(values) >= min_values, f"only {len(values)} values on screen"
    single = len(manifest["traces"]) == 1
    wrong = []
    for v in values:
        model = v.get("trace") or (next(iter(manifest["traces"])) if single else None)
        assert model in manifest["traces"], v
        trace = traces[model]
        name, index, text = v["tensor"], tuple(v["index"]), v["shown"]
        assert name in trace, f"{name} is not in the {model} trace"
        arr = trace[name]
        op = v.get("derived")
        if op in MEASURES:  # a measure between rows, or along a basis the manifest defines
            fewer, measure = MEASURES[op]
            assert arr.ndim == 2 and len(index) == arr.ndim - fewer, (v, arr.shape)
            assert all(0 <= i < n for i, n in zip(index, arr.shape)), (v, arr.shape)
            if "basis" in v:
                spec = manifest.get("bases", {}).get(v["basis"])
                assert spec is not None and spec["trace"] == model, f"the basis is not defined for this trace: {v}"
            assert re.fullmatch(rf"{MINUS}?\d+(\.\d+)?", text), f"not a number as shown: {v}"
            value = measure(trace, arr, index, v, manifest.get("bases", {}))
            if not shown_matches(text, value):
                wrong.append(f"{op}({name}{list(index)}): shown {text}, computed {float(value)!r}")
            continue
        if op is not None:  # a value computed from the tensor: the record names its source and the operation
            assert op in DERIVED, f"unknown derived operation: {v}"
            fewer, compute = DERIVED[op]
            assert len(index) == arr.ndim - fewer, (v, arr.shape)
            assert all(0 <= i < n for i, n in zip(index, arr.shape)), (v, arr.shape)
            assert re.fullmatch(rf"{MINUS}?\d+(\.\d+)?", text), f"not a number as shown: {v}"
            if not shown_matches(text, compute(arr, index)):
                wrong.append(f"{op}({name}{list(index)}): shown {text}, computed {float(compute(arr, index))!r}")
            continue
        assert len(index) == arr.ndim, (v, arr.shape)
        assert all(0 <= i < n for i, n in zip(index, arr.shape)), (v, arr.shape)
        assert "-" not in text, f"shown numbers use U+2212 for minus, not '-': {v}"
        if text in NEG_INF_TEXTS:  # a blocked cell: it points into the unmasked scores, whose mask cell is True
            assert name.endswith(".hook_scores_scaled"), v
            assert bool(trace[name.replace("hook_scores_scaled", "hook_mask")][index[-2:]]), v
            continue
        assert re.fullmatch(rf"{MINUS}?\d+(\.\d+)?", text), f"not a number as shown: {v}"
        assert not re.fullmatch(rf"{MINUS}0(\.0+)?", text), f"a negative zero is shown as 0.00: {v}"
        if not shown_matches(text, arr[index]):
            wrong.append(f"{name}{list(index)}: shown {text}, tensor {float(arr[index])!r}")
    assert not wrong, f"{len(wrong)} of {len(values)} values do not match the trace:\n" + "\n".join(wrong[:20])


def check_beats(beats: dict, scene: str, duration: float) -> None:
    """CONTRACT: beats in order, not overlapping, covering the clip; one poster; captions inside the clip."""
    assert beats["scene"] == scene
    assert abs(beats["duration"] - duration) < 1e-2, (beats["duration"], duration)
    records = beats["beats"]
    assert records, "no beats"
    assert records[0]["start"] == 0.0, records[0]
    assert abs(records[-1]["end"] - duration) < 1e-2, (records[-1], duration)
    names = [b["name"] for b in records]
    assert len(set(names)) == len(names), f"beat names repeat: {names}"
    for a, b in zip(records, records[1:]):
        assert abs(a["end"] - b["start"]) < 1e-6, f"beats {a['name']} and {b['name']} leave a gap or overlap"
    for b in records:
        assert b["start"] < b["end"], b
        assert b["rest"] is None or b["start"] <= b["rest"] < b["end"], b
        for c in b["captions"]:
            assert c["text"].strip() and b["start"] <= c["start"] < c["end"] <= duration + 1e-6, (b["name"], c)
    posters = [b for b in records if b.get("poster")]
    assert len(posters) == 1, f"a scene marks exactly one poster beat, found {len(posters)}"
    assert posters[0]["rest"] is not None, "the poster beat has no pause to show"
