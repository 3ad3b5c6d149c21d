import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The three sentences every scene is checked on: the default, the shortest, and one at the word limit.
SENTENCES = {
    "default": None,
    "two_words": "cats sleep",
    "limit": "the small black dog looks at the old red apple on the big table behind the house with the cat",
}


@pytest.fixture(scope="session")
def translator():
    from model.train import load

    return load("translator")


@pytest.fixture(scope="session")
def trace():
    from model.trace import record

    return record("translator")


@pytest.fixture(scope="session")
def bert_trace():
    from model.trace import record

    return record("bert")


@pytest.fixture(scope="session")
def gpt_trace():
    from model.trace import record

    return record("gpt")


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command-line entry point (`-m model …` or `render.py …`) as a user would (`env` adds variables)."""
    import os

    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **env} if env else None)


@pytest.fixture(scope="session")
def traces_for():
    """`traces_for(sentence, models, scene=None)` → {model: trace}, each recorded once per session.

    With `scene` (a scene class), each model's input is derived from the sentence as that scene
    declares (`model_input`, as render.py does); without, the sentence as given."""
    from model.trace import record
    from scenes.kit.base import ReelScene

    done: dict = {}

    def get(sentence, models, scene=None):
        how = scene or ReelScene
        for m in models:
            kwargs = how.model_input(m, sentence, None)
            key = (m, tuple(sorted(kwargs.items())))
            if key not in done:
                done[key] = record(m, **kwargs, warn=lambda _: None)
        return {m: done[m, tuple(sorted(how.model_input(m, sentence, None).items()))] for m in models}

    return get
