"""A course: one lecture per sentence, every scene of every lecture rendered as one batch of jobs.

    python render.py --course sentences.txt --quality low --out course
    python render.py --course sentences.txt --cluster tcp://HOST:8786 --out course    # on a Dask cluster
    reel.course(["cats sleep", "the black cat eats the fish"], out="course", quality="low")   # from Python

The course file holds one sentence a line; blank lines and lines starting with `#` are skipped,
and a tab after the sentence is followed by the French the decoder reads (its `--target`).
Each sentence's lecture goes into `DIR/NN-slug/` (NN its place among the course's sentences,
the slug its words) with the lecture's usual files (`reel/lectures.py`) and `poster.jpg`, a
frame of it; `DIR/index.html` lists the lectures (poster, sentence, translation, duration, a
link to each video) and works opened from disk; `DIR/course.json` records which folder holds
which sentence, so that a sentence that moved in the file keeps its rendered lecture.

Every sentence is checked (its traces recorded) before anything is written: a bad one stops
the course naming its line, or with `keep_going` is skipped and named. Then the scenes of all
the lectures go to the workers together (not lecture after lecture), each cached by its
render key as in a lecture, and a lecture is joined as soon as its last scene is in: a second
run with one sentence added renders only that sentence's scenes. The workers are a local
process pool, any `concurrent.futures` executor, or a Dask cluster (`reel/cluster.py`).
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import html
import json
import re
import subprocess
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from model.errors import InputError

from .lectures import (Lecture, RenderFailed, _n, clock, finish_lecture, lecture_settings, plan_lecture, probe,
                       run_jobs, where_jobs_run)

MANIFEST = "course.json"
INDEX = "index.html"
POSTER = "poster.jpg"
POSTER_WIDTH = 640  # pixels: the index shows thumbnails
SLUG_LENGTH = 40
DOT = " \u00b7 "


# ----------------------------------------------------------------------------- the sentences
@dataclass(frozen=True)
class Line:
    """One sentence of a course: the English, the French the decoder reads (None: the model's own translation),
    and where it came from ("line 3" of a course file, "sentence 3" of a list), which errors name."""

    sentence: str
    target: str | None = None
    where: str = ""


def read_course(path: str | Path) -> list[Line]:
    """The sentences of a course file: one a line, an optional tab then the target; blank lines and # comments
    skipped. An unreadable file, or one with no sentence, is an InputError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no course file at {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a course file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: a course file holds one sentence a line") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        sentence, *rest = raw.split("\t")
        if len(rest) > 1:
            raise InputError(f"line {number}: more than one tab; write the sentence, a tab, then the French "
                             f"the decoder reads")
        target = rest[0].strip() if rest else ""
        lines.append(Line(sentence.strip(), target or None, f"line {number}"))
    if not lines:
        raise InputError(f"{path} has no sentence (blank lines and lines starting with # are skipped)")
    return lines


def as_lines(sentences) -> list[Line]:
    """What `course` takes: a course file (a Path), or a list of sentences, (sentence, target) pairs or Lines."""
    if isinstance(sentences, Path):
        return read_course(sentences)
    if isinstance(sentences, str):
        raise InputError("sentences is a list of sentences (or a pathlib.Path to a course file), not one string")
    lines = []
    for number, item in enumerate(sentences, 1):
        if isinstance(item, Line):
            lines.append(item if item.where else Line(item.sentence, item.target, f"sentence {number}"))
        elif isinstance(item, str):
            lines.append(Line(item, None, f"sentence {number}"))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(x is None or isinstance(x, str) for x in item):
            lines.append(Line(item[0] or "", item[1] or None, f"sentence {number}"))
        else:
            raise InputError(f"sentence {number}: a sentence is a string or a (sentence, target) pair, "
                             f"not {type(item).__name__}")
    if not lines:
        raise InputError("a course needs at least one sentence")
    return lines


def slug(sentence: str, most: int = SLUG_LENGTH) -> str:
    """A folder name's words: "The black cat!" → "the-black-cat" (ASCII letters and digits, at most `most`)."""
    plain = unicodedata.normalize("NFKD", sentence).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", plain)
    out = ""
    for word in words:
        if len(out) + len(word) + bool(out) > most:
            break
        out = f"{out}-{word}" if out else word
    return out or (words[0][:most] if words else "sentence")


# ----------------------------------------------------------------------------- what comes back
@dataclass(frozen=True)
class Entry:
    """One lecture of the course, as the index lists it."""

    folder: str
    where: str
    sentence: str
    translation: str
    duration: float
    lecture: Lecture
    poster: Path


@dataclass(frozen=True)
class Course:
    """The files a course wrote: its index page, and each lecture's files (`Lecture`) in course order."""

    index: Path
    entries: list[Entry]
    skipped: dict[str, str] = field(default_factory=dict)  # "line 3" → the sentence and why it was not rendered

    @property
    def lectures(self) -> list[Lecture]:
        return [e.lecture for e in self.entries]

    @property
    def paths(self) -> list[Path]:
        return [self.index] + [p for e in self.entries for p in (e.lecture.video, e.poster)]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.paths)

    def _repr_html_(self) -> str:  # a notebook shows the index, posters embedded, links to the videos on disk
        return index_html(self.entries, self.skipped, self.index.parent, embed=True)


class CourseIncomplete(RenderFailed):
    """Some lectures were not written (a scene failed, or joining failed); the others were, and `course`
    lists them. Their scenes that did render are kept: the next run resumes."""

    def __init__(self, failures: dict[str, str], done: int, total: int, kept_in: Path, course: Course,
                 missing: list[str]):
        super().__init__(failures, done, total, kept_in)
        self.course, self.missing = course, missing


# ----------------------------------------------------------------------------- the course
def course(sentences, *, out: str | Path = "course", scenes: list[str] | str | None = None, quality: str = "high",
           fps: int | None = None, voice: str | None = None, captions: bool = False, slides: str | None = None,
           jobs: int | None = None, force: bool = False, allow_unknown: bool = False, keep_going: bool = False,
           executor: cf.Executor | None = None, cluster=None, log=print, **options) -> Course:
    """One lecture per sentence into `out`/NN-slug/, and `out`/index.html listing them.

    `sentences`: a list of sentences (or (sentence, target) pairs), or a `pathlib.Path` to a course file
    (`read_course`). The other arguments are `reel.lecture`'s, for every lecture; the scenes of all the
    lectures render together: `jobs` at once in a local process pool, on `executor`, or on a Dask `cluster`
    (an address, tcp://HOST:8786, or a `distributed.Client`). Every sentence is checked before anything is
    written: a bad one raises `InputError` naming its line, or with `keep_going` is skipped. Raises
    `CourseIncomplete` when some lectures could not be made (the others are written, and listed), and
    `Interrupted` on Ctrl-C (every finished scene and lecture is kept)."""
    from reel.api import _check_writable, _logger, _out_folder, prepare
    from reel.clip import clean_stale_work

    log = _logger(log)
    start = time.perf_counter()
    lines = as_lines(sentences)
    names, missing, settings = lecture_settings(scenes, quality, fps, voice, captions, slides, jobs, force, cluster,
                                                executor)
    out = _out_folder(out)

    # every sentence checked, its traces recorded, before anything is written
    width = max(2, len(str(len(lines))))
    todo, skipped = [], {}
    for number, line in enumerate(lines, 1):
        try:
            prepared = prepare(names, line.sentence, line.target, allow_unknown, options, lambda m: None)
        except InputError as e:
            skipped[line.where] = (line.sentence, str(e))
            continue
        todo.append((f"{number:0{width}d}-{slug(line.sentence)}", line, prepared))
    if skipped and not keep_going:
        where, (_, why) = next(iter(skipped.items()))
        more = f" (and {', '.join(w.split()[-1] for w in list(skipped)[1:])})" if len(skipped) > 1 else ""
        raise InputError(f"{where}{more}: {why}; --keep-going skips the sentences that cannot be rendered")
    if not todo:
        where, (_, why) = next(iter(skipped.items()))
        raise InputError(f"no sentence of the course can be rendered ({where}: {why})")
    skipped = {where: f"\u201c{sentence}\u201d: {why}" for where, (sentence, why) in skipped.items()}
    for where, why in skipped.items():
        log(f"skipped {where}, {why}")
    if missing:
        log(f"not written yet, skipped: {', '.join(missing)}")

    with where_jobs_run(jobs, executor, cluster, settings.voice, log) as run_on:
        out.mkdir(parents=True, exist_ok=True)
        _check_writable(out)
        clean_stale_work(out)
        keep_moved_lectures(out, [(folder, line) for folder, line, _ in todo], log)
        plans = {}
        for folder, line, prepared in todo:
            plan = plan_lecture(line.sentence, out / folder, names, settings, target=line.target, slides=slides,
                                allow_unknown=allow_unknown, options=options, label=f"{folder}/", prepared=prepared)
            plans[folder] = plan
            log(f"{folder} ({line.where}): \u201c{plan.first.sentence}\u201d \u2192 \u201c{plan.first.output}\u201d; "
                f"{_n(len(plan.jobs), 'scene')} to render, {len(plan.keys)} cached")
        _write_json(out / MANIFEST, {"lectures": [{"folder": folder, "where": line.where, "sentence": line.sentence,
                                                   "target": line.target} for folder, line, _ in todo]})
        total = len(plans) * len(names)
        cached = sum(len(p.keys) for p in plans.values())
        log(f"course: {_n(len(plans), 'lecture')}, {_n(total, 'scene')}: {cached} cached, "
            f"{total - cached} to render")

        made: dict[str, Lecture] = {}
        failed: dict[str, str] = {}
        waiting = {folder: {job.scene for job in plan.jobs} for folder, plan in plans.items()}

        def finish(folder: str) -> None:
            """A lecture whose scenes are all in: joined (unless current) and its poster taken."""
            tag = f"[lecture {len(made) + len(failed) + 1} of {len(plans)}] {folder}"
            try:
                made[folder] = finish_lecture(plans[folder], log=lambda m: log(f"{tag}: {m.removeprefix('lecture: ')}"))
                take_poster(plans[folder], made[folder].video)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                failed[folder] = f"{type(e).__name__}: {e}"
                log(f"{tag}: FAILED: {failed[folder]}")

        def after(job, key: str) -> None:
            folder = job.label.split("/", 1)[0]
            plans[folder].keys[job.scene] = key
            waiting[folder].discard(job.scene)
            if not waiting[folder]:
                finish(folder)

        for folder in plans:  # the lectures with nothing to render are finished first
            if not waiting[folder]:
                finish(folder)
        jobs_all = [job for plan in plans.values() for job in plan.jobs]
        _, failures = run_jobs(jobs_all, start=start, finished=cached, n=total, log=log, after=after, **run_on)

    entries = [entry(folder, line, plans[folder], made[folder], out) for folder, line, _ in todo if folder in made]
    index = write_index(out, entries, skipped)
    result = Course(index, entries, skipped)
    not_made = [folder for folder in plans if folder not in made]
    log(f"course: wrote {index} ({_n(len(entries), 'lecture')}"
        f"{f', {len(not_made)} not written' if not_made else ''}) in {clock(time.perf_counter() - start)}")
    if not_made:
        failures = {**failures, **failed}
        raise CourseIncomplete(failures, total - sum(1 for label in failures if "/" in label), total, out, result,
                               not_made)
    return result


def keep_moved_lectures(out: Path, todo: list[tuple[str, Line]], log=print) -> None:
    """A sentence whose place in the course changed (a sentence added above it) keeps its rendered lecture: its
    old folder, as the last run's course.json records it, is renamed to its new one. Only where nothing stands
    at the new name, and only folders this course does not use as they are; the render keys still decide
    what is current, so a wrong guess can cost a render, never a wrong video."""
    try:
        before = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["lectures"]
        old = [(str(e["folder"]), e["sentence"], e.get("target")) for e in before]
    except (OSError, ValueError, KeyError, TypeError):
        return
    wanted = {folder for folder, _ in todo}
    for folder, line in todo:
        if (out / folder).exists():
            continue
        for i, (was, sentence, target) in enumerate(old):
            source = out / was
            if (sentence, target) == (line.sentence, line.target) and was not in wanted and "/" not in was \
                    and not was.startswith(".") and source.is_dir():
                source.rename(out / folder)
                log(f"{folder}: the lecture rendered as {was} (the sentence moved)")
                del old[i]
                break


def entry(folder: str, line: Line, plan, lecture: Lecture, out: Path) -> Entry:
    return Entry(folder, line.where, plan.first.sentence, plan.first.output,
                 lecture.duration if lecture.duration is not None else probe(lecture.video)["duration"], lecture,
                 out / folder / POSTER)


# ----------------------------------------------------------------------------- the poster and the index
def poster_time(beats_file: Path) -> float:
    """When, in a lecture, its first scene's poster frame is (from that scene's beats): the middle of the pause
    that ends its poster beat, where the frame `render.py --still` writes stands."""
    beats = json.loads(beats_file.read_text(encoding="utf-8"))["beats"]
    beat = next((b for b in beats if b.get("poster")), beats[0])
    rest = beat.get("rest", beat["start"])
    return (rest + beat["end"]) / 2


def take_poster(plan, video: Path) -> Path:
    """DIR/NN-slug/poster.jpg: a frame of the lecture's video (the first scene's poster), made again whenever the
    video is newer."""
    from model.files import atomic_path

    poster = video.parent / POSTER
    if poster.is_file() and poster.stat().st_mtime_ns >= video.stat().st_mtime_ns:
        return poster
    with atomic_path(poster) as tmp:
        at = poster_time(plan.clips / f"{plan.names[0]}.beats.json")
        r = subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(video),
                            "-frames:v", "1", "-vf", f"scale='min({POSTER_WIDTH},iw)':-2", "-q:v", "3", str(tmp)],
                           capture_output=True, text=True)
        if r.returncode != 0 or not tmp.stat().st_size:
            raise RuntimeError(f"ffmpeg could not take the poster frame: {r.stderr.strip().splitlines()[-1:]}")
    return poster


