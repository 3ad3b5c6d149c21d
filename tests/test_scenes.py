"""Every registered scene, for four sentences (conftest.SENTENCES): the frame check passes, every number shown is the
traced one, and the beat records are whole.

A scene is covered by being registered (a module in scenes/ named in the catalogue): the
parameters come from `scenes.available()`, not from a list kept here. Scenes run without
writing video (`check_scene`): the frame check reads the scene graph, not pixels.
"""

from __future__ import annotations

import pytest

from scenes import available, scene_class
from scenes.kit.beats import beats_dict
from scenes.kit.words import next_tokens

from .checks import check_beats, check_manifest
from .conftest import SENTENCES, reads_the_output, without_torch

SCENES = available()


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


def test_sentences_cover_the_limits(translator, traces_for):
    from model.tokenizer import normalize

    model, _ = translator
    limit = model.cfg.max_words
    assert len(normalize(SENTENCES["two_words"])) == 2
    assert len(normalize(SENTENCES["limit"])) == limit
    longest = traces_for(SENTENCES["limit"], ("translator",))["translator"]
    assert len(longest.tokens("decoder")) == 1 + limit  # <bos> and 20 French words
    cut = traces_for(SENTENCES["cut"], ("translator",))["translator"]
    assert len(cut.tokens("decoder")) == 1 + limit  # cut at the limit: 20 words, and it had not chosen <eos>
    assert next_tokens(cut)[-1] != "<eos>"  # its last row goes on with a word


def skip_a_cut_it_cannot_see(name: str, sentence: str, checked) -> None:
    """The "cut" sentence is there for its translation, cut at 20 words. A scene that read nothing of what the
    model wrote on the "limit" sentence (20 words in, 20 out: its decoder tensors, French words, output) shows
    the English side only, which "limit" already checks at 20 words: it is not run again on "cut"."""
    if sentence != "cut":
        return
    checked(name, SENTENCES["limit"])
    if not any(map(reads_the_output, checked.read[name, SENTENCES["limit"]].values())):
        pytest.skip(f"{name} shows nothing of the translation (checked on 'limit'): the cut one cannot change it")


@pytest.mark.parametrize("sentence", list(SENTENCES))
@pytest.mark.parametrize("name", SCENES)
def test_frame_check_passes(name, sentence, checked):
    skip_a_cut_it_cannot_see(name, sentence, checked)
    scene, problems = checked(name, SENTENCES[sentence])
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(map(str, problems[:30]))


@pytest.mark.parametrize("sentence", list(SENTENCES))
@pytest.mark.parametrize("name", SCENES)
def test_every_number_shown_is_traced(name, sentence, checked, traces_for):
    skip_a_cut_it_cannot_see(name, sentence, checked)
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


def picked_captions(scene, k: int) -> list[str]:
    """`k` of the scene's captions spread over it: the first, the last, and between."""
    captions = [c.text for b in scene.beats for c in b.captions]
    n = len(captions)
    return [captions[i] for i in sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(min(k, n))})]


def understood(narrator, captions: list[str]) -> tuple[float, int, list[dict]]:
    """(word error rate, words, cues) of the captions spoken by `narrator`, recognised cue by cue."""
    from reel.listen import Listener, cue_errors

    cues = [c for text in captions for c in cue_errors(narrator.speak(text), _listener(Listener))]
    words = sum(c["words"] for c in cues)
    return sum(c["errors"] for c in cues) / max(words, 1), words, cues


def heard(cues: list[dict]) -> str:
    return "\n".join(f"said:  {c['said']}\nheard: {c['heard']}" for c in cues if c["errors"])


@pytest.mark.parametrize("name", SCENES)
def test_narration_is_understood(name, checked):
    """A sample of the scene's captions, spoken by flite as a lecture speaks them (cut at the subtitle cues)
    and recognised by PocketSphinx, cue by cue, under flite's bar (tests/intelligibility.py). Flite speaks
    the same text the same way every time, so a scene whose spoken forms are garbled shows in its own rate."""
    import shutil

    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (make setup)")
    pytest.importorskip("pocketsphinx")
    from reel.narration import narrator_for

    from .intelligibility import WER_BAR

    scene, _ = checked(name, SENTENCES["default"])
    captions = picked_captions(scene, SPOKEN_SAMPLE)
    assert captions, f"{name} says nothing"
    wer, words, cues = understood(narrator_for("flite"), captions)
    assert words >= 20
    assert wer <= WER_BAR["flite"], f"{name}: WER {wer:.2f}\n{heard(cues)}"


@pytest.mark.parametrize("voice", ["piper"])  # flite: above, scene by scene; espeak: no bar (intelligibility.py)
def test_every_voice_is_understood(voice, checked):
    """Each other engine over the script: the middle caption of every third scene in teaching order (seven, from
    the first to the last chapter), spoken by it and recognised cue by cue, under its own bar
    (tests/intelligibility.py). A broken voice or model file fails it. Every third, not every one: this test
    runs in one process, which must run each scene it reads (the scenes' own tests run theirs in others), and
    the lecture's test (tests/test_lecture.py) holds Piper, its default voice, to the same bar at its cues."""
    pytest.importorskip("pocketsphinx")
    from model.errors import InputError
    from reel.narration import narrator_for

    from .intelligibility import WER_BAR

    try:
        narrator = narrator_for(voice)
    except InputError as e:
        pytest.skip(str(e))
    captions = []
    for name in SCENES[::3]:
        scene, _ = checked(name, SENTENCES["default"])
        captions += picked_captions(scene, SPOKEN_SAMPLE)[1:2]  # the middle one: its rate is measured for flite too
    wer, words, cues = understood(narrator, captions)
    assert words >= 80
    assert wer <= WER_BAR[voice], f"{voice}: WER {wer:.2f} over {words} words\n{heard(cues)}"


_LISTENER: list = []


def _listener(cls):
    """One recogniser for the module: loading PocketSphinx's model takes a second."""
    if not _LISTENER:
        _LISTENER.append(cls())
    return _LISTENER[0]
