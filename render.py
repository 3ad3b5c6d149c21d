#!/usr/bin/env python3
"""Render transformer-reel scenes on your sentence.

    python render.py --list                                   # the scenes, in teaching order
    python render.py --scene cross_attention                  # 1080p60 into media/
    python render.py --scene cross_attention --sentence "the small dog sees a red apple" --quality low
    python render.py --scene cross_attention --still          # the poster frame as a PNG
    python render.py --scene cross_attention --beats          # the beats, their times, the poster
    python render.py --scene cross_attention --check          # the frame check, no video
    python render.py --scene cross_attention --voice piper    # narrated: each caption spoken (or flite, espeak)
    python render.py --lecture --sentence "…" --out DIR       # every scene, narrated, into DIR/lecture.mp4
    python render.py --scene cross_attention --format gif     # also webm, png (the poster frame)
    python render.py --scene cross_attention --transparent    # alpha channel: NAME.mov (webm: NAME.webm)
    python render.py --scene cross_attention --slides html    # a deck, one slide per beat (or pptx)
    python render.py --lecture --slides html --out DIR        # and one deck of every scene: DIR/lecture.html

For each scene NAME it writes DIR/NAME.mp4 (or .webm, .gif, .mov, .png, or the deck: NAME.html
with NAME_assets/, NAME.pptx), DIR/NAME.trace.npz (the forward
pass it shows), DIR/NAME.values.json (every number on screen) and DIR/NAME.beats.json
(its beats and captions), as ../shared/CONTRACT.md fixes. A scene whose inputs did not
change since the last render is not rendered again. `--lecture` (reel/lecture.py) joins
every scene into one narrated video with chapters and subtitles.

Options such as --layer and --head are declared by the scenes (scenes/kit/options.py):
this file has no per-scene code.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from model.errors import ArgumentParser, InputError, run_reporting_errors
from reel.narration import VOICES, narrator_for
from reel import formats
from reel.formats import FORMATS

ROOT = Path(__file__).resolve().parent
QUALITIES = {  # our name → (Manim's preset, what it means)
    "low": ("low_quality", "480p15"),
    "medium": ("medium_quality", "720p30"),
    "high": ("high_quality", "1080p60"),
    "production": ("production_quality", "1440p60"),
    "4k": ("fourk_quality", "2160p60"),
}
# Everything a clip depends on besides its trace and settings: the code that draws it.
KEY_SOURCES = ("scenes/**/*.py", "reel/narration.py", "reel/subtitles.py", "reel/formats.py", "reel/slides.py",
               "model/tracefile.py", "model/files.py", "render.py")
WORK_PREFIX = ".render-"


def scene_options() -> dict:
    """Every option any scene declares, by flag name (the first declaration's help)."""
    from scenes import registry

    found: dict = {}
    for cls in registry().values():
        for opt in cls.options:
            found.setdefault(opt.name, opt)
    return found


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="render.py", description="Render Transformer explainer scenes in which every number is real.")
    p.add_argument("--scene", action="append", metavar="NAME", help="scene to render (repeatable; 'all' for every scene)")
    p.add_argument("--list", action="store_true", help="list the scenes in teaching order, one line each, and exit")
    p.add_argument("--sentence", help="English sentence (default: the model's default sentence)")
    p.add_argument("--target", help="French the decoder reads (default: the model's own translation)")
    p.add_argument("--quality", choices=QUALITIES, default="high",
                   help="low 480p15, medium 720p30, high 1080p60 (default), production 1440p60, 4k 2160p60")
    p.add_argument("--fps", type=int, help="frames per second (default: the quality's)")
    p.add_argument("--out", default="media", metavar="DIR", help="output folder (default: media/)")
    for opt in scene_options().values():
        p.add_argument(f"--{opt.name}", type=opt.type, help=opt.help)
    p.add_argument("--still", nargs="?", const="", default=None, metavar="BEAT",
                   help="write one frame, DIR/NAME.png, instead of the video: the poster beat's, or BEAT's")
    p.add_argument("--format", choices=FORMATS,
                   help="mp4 (default: H.264, index first), webm, gif, or png (the poster frame, as --still)")
    p.add_argument("--transparent", action="store_true",
                   help="a clip with an alpha channel: NAME.mov (QuickTime, qtrle), or with --format webm/png those")
    p.add_argument("--slides", choices=("html", "pptx"),
                   help="a presentation whose slides are the scene's beats, speaker notes its captions: "
                        "NAME.html (+ NAME_assets/, works offline) or NAME.pptx; with --lecture, one deck "
                        "of every scene as well: lecture.html or lecture.pptx")
    p.add_argument("--beats", action="store_true", help="list the scene's beats (name, start, end, poster) and exit; "
                   "with --voice, timed as the narrated video")
    p.add_argument("--check", action="store_true",
                   help="run the frame check (inside the frame, no overlaps, readable, nothing left over); no video")
    p.add_argument("--force", action="store_true", help="render even if nothing changed")
    p.add_argument("--voice", choices=VOICES, default=None,
                   help="narrate the captions: piper (Piper's neural voice en_US-joe-medium), flite (voice rms), "
                        "espeak (espeak-ng) or none (default: none for --scene; for --lecture piper, or flite, "
                        "with a notice, when Piper cannot load)")
    p.add_argument("--captions", choices=("on", "off"), default=None,
                   help="draw the captions in the picture (default: on for --scene, off for --lecture, "
                        "whose subtitles carry them)")
    p.add_argument("--lecture", action="store_true",
                   help="every scene in teaching order, narrated, into DIR/lecture.mp4 with chapters and subtitles")
    p.add_argument("--scenes", metavar="A,B", help="with --lecture: only these scenes (still in teaching order)")
    p.add_argument("--jobs", type=int, metavar="N", help="with --lecture: scenes rendered at once (default: the cores)")
    return p


