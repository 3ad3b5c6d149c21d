"""Every registered scene, for three sentences: the frame check passes, every number shown is the
traced one, and the beat records are whole.

A scene is covered by being registered (a module in scenes/ named in the catalogue): the
parameters come from `scenes.available()`, not from a list kept here. Scenes run without
writing video (`check_scene`): the frame check reads the scene graph, not pixels.
"""

from __future__ import annotations

import contextlib
import sys
import types

import pytest

from scenes import available, scene_class
from scenes.kit.beats import beats_dict
from scenes.kit.framecheck import check_scene

from .checks import check_beats, check_manifest
from .conftest import SENTENCES

SCENES = available()


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
        else:  # torch was not loaded yet: the stand-in must not outlive the block (a later import loads the real one)
            del sys.modules["torch"]


@pytest.fixture(scope="module")
def checked(traces_for):
    """(scene, problems) of one run of `name` on `sentence`, run once per module, with torch unavailable."""
    done: dict = {}

    def get(name: str, sentence: str):
        if (name, sentence) not in done:
            cls = scene_class(name)
            traces = traces_for(sentence, cls.needs, cls)
            with without_torch():
                done[name, sentence] = check_scene(cls, traces)
        return done[name, sentence]

    return get


def test_without_torch_hides_it_and_every_module_that_needs_it():
    import model.trace  # noqa: F401  (loaded, and it needs torch)

    with without_torch():
        import torch

        with pytest.raises(AttributeError):
            torch.load("assets/translator.pt")
        with pytest.raises(ImportError):
            from model.trace import record  # noqa: F401
        with pytest.raises(ImportError):
            from model.families import load  # noqa: F401
        from model.tracefile import Trace  # noqa: F401  (NumPy only: still there)
    import torch  # noqa: F811

    assert torch.zeros(1).shape == (1,)


@pytest.mark.parametrize("name", SCENES)
def test_a_scene_declares_its_traces_without_torch(name):
    """How a scene's traces are recorded is the scene's to say (`recording`), without loading a model."""
    cls = scene_class(name)
    with without_torch():
        for sentence in SENTENCES.values():
            for slot in cls.needs:
                how = cls.recording(slot, sentence, None)
                assert how["name"] in ("translator", "bert", "gpt"), how


def test_the_catalogue_has_scenes_and_each_declares_itself():
    assert "cross_attention" in SCENES
    for name in SCENES:
        cls = scene_class(name)
        assert cls.name == name and cls.summary and cls.needs
        assert len({o.name for o in cls.options}) == len(cls.options)


def test_sentences_cover_the_limits(translator):
    from model.tokenizer import normalize

    model, _ = translator
    assert len(normalize(SENTENCES["two_words"])) == 2
    assert len(normalize(SENTENCES["limit"])) == model.cfg.max_words


@pytest.mark.parametrize("sentence", list(SENTENCES))
@pytest.mark.parametrize("name", SCENES)
def test_frame_check_passes(name, sentence, checked):
    scene, problems = checked(name, SENTENCES[sentence])
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(map(str, problems[:30]))


@pytest.mark.parametrize("sentence", list(SENTENCES))
@pytest.mark.parametrize("name", SCENES)
def test_every_number_shown_is_traced(name, sentence, checked, traces_for):
    scene, _ = checked(name, SENTENCES[sentence])
    manifest = scene.manifest.to_dict()
    assert manifest["scene"] == name
    assert manifest["traces"] == {m: scene_class(name).trace_file(m) for m in scene.needs}
    check_manifest(manifest, scene.traces, min_values=5)


@pytest.mark.parametrize("name", SCENES)
def test_beat_records_cover_the_scene(name, checked):
    scene, _ = checked(name, SENTENCES["default"])
    check_beats(beats_dict(name, scene.beats, scene.renderer.time), name, scene.renderer.time)


# ----------------------------------------------------------------------------- narration
SPOKEN_SAMPLE = 3  # captions per scene, spread over it; `bench/narration_wer.py` listens to them all


@pytest.mark.parametrize("name", SCENES)
def test_narration_is_understood(name, checked):
    """A sample of the scene's captions, spoken by the default voice as a lecture speaks them (cut at
    the subtitle cues) and recognised by PocketSphinx, cue by cue: word error rate ≤ 0.35."""
    import shutil

    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (make setup)")
    pytest.importorskip("pocketsphinx")
    from reel.listen import Listener, cue_errors
    from reel.narration import narrator_for

    scene, _ = checked(name, SENTENCES["default"])
    captions = [c.text for b in scene.beats for c in b.captions]
    assert captions, f"{name} says nothing"
    n = len(captions)
    picked = sorted({round(i * (n - 1) / max(SPOKEN_SAMPLE - 1, 1)) for i in range(min(SPOKEN_SAMPLE, n))})
    narrator, listener = narrator_for("flite"), _listener(Listener)
    cues = [c for i in picked for c in cue_errors(narrator.speak(captions[i]), listener)]
    words = sum(c["words"] for c in cues)
    wer = sum(c["errors"] for c in cues) / words
    assert words >= 20
    assert wer <= 0.35, f"{name}: WER {wer:.2f}\n" + "\n".join(
        f"said:  {c['said']}\nheard: {c['heard']}" for c in cues if c["errors"])


_LISTENER: list = []


def _listener(cls):
    """One recogniser for the module: loading PocketSphinx's model takes a second."""
    if not _LISTENER:
        _LISTENER.append(cls())
    return _LISTENER[0]
