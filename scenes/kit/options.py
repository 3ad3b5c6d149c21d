"""A scene's options, typed and checked against the trace by the scene that declares them.

A scene lists its options once (`options = (Layer("decoder"), Head("decoder.blocks.{layer}.cross_attn"))`);
`render.py` builds its command-line flags, their checks and their errors from these
declarations, with no per-scene code. An option resolves the user's value (or None)
to the value the scene uses, or raises `InputError` with one line that names the valid range.

A scene whose default is chosen by its own rule gives `Layer` or `Head` a `default`:
`default(traces, chosen)` → the value when the user gives none (`chosen` holds the options resolved
before it). `coreference` chooses the layer and head of the row of "it" so: the one that moves most
between a sentence and its twin (model/coref.py), not the sharpest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from model.errors import InputError

from .choose import sharpest_head


@dataclass(frozen=True)
class Option:
    name: str  # the flag is --name
    help: str
    model: str = "translator"  # whose trace it is checked against

    type = int

    def resolve(self, value: Any, traces: dict, chosen: dict, scene: str) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Layer(Option):
    """A layer of one stack, counted from 0 as in the tensor names; default the last (or `default`'s choice)."""

    name: str = "layer"
    help: str = "layer of the stack the scene shows, counted from 0 (default: the scene's choice; the last for most)"
    stack: str = "decoder"
    default: Callable[[dict, dict], int] | None = None  # (traces, chosen) → the layer when none is given

    def resolve(self, value, traces, chosen, scene):
        n = traces[self.model].config["n_layers"][self.stack]
        if value is None:
            return n - 1 if self.default is None else int(self.default(traces, chosen))
        if not 0 <= value < n:
            raise InputError(f"--layer must be between 0 and {n - 1}: {scene} shows the {self.stack}'s {n} layers")
        return int(value)


@dataclass(frozen=True)
class Head(Option):
    """An attention head, counted from 0; default the sharpest head of `attention` at the chosen layer
    (or `default`'s choice)."""

    name: str = "head"
    help: str = ("attention head, counted from 0 (default: the scene's choice, the sharpest for most; "
                 "coreference's, the one whose row of 'it' moves most with the adjective)")
    attention: str = "decoder.blocks.{layer}.cross_attn"
    default: Callable[[dict, dict], int] | None = None  # (traces, chosen) → the head when none is given

    def resolve(self, value, traces, chosen, scene):
        trace = traces[self.model]
        n = trace.config["n_heads"]
        if value is None:
            if self.default is not None:
                return int(self.default(traces, chosen))
            return sharpest_head(trace, self.attention.format(**chosen))
        if not 0 <= value < n:
            raise InputError(f"--head must be between 0 and {n - 1}: the model has {n} heads")
        return int(value)


def resolve_options(scene_cls, given: dict, traces: dict) -> dict:
    """The scene's option values, in declaration order (a later option may depend on an earlier one)."""
    chosen: dict = {}
    for opt in scene_cls.options:
        chosen[opt.name] = opt.resolve(given.get(opt.name), traces, chosen, scene_cls.name)
    return chosen
