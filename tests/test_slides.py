"""`--slides html|pptx` as a user runs it, and read back as a user's tools would: the HTML deck
opened offline in headless Chromium, the PPTX with python-pptx; and the narration put into
each slide's clip (a scene with a sound in every beat).

Each deck is rendered once per module at the lowest quality and 5 frames a second.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from .browser import page_requests, screenshot
from .conftest import run_cli

SCENE = "softmax"  # any registered scene (a short one): nothing in reel/slides.py is scene-specific
FPS = 5


def render(out: Path, *args: str):
    return run_cli("render.py", "--scene", SCENE, "--quality", "low", "--fps", str(FPS), "--out", str(out), *args)


def assert_ok(r) -> None:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr


def beats(out: Path) -> list[dict]:
    return json.loads((out / f"{SCENE}.beats.json").read_text(encoding="utf-8"))["beats"]


def narration(beat: dict) -> str:
    return " ".join(c["text"] for c in beat["captions"])


def video_frames(data: bytes | Path) -> int:
    import av

    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.fixture(scope="module")
def html_deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    return render(out, "--slides", "html"), out


@pytest.fixture(scope="module")
def pptx_deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("pptx")
    return render(out, "--slides", "pptx"), out


def sections(page: Path):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return soup, soup.select("div.slides > section")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------


@pytest.mark.render
def test_html_deck_is_a_title_then_one_slide_per_beat_with_its_narration(html_deck):
    r, out = html_deck
    assert_ok(r)
    page = out / f"{SCENE}.html"
    assert page.is_file() and (out / f"{SCENE}_assets").is_dir()
    _, found = sections(page)
    records = beats(out)
    assert len(found) == len(records) + 1, (len(found), len(records))
    title, slides = found[0], found[1:]
    # the title is a still picture: no video with sound plays before the first click
    assert title.has_attr("data-background-image") and not title.has_attr("data-background-video")
    for section, beat in zip(slides, records):
        clip = out / section["data-background-video"]
        assert clip.is_file(), clip
        assert video_frames(clip) >= 1
        notes = section.select_one("aside.notes")
        shown = re.sub(r"\\(.)", r"\1", notes.get_text()) if notes else ""  # Markdown escapes undone
        assert shown == narration(beat), beat["name"]
    # the slides' clips add up to the scene
    total = sum(video_frames(out / s["data-background-video"]) for s in slides)
    duration = json.loads((out / f"{SCENE}.beats.json").read_text(encoding="utf-8"))["duration"]
    assert abs(total / FPS - duration) <= 0.05 * duration, (total, duration)


@pytest.mark.render
def test_html_deck_refers_only_to_files_beside_it(html_deck):
    r, out = html_deck
    assert_ok(r)
    soup, _ = sections(out / f"{SCENE}.html")
    refs = [t.get("href") or t.get("src") for t in soup.find_all(["link", "script"]) if t.get("href") or t.get("src")]
    refs += [s.get("data-background-video") or s.get("data-background-image") for s in soup.find_all("section")]
    assert refs and any(ref.endswith("reveal.js") for ref in refs)
    for ref in refs:
        assert "://" not in ref and not ref.startswith("/"), ref
        assert (out / ref).is_file(), ref


@pytest.mark.render
def test_html_deck_opens_offline_in_chromium(html_deck, tmp_path):
    from PIL import Image

    from scenes.kit import palette

    r, out = html_deck
    assert_ok(r)
    page = (out / f"{SCENE}.html").resolve()
    poster = next(i for i, b in enumerate(beats(out)) if b.get("poster")) + 1  # +1: the title slide
    for name, url in (("title", page.as_uri()), ("poster", f"{page.as_uri()}#/{poster}")):
        png, netlog = tmp_path / f"{name}.png", tmp_path / f"{name}.net.json"
        screenshot(url, png, netlog)
        assert page_requests(netlog) == [], f"{name}: the deck asked the network for something"
        pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
        background = np.array([int(palette.BACKGROUND.to_hex()[i:i + 2], 16) for i in (1, 3, 5)])
        near_background = (np.abs(pixels - background).sum(axis=2) < 24).mean()
        bright = (pixels.mean(axis=2) > 128).mean()
        # reveal.js ran (without it a background is never drawn: the page would be white) and
        # the slide shows something: text and numbers, light on the scene's dark background
        assert near_background > 0.5, f"{name}: not the deck's background ({near_background:.2f})"
        if name == "title":  # a clip opened straight shows its first frame, which may be the cleared stage
            assert 0.002 < bright < 0.4, f"{name}: nothing drawn ({bright:.4f} bright)"
        else:
            assert bright < 0.4, f"{name}: not the scene's dark picture ({bright:.4f} bright)"


VIDEO_STATE = """(() => {
  const background = Reveal.getCurrentSlide().slideBackgroundContentElement;
  const video = background && background.querySelector('video');
  return {slide: Reveal.getIndices().h, video: !!video, muted: video ? video.muted : null,
          playing: video ? !video.paused && video.currentTime > 0 : null};
})()"""


@pytest.mark.render
def test_after_one_click_on_the_title_the_first_clip_plays_with_sound(html_deck, tmp_path):
    """Browsers mute a video that plays before any click. The title slide takes that click: the
    first clip then plays unmuted. The control: opened straight at that slide, it is muted."""
    import time

    from .browser import Page

    r, out = html_deck
    assert_ok(r)
    url = (out / f"{SCENE}.html").resolve().as_uri()
    with Page(url, tmp_path / "click.json") as page:
        page.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")
        assert page.evaluate(VIDEO_STATE)["video"] is False, "the deck must open on a still title"
        page.press("ArrowRight", 39)
        state = page.wait_for(f"(s => s.playing && s)({VIDEO_STATE})")
        assert state["slide"] == 1 and state["muted"] is False, state
    assert page_requests(tmp_path / "click.json") == []
    with Page(url + "#/1", tmp_path / "direct.json") as page:
        page.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")
        state = page.wait_for(f"(s => s.playing && s)({VIDEO_STATE})")
        time.sleep(0.5)
        assert page.evaluate(VIDEO_STATE)["muted"] is True, "the browser let a clip play with sound unasked"


def test_the_network_check_catches_a_page_that_reaches_out(tmp_path):
    """The control for the test above: a page loading reveal.js from a CDN is caught."""
    page = tmp_path / "cdn.html"
    page.write_text('<!doctype html><link rel="stylesheet" href="https://cdn.invalid/reveal.css">'
                    '<p>hello</p><script src="http://cdn.invalid/reveal.js"></script>', encoding="utf-8")
    png, netlog = tmp_path / "cdn.png", tmp_path / "cdn.json"
    screenshot(page.as_uri(), png, netlog, budget_ms=1000)
    assert sorted(page_requests(netlog)) == ["http://cdn.invalid/reveal.js", "https://cdn.invalid/reveal.css"]


# ---------------------------------------------------------------------------
# PPTX
# ---------------------------------------------------------------------------


def pptx_movies(slide) -> list[bytes]:
    """The clips embedded in a slide (PowerPoint links each twice: as video and as media)."""
    parts = {rel.target_part.partname: rel.target_part.blob for rel in slide.part.rels.values()
             if rel.reltype.endswith(("/video", "/media")) and not rel.is_external}
    return list(parts.values())


@pytest.mark.render
def test_pptx_has_one_slide_per_beat_with_its_clip_and_notes(pptx_deck):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    r, out = pptx_deck
    assert_ok(r)
    deck = Presentation(str(out / f"{SCENE}.pptx"))
    records = beats(out)
    assert len(deck.slides) == len(records)
    assert (deck.slide_width, deck.slide_height) == (854 * 9525, 480 * 9525)
    for slide, beat in zip(deck.slides, records):
        assert any(s.shape_type == MSO_SHAPE_TYPE.MEDIA for s in slide.shapes), beat["name"]
        movies = pptx_movies(slide)
        assert movies and all(video_frames(m) >= 1 for m in movies), beat["name"]
        assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text == narration(beat), beat["name"]


# ---------------------------------------------------------------------------
# narration: each slide's clip carries its piece of the sound
# ---------------------------------------------------------------------------

TONES = {"low": 440.0, "high": 880.0}


def dominant_frequency(data: bytes | Path) -> tuple[float, float]:
    """(peak frequency, seconds) of a clip's sound track."""
    import av

    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as c:
        assert c.streams.audio, "the clip has no sound"
        rate = c.streams.audio[0].rate
        samples = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()]), len(samples) / rate


