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

A scene's slides (clips with their sound, notes) are also kept on their own, as manim-slides'
presentation config beside its clips (`save_parts`, a folder `NAME.slides/`): the lecture
(`--lecture --slides`) keeps them in its per-scene cache and hands one config per scene to
manim-slides' converters, which join several presentations into one deck (`lecture_deck`).
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import logging
import re
import shutil
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
            title = self.name.replace("_", " ").capitalize()
            lines = [("title", title), ("caption", self.summary)]
            trace = self.trace
            if getattr(trace, "sentence", None):
                answer = f" \u2192 {trace.output}" if getattr(trace, "output", None) else ""
                lines.append(("caption", f"\u201c{trace.sentence}\u201d{answer}"))
            lines.append(("label", "press \u2192 to start"))
            return draw_card(self.camera, lines)

    Deck.__name__ = Deck.__qualname__ = cls.__name__
    Deck.__module__ = cls.__module__
    return Deck


def draw_card(camera, lines: list[tuple[str, str]]):
    """A still slide: lines of ("title" | "caption" | "label", text), centred, drawn by `camera`
    (a scene's, or a bare Manim camera under the deck's resolution); returns the image (PIL)."""
    from manim import DOWN, ORIGIN, VGroup

    from scenes.kit import layout, palette
    from scenes.kit.components import caption, plain_text

    def part(kind: str, text: str):
        if kind == "title":
            return plain_text(text, layout.TITLE, palette.TEXT)
        if kind == "label":
            return plain_text(text, layout.LABEL, palette.MUTED)
        return caption(text, layout.CAPTION)

    card = VGroup(*(part(kind, text) for kind, text in lines)).arrange(DOWN, buff=0.45)
    layout.fit(card, ORIGIN, layout.SAFE_WIDTH, layout.FRAME_HEIGHT - 1)
    camera.reset()
    camera.capture_mobjects([card])
    image = camera.get_image().copy()
    camera.reset()
    return image


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


PARTS_CONFIG = "deck.json"  # in a scene's slides folder: manim-slides' presentation config, paths relative


def save_parts(scene, folder: Path) -> "PresentationConfig":
    """A rendered deck scene's slides into `folder`: each slide's clip (with its piece of the sound,
    when the scene has sound) and manim-slides' presentation config, notes included. Returns the config."""
    from manim_slides.config import PresentationConfig

    config_file = scene._output_folder / f"{type(scene).__name__}.json"
    deck = PresentationConfig.from_file(config_file)
    files = [Path(s.file) for s in deck.slides]
    spans = slide_spans(files, scene.camera.frame_rate)
    groups = beats_of(spans, scene.beats)
    writer = scene.renderer.file_writer
    sound = writer.audio_segment if getattr(writer, "includes_sound", False) else None
    folder.mkdir(parents=True, exist_ok=True)
    slides, entries = [], []
    for i, (slide, (start, end), beats) in enumerate(zip(deck.slides, spans, groups)):
        clip = folder / f"slide{i:03d}.mp4"
        if sound is not None:  # this slide's piece of the narration, in its own clip
            piece = sound[round(start * 1000):round(end * 1000)]
            if len(piece) < round((end - start) * 1000):  # the sound ended before the pictures: silence
                from pydub import AudioSegment

                piece += AudioSegment.silent(round((end - start) * 1000) - len(piece), frame_rate=piece.frame_rate)
            with_sound(Path(slide.file), piece, clip)
        else:
            shutil.copyfile(slide.file, clip)
        slides.append(slide.model_copy(update={"notes": notes_for(beats), "file": clip, "rev_file": clip}))
        entries.append(slides[-1].model_dump(mode="json") | {"file": clip.name, "rev_file": clip.name})
    deck = deck.model_copy(update={"slides": slides})
    record = deck.model_dump(mode="json") | {"slides": entries}
    with atomic_write(folder / PARTS_CONFIG, "w") as f:
        json.dump(record, f, indent=1)
    scene.deck_slides = len(slides)
    return deck


def load_parts(folder: Path) -> "PresentationConfig":
    """A scene's slides saved by `save_parts` (wherever the folder has moved since)."""
    from manim_slides.config import PresentationConfig

    record = json.loads((folder / PARTS_CONFIG).read_text(encoding="utf-8"))
    for slide in record["slides"]:
        slide["file"], slide["rev_file"] = folder / slide["file"], folder / slide["rev_file"]
    return PresentationConfig.model_validate(record)


