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
    """`traces_for(sentence, models)` → {model: trace}, each recorded once per session."""
    from model.trace import record

    done: dict = {}

    def get(sentence, models):
        for m in models:
            if (m, sentence) not in done:
                done[m, sentence] = record(m, sentence, warn=lambda _: None)
        return {m: done[m, sentence] for m in models}

    return get