def list_scenes() -> str:
    from scenes import CATALOGUE, registry

    scenes = registry()
    width = max(map(len, scenes), default=0)
    lines = []
    for chapter, names in CATALOGUE:
        for name in names:
            if name in scenes:
                lines.append(f"{name:<{width}}  {scenes[name].summary}")
    return "\n".join(lines)


def chosen_scenes(names: list[str]) -> list[str]:
    from scenes import available

    scenes = available()
    if "all" in names:
        return scenes
    unknown = [n for n in names if n not in scenes]
    if unknown:
        raise InputError(f"unknown scene {unknown[0]!r}; the scenes are: {', '.join(scenes)}")
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Settings:
    quality: str = "high"
    fps: int | None = None
    still: str | None = None  # None: a video; "": the poster frame; "NAME": that beat's frame
    force: bool = False
    voice: str = "none"  # the narration's --voice (reel/narration.py)
    captions: bool = True  # draw the captions in the picture
    progress: bool = True  # Manim's progress bar on a terminal (off when scenes render in parallel)
    format: str = "mp4"  # of the video (a still is a png); reel/formats.py
    transparent: bool = False
    slides: str | None = None  # "html" or "pptx": a deck instead of a clip; "parts": the clip and its
    # slides kept apart (NAME.slides/), for the lecture's deck; reel/slides.py


def code_digest() -> str:
    h = hashlib.sha256()
    for pattern in KEY_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def render_key(cls, traces: dict, options: dict, settings: Settings) -> str:
    """Everything a rendered clip depends on: all the code that draws it, the numbers, the settings."""
    import manim
    import numpy as np

    h = hashlib.sha256(code_digest().encode())
    h.update(json.dumps([manim.__version__, settings.quality, settings.fps, settings.still, options, cls.__name__,
                         settings.voice, settings.captions, settings.format, settings.transparent, settings.slides],
                        sort_keys=True).encode())
    if settings.voice != "none" and settings.still is None:  # the voice's program and version
        from reel.narration import ENGINES

        h.update(json.dumps(ENGINES[settings.voice]().key(), sort_keys=True).encode())
    for name in sorted(traces):
        t = traces[name]
        h.update(json.dumps(t.meta, sort_keys=True).encode())
        for k in sorted(t.arrays):
            h.update(k.encode())
            h.update(np.ascontiguousarray(t.arrays[k]).tobytes())
    return h.hexdigest()


