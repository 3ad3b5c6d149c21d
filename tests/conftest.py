import contextlib
import subprocess
import sys
import types
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


class _NoTorch(types.ModuleType):
    """Stands in for torch while a scene runs: any use of it fails. Libraries that only ask whether an
    array is a torch tensor (SciPy's array API helpers look up `torch.Tensor`) get a class nothing is."""

    Tensor = type("Tensor", (), {})

    def __getattr__(self, name: str):
        raise AttributeError(f"torch.{name}: a scene never loads a model (it reads traces)")


@contextlib.contextmanager
def without_torch():
    """While a scene runs, torch is unusable, and importing a module of ours that needs it fails (though this
    process has them loaded): a scene reads traces and never loads a model, not even lazily."""
    ours = {name: mod for name, mod in list(sys.modules.items())
            if name.split(".")[0] in ("model", "scenes", "reel") and getattr(mod, "torch", None) is not None}
    real = sys.modules.get("torch")
    sys.modules.update(dict.fromkeys(ours))  # None: ImportError on import
    sys.modules["torch"] = _NoTorch("torch")
    try:
        yield
    finally:
        sys.modules.update(ours)
        if real is not None:
            sys.modules["torch"] = real
        else:  # not loaded before: the next import loads the real one
            sys.modules.pop("torch", None)


@pytest.fixture(scope="session")
def checked(traces_for):
    """`checked(name, sentence=None, **options)` → (scene, frame-check problems): a scene run without video
    under the frame check, once per session whichever test module asks (the scene tests share them).
    Torch is unusable while the scene runs."""
    from scenes import scene_class
    from scenes.kit.framecheck import check_scene

    done: dict = {}

    def get(name: str, sentence: str | None = None, **options):
        key = (name, sentence, tuple(sorted(options.items())))
        if key not in done:
            cls = scene_class(name)
            traces = traces_for(sentence, cls.needs, cls)
            with without_torch():
                done[key] = check_scene(cls, traces, options=options)
        return done[key]

    return get
