"""The values manifest (CONTRACT's `NAME.values.json`): every number that appears on screen.

Components that draw a number attach a `Shown` to it; the base scene collects them as
mobjects enter the screen. No scene keeps this list by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from model.files import atomic_write

MINUS = "\u2212"  # typographic minus, as on screen
NEG_INF = MINUS + "\u221e"


def format_value(value: float, decimals: int = 2) -> str:
    """The exact text shown for `value`: fixed decimals, a real minus sign, no "−0.00"."""
    if math.isinf(value):
        return NEG_INF if value < 0 else "\u221e"
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def parse_shown(text: str) -> float:
    return float(text.replace(MINUS, "-").replace("\u221e", "inf"))


@dataclass(frozen=True)
class Shown:
    """One number on screen: where it came from, and the exact text."""

    trace: str
    tensor: str
    index: tuple[int, ...]
    shown: str
    derived: str | None = None  # None: tensor[index] itself; else an operation of `scenes.kit.derived` on it
    params: tuple[tuple[str, object], ...] = ()  # the operation's parameters, e.g. (("with", (3,)),): extra keys
    basis: object = field(default=None, compare=False, repr=False)  # a `derived.Basis` the operation names


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def record(v: Shown) -> dict:
    """One manifest entry; a derived value adds `"derived": OP` and the operation's parameters (its source
    is still `tensor`, `index`)."""
    out = {"trace": v.trace, "tensor": v.tensor, "index": list(v.index), "shown": v.shown}
    if v.derived is not None:
        out["derived"] = v.derived
        out.update({k: _plain(x) for k, x in v.params})
    return out


class ValuesManifest:
    def __init__(self, scene: str, traces: dict[str, str]):
        self.scene = scene
        self.traces = traces  # trace name → file name beside the manifest
        self._values: dict[Shown, None] = {}
        self.bases: dict[str, dict] = {}  # name → definition, for derived values measured along a basis

    def add(self, shown: Shown) -> None:
        if shown.basis is not None:  # the basis a projection names is defined once, beside the values
            spec = shown.basis.record()
            if self.bases.setdefault(shown.basis.name, spec) != spec:
                raise ValueError(f"two different bases are both named {shown.basis.name!r}")
        self._values[shown] = None

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def to_dict(self) -> dict:
        out = {
            "scene": self.scene,
            "traces": dict(self.traces),
            "values": [record(v) for v in self._values],
        }
        if self.bases:
            out["bases"] = dict(self.bases)
        return out

    def save(self, path: str | Path) -> None:
        with atomic_write(path, "w") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False, indent=1)
            f.write("\n")
