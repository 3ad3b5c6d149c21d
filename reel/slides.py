"""Decks: a scene as a presentation whose slides are its beats, made with manim-slides.

`render.py --slides html|pptx` renders the scene's class with manim-slides' `Slide` mixed in
(`deck_class`, built when asked for: a plain render never imports manim-slides). Every beat
starts with `ReelScene.slide_break()`, which in a deck is `next_slide()`: one slide per beat,
where a lecturer would click. Then `make_deck`:

- gives each slide its speaker notes: the captions of the beats it shows (the narration);
- with narration on (the scene's movie has sound, from `Scene.add_sound`), cuts the sound at
  the slides' boundaries and puts each piece into its slide's clip. manim-slides builds slides
  from Manim's partial movie files, which carry no sound; this is the post-processing its
  maintainer suggests;
- for HTML, opens the deck with a title slide (a still picture: browsers mute a video that
  plays before the first click, so no clip with sound may come first), and converts offline:
  manim-slides' `--offline` downloads reveal.js at convert time, so the files come from the
  npm package instead (`package.json`, installed by `make setup`) and are put where its
  offline conversion reads them (its asset cache) before it runs. The page and its folder
  `NAME_assets/` (clips, reveal.js) then work with no network.
"""

from __future__ import annotations

import html
import json
import logging
import re
from importlib import resources
from pathlib import Path

from model.errors import InputError
from model.files import atomic_write

ROOT = Path(__file__).resolve().parent.parent
REVEAL_PACKAGE = ROOT / "node_modules" / "reveal.js"  # `npm install` (package.json) puts it here
KINDS = ("html", "pptx")


class DeckError(InputError):
    """Something a deck needs is missing (manim-slides, reveal.js from npm)."""


def check_ready(kind: str) -> None:
    """Fail before any work when a deck of this kind cannot be made here."""
    try:
        import manim_slides  # noqa: F401
    except ImportError:
        raise DeckError("--slides needs manim-slides: pip install 'manim-slides==5.7.*' (or `make setup`)") from None
    if kind == "html":
        from manim_slides.convert import RevealJS

        fields = RevealJS.model_fields
        package = reveal_package(fields["reveal_version"].default)
        template = resources.files("manim_slides.templates").joinpath("revealjs.html").read_text(encoding="utf-8")
        for rel in reveal_assets(template, str(fields["reveal_theme"].default.value)):
            if not (package / rel).is_file():
                raise DeckError(f"{package} has no {rel}: run `npm install` in {ROOT} (or `make setup`)")
    logging.getLogger("manim-slides").setLevel(logging.WARNING)  # its progress lines say nothing a user needs


def reveal_package(version: str) -> Path:
    """node_modules/reveal.js, checked to be the version manim-slides' template is written for."""
    meta = REVEAL_PACKAGE / "package.json"
    if not meta.is_file():
        raise DeckError(f"reveal.js is not installed: run `npm install` in {ROOT} (or `make setup`)")
    found = json.loads(meta.read_text(encoding="utf-8")).get("version")
    if found != version:
        raise DeckError(f"manim-slides expects reveal.js {version} but {REVEAL_PACKAGE} has {found}: "
                        f"run `npm install` in {ROOT} (or `make setup`)")
    return REVEAL_PACKAGE


# --- the scene as slides ---------------------------------------------------------------


