"""The tiny Transformer behind transformer-reel: corpus, tokenizer, model, training and traces."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
VOCAB = ASSETS / "vocab.json"

MODELS = ("translator", "bert", "gpt")  # bert and gpt: model/families.py


def checkpoint_path(name: str) -> Path:
    return ASSETS / f"{name}.pt"
