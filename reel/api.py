"""The library under `render.py`: render scenes, a lecture or a course from Python, and get back the paths.

    import reel
    clip = reel.render_scene("tokens", sentence="cats sleep", quality="low", out="clips")
    clip.video, clip.values, clip.beats, clip.traces     # the files it wrote
    clip                                                 # in a notebook: the clip plays

    lecture = reel.lecture(sentence="the black cat eats the fish", quality="low", out="lecture")
    lecture.video                                        # lecture.mp4, with chapters and subtitles

Options a scene declares (`layer`, `head`, …) are keyword arguments. Bad input raises
`reel.InputError` with the same one line the command line prints; nothing half-written is
left. Progress messages go to `log` (default `print`; `log=None` for none).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from model.errors import InputError

from . import clip as _clip

Log = Callable[[str], None]
_VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime"}


def _logger(log: Log | None) -> Log:
    if log is None:
        return lambda message: None
    if log is print:
        return lambda message: print(message, flush=True)
    return log


# ----------------------------------------------------------------------------- what comes back
@dataclass(frozen=True)
class Clip:
    """The files one scene's render wrote (or kept, when nothing had changed)."""

    scene: str
    video: Path  # the clip (mp4, webm, gif, mov), its poster frame (png), or a deck (html, pptx)
    values: Path  # every number on screen, with the tensor and index it came from
    beats: Path  # the beats, their times and captions
    traces: dict[str, Path]  # the forward passes it shows, by slot (usually one, named after its model)
    extra: dict[str, Path] = field(default_factory=dict)  # a deck's assets folder, a lecture scene's slides
    rendered: bool = True  # False: nothing had changed, the files were kept

    @property
    def paths(self) -> list[Path]:
        return [self.video, *self.traces.values(), self.values, self.beats, *self.extra.values()]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.paths)

    # a notebook shows the clip itself
    def _repr_html_(self) -> str | None:
        return media_html(self.video)

    def _repr_png_(self) -> bytes | None:
        return self.video.read_bytes() if self.video.suffix == ".png" and self.video.is_file() else None


def media_html(path: Path) -> str | None:
    """HTML that shows a clip, a GIF or a picture inline (embedded, so it plays in any notebook), or links a deck."""
    if not path.is_file():
        return None
    kind = _VIDEO_TYPES.get(path.suffix)
    if kind:
        data = base64.b64encode(path.read_bytes()).decode()
        return f'<video controls loop style="max-width:100%"><source src="data:{kind};base64,{data}" type="{kind}"></video>'
    if path.suffix in (".gif", ".png"):
        data = base64.b64encode(path.read_bytes()).decode()
        return f'<img style="max-width:100%" src="data:image/{path.suffix[1:]};base64,{data}">'
    return f'<a href="{path.as_posix()}">{path.name}</a>'


def _clip_of(name: str, result: dict) -> Clip:
    files = result["files"]
    traces = {k.split(":", 1)[1]: v for k, v in files.items() if k.startswith("trace:")}
    extra = {k: v for k, v in files.items() if k in ("assets", "slides")}
    return Clip(name, files["movie"], files["values"], files["beats"], traces, extra, not result["skipped"])


# ----------------------------------------------------------------------------- scenes
def render_scene(name: str, sentence: str | None = None, **kwargs) -> Clip:
    """Render one scene on `sentence` (default: the model's default sentence) into `out` (default `media/`).

    Keyword arguments: `target` (the French the decoder reads), `quality` ("low", "medium", "high",
    "production", "4k"), `fps`, `out`, `still` (None: a video; True: the poster frame; a beat's name),
    `format` ("mp4", "webm", "gif", "png"), `transparent`, `slides` ("html", "pptx"), `voice` ("flite",
    "espeak", … or None: silent), `captions`, `force`, `allow_unknown`, `log`, and the options the
    scene declares (`layer=1`, `head=0`). Returns the paths it wrote."""
    return render_scenes([name], sentence, **kwargs)[0]