def deck_class(cls: type) -> type:
    """`cls` with manim-slides' Slide mixed in: each beat starts a slide."""
    from manim_slides import Slide

    logging.getLogger("manim-slides").setLevel(logging.WARNING)

    class Deck(cls, Slide):
        skip_reversing = True  # reversed clips are for manim-slides' own player, not for HTML or PPTX

        def slide_break(self) -> None:
            self.next_slide()  # does nothing before the first animation: no empty slide

        def render(self, *args, **kwargs) -> None:
            super().render(*args, **kwargs)
            self.title_image = self.title_card()

        def title_card(self):
            """The deck's first slide, drawn by the scene's own camera: what it shows, on whose sentence."""
            from manim import DOWN, ORIGIN, VGroup

            from scenes.kit import layout, palette
            from scenes.kit.components import caption, plain_text

            title = self.name.replace("_", " ").capitalize()
            parts = [plain_text(title, layout.TITLE, palette.TEXT), caption(self.summary, layout.CAPTION)]
            trace = self.trace
            if getattr(trace, "sentence", None):
                answer = f" \u2192 {trace.output}" if getattr(trace, "output", None) else ""
                parts.append(caption(f"\u201c{trace.sentence}\u201d{answer}", layout.CAPTION))
            parts.append(plain_text("press \u2192 to start", layout.LABEL, palette.MUTED))
            card = VGroup(*parts).arrange(DOWN, buff=0.45)
            layout.fit(card, ORIGIN, layout.SAFE_WIDTH, layout.FRAME_HEIGHT - 1)
            self.mobjects = [card]
            self.renderer.update_frame(self, ignore_skipping=True)
            image = self.camera.get_image().copy()
            self.mobjects = []
            return image

    Deck.__name__ = Deck.__qualname__ = cls.__name__
    Deck.__module__ = cls.__module__
    return Deck


# --- slides: their times, notes and sound ------------------------------------------------


def clip_seconds(path: Path, fps: float) -> float:
    """A clip's length in the scene's time: its frames at the scene's frame rate (the container's
    own duration can be off: manim-slides' concatenation bends timestamps of very short animations)."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = stream.frames or sum(1 for p in c.demux(stream) if p.dts is not None)
    return frames / fps


def slide_spans(files: list[Path], fps: float) -> list[tuple[float, float]]:
    """(start, end) of each slide in the scene's time: the clips follow each other."""
    spans, t = [], 0.0
    for f in files:
        d = clip_seconds(f, fps)
        spans.append((t, t + d))
        t += d
    return spans


def beats_of(spans: list[tuple[float, float]], beats) -> list[list]:
    """The beats each slide shows: a beat belongs to the slide its middle falls in."""
    out: list[list] = [[] for _ in spans]
    for b in beats:
        middle = (b.start + b.end) / 2
        k = next((i for i, (s, e) in enumerate(spans) if s <= middle < e), len(spans) - 1)
        out[k].append(b)
    return out


def notes_for(beats) -> str:
    """Speaker notes: the narration (each beat's captions, one paragraph per beat)."""
    paragraphs = [" ".join(c.text for c in b.captions) for b in beats]
    return "\n\n".join(p for p in paragraphs if p)


def html_notes(text: str) -> str:
    """Notes as literal text in the HTML deck, whose template marks them as Markdown inside HTML:
    a token such as `<unk>` or a `*` must show as typed, not become a tag or emphasis."""
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", html.escape(text, quote=False))


def with_sound(video: Path, sound, dst: Path) -> None:
    """`video` with `sound` (a pydub AudioSegment) as AAC, index first."""
    import av
    from manim.scene.scene_file_writer import convert_audio

    wav, aac = dst.with_suffix(".wav"), dst.with_suffix(".aac")
    sound.export(str(wav), format="wav")
    convert_audio(wav, aac, "aac")
    with av.open(str(video)) as vin, av.open(str(aac)) as ain, \
            av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        v_out = out.add_stream_from_template(vin.streams.video[0])
        a_out = out.add_stream_from_template(ain.streams.audio[0])
        for source, stream, target in ((vin, vin.streams.video[0], v_out), (ain, ain.streams.audio[0], a_out)):
            for packet in source.demux(stream):
                if packet.dts is None:
                    continue
                packet.stream = target
                out.mux(packet)
    wav.unlink()
    aac.unlink()


# --- the deck -------------------------------------------------------------------------