def still_slide(picture: Path, notes: str):
    from manim_slides.config import SlideConfig, SlideType

    return SlideConfig(file=picture, rev_file=picture, type=SlideType.Image, notes=notes)


def convert(configs: list, kind: str, dest: Path, title: str) -> Path:
    """Several presentations (one per scene) into one deck at `dest`, by manim-slides' converters:
    `dest` (.html, with its folder DEST_assets/ beside it) or `dest` (.pptx)."""
    if kind == "html":
        from manim_slides.convert import RevealJS

        configs = [c.model_copy(update={"slides": [s.model_copy(update={"notes": html_notes(s.notes)})
                                                   for s in c.slides]}) for c in configs]
        converter = RevealJS(presentation_configs=configs, offline=True, title=title)
        stage_reveal(converter)
        converter.convert_to(dest)
    elif kind == "pptx":
        from manim_slides.convert import PowerPoint

        width, height = configs[0].resolution
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bars, drawn even when no one watches
            PowerPoint(presentation_configs=configs, width=width, height=height).convert_to(dest)
        if any(s.type.value == "image" for c in configs for s in c.slides):
            fit_pictures(dest)
    else:
        raise DeckError(f"unknown deck kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    return dest


def fit_pictures(pptx_file: Path) -> None:
    """manim-slides 5.7 places a still slide's picture 1 % wider than the slide (9625 EMU a pixel
    where a pixel is 9525): make each picture exactly as wide as its slide."""
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    deck = Presentation(str(pptx_file))
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                shape.left, shape.top, shape.width, shape.height = 0, 0, deck.slide_width, deck.slide_height
    deck.save(str(pptx_file))


def make_deck(scene, kind: str, work: Path, stem: str, log=print) -> Path:
    """Turn a rendered deck scene into `work/STEM.html` (+ `work/STEM_assets/`) or `work/STEM.pptx`."""
    if kind not in KINDS:
        raise DeckError(f"unknown deck kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    parts = work / "parts"
    deck = save_parts(scene, parts)
    title = " ".join(scene.name.split("_")).capitalize()
    if kind == "html":  # a still title first: the click that leaves it lets the clips play with sound
        card = parts / f"{stem}.title.png"
        scene.title_image.convert("RGB").save(card)
        deck = deck.model_copy(update={"slides": [still_slide(card, scene.summary), *deck.slides]})
    dest = convert([deck], kind, work / f"{stem}.{kind}", f"{title} \u2014 transformer-reel")
    shutil.rmtree(parts)
    return dest


# --- the lecture's deck ----------------------------------------------------------------


def lecture_deck(kind: str, scenes: list[dict], heading: list[str], manim_config: dict, work: Path,
                 stem: str = "lecture") -> tuple[Path, int]:
    """One deck for the whole lecture, in `work`: a title slide, then for each scene a section slide
    (its title, what it shows) and its slides. `scenes`: dicts of title, summary and slides (the
    folder `save_parts` wrote); `heading`: the title slide's lines after the title itself.
    Each scene is one of manim-slides' presentations; its converter joins them. Returns (deck, slides)."""
    from manim import Camera, tempconfig

    from scenes.kit import palette

    work.mkdir(parents=True, exist_ok=True)
    pictures = work / "cards"
    pictures.mkdir(exist_ok=True)
    configs = []
    with tempconfig(manim_config):
        camera = Camera(background_color=palette.BACKGROUND)

        def card(name: str, lines) -> Path:
            path = pictures / f"{name}.png"
            draw_card(camera, lines).convert("RGB").save(path)
            return path

        lines = [("title", "Transformer, step by step"), *(("caption", line) for line in heading),
                 ("label", "press \u2192 to start" if kind == "html" else
                                f"{len(scenes)} scene{'s' if len(scenes) != 1 else ''}")]
        opening = still_slide(card("title", lines), "\n\n".join(heading))
        n = len(scenes)
        for i, scene in enumerate(scenes, 1):
            deck = load_parts(scene["slides"])
            section = still_slide(card(f"scene{i:02d}", [("label", f"{i} of {n}"), ("title", scene["title"]),
                                                         ("caption", scene["summary"])]),
                                  f"{scene['title']}: {scene['summary']}")
            slides = [section, *deck.slides] if i > 1 else [opening, section, *deck.slides]
            configs.append(deck.model_copy(update={"slides": slides}))
    dest = convert(configs, kind, work / f"{stem}.{kind}", "Transformer, step by step \u2014 transformer-reel")
    shutil.rmtree(pictures)  # copied into the deck (its assets folder, or the pptx)
    return dest, sum(len(c.slides) for c in configs)
