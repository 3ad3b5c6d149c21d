"""The scene catalogue: every `--scene` name in teaching order (../shared/ROADMAP.md).

A scene lives in `scenes/<name>.py` and declares its name, summary, traces and options
once, on its class (a `ReelScene` subclass whose `name` is the module's name). Names in
the catalogue whose module does not exist yet are simply not available; the lecture
skips them with a message. The toolkit every scene builds on is `scenes/kit/`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

CATALOGUE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the map", ("overview",)),
    ("encoder", ("tokens", "positional_encoding", "qkv", "attention_scores", "softmax", "weighted_values",
                 "multi_head", "add_norm", "feed_forward", "encoder_stack", "embedding_space")),
    ("decoder", ("decoder_input", "masked_attention", "cross_attention", "coreference", "output_softmax", "decoding")),
    ("how it learned", ("training",)),
    ("the families", ("bert_gpt",)),
)
TEACHING_ORDER: tuple[str, ...] = tuple(name for _, names in CATALOGUE for name in names)


def exists(name: str) -> bool:
    # the file itself, not find_spec: an editable install of another checkout in the same virtualenv
    # would otherwise answer with that checkout's scenes/NAME.py
    return name in TEACHING_ORDER and (Path(__file__).parent / f"{name}.py").is_file()


def available() -> list[str]:
    """The scenes that exist, in teaching order."""
    return [n for n in TEACHING_ORDER if exists(n)]


def scene_class(name: str):
    """The ReelScene subclass declared in scenes/<name>.py."""
    from scenes.kit.base import ReelScene

    module = importlib.import_module(f"scenes.{name}")
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, ReelScene) and obj is not ReelScene and obj.name == name:
            return obj
    raise LookupError(f"scenes/{name}.py declares no ReelScene named {name!r}")


def registry() -> dict:
    """name → scene class, for every scene that exists, in teaching order."""
    return {name: scene_class(name) for name in available()}