def outputs(cls, out: Path, settings: Settings) -> dict[str, Path]:
    name = cls.name
    if settings.slides and settings.slides != "parts":
        movie = out / f"{name}.{settings.slides}"
    else:
        movie = out / (name + (".png" if settings.still is not None else formats.suffix(settings.format,
                                                                                        settings.transparent)))
    files = {"movie": movie, "values": out / f"{name}.values.json", "beats": out / f"{name}.beats.json"}
    if settings.slides == "html":
        files["assets"] = out / f"{name}_assets"  # the slides' clips and reveal.js, beside the page
    if settings.slides == "parts":
        files["slides"] = out / f"{name}.slides"  # the slides' clips and manim-slides' config of them
    for model in cls.needs:
        files[f"trace:{model}"] = out / cls.trace_file(model)
    return files


def clean_stale_work(out: Path) -> None:
    """Remove work folders and temporary files left by renders that were killed (their process is gone)."""
    for path in out.glob(f".*{WORK_PREFIX}*"):
        try:
            pid = int(path.name.split(WORK_PREFIX, 1)[1].split("-", 1)[0])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def manim_settings(settings: Settings, work: Path, name: str) -> dict:
    from scenes.kit.cache import CACHE

    preset, _ = QUALITIES[settings.quality]
    still = settings.still is not None
    s = {
        "quality": preset,
        "media_dir": str(work),
        "tex_dir": str(CACHE / "tex"),
        "text_dir": str(CACHE / "texts"),
        "output_file": name,
        "disable_caching": True,
        "verbosity": "WARNING",
        "progress_bar": "display" if settings.progress and sys.stderr.isatty() else "none",
        "write_to_movie": not still,
        "save_last_frame": still,  # a still skips drawing every frame; the scene keeps the one frame asked for
        "max_inflight_encoders": 2,  # encode one animation while the next is drawn: two cores, both busy
    }
    if settings.fps:
        s["frame_rate"] = settings.fps
    if not settings.slides:  # a deck is made from H.264 clips
        s.update(formats.manim_config("png" if still else settings.format, settings.transparent))
    return s