def render_scenes(names: list[str], sentence: str | None = None, *, target: str | None = None,
                  quality: str = "high", fps: int | None = None, out: str | Path = "media",
                  still: str | None = None, format: str | None = None, transparent: bool = False,
                  slides: str | None = None, voice: str | None = None, captions: bool = True, force: bool = False,
                  allow_unknown: bool = False, log: Log | None = print, **options) -> list[Clip]:
    """Several scenes on one sentence (their traces recorded once); see `render_scene`."""
    from reel.narration import narrator_for
    from scenes.kit.tools import require

    log = _logger(log)
    names = _clip.chosen_scenes(list(names))
    still, fmt, transparent, slides = _clip.output_settings(still, format, transparent, slides)
    voice = voice or "none"
    settings = _clip.Settings(quality, fps, still, force, voice, captions, True, fmt, transparent, slides)
    settings.check()
    if slides:
        from reel.slides import check_ready

        check_ready(slides)
    out = _out_folder(out)
    traces, given = prepare(names, sentence, target, allow_unknown, options, log)
    if fmt == "gif":
        require("ffmpeg")  # it makes the GIF
    if voice != "none" and still is None:
        require("ffmpeg")
        narrator_for(voice)  # its program is installed, before anything is written
    out.mkdir(parents=True, exist_ok=True)  # only once the input is known to be good
    _check_writable(out)
    _clip.clean_stale_work(out)
    clips = []
    for i, name in enumerate(names, 1):
        prefix = f"[{i}/{len(names)}] " if len(names) > 1 else ""
        result = _clip.render_clip(name, traces[name], given[name], settings, out, log=lambda m: log(prefix + m))
        clips.append(_clip_of(name, result))
    return clips


@dataclass(frozen=True)
class Checked:
    """A scene run without video: its beats (name, start, end, poster), its length, the frame check's problems."""

    scene: str
    duration: float
    beats: list
    problems: list


def check_scenes(names: list[str], sentence: str | None = None, *, target: str | None = None,
                 quality: str = "low", fps: int | None = None, voice: str | None = None, check: bool = True,
                 allow_unknown: bool = False, log: Log | None = print, **options) -> list[Checked]:
    """Run scenes without writing anything: their beats and times (with a `voice`, timed as the narrated video)
    and, with `check`, the frame check (inside the frame, no overlaps, readable, nothing left over)."""
    from reel.narration import narrator_for

    log = _logger(log)
    names = _clip.chosen_scenes(list(names))
    _clip.Settings(quality, fps).check()
    traces, given = prepare(names, sentence, target, allow_unknown, options, log)
    narrator = narrator_for(voice) if voice else None
    found = []
    for name in names:
        scene, problems = _clip.dry_run(name, traces[name], given[name], check=check, narrator=narrator,
                                        quality=quality, fps=fps)
        found.append(Checked(name, scene.renderer.time, list(scene.beats), problems))
    return found


def prepare(names: list[str], sentence: str | None, target: str | None, allow_unknown: bool, options: dict,
            log: Log) -> tuple[dict, dict]:
    """Options checked against the scenes that declare them, and the traces each scene reads, recorded:
    ({scene: {slot: trace}}, {scene: its options}). Everything is checked before anything is written."""
    from scenes import scene_class
    from scenes.kit.options import resolve_options
    from scenes.kit.tools import require

    classes = {n: scene_class(n) for n in names}
    declared = _clip.scene_options()
    given = {k: v for k, v in options.items() if v is not None}
    for flag in given:
        if flag not in declared:
            raise InputError(f"unknown option {flag!r}; the scenes' options are: {', '.join(declared)}")
        if not any(opt.name == flag for cls in classes.values() for opt in cls.options):
            raise InputError(f"--{flag} does not apply to {', '.join(names)}")
    require("latex", "dvisvgm")
    traces = _clip.record_traces(names, sentence, target, allow_unknown)
    per_scene = {}
    for name, cls in classes.items():  # every option checked before anything is written
        per_scene[name] = _clip.options_for(cls, given)
        resolve_options(cls, per_scene[name], traces[name])
    first = headline(traces[names[0]], classes[names[0]])
    log(f"sentence: {first.sentence}\n{'translation' if first.model == 'translator' else 'output'}: {first.output}")
    return traces, per_scene


def headline(traces: dict, cls):
    """The trace a run is announced by (the sentence and its translation): the scene's translator slot, which
    reads the user's sentence as given, where it has one (coreference also reads a pair of its own); else its
    first slot."""
    return traces["translator"] if "translator" in traces else traces[cls.needs[0]]


def _out_folder(out: str | Path) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    return out


def _check_writable(folder: Path) -> None:
    import os

    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write to {folder}")
