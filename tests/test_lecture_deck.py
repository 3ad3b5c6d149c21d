"""`render.py --lecture --slides html|pptx`: one deck for the whole lecture, as a user runs it.

Two short scenes, narrated by flite, at the lowest quality and 5 frames a second. The HTML
deck is opened offline in headless Chromium; the PPTX is read back with python-pptx; each
slide's clip is read with PyAV. The PPTX is made second, into the same folder, from the
scenes' cached slides.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scenes import available

from .browser import Page, page_requests, screenshot
from .conftest import run_cli

SCENES = [n for n in ("tokens", "softmax") if n in available()]  # two short scenes, in teaching order
FAST = ["--quality", "low", "--fps", "5"]

pytestmark = [pytest.mark.render,
              pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make setup)")]


def lecture(out: Path, *args: str):
    return run_cli("render.py", "--lecture", "--scenes", ",".join(SCENES), "--out", str(out), "--voice", "flite", *FAST,
                   *args)


def assert_ok(r) -> None:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr and not r.stderr.strip(), r.stderr


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """The HTML deck, then the PPTX deck into the same folder (its scenes cached)."""
    out = tmp_path_factory.mktemp("lecture-deck")
    return lecture(out, "--slides", "html"), lecture(out, "--slides", "pptx"), out


def scene_beats(out: Path, name: str) -> list[dict]:
    return json.loads((out / "scenes" / f"{name}.beats.json").read_text(encoding="utf-8"))["beats"]


def narration(beat: dict) -> str:
    return " ".join(c["text"] for c in beat["captions"])


def expected_slides(out: Path) -> list[tuple[str, dict | None]]:
    """What the scenes' beats say the deck holds: a title, then per scene its section and one slide per beat."""
    slides: list[tuple[str, dict | None]] = [("title", None)]
    for name in SCENES:
        slides.append(("section", {"scene": name}))
        slides += [("beat", b) for b in scene_beats(out, name)]
    return slides


def sound(clip: bytes | Path) -> tuple[float, float, float]:
    """(seconds of video, seconds of sound, loudness in dBFS) of a clip."""
    import io

    import av

    with av.open(io.BytesIO(clip) if isinstance(clip, bytes) else str(clip)) as c:
        assert c.streams.audio, "the clip has no audio stream"
        rate = c.streams.audio[0].rate
        v = c.streams.video[0]
        frames = sum(1 for p in c.demux(v) if p.dts is not None)
        fps = float(v.average_rate)
        c.seek(0)
        samples = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(audio=0)])
    rms = float(np.sqrt(np.mean(samples.astype(float) ** 2)))
    return frames / fps, len(samples) / rate, 20 * np.log10(max(rms, 1e-9))


def check_voiced(clip, beat: dict) -> None:
    video, audio, loudness = sound(clip)
    assert abs(video - audio) < 0.5, (beat["name"], video, audio)  # the sound runs as long as its slide
    if narration(beat):
        assert loudness > -40, (beat["name"], loudness)  # it speaks


