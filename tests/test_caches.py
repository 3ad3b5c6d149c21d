"""A torn cache file never stops a render (issue 15).

A render killed while a file is written, or a full disk, leaves a truncated file in the cache
(`~/.cache/transformer-reel`): glyph outlines, speech, and the SVGs Manim writes for LaTeX.
Whatever is torn is made again; our own files are written whole or not at all (by rename).
"""

from __future__ import annotations

import re
import shutil

import pytest

from .conftest import run_cli

NEW_SENTENCE = "the red horses eat a big cake"  # words the default sentence does not have: new glyphs, new cues

SVG = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><path d="M0 0h1v1z"/></svg>\n'


def test_damaged_files_are_found_by_what_manim_would_read_back(tmp_path, monkeypatch):
    from scenes.kit import cache

    monkeypatch.setattr(cache, "CACHE", tmp_path)
    tex = tmp_path / "tex"
    tex.mkdir()
    (tex / "good.svg").write_text(SVG)
    (tex / "good.tex").write_text("\\documentclass{")  # torn, but never read again: its SVG is whole
    (tex / "torn.svg").write_text(SVG[:40])
    (tex / "torn.tex").write_text("\\documentclass{article}")
    (tex / "orphan.tex").write_text("\\docu")  # Manim would compile this torn .tex: no SVG yet
    (tex / "orphan.dvi").write_bytes(b"\xf7\x02")
    (tex / ".lock").write_text("")
    assert sorted(p.name for p in cache.damaged_files(tex)) == ["orphan.dvi", "orphan.tex", "torn.svg", "torn.tex"]
    assert cache.heal() == 4
    assert sorted(p.name for p in tex.iterdir()) == [".lock", "good.svg", "good.tex"]
    assert cache.heal() == 0


def test_a_manim_call_that_fails_on_a_torn_file_is_made_again(tmp_path, monkeypatch, capsys):
    from scenes.kit import cache

    monkeypatch.setattr(cache, "CACHE", tmp_path)
    monkeypatch.setattr(cache, "_told", False)
    (tmp_path / "tex").mkdir()
    torn = tmp_path / "tex" / "x.svg"
    torn.write_text(SVG[:40])
    calls = []

    def make():
        calls.append(torn.exists())
        if torn.exists():
            raise ValueError("unclosed token: line 2, column 0")
        return "made"

    assert cache.from_shared_files(make) == "made" and calls == [True, False]
    err = capsys.readouterr().err
    assert "removed 1 damaged file " in err and len(err.strip().splitlines()) == 1
    with pytest.raises(KeyError):  # a failure with nothing torn is the caller's own
        cache.from_shared_files(lambda: {}["x"])


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make setup)")
def test_torn_speech_is_spoken_again(tmp_path):
    from reel.narration import Flite, Narrator, whole_wav

    text = "Every query meets every key."
    first = Narrator(Flite(), cache=tmp_path).speak(text)
    assert whole_wav(first.path, first.duration)
    for cut in (40, first.path.stat().st_size // 2):
        whole = first.path.read_bytes()
        first.path.write_bytes(whole[:cut])
        assert not whole_wav(first.path, first.duration)
        again = Narrator(Flite(), cache=tmp_path)
        speech = again.speak(text)
        assert again.synthesised == 1 and speech.path.read_bytes() == whole
    meta = first.path.with_suffix(".json")
    meta.write_text(meta.read_text()[:40])
    again = Narrator(Flite(), cache=tmp_path)
    assert again.speak(text).duration == pytest.approx(first.duration) and again.synthesised == 1


@pytest.mark.render
@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make setup)")
def test_every_cache_file_torn_then_a_render_still_succeeds(tmp_path):
    """The acceptance: every file under the cache folder truncated to 40 bytes, then a still of a new
    sentence (new glyphs, formulas from the torn LaTeX cache) and the narrated beats (torn speech)."""
    from .test_render import check_manifest

    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    still = ["render.py", "--scene", "softmax", "--quality", "low", "--still"]  # formulas, text, numbers
    beats = ["render.py", "--scene", "softmax", "--beats", "--voice", "flite"]
    first = run_cli(*beats, env=env)
    assert first.returncode == 0, first.stderr
    assert run_cli(*still, "--out", str(tmp_path / "a"), env=env).returncode == 0
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.stat().st_size > 40]
    kinds = {p.parent.name for p in files}
    assert {"glyphs", "tex", "speech"} <= kinds, kinds
    for p in files:
        p.write_bytes(p.read_bytes()[:40])

    r = run_cli(*still, "--sentence", NEW_SENTENCE, "--out", str(tmp_path / "b"), env=env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("damaged file") == 1, r.stderr  # said once, in one line
    manifest, trace = check_manifest(tmp_path / "b", "softmax")
    assert trace.sentence == NEW_SENTENCE and (tmp_path / "b" / "softmax.png").stat().st_size > 10_000
    again = run_cli(*beats, env=env)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert again.stderr.count("damaged file") == 1, again.stderr  # the torn speech, said once
    times = re.compile(r"^  \S.*$", re.M)
    assert times.findall(again.stdout) == times.findall(first.stdout)  # the same speech, spoken again
