"""One scene's clip: traces recorded, options resolved, the render cached by a key, files written atomically.

This is the pipeline under `render.py` and under the library (`reel.render_scene`, `reel.lecture`):

    traces = record_traces(["cross_attention"], sentence, target)            # the forward passes
    result = render_clip("cross_attention", traces, {}, Settings("low"), Path("media"))
    result["files"]                                                          # what it wrote

A scene whose code, numbers and settings have not changed since its last render is not
rendered again: `render_key` covers all the drawing code (`KEY_SOURCES`), the traces, the
options and the settings, and `NAME.render-key` beside the outputs holds the key they were
made with. A render job is a function of (scene, traces, options, settings): a worker
process, local or remote, runs `render_clip` with nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from model.errors import InputError

from . import formats

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = {  # our name → (Manim's preset, what it means)
    "low": ("low_quality", "480p15"),
    "medium": ("medium_quality", "720p30"),
    "high": ("high_quality", "1080p60"),
    "production": ("production_quality", "1440p60"),
    "4k": ("fourk_quality", "2160p60"),
}
# Everything a clip depends on besides its traces and settings: the code that draws it.
KEY_SOURCES = ("scenes/**/*.py", "reel/clip.py", "reel/narration.py", "reel/subtitles.py", "reel/formats.py",
               "reel/slides.py", "model/tracefile.py", "model/files.py")
WORK_PREFIX = ".render-"
FOLDERS = ("assets", "slides")  # the outputs that are folders (`outputs`)


# ----------------------------------------------------------------------------- the scenes
def scene_options() -> dict:
    """Every option any scene declares, by flag name (the first declaration's help)."""
    from scenes import registry

    found: dict = {}
    for cls in registry().values():
        for opt in cls.options:
            found.setdefault(opt.name, opt)
    return found


def options_for(cls, given: dict) -> dict:
    """The options of `given` that the scene `cls` declares."""
    return {k: v for k, v in given.items() if any(o.name == k for o in cls.options)}


def list_scenes() -> str:
    """The scenes in teaching order, one line each: name and summary."""
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
    """Scene names checked against the catalogue ("all": every scene), each once."""
    from scenes import available

    scenes = available()
    if "all" in names:
        return scenes
    unknown = [n for n in names if n not in scenes]
    if unknown:
        raise InputError(f"unknown scene {unknown[0]!r}; the scenes are: {', '.join(scenes)}")
    return list(dict.fromkeys(names))


# ----------------------------------------------------------------------------- the settings
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

    def check(self) -> None:
        """A quality, frame rate and format that can be made; else one InputError."""
        if self.quality not in QUALITIES:
            raise InputError(f"unknown quality {self.quality!r}; the qualities are: {', '.join(QUALITIES)}")
        if self.fps is not None and not 1 <= self.fps <= 120:
            raise InputError("--fps must be between 1 and 120")
        try:
            formats.check(self.format, self.transparent)
        except formats.FormatError as e:
            raise InputError(str(e)) from None


def output_settings(still: str | None, fmt: str | None, transparent: bool, slides: str | None) -> tuple:
    """(still, format, transparent, slides) as the user may combine --still, --format, --transparent and --slides.
    `still`: None (a video), "" or True (the poster frame), or a beat's name."""
    if still is True:
        still = ""
    elif still is False:
        still = None
    if slides and (fmt or transparent or still is not None):
        raise InputError("--slides makes a deck of H.264 clips: it takes no --format, --transparent or --still")
    if slides not in (None, "html", "pptx"):
        raise InputError(f"unknown kind of slides {slides!r}: html or pptx")
    if still is not None and fmt not in (None, "png"):
        raise InputError(f"--still writes a png, not {fmt}: drop --format or use --format png")
    fmt = "png" if still is not None else (fmt or "mp4")
    if fmt == "png" and still is None:
        still = ""  # the poster frame
    try:
        formats.check(fmt, transparent)
    except formats.FormatError as e:
        raise InputError(str(e)) from None
    return still, fmt, transparent, slides


# ----------------------------------------------------------------------------- the key
def code_digest(patterns=KEY_SOURCES) -> str:
    """A digest of the code that draws a clip (by default), or of any files of the project."""
    h = hashlib.sha256()
    for pattern in patterns:
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
        h.update(name.encode())
        h.update(json.dumps(t.meta, sort_keys=True).encode())
        for k in sorted(t.arrays):
            h.update(k.encode())
            h.update(np.ascontiguousarray(t.arrays[k]).tobytes())
    return h.hexdigest()


def outputs(cls, out: Path, settings: Settings) -> dict[str, Path]:
    """The files (and folders) a render of `cls` with `settings` writes into `out`, by role."""
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
    for slot in cls.needs:
        files[f"trace:{slot}"] = out / cls.trace_file(slot)
    return files


def key_file(out: Path, name: str) -> Path:
    return out / f".{name}.render-key"


def up_to_date(files: dict[str, Path], key_path: Path, key: str) -> bool:
    """Every output is there and was rendered from exactly these inputs."""
    try:
        return all(p.exists() for p in files.values()) and key_path.read_text() == key
    except (OSError, UnicodeDecodeError):  # missing, or a torn key: render again
        return False


# ----------------------------------------------------------------------------- the work folder
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


# ----------------------------------------------------------------------------- rendering
def render_clip(name: str, traces: dict, given: dict, settings: Settings, out: Path, log=print) -> dict:
    """Render one scene into `out`; returns {"skipped", "files", "key", …}. Skips it if nothing changed.

    `traces` holds at least the scene's own (`cls.needs`), `given` the options the user gave it.
    """
    from manim import tempconfig

    from reel.narration import narrator_for
    from scenes import scene_class
    from scenes.kit.beats import save_beats
    from scenes.kit.options import resolve_options

    cls = scene_class(name)
    traces = {slot: traces[slot] for slot in cls.needs}
    opts = resolve_options(cls, given, traces)
    key = render_key(cls, traces, opts, settings)
    files = outputs(cls, out, settings)
    key_path = key_file(out, name)
    if not settings.force and up_to_date(files, key_path, key):
        log(f"{name}: nothing changed since the last render; kept {files['movie']}")
        return {"skipped": True, "files": files, "key": key}

    _, label = QUALITIES[settings.quality]
    fps = f"@{settings.fps}fps" if settings.fps else ""
    log(f"{name}: rendering at {label}{fps} …")
    start = time.perf_counter()
    work = work_folder(out, name)
    try:
        work.mkdir()
        formats.quiet_format_warnings()
        narrator = narrator_for(settings.voice) if settings.still is None else None
        make, extra = cls, {}
        if settings.slides:
            from reel.slides import deck_class

            make, extra = deck_class(cls), {"output_folder": work / "slides"}
        with tempconfig(manim_settings(settings, work, name)):
            scene = make(traces=traces, options=opts, still_beat=settings.still or None, narrator=narrator,
                         captions=settings.captions, **extra)
            scene.render()
            duration = scene.renderer.time
            produced = None if settings.still is not None else Path(scene.renderer.file_writer.movie_file_path)
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
        # every output staged under its own name in the work folder, then all put in place by `commit`
        staged = outputs(cls, work / "staged", settings)
        (work / "staged").mkdir()
        for slot in cls.needs:
            traces[slot].save(staged[f"trace:{slot}"])
        scene.manifest.save(staged["values"])
        save_beats(staged["beats"], name, scene.beats, duration)
        for folder in FOLDERS:
            if folder in files:
                os.replace((produced.parent if folder == "assets" else work) / files[folder].name, staged[folder])
        os.replace(produced, staged["movie"])
        commit(staged, files, key_path, key)
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


def work_folder(out: Path, name: str) -> Path:
    """A private work folder for one render beside its outputs (so that they are put in place by rename), named
    before it exists, so that an interrupt arriving while it is made still finds it to remove, and naming this
    process, so that a later run can tell one left by a killed process (`clean_stale_work`)."""
    return out / f".{name}{WORK_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"


def commit(staged: dict[str, Path], files: dict[str, Path], key_path: Path, key: str) -> None:
    """Put a render's outputs in place, each renamed from where it was staged (`outputs()` of a work folder on the
    same filesystem) onto its own name (`outputs()` of the folder they belong in). The old key goes first: a
    failure from here on can never leave a mix that looks finished. A folder goes before the file that points
    into it (the movie, last), and the key that marks the set as complete after all of them."""
    key_path.unlink(missing_ok=True)
    for role in sorted(files, key=lambda role: role == "movie"):
        if role in FOLDERS:
            shutil.rmtree(files[role], ignore_errors=True)
        os.replace(staged[role], files[role])
    _write_key(key_path, key)


# ----------------------------------------------------------------------------- with no shared filesystem
def render_clip_files(name: str, traces: dict, given: dict, settings: Settings, log=print) -> dict:
    """`render_clip` for a worker that shares no filesystem with the one who asked: rendered into a private
    temporary folder, and its outputs returned as bytes, {"files": {path relative to the folder: bytes}, "key",
    …}, for `place_clip` to write where they belong. A scene's folders (a deck's assets, its slides) are sent
    file by file. Nothing stays on the worker."""
    import dataclasses
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reel-job-") as tmp:
        folder = Path(tmp)
        # an empty folder holds no earlier render: the caller has already decided this one is needed
        result = render_clip(name, traces, given, dataclasses.replace(settings, force=True), folder, log=log)
        sent = {}
        for path in result["files"].values():
            for f in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
                sent[f.relative_to(folder).as_posix()] = f.read_bytes()
    return {**result, "files": sent}


def place_clip(name: str, settings: Settings, out: Path, result: dict) -> dict[str, Path]:
    """Write a `render_clip_files` result into `out` as `render_clip` writes its own: staged in a work folder
    beside the outputs, then put in place by `commit` (the key last). Returns the files, by role."""
    from scenes import scene_class

    files = outputs(scene_class(name), out, settings)
    work = work_folder(out, name)
    try:
        work.mkdir()
        inside = work.resolve()
        for relative, data in result["files"].items():
            path = (work / relative).resolve()
            if not path.is_relative_to(inside) or path == inside:
                raise RuntimeError(f"{name}: a job sent back a file outside its folder: {relative!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staged = outputs(scene_class(name), work, settings)
        missing = [p.name for p in staged.values() if not p.exists()]
        if missing:
            raise RuntimeError(f"{name}: the job sent back no {', '.join(missing)}")
        commit(staged, files, key_file(out, name), result["key"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return files


def _write_key(path: Path, key: str) -> None:
    from model.files import atomic_write

    with atomic_write(path, "w") as f:
        f.write(key)


def dry_run(name: str, traces: dict, given: dict, check: bool, narrator=None, quality: str = "low",
            fps: int | None = None) -> tuple:
    """Run a scene without writing anything; with `check`, under the frame check; with a narrator,
    timed as the narrated video is."""
    from scenes import scene_class
    from scenes.kit.framecheck import check_scene
    from scenes.kit.options import resolve_options

    cls = scene_class(name)
    opts = resolve_options(cls, given, traces)
    scene, problems = check_scene(cls, {m: traces[m] for m in cls.needs}, opts, narrator=narrator,
                                  quality=QUALITIES[quality][0], fps=fps)
    return scene, problems if check else []


# ----------------------------------------------------------------------------- the traces
def record_traces(scenes, sentence: str | None, target: str | None, allow_unknown: bool = False) -> dict:
    """The traces the scenes read, by scene name: {name: {slot: Trace}}. Each slot is recorded as its
    scene declares (`ReelScene.recording`); a recording several scenes share is made once."""
    from scenes import scene_class

    made: dict = {}
    return {name: record_slots(scene_class(name), sentence, target, allow_unknown, made) for name in scenes}


def record_slots(cls, sentence: str | None, target: str | None, allow_unknown: bool = False,
                 made: dict | None = None, warn=None) -> dict:
    """{slot: Trace} for one scene class. A slot's recording may read another's translation: `"target_from":
    SLOT` makes its decoder read what that slot's model wrote (the user's --target, when one was given)."""
    from model.trace import record

    made = {} if made is None else made
    out: dict = {}
    for slot in cls.needs:
        how = cls.recording(slot, sentence, target)
        source = how.pop("target_from", None)
        if source is not None:
            how["target"] = target if target is not None else out[source].output
        key = json.dumps(how, sort_keys=True)
        if key not in made:
            made[key] = record(**how, allow_unknown=allow_unknown, **({"warn": warn} if warn else {}))
        out[slot] = made[key]
    return out


def save_default_traces(log=print) -> None:
    """What `make traces` writes: each model's trace of its default sentence, and each scene slot that is
    recorded otherwise (`scenes.kit.defaults`): what a scene reads when plain `manim` runs it."""
    from model import MODELS
    from model.trace import record
    from scenes import registry
    from scenes.kit.defaults import default_slot_path, default_trace_path, slot_is_plain

    for model in MODELS:
        record(model).save(default_trace_path(model))
        log(f"wrote {default_trace_path(model)}")
    for cls in registry().values():
        if all(slot_is_plain(cls, slot) for slot in cls.needs):
            continue
        for slot, trace in record_slots(cls, None, None).items():
            if not slot_is_plain(cls, slot):
                trace.save(default_slot_path(cls, slot))
                log(f"wrote {default_slot_path(cls, slot)}")
