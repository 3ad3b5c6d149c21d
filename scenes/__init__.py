"""The scene catalogue: `--scene` names, in teaching order, each with a one-line summary.

Modules are imported only when a scene is rendered, so listing them stays fast.
"""

from __future__ import annotations

import importlib

# name → (module, class, summary)
SCENES: dict[str, tuple[str, str, str]] = {
    "cross_attention": (
        "scenes.cross_attention",
        "CrossAttention",
        "queries from the decoder, keys and values from the encoder: how the French looks at the English",
    ),
}


def scene_class(name: str):
    module, cls, _ = SCENES[name]
    return getattr(importlib.import_module(module), cls)
