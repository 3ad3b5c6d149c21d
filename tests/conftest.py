import contextlib
import functools
import subprocess
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent



@functools.cache
def _longest_in_corpus() -> str:
    """The corpus's longest sentence with negation, coordination and two or three prepositional phrases:
    the most French words, then the most English ones (20 and 20 for today's corpus)."""
    from model.corpus import generate, constructions, n_words

    corpus = generate()
    needed = {"negation", "coordination", "two prepositional phrases"}
    pairs = [p for p in corpus.train + corpus.heldout if needed <= constructions(p[0])]
    return max(pairs, key=lambda p: (n_words(p[1]), n_words(p[0]), p))[0]


class _Sentences(Mapping):
    """The sentences every scene is checked on: the default, the shortest, the corpus's longest input and
    output, and one whose translation runs to the limit and is cut there (bare plurals add a French article
    each: the model has not ended after 20 words and is cut there; `test_sentences_cover_the_limits` checks
    it). The corpus's longest is looked up when first asked for: generating the corpus takes seconds, which
    pytest-xdist's controlling process, that only needs the names, need not spend."""

    NAMES = ("default", "two_words", "limit", "cut")
    GIVEN = {
        "default": None,
        "two_words": "cats sleep",
        "cut": "cats and dogs do not eat apples and carrots with pens in boxes on tables under beds behind walls",
    }

    def __getitem__(self, name: str) -> str | None:
        return _longest_in_corpus() if name == "limit" else self.GIVEN[name]

    def __iter__(self):
        return iter(self.NAMES)

    def __len__(self) -> int:
        return len(self.NAMES)


SENTENCES = _Sentences()


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


def run_main(main, *args: str) -> subprocess.CompletedProcess:
    """Call an entry point's `main(argv)` in this process, as `python -m model …` or `render.py …` would run it:
    exit code, stdout and stderr as `run_cli` returns them. For the many cases of one command line, where a new
    interpreter's start (importing torch, Manim) costs more than the case; each entry point keeps tests that
    run it as its own process (`run_cli`)."""
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's usage errors and --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def render_py(*args: str) -> subprocess.CompletedProcess:
    """`render.py ARGS` in this process (`run_main`): for command lines that stop before anything renders."""
    from render import main

    return run_main(main, *args)


def model_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m model ARGS` in this process (`run_main`)."""
    from model.cli import main

    return run_main(main, *args)


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
        else:  # torch was not loaded before: the next import must load it, not find the stand-in
            sys.modules.pop("torch", None)


def _reading(trace):
    """A copy of `trace` that notes in `.read` what a scene reads of it: tensor names, "tokens:STACK", "output",
    and "meta:KEY" for a key of its record read directly."""
    from model.tracefile import Trace

    read: set[str] = set()

    class Meta(dict):
        def __getitem__(self, key):
            read.add(f"meta:{key}")
            return super().__getitem__(key)

    class Read(Trace):
        @property
        def output(self) -> str:
            read.add("output")
            return trace.output

        def tokens(self, stack: str) -> list[str]:
            read.add(f"tokens:{stack}")
            return trace.tokens(stack)

        def __getitem__(self, name: str):
            read.add(name)
            return trace[name]

    copy = Read(Meta(trace.meta), trace.arrays)
    copy.read = read
    return copy


# what a trace's record holds besides the words and what the model wrote: reading these shows the source side only
_SOURCE_META = {"meta:model", "meta:config", "meta:sentence", "meta:step"}


def reads_the_output(read: set[str]) -> bool:
    """Whether a scene that read `read` of a trace (`_reading`) read anything of what the model wrote: the
    decoder's tensors or words, the output layer, the translation, or any other key of the record itself."""
    return any("decoder" in name or "unembed" in name or name == "output"
               or (name.startswith("meta:") and name not in _SOURCE_META) for name in read)


@pytest.fixture(scope="session")
def checked(traces_for):
    """`checked(name, sentence=None, **options)` → (scene, frame-check problems): a scene run without video
    under the frame check, once per session whichever test module asks (the scene tests share them).
    Torch is unusable while the scene runs. `checked.read[name, sentence]` is what that run read of each
    trace (`_reading`), by slot."""
    from scenes import scene_class
    from scenes.kit.framecheck import check_scene

    done: dict = {}

    def get(name: str, sentence: str | None = None, **options):
        key = (name, sentence, tuple(sorted(options.items())))
        if key not in done:
            cls = scene_class(name)
            traces = {slot: _reading(t) for slot, t in traces_for(sentence, cls.needs, cls).items()}
            with without_torch():
                done[key] = check_scene(cls, traces, options=options)
            if not options:
                get.read[name, sentence] = {slot: set(t.read) for slot, t in traces.items()}
        return done[key]

    get.read = {}
    return get


# ----------------------------------------------------------------------------- running in parallel
# `make test` runs the suite on every core (pytest-xdist, `--dist loadgroup`). A test that shares an expensive
# fixture must run in the process that made it: the frame-checked scenes (`checked`) are shared by scene, so
# every test of one scene — its frame checks and manifests in tests/test_scenes.py and the scene's own tests
# elsewhere, found by the scene's name in the test's name or module — goes to one process; a test that uses a
# module-scoped fixture of its module (a render shared by the module's tests) goes with its module.
def _scene_of(item) -> str | None:
    from scenes import TEACHING_ORDER

    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("name") in TEACHING_ORDER:
        return params["name"]
    text = f"{item.module.__name__} {getattr(item, 'originalname', item.name)}"
    found = [name for name in TEACHING_ORDER if name in text]
    return max(found, key=len) if found else None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (it appends them to the test ids)
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        defs = fixtures.name2fixturedefs if fixtures is not None else {}
        if "checked" in item.fixturenames:
            group = f"scene:{_scene_of(item) or item.module.__name__}"
        elif any(d[-1].scope == "module" and d[-1].baseid and item.nodeid.startswith(d[-1].baseid)
                 for name, d in defs.items() if d):
            group = f"module:{item.module.__name__}"
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