PAGE_STYLE = """
body { font: 16px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem;
       background: #16181d; color: #e8e8e8; }
h1 { font-weight: 600; font-size: 1.6rem; margin-bottom: .2rem; }
.about, .meta, .missing { color: #a0a4ad; }
ol.lectures { list-style: none; padding: 0; }
li.lecture { display: flex; gap: 1.2rem; align-items: center; margin: 1.2rem 0; }
li.lecture img { width: 20rem; max-width: 45vw; height: auto; border-radius: 4px; display: block; }
.number { color: #a0a4ad; font-variant-numeric: tabular-nums; }
.sentence { font-size: 1.15rem; margin: 0; }
.sentence a { color: #8ab4f8; text-decoration: none; }
.translation { margin: .2rem 0; font-style: italic; }
.meta { margin: 0; font-size: .9rem; }
.meta a { color: #a0a4ad; }
"""


def index_html(entries: list[Entry], skipped: dict[str, str], folder: Path, embed: bool = False) -> str:
    """The course's page: a list of its lectures, each with its poster, sentence, translation, length and links,
    all relative to `folder` (or with `embed`, posters inline and links to the files where they are). It asks
    the network for nothing: no script, no font, no style from elsewhere. Every string from the user is escaped."""
    def link(path: Path) -> str:
        target = path.resolve().as_uri() if embed else "/".join(quote(part) for part in path.relative_to(folder).parts)
        return html.escape(target, quote=True)

    def picture(path: Path) -> str:
        if embed:
            return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode() if path.is_file() else ""
        return link(path)

    items = []
    for number, e in enumerate(entries, 1):
        video = link(e.lecture.video)
        extra = [f'<a href="{link(e.lecture.srt)}">subtitles</a>', f'<a href="{link(e.lecture.chapters)}">chapters</a>']
        if e.lecture.deck is not None:
            extra.append(f'<a href="{link(e.lecture.deck)}">slides</a>')
        items.append(
            f'<li class="lecture" id="{html.escape(e.folder, quote=True)}">'
            f'<a href="{video}"><img src="{picture(e.poster)}" alt="{html.escape(e.sentence, quote=True)}"></a>'
            f'<div><p class="sentence"><span class="number">{number}.</span> <a href="{video}">'
            f'{html.escape(e.sentence)}</a></p>'
            f'<p class="translation">{html.escape(e.translation)}</p>'
            f'<p class="meta"><span class="duration">{clock(e.duration)}</span>{DOT}{html.escape(e.where)}{DOT}'
            f'{DOT.join(extra)}</p></div></li>')
    missing = "".join(f"<li>{html.escape(where)}, {html.escape(why)}</li>" for where, why in skipped.items())
    total = sum(e.duration for e in entries)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Transformer, step by step: {len(entries)} lectures</title>\n<style>{PAGE_STYLE}</style>\n</head>\n"
        f"<body>\n<h1>Transformer, step by step</h1>\n"
        f'<p class="about">{_n(len(entries), "lecture")}, {clock(total)} in all. Every number on screen is computed '
        f"by the model on the sentence.</p>\n"
        f'<ol class="lectures">\n' + "\n".join(items) + "\n</ol>\n"
        + (f'<div class="missing"><p>Not rendered:</p><ul>{missing}</ul></div>\n' if missing else "")
        + "</body>\n</html>\n")


def write_index(out: Path, entries: list[Entry], skipped: dict[str, str]) -> Path:
    from model.files import atomic_write

    with atomic_write(out / INDEX, "w") as f:
        f.write(index_html(entries, skipped, out))
    return out / INDEX


def _write_json(path: Path, data) -> None:
    from model.files import atomic_write

    with atomic_write(path, "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")