def sections(page: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select("div.slides > section")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------


def test_lecture_html_deck_is_a_title_then_each_scene_its_section_and_its_beats(decks):
    import re

    r, _, out = decks
    assert_ok(r)
    assert len(SCENES) == 2
    page = out / "lecture.html"
    assert page.is_file() and (out / "lecture_assets").is_dir()
    assert (out / "lecture.mp4").is_file()  # the lecture's video is made as well
    found, wanted = sections(page), expected_slides(out)
    assert len(found) == len(wanted), (len(found), len(wanted))
    assert f"({len(wanted)} slides)" in r.stdout
    for section, (kind, what) in zip(found, wanted):
        notes = section.select_one("aside.notes")
        shown = re.sub(r"\\(.)", r"\1", notes.get_text()) if notes else ""  # Markdown escapes undone
        if kind != "beat":  # stills: no clip, with or without sound, plays before the first click
            assert section.has_attr("data-background-image") and not section.has_attr("data-background-video")
            assert (out / section["data-background-image"]).is_file()
            assert shown, kind
            continue
        assert shown == narration(what), what["name"]
        check_voiced(out / section["data-background-video"], what)


def test_lecture_html_deck_opens_offline_and_speaks_after_one_click(decks, tmp_path):
    """Opened in Chromium with no network: the title is drawn; two presses (title → the first
    scene's section → its first beat) and its clip plays unmuted and shows the scene."""
    import time

    from PIL import Image

    r, _, out = decks
    assert_ok(r)
    url = (out / "lecture.html").resolve().as_uri()
    png, netlog = tmp_path / "title.png", tmp_path / "title.json"
    screenshot(url, png, netlog)
    assert page_requests(netlog) == []
    title = np.asarray(Image.open(png).convert("L")).astype(int)
    assert 0.002 < (title > 128).mean() < 0.4 and title.mean() < 80, "the title slide is blank or not the deck's"

    state = """(() => {
      const bg = Reveal.getCurrentSlide().slideBackgroundContentElement;
      const video = bg && bg.querySelector('video');
      return {slide: Reveal.getIndices().h, video: !!video, muted: video ? video.muted : null,
              time: video ? video.currentTime : null, playing: video ? !video.paused && video.currentTime > 0 : null};
    })()"""
    with Page(url, tmp_path / "click.json") as page:
        page.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")
        assert page.evaluate(state)["video"] is False
        page.press("ArrowRight", 39)
        assert page.wait_for(f"(s => s.slide === 1 && s)({state})")["video"] is False  # the section: a still
        page.press("ArrowRight", 39)
        now = page.wait_for(f"(s => s.playing && s)({state})")
        assert now["slide"] == 2 and now["muted"] is False, now
        time.sleep(3)  # the scene's first things drawn
        page.screenshot(tmp_path / "clip.png")
    assert page_requests(tmp_path / "click.json") == []
    clip = np.asarray(Image.open(tmp_path / "clip.png").convert("L")).astype(int)
    assert (clip > 128).mean() > 0.002, "the first clip shows nothing after three seconds"


# ---------------------------------------------------------------------------
# PPTX
# ---------------------------------------------------------------------------


def test_lecture_pptx_has_a_slide_per_beat_with_its_voiced_clip_and_notes(decks):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    from .test_slides import pptx_movies

    _, r, out = decks
    assert_ok(r)
    for name in SCENES:  # the scenes' slides came from the cache the HTML deck filled
        assert f"{name} cached" in r.stdout, r.stdout
    assert "lecture.pptx (" in r.stdout and "lecture.mp4" not in r.stdout, r.stdout  # the video was kept
    deck = Presentation(str(out / "lecture.pptx"))
    wanted = expected_slides(out)
    assert len(deck.slides) == len(wanted)
    for slide, (kind, what) in zip(deck.slides, wanted):
        assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text
        if kind != "beat":
            (picture,) = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
            assert (picture.left, picture.top, picture.width, picture.height) == (
                0, 0, deck.slide_width, deck.slide_height), kind
            continue
        assert slide.notes_slide.notes_text_frame.text == narration(what), what["name"]
        assert any(s.shape_type == MSO_SHAPE_TYPE.MEDIA for s in slide.shapes)
        (movie,) = pptx_movies(slide)
        check_voiced(movie, what)


def test_a_lecture_without_slides_uses_the_scenes_rendered_for_the_deck(decks):
    r, _, out = decks
    assert_ok(r)
    plain = lecture(out)
    assert_ok(plain)
    for name in SCENES:
        assert f"{name} cached" in plain.stdout, plain.stdout
    assert "lecture: nothing changed" in plain.stdout, plain.stdout  # its video was made with the decks


# ---------------------------------------------------------------------------
# nothing half-written, bad input
# ---------------------------------------------------------------------------


def test_a_deck_that_fails_midway_leaves_the_old_one_whole(decks, monkeypatch, capsys):
    """The deck is made in a work folder and renamed into place: a failure while converting
    leaves the previous deck as it was and no work folder."""
    from reel import lectures as lecture, slides
    from reel.clip import Settings
    from model.trace import record

    r, _, out = decks
    assert_ok(r)
    before = {p.relative_to(out): p.stat().st_mtime_ns for p in [out / "lecture.html", *(out / "lecture_assets").iterdir()]}

    def broken(configs, kind, dest, title):
        dest.write_text("<html><body>half")
        (dest.parent / "lecture_assets").mkdir()
        raise OSError("No space left on device")

    monkeypatch.setattr(slides, "convert", broken)
    with pytest.raises(OSError):
        lecture.make_lecture_deck("html", SCENES, SCENES, ["a", "b"], out / "scenes", out, record("translator"),
                                  Settings(quality="low", fps=5, slides="parts"))
    after = {p.relative_to(out): p.stat().st_mtime_ns for p in [out / "lecture.html", *(out / "lecture_assets").iterdir()]}
    assert after == before
    assert not [p for p in out.iterdir() if p.name.startswith(".lecture.render-")]


def test_a_lecture_takes_no_clip_format(tmp_path):
    for args in (["--format", "gif"], ["--transparent"]):
        r = lecture(tmp_path / "x", "--slides", "html", *args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "--format" in r.stderr
        assert not (tmp_path / "x").exists()
