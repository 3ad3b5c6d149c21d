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


def interrupt_when(args: list[str], seen) -> tuple[int, str, str]:
    """Run `python ARGS` in its own process group, read its output until `seen(line)`, then press Ctrl-C as a
    terminal does (SIGINT to the whole group, workers too): (exit code, everything it printed, its stderr)."""
    import os
    import signal

    p = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    lines = []
    try:
        for line in p.stdout:
            lines.append(line)
            if seen(line):
                break
        os.killpg(p.pid, signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    return p.returncode, "".join(lines) + stdout, stderr


@pytest.fixture(scope="session")
def traces_for():
    """`traces_for(sentence, slots, scene=None)` → {slot: trace}, each recording made once per session.

    With `scene` (a scene class), each slot is recorded as that scene declares (`recording`, as
    `reel` does); without, each slot is a model reading the sentence as given."""
    from reel.clip import record_slots
    from scenes.kit.base import ReelScene

    made: dict = {}

    def get(sentence, slots, scene=None):
        cls = scene or type("Plain", (ReelScene,), {"needs": tuple(slots)})
        traces = record_slots(cls, sentence, None, made=made, warn=lambda _: None)
        return {slot: traces[slot] for slot in slots}

    return get