def reveal_assets(template: str, theme: str) -> list[str]:
    """The reveal.js files a manim-slides template loads, relative to the package (e.g. dist/reveal.css)."""
    paths = re.findall(r"\{\{\s*cdn_url\s*\}\}/([^\"']+)", template)
    return [re.sub(r"\{\{\s*reveal_theme\s*\}\}", theme, p) for p in paths]


def stage_reveal(converter) -> list[Path]:
    """Put reveal.js from npm where manim-slides' offline conversion reads its assets (so it downloads nothing)."""
    from manim_slides import convert as ms_convert

    package = reveal_package(converter.reveal_version)
    cache = ms_convert.user_cache_path("manim-slides") / f"revealjs{converter.reveal_version}"
    cache.mkdir(parents=True, exist_ok=True)
    staged = []
    for rel in reveal_assets(converter.load_template(), str(converter.reveal_theme)):
        src = package / rel
        if not src.is_file():
            raise DeckError(f"reveal.js {converter.reveal_version} from npm has no {rel}: run `npm install` in {ROOT}")
        dst = cache / src.name  # the conversion looks an asset up by its file name
        data = src.read_bytes()
        if not dst.is_file() or dst.read_bytes() != data:
            with atomic_write(dst, "wb") as f:
                f.write(data)
        staged.append(dst)
    return staged


def make_deck(scene, kind: str, work: Path, stem: str, log=print) -> Path:
    """Turn a rendered deck scene into `work/STEM.html` (+ `work/STEM_assets/`) or `work/STEM.pptx`."""
    from manim_slides.config import PresentationConfig, SlideConfig, SlideType

    config_file = scene._output_folder / f"{type(scene).__name__}.json"
    deck = PresentationConfig.from_file(config_file)
    files = [Path(s.file) for s in deck.slides]
    spans = slide_spans(files, scene.camera.frame_rate)
    groups = beats_of(spans, scene.beats)
    writer = scene.renderer.file_writer
    sound = writer.audio_segment if getattr(writer, "includes_sound", False) else None
    slides = []
    for i, (slide, (start, end), beats) in enumerate(zip(deck.slides, spans, groups)):
        updates = {"notes": notes_for(beats)}
        if sound is not None:  # this slide's piece of the narration, in its own clip
            piece = sound[round(start * 1000):round(end * 1000)]
            if len(piece) < round((end - start) * 1000):  # the sound ended before the pictures: silence
                from pydub import AudioSegment

                piece += AudioSegment.silent(round((end - start) * 1000) - len(piece), frame_rate=piece.frame_rate)
            voiced = Path(slide.file).with_name(f"{Path(slide.file).stem}.voiced.mp4")
            with_sound(Path(slide.file), piece, voiced)
            updates.update(file=voiced, rev_file=voiced)
        slides.append(slide.model_copy(update=updates))
    scene.deck_slides = len(slides)

    work.mkdir(parents=True, exist_ok=True)
    title = " ".join(scene.name.split("_")).capitalize()
    if kind == "html":
        from manim_slides.convert import RevealJS

        card = work / f"{stem}.title.png"
        scene.title_image.convert("RGB").save(card)
        first = SlideConfig(file=card, rev_file=card, type=SlideType.Image, notes=scene.summary)
        slides = [s.model_copy(update={"notes": html_notes(s.notes)}) for s in [first, *slides]]
        deck = deck.model_copy(update={"slides": slides})
        converter = RevealJS(presentation_configs=[deck], offline=True, title=f"{title} \u2014 transformer-reel")
        stage_reveal(converter)
        dest = work / f"{stem}.html"
        converter.convert_to(dest)
        card.unlink()
    elif kind == "pptx":
        from manim_slides.convert import PowerPoint

        deck = deck.model_copy(update={"slides": slides})
        width, height = deck.resolution
        dest = work / f"{stem}.pptx"
        PowerPoint(presentation_configs=[deck], width=width, height=height).convert_to(dest)
    else:
        raise DeckError(f"unknown deck kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    return dest
