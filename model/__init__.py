"""The tiny Transformer behind transformer-reel: corpus, tokenizer, model, training and traces."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
VOCAB = ASSETS / "vocab.json"
SNAPSHOTS = ASSETS / "translator.snapshots.pt"  # the translator's weights at a few steps of its training
TRAINING = ASSETS / "translator.training.json"  # its loss at every step, and which steps the snapshots are (model/history.py)

MODELS = ("translator", "bert", "gpt")  # bert and gpt: model/families.py


def checkpoint_path(name: str) -> Path:
    return ASSETS / f"{name}.pt"


def vocabulary_path(name: str) -> Path:
    """The model's vocabulary, as JSON beside its checkpoint, for readers without PyTorch (the scenes):
    the translator's (both languages) is `assets/vocab.json`, bert's and gpt's `assets/<name>.vocab.json`."""
    return VOCAB if name == "translator" else ASSETS / f"{name}.vocab.json"
