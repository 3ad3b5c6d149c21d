"""A scene's options, typed and checked against the trace by the scene that declares them.

A scene lists its options once (`options = (Layer("decoder"), Head("decoder.blocks.{layer}.cross_attn"))`);
`render.py` builds its command-line flags, their checks and their errors from these
declarations, with no per-scene code. An option resolves the user's value (or None)
to the value the scene uses, or raises `InputError` with one line that names the valid range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    """A layer of one stack, counted from 0 as in the tensor names; default the last."""

    name: str = "layer"
    help: str = "layer of the stack the scene shows, counted from 0 (default: the last)"
    stack: str = "decoder"

    def resolve(self, value, traces, chosen, scene):
        n = traces[self.model].config["n_layers"][self.stack]
        if value is None:
            return n - 1
        if not 0 <= value < n:
            raise InputError(f"--layer must be between 0 and {n - 1}: {scene} shows the {self.stack}'s {n} layers")
        return int(value)


@dataclass(frozen=True)
class Head(Option):
    """An attention head, counted from 0; default the sharpest head of `attention` at the chosen layer."""

    name: str = "head"
    help: str = "attention head, counted from 0 (default: the sharpest)"
    attention: str = "decoder.blocks.{layer}.cross_attn"

    def resolve(self, value, traces, chosen, scene):
        trace = traces[self.model]
        n = trace.config["n_heads"]
        if value is None:
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