def render_scene(name: str, traces: dict, given: dict, settings: Settings, out: Path, log=print) -> dict:
    """Render one scene into `out`; returns what was written. Skips it if nothing changed."""
    from manim import tempconfig

    from scenes import scene_class
    from scenes.kit.beats import save_beats
    from scenes.kit.options import resolve_options

    cls = scene_class(name)
    opts = resolve_options(cls, given, traces)
    key = render_key(cls, traces, opts, settings)
    files = outputs(cls, out, settings)
    key_file = out / f".{name}.render-key"
    if not settings.force and up_to_date(files, key_file, key):
        log(f"{name}: nothing changed since the last render; kept {files['movie']}")
        return {"skipped": True, "files": files, "key": key}

    _, label = QUALITIES[settings.quality]
    fps = f"@{settings.fps}fps" if settings.fps else ""
    log(f"{name}: rendering at {label}{fps} …")
    start = time.perf_counter()
    # named before it exists, so that an interrupt arriving while it is made still finds it to remove
    work = out / f".{name}{WORK_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        work.mkdir()
        formats.quiet_format_warnings()
        with tempconfig(manim_settings(settings, work, name)):
            narrator = narrator_for(settings.voice) if settings.still is None else None
            make, extra = cls, {}
            if settings.slides:
                from reel.slides import deck_class

                make, extra = deck_class(cls), {"output_folder": work / "slides"}
            scene = make(traces={m: traces[m] for m in cls.needs}, options=opts, still_beat=settings.still or None,
                         narrator=narrator, captions=settings.captions, **extra)
            scene.render()
            duration = scene.renderer.time
            writer = scene.renderer.file_writer
            produced = None if settings.still is not None else Path(writer.movie_file_path)
        if settings.still is not None:
            if scene.still_image is None:
                beats = ", ".join(b.name for b in scene.beats)
                which = f"no beat named {settings.still!r}" if settings.still else "no poster beat"
                raise InputError(f"{name} has {which}; its beats are: {beats}")
            produced = work / f"{name}.png"
            scene.still_image.save(produced)
        elif settings.slides and settings.slides != "parts":
            from reel.slides import make_deck

            produced = make_deck(scene, settings.slides, work / "deck", files["movie"].stem, log=log)
        else:
            if settings.slides == "parts":  # the lecture's deck is made from these
                from reel.slides import save_parts

                save_parts(scene, work / files["slides"].name)
            if files["movie"].suffix == ".mp4":
                fast = work / f"{name}.faststart.mp4"
                formats.faststart(produced, fast)
                produced = fast
            elif files["movie"].suffix == ".gif":  # made from Manim's mp4: reel/formats.py says why
                made = work / f"{name}.gif"
                formats.gif(produced, made, work)
                produced = made
        # the old key goes first: a failure from here on can never leave a mix that looks finished
        key_file.unlink(missing_ok=True)
        for model in cls.needs:
            traces[model].save(files[f"trace:{model}"])
        scene.manifest.save(files["values"])
        save_beats(files["beats"], name, scene.beats, duration)
        for folder in ("assets", "slides"):  # a folder before the file that points into it
            if folder in files:
                shutil.rmtree(files[folder], ignore_errors=True)
                source = (produced.parent if folder == "assets" else work) / files[folder].name
                os.replace(source, files[folder])
        os.replace(produced, files["movie"])
        key_file.write_text(key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    secs = time.perf_counter() - start
    what = "poster frame" if settings.still == "" else (f"frame of beat {settings.still!r}" if settings.still else
                                                          f"{duration:.1f} s of video")
    if settings.slides and settings.slides != "parts":
        what = f"deck of {getattr(scene, 'deck_slides', '?')} slides, {duration:.1f} s of video"
    traces_written = ", ".join(files[f"trace:{m}"].name for m in cls.needs)
    spoken = (f"; narration: {narrator.synthesised} sentences synthesised, {narrator.reused} from the cache"
              if narrator is not None else "")
    log(f"{name}: wrote {files['movie']} ({what}), {files['values'].name} ({len(scene.manifest)} values), "
        f"{files['beats'].name} ({len(scene.beats)} beats), {traces_written} in {secs:.1f} s{spoken}")
    return {"skipped": False, "files": files, "duration": duration, "seconds": secs, "key": key,
            "synthesised": narrator.synthesised if narrator is not None else 0}


def up_to_date(files: dict[str, Path], key_file: Path, key: str) -> bool:
    """Every output is there and was rendered from exactly these inputs."""
    return all(p.exists() for p in files.values()) and key_file.exists() and key_file.read_text() == key


def dry_run(name: str, traces: dict, given: dict, check: bool, narrator=None, quality: str = "low",
            fps: int | None = None) -> tuple:
    """Run a scene without writing anything; with `check`, under the frame check; with a narrator,
    timed as the narrated video is."""
    from scenes import scene_class
    from scenes.kit.framecheck import FrameCheck, check_scene
    from scenes.kit.options import resolve_options

    cls = scene_class(name)
    opts = resolve_options(cls, given, traces)
    scene, problems = check_scene(cls, {m: traces[m] for m in cls.needs}, opts, narrator=narrator,
                                  quality=QUALITIES[quality][0], fps=fps)
    return scene, problems if check else []


def record_traces(models: list[str], sentence: str | None, target: str | None, scenes=()) -> dict:
    """Each model's trace of the user's sentence, recorded as the first of `scenes` (classes) that
    needs the model declares (`ReelScene.model_input`); by default, the sentence as given."""
    from model.trace import record
    from scenes.kit.base import ReelScene

    def how(model: str) -> dict:
        cls = next((c for c in scenes if model in c.needs), ReelScene)
        return cls.model_input(model, sentence, target)

    return {m: record(m, **how(m)) for m in models}


def chosen_output(args: argparse.Namespace) -> tuple:
    """(still, format, transparent, slides) from --still, --format, --transparent and --slides."""
    still, fmt = args.still, args.format
    if args.slides and (fmt or args.transparent or still is not None):
        raise InputError("--slides makes a deck of H.264 clips: it takes no --format, --transparent or --still")
    if still is not None and fmt not in (None, "png"):
        raise InputError(f"--still writes a png, not {fmt}: drop --format or use --format png")
    fmt = "png" if still is not None else (fmt or "mp4")
    if fmt == "png" and still is None:
        still = ""  # the poster frame
    try:
        formats.check(fmt, args.transparent)
    except formats.FormatError as e:
        raise InputError(str(e)) from None
    return still, fmt, args.transparent, args.slides


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(list_scenes())
        return 0
    if args.lecture:
        from reel.lecture import run_lecture

        return run_lecture(args)
    for flag in ("scenes", "jobs"):
        if getattr(args, flag) is not None:
            raise InputError(f"--{flag} goes with --lecture")
    if not args.scene:
        raise InputError("name a scene with --scene NAME (or --list to see them)")
    if args.fps is not None and not 1 <= args.fps <= 120:
        raise InputError("--fps must be between 1 and 120")
    names = chosen_scenes(args.scene)
    chosen_output(args)  # a bad combination is refused before anything is recorded or written
    if args.slides:
        from reel.slides import check_ready

        check_ready(args.slides)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")

    from scenes import scene_class
    from scenes.kit.options import resolve_options
    from scenes.kit.tools import require

    classes = {n: scene_class(n) for n in names}
    given = {name: getattr(args, name) for name in scene_options() if getattr(args, name, None) is not None}
    for flag in given:
        if not any(opt.name == flag for cls in classes.values() for opt in cls.options):
            raise InputError(f"--{flag} does not apply to {', '.join(names)}")
    require("latex", "dvisvgm")
    needed = list(dict.fromkeys(m for cls in classes.values() for m in cls.needs))
    traces = record_traces(needed, args.sentence, args.target, list(classes.values()))
    for name, cls in classes.items():  # every option checked before anything is written
        resolve_options(cls, {k: v for k, v in given.items() if any(o.name == k for o in cls.options)}, traces)
    first = traces[needed[0]]
    print(f"sentence: {first.sentence}\n{'translation' if first.model == 'translator' else 'output'}: {first.output}")

    if args.beats or args.check:
        failed = 0
        narrator = narrator_for(args.voice) if args.voice else None  # narrated times, as that video would have
        for name in names:
            opts = {k: v for k, v in given.items() if any(o.name == k for o in classes[name].options)}
            scene, problems = dry_run(name, traces, opts, check=args.check, narrator=narrator, quality=args.quality,
                                      fps=args.fps)
            if args.beats:
                print(f"{name}: {scene.renderer.time:.1f} s")
                for b in scene.beats:
                    print(f"  {b.name:<20} {b.start:6.1f} – {b.end:6.1f} s{'   poster' if b.poster else ''}")
            if args.check:
                for p in problems:
                    print(f"{name}: {p}")
                print(f"{name}: frame check {'passed' if not problems else f'found {len(problems)} problems'}")
                failed += bool(problems)
        return 1 if failed else 0

    voice = args.voice or "none"
    still, fmt, transparent, slides = chosen_output(args)
    if fmt == "gif":
        require("ffmpeg")  # it makes the GIF
    if voice != "none" and still is None:
        require("ffmpeg")
        narrator_for(voice)  # its program is installed, before anything is written
    settings = Settings(args.quality, args.fps, still, args.force, voice, args.captions != "off", True, fmt,
                        transparent, slides)
    out.mkdir(parents=True, exist_ok=True)  # only once the input is known to be good
    if not os.access(out, os.W_OK):
        raise InputError(f"cannot write to {out}")
    clean_stale_work(out)
    for i, name in enumerate(names, 1):
        prefix = f"[{i}/{len(names)}] " if len(names) > 1 else ""
        opts = {k: v for k, v in given.items() if any(o.name == k for o in classes[name].options)}
        render_scene(name, traces, opts, settings, out, log=lambda msg: print(prefix + msg, flush=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