@pytest.fixture(scope="module")
def voiced(tmp_path_factory):
    """A scene with a tone in each beat (440 Hz, then 880 Hz), made into both decks."""
    from manim import tempconfig
    from pydub.generators import Sine

    from reel.slides import deck_class, make_deck
    from reel.clip import Settings, manim_settings
    from scenes.kit.base import ReelScene

    work = tmp_path_factory.mktemp("voiced")
    tones = {}
    for name, hz in TONES.items():
        tones[name] = work / f"{name}.wav"
        Sine(hz).to_audio_segment(duration=2000, volume=-6).export(str(tones[name]), format="wav")

    class Voiced(ReelScene):
        name = "voiced"
        summary = "two beats, each with its own tone"

        def construct(self):
            for i, (beat, wav) in enumerate(tones.items()):
                with self.beat(beat, poster=i == 0):
                    self.add_sound(str(wav))
                    self.say(f"The {beat} tone.", pause=2.0)
                    self.clear_stage()

    with tempconfig(manim_settings(Settings(quality="low", slides="pptx"), work, "voiced")):
        scene = deck_class(Voiced)(output_folder=work / "slides")
        scene.render()
    return scene, make_deck(scene, "pptx", work / "pptx", "voiced"), make_deck(scene, "html", work / "html", "voiced")


@pytest.mark.render
def test_each_slide_clip_carries_its_own_piece_of_the_narration(voiced):
    from pptx import Presentation

    scene, pptx_file, html_file = voiced
    deck = Presentation(str(pptx_file))
    assert len(deck.slides) == len(TONES)
    for slide, (name, hz) in zip(deck.slides, TONES.items()):
        (movie,) = pptx_movies(slide)
        peak, seconds = dominant_frequency(movie)
        assert abs(peak - hz) < 10, (name, peak)  # its own tone, not the other beat's
        beat = next(b for b in scene.beats if b.name == name)
        assert abs(seconds - (beat.end - beat.start)) < 0.25, (name, seconds)  # the sound runs with the slide
        assert slide.notes_slide.notes_text_frame.text == f"The {name} tone."
    _, found = sections(html_file)
    clips = [html_file.parent / s["data-background-video"] for s in found[1:]]
    assert [round(dominant_frequency(c)[0] / 10) * 10 for c in clips] == [440, 880]


# ---------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------


def test_notes_show_tokens_and_markdown_characters_as_typed():
    from bs4 import BeautifulSoup

    from reel.slides import html_notes

    text = "Row “<unk>” meets *W_O* [1] # 8 × 8 & `x` \\ done"
    page = BeautifulSoup(f'<aside class="notes" data-markdown>{html_notes(text)}</aside>', "html.parser")
    assert not page.find("unk"), "a token became a tag"
    assert re.sub(r"\\(.)", r"\1", page.get_text()) == text


def test_the_reveal_files_manim_slides_loads_all_come_from_npm():
    from importlib import resources

    from manim_slides.convert import RevealJS

    from reel.slides import REVEAL_PACKAGE, reveal_assets

    template = resources.files("manim_slides.templates").joinpath("revealjs.html").read_text(encoding="utf-8")
    files = reveal_assets(template, "black")
    assert "dist/reveal.js" in files and "dist/reveal.css" in files and "dist/theme/black.css" in files
    version = json.loads((REVEAL_PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    assert version == RevealJS.model_fields["reveal_version"].default, "package.json pins another reveal.js"
    for rel in files:
        assert (REVEAL_PACKAGE / rel).is_file(), rel


def test_a_missing_reveal_js_is_one_line_naming_npm(tmp_path, monkeypatch):
    from reel import slides

    monkeypatch.setattr(slides, "REVEAL_PACKAGE", tmp_path / "node_modules" / "reveal.js")
    with pytest.raises(slides.DeckError, match="npm install"):
        slides.check_ready("html")
    slides.check_ready("pptx")  # a PowerPoint deck needs no reveal.js
