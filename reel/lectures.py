"""A lecture: every scene in teaching order, narrated, in one video with chapters and subtitles.

    python render.py --lecture --sentence "the black cat eats the fish" --out DIR
    python render.py --lecture --quality low --scenes cross_attention --jobs 2 --out DIR
    reel.lecture(sentence="the black cat eats the fish", out="DIR", quality="low")     # from Python

writes

- DIR/lecture.mp4 — video, narration (AAC), the subtitles as a text track, one chapter per scene;
- DIR/lecture.chapters.txt — the chapters as video sites read them (`0:00 Title`);
- DIR/lecture.srt, DIR/lecture.vtt — the captions, timed from the joined clips' real lengths;
- DIR/scenes/ — each scene's clip, trace, values and beats (a scene's files, and its cache);
- with --slides html|pptx, also DIR/lecture.html (+ DIR/lecture_assets/) or DIR/lecture.pptx: one
  deck for the whole lecture, a title slide, then each scene's section slide and its slides (its
  beats), speaker notes the narration, each clip with its piece of the sound (reel/slides.py).
  Each scene then also keeps its slides, DIR/scenes/NAME.slides/, in its cache.

Scenes render in parallel as jobs (`Job`: scene, traces, options, settings) handed to a
`concurrent.futures` executor (a process pool here; an executor of Dask's takes the same
jobs). Each scene is cached by its render key (`reel/clip.py`), the joined lecture by the
keys of its scenes: a second run with nothing changed only checks keys. An interrupted run
(Ctrl-C) or a failing scene keeps every finished scene. The lecture's files are written only when every scene rendered, each
to a temporary name and renamed into place (lecture.mp4 first, the key that marks the
set complete last), so there is never a half-written lecture.mp4.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from model.errors import InputError

MIN_CHAPTER = 10.0  # seconds: video sites ignore chapters shorter than this
OUTPUTS = ("lecture.mp4", "lecture.chapters.txt", "lecture.srt", "lecture.vtt")
HEARTBEAT = 30.0  # seconds between "still running" lines


def deck_outputs(kind: str | None) -> tuple[str, ...]:
    """The lecture deck's files: the page's folder, then the page (the order they are put in place); or the pptx."""
    return {"html": ("lecture_assets", "lecture.html"), "pptx": ("lecture.pptx",)}.get(kind, ())


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str


def title_of(cls) -> str:
    """A scene's chapter title: its `title` if it declares one, else its name in words."""
    title = getattr(cls, "title", None)
    if not isinstance(title, str) or not title:  # a scene may have a method of that name (decoder_input does)
        title = cls.name.replace("_", " ")
    return title[:1].upper() + title[1:]


def clock(seconds: float) -> str:
    """0:00, 1:05, 1:02:03: the form video sites read in a description."""
    s = int(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def chapters_for(titles: list[str], durations: list[float]) -> list[Chapter]:
    """One chapter per scene; one shorter than MIN_CHAPTER joins its neighbour (sites ignore short ones)."""
    out: list[Chapter] = []
    t = 0.0
    for title, d in zip(titles, durations):
        out.append(Chapter(t, t + d, title))
        t += d
    merged: list[Chapter] = []
    for ch in out:
        if merged and (ch.end - ch.start < MIN_CHAPTER or merged[-1].end - merged[-1].start < MIN_CHAPTER):
            last = merged[-1]
            merged[-1] = Chapter(last.start, ch.end, f"{last.title} \u00b7 {ch.title}")
        else:
            merged.append(ch)
    return merged


def chapters_txt(chapters: list[Chapter]) -> str:
    return "".join(f"{clock(c.start)} {c.title}\n" for c in chapters)


def _meta_escape(text: str) -> str:
    for ch in ("\\", "=", ";", "#", "\n"):
        text = text.replace(ch, "\\" + ch)
    return text


def ffmetadata(chapters: list[Chapter], title: str) -> str:
    """FFmpeg's metadata file: the title and chapters in milliseconds (TIMEBASE always written)."""
    lines = [";FFMETADATA1", f"title={_meta_escape(title)}"]
    for c in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(c.start * 1000)}", f"END={round(c.end * 1000)}",
                  f"title={_meta_escape(c.title)}"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- probing
def probe(path: Path) -> dict:
    """Duration of the file and of each stream, in seconds, by ffprobe."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,duration",
                        "-of", "json", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ffprobe could not read {path}: {r.stderr.strip()}")
    info = json.loads(r.stdout)
    streams = {}
    for s in info.get("streams", []):
        if "duration" in s:
            streams.setdefault(s["codec_type"], float(s["duration"]))
    return {"duration": float(info["format"]["duration"]), "streams": streams}


# ----------------------------------------------------------------------------- the jobs
@dataclass(frozen=True)
class Job:
    """One scene to render: a pure function of (scene, traces, options, settings) that writes into `clips`."""

    label: str  # how progress names it ("softmax", or "02-cats-sleep/softmax" in a course)
    scene: str
    traces: dict  # slot → Trace, the scene's own
    options: dict
    settings: object  # reel.clip.Settings
    clips: str  # the folder its files go to


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # idle workers ignore Ctrl-C; a job listens while it runs


def render_job(job: Job) -> dict:
    """One scene, in a local worker process: `reel.clip.render_clip` (cached), with its own log lines."""
    from reel import clip

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = clip.render_clip(job.scene, job.traces, job.options, job.settings, Path(job.clips),
                                  log=_job_log(job))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return {"skipped": result["skipped"], "key": result["key"], "seconds": result.get("seconds", 0.0),
            "synthesised": result.get("synthesised", 0)}


_ONE_AT_A_TIME = threading.Lock()  # Manim's settings are global to a process: one render in it at a time


def ship_job(job: Job, identity: dict | None = None) -> dict:
    """One scene on a worker that shares no filesystem with the client (a Dask worker, or any executor's):
    rendered into a temporary folder there, its files returned as bytes (`reel.clip.render_clip_files`) for the
    client to write (`reel.clip.place_clip`). With `identity`, the worker first checks that it runs the
    client's version of the project (`reel.cluster`). Runs in a worker's thread: no signal handling here."""
    from reel import clip

    if identity is not None:
        from reel.cluster import check_here

        check_here(identity, job.settings.voice)
    with _ONE_AT_A_TIME:
        return clip.render_clip_files(job.scene, job.traces, job.options, job.settings, log=_job_log(job))


def _job_log(job: Job):
    """A job's log lines, printed as they come, each led by its lecture's folder ("02-cats-sleep/" in a course)."""
    where = job.label.removesuffix(job.scene)
    return lambda message: print(where + message, flush=True)


def lecture_key(scene_keys: list[tuple[str, str]], titles: list[str], settings) -> str:
    """The joined lecture depends on its scenes' keys, their order and titles, and the code that joins them."""
    from reel.clip import code_digest

    h = hashlib.sha256(code_digest().encode())
    h.update(Path(__file__).read_bytes())
    h.update(json.dumps([scene_keys, titles, settings.voice, settings.captions, settings.quality, settings.fps]).encode())
    return h.hexdigest()


class RenderFailed(Exception):
    """Some scenes failed to render (the others were kept): {label: the error in one line}."""

    def __init__(self, failures: dict[str, str], done: int, total: int, kept_in: Path):
        self.failures, self.done, self.total, self.kept_in = failures, done, total, kept_in
        super().__init__(f"{len(failures)} of {total} scenes failed: {', '.join(failures)}")


class Interrupted(Exception):
    """Ctrl-C while scenes rendered: the finished ones are kept, and the next run resumes from them."""

    def __init__(self, finished: list[str], total: int):
        self.finished, self.total = finished, total
        super().__init__(f"interrupted: {len(finished)} of {total} scenes finished and are kept")


# ----------------------------------------------------------------------------- what comes back
@dataclass(frozen=True)
class Lecture:
    """The files a lecture wrote (or kept, when nothing had changed)."""

    video: Path  # lecture.mp4: the narration, the subtitles as a text track, one chapter per scene
    chapters: Path  # lecture.chapters.txt
    srt: Path
    vtt: Path
    deck: Path | None  # lecture.html or lecture.pptx, with --slides
    scenes: Path  # each scene's own files, and the cache
    duration: float | None = None  # seconds, when it was joined in this run
    rendered: bool = True  # False: nothing had changed

    @property
    def paths(self) -> list[Path]:
        return [self.video, self.chapters, self.srt, self.vtt] + ([self.deck] if self.deck else []) + [self.scenes]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.paths)

    def _repr_html_(self) -> str | None:
        from reel.api import media_html

        return media_html(self.video)


# ----------------------------------------------------------------------------- the plan
def choose(scenes: list[str] | str | None) -> tuple[list[str], list[str]]:
    """(scenes to render in teaching order, catalogue names not written yet), from "a,b", a list or None (all)."""
    from scenes import TEACHING_ORDER, available

    have = available()
    if scenes:
        wanted = [n.strip() for n in scenes.split(",")] if isinstance(scenes, str) else [n.strip() for n in scenes]
        wanted = [n for n in wanted if n]
        unknown = [n for n in wanted if n not in TEACHING_ORDER]
        if unknown or not wanted:
            raise InputError(f"unknown scene {unknown[0] if unknown else scenes!r}; "
                             f"the scenes are: {', '.join(TEACHING_ORDER)}")
        order = [n for n in TEACHING_ORDER if n in wanted]
    else:
        order = list(TEACHING_ORDER)
    return [n for n in order if n in have], [n for n in order if n not in have]


@dataclass
class Plan:
    """One lecture's work: what to render (`jobs`), what is cached (`keys`), and how to finish it."""

    out: Path
    names: list[str]
    classes: dict
    titles: list[str]
    settings: object
    slides: str | None
    first: object  # the first scene's first trace: the sentence and its translation
    keys: dict[str, str]  # scene → render key, of the scenes already rendered
    jobs: list[Job]

    @property
    def clips(self) -> Path:
        return self.out / "scenes"


def plan_lecture(sentence: str | None, out: Path, names: list[str], settings, *, target: str | None = None,
                 slides: str | None = None, allow_unknown: bool = False, options: dict | None = None,
                 label: str = "", prepared: tuple | None = None, log=print) -> Plan:
    """Check the input, record the traces (unless `prepared`: what `reel.api.prepare` returned for them), and
    find which scenes must render (the others are cached). Writes nothing but the (empty) output folders."""
    from reel import clip
    from reel.api import headline, prepare
    from scenes import scene_class
    from scenes.kit.options import resolve_options

    traces, per_scene = prepared or prepare(names, sentence, target, allow_unknown, options or {}, log)
    classes = {n: scene_class(n) for n in names}
    clips = out / "scenes"
    clips.mkdir(parents=True, exist_ok=True)
    if not os.access(clips, os.W_OK):
        raise InputError(f"cannot write to {out}")
    clip.clean_stale_work(clips)
    clip.clean_stale_work(out)
    keys: dict[str, str] = {}
    # a scene rendered for a deck (its clip and its slides) serves a lecture without one as well
    usable = [settings] if settings.slides else [settings, dataclasses.replace(settings, slides="parts")]
    for name, cls in classes.items():  # what has not changed is not even handed to a worker
        for s in usable:
            key = clip.render_key(cls, traces[name], resolve_options(cls, per_scene[name], traces[name]), s)
            if not settings.force and clip.up_to_date(clip.outputs(cls, clips, s), clip.key_file(clips, name), key):
                keys[name] = key
                break
    jobs = [Job(f"{label}{n}", n, traces[n], per_scene[n], settings, str(clips)) for n in names if n not in keys]
    first = headline(traces[names[0]], classes[names[0]])
    return Plan(out, names, classes, [title_of(classes[n]) for n in names], settings, slides, first, keys, jobs)


def finish_lecture(plan: Plan, log=print) -> Lecture:
    """Join the rendered scenes into the lecture's files and its deck, unless they are current."""
    out, names, titles, settings = plan.out, plan.names, plan.titles, plan.settings
    start = time.perf_counter()
    key = lecture_key([(n, plan.keys[n]) for n in names], titles, settings)
    # the video and the deck are made from the same scenes, each kept while its key holds
    parts = [(".lecture-key", OUTPUTS)]
    if plan.slides:
        parts.append((f".lecture-{plan.slides}-key", deck_outputs(plan.slides)))
    stale = [(key_file, files) for key_file, files in parts
             if settings.force or not _current(out, key_file, files, key)]
    deck = out / f"lecture.{plan.slides}" if plan.slides else None
    made = Lecture(out / "lecture.mp4", out / "lecture.chapters.txt", out / "lecture.srt", out / "lecture.vtt", deck,
                   plan.clips, rendered=bool(stale))
    if not stale:
        kept = [str(out / f) for _, files in parts for f in files if "." in f]
        log(f"lecture: nothing changed; kept {', '.join(kept)}")
        return made
    wrote = []
    duration = None
    for key_file, files in stale:
        (out / key_file).unlink(missing_ok=True)  # the old key first: a set half-made never looks finished
        if files == OUTPUTS:
            summary = join(names, titles, plan.clips, out, plan.first.sentence, settings.voice != "none")
            duration = summary["duration"]
            wrote.append(f"{out / 'lecture.mp4'} ({clock(summary['duration'])}, "
                         f"{_n(len(summary['chapters']), 'chapter')}, {summary['cues']} subtitles), "
                         f"lecture.chapters.txt, lecture.srt, lecture.vtt")
        else:
            slides = make_lecture_deck(plan.slides, names, titles, [plan.classes[n].summary for n in names],
                                       plan.clips, out, plan.first, settings)
            wrote.append(f"{deck} ({_n(slides, 'slide')})")
        _write_key(out / key_file, key)
    log(f"lecture: wrote {'; '.join(wrote)} in {time.perf_counter() - start:.1f} s")
    return dataclasses.replace(made, duration=duration)


def _write_key(path: Path, key: str) -> None:
    from model.files import atomic_write

    with atomic_write(path, "w") as f:
        f.write(key)


# ----------------------------------------------------------------------------- the lecture
def lecture(sentence: str | None = None, *, out: str | Path = "lecture", scenes: list[str] | str | None = None,
            target: str | None = None, quality: str = "high", fps: int | None = None, voice: str | None = None,
            captions: bool = False, slides: str | None = None, jobs: int | None = None, force: bool = False,
            allow_unknown: bool = False, executor: cf.Executor | None = None, cluster=None, log=print,
            **options) -> Lecture:
    """Every scene (or `scenes`) in teaching order, narrated, joined into `out`/lecture.mp4 with chapters and
    subtitles (and with `slides` "html" or "pptx", one deck). Scenes render in parallel, `jobs` at once
    (default: the cores), on `executor` (any `concurrent.futures.Executor`, whose workers may be elsewhere:
    each job sends its files back), or on a Dask `cluster` (its address, tcp://HOST:8786, or a
    `distributed.Client`; `reel.cluster`). Raises `InputError` for bad input, `RenderFailed` when scenes failed
    (the others are kept), `Interrupted` on Ctrl-C."""
    from reel.api import _logger, _out_folder

    log = _logger(log)
    start = time.perf_counter()
    names, missing, settings = lecture_settings(scenes, quality, fps, voice, captions, slides, jobs, force, cluster,
                                                executor)
    out = _out_folder(out)
    with where_jobs_run(jobs, executor, cluster, settings.voice, log) as run_on:
        plan = plan_lecture(sentence, out, names, settings, target=target, slides=slides,
                            allow_unknown=allow_unknown, options=options, log=log)
        if missing:
            log(f"not written yet, skipped: {', '.join(missing)}")
        for i, name in enumerate(plan.keys, 1):
            log(f"[scene {i} of {len(names)}] {name} cached (nothing changed)")
        rendered, failures = run_jobs(plan.jobs, start=start, finished=len(plan.keys), n=len(names), log=log,
                                      **run_on)
    plan.keys.update({job.scene: rendered[job.label] for job in plan.jobs if job.label in rendered})
    if failures:
        raise RenderFailed(failures, len(names) - len(failures), len(names), plan.clips)
    return finish_lecture(plan, log)


def lecture_settings(scenes, quality: str, fps: int | None, voice: str | None, captions: bool, slides: str | None,
                     jobs: int | None, force: bool, cluster=None,
                     executor: cf.Executor | None = None) -> tuple[list[str], list[str], object]:
    """What a lecture (or each lecture of a course) renders, checked before any work: (the scenes in teaching
    order, the chosen ones not written yet, the `reel.clip.Settings` of every scene). Stops with an InputError
    for bad input or a missing program."""
    from reel import clip
    from reel.narration import default_voice, narrator_for
    from scenes.kit.tools import require

    if jobs is not None and jobs < 1:
        raise InputError("--jobs must be at least 1")
    if cluster is not None:
        from reel.cluster import check_address

        if executor is not None or jobs is not None:
            raise InputError("--cluster decides where the scenes render: it takes no --jobs (nor an executor)")
        check_address(cluster)
    names, missing = choose(scenes)
    if not names:
        raise InputError("none of the chosen scenes is written yet")
    voice = voice or default_voice()  # piper, else flite with a one-line notice on stderr
    settings = clip.Settings(quality, fps, None, force, voice, captions, progress=False,
                             slides="parts" if slides else None)
    settings.check()
    if slides not in (None, "html", "pptx"):
        raise InputError(f"unknown kind of slides {slides!r}: html or pptx")
    require("latex", "dvisvgm", "ffmpeg", "ffprobe")
    narrator_for(voice)  # the voice's program is there, before any work
    if slides:
        from reel.slides import check_ready

        check_ready(slides)
    return names, missing, settings


@contextlib.contextmanager
def where_jobs_run(jobs: int | None, executor: cf.Executor | None, cluster, voice: str, log=print):
    """Where scene jobs run, as `run_jobs` takes it ({"workers", "executor", "ship", "identity"}): a local process
    pool of `jobs` (default: the cores), which writes the files itself; an `executor`, whose workers may share
    no filesystem with this process (each job sends its files back); or a Dask `cluster`, connected to (and its
    workers' version checked) for the length of the block."""
    if cluster is None:
        yield {"workers": jobs or os.cpu_count() or 1, "executor": executor, "ship": executor is not None,
               "identity": None}
        return
    from reel.cluster import connect

    with connect(cluster, voice, log) as run_on:
        yield run_on


def _current(out: Path, key_file: str, files, key: str) -> bool:
    """These files are all there and were made from exactly these scenes."""
    path = out / key_file
    try:
        return all((out / f).exists() for f in files) and path.read_text() == key
    except (OSError, UnicodeDecodeError):
        return False


def make_lecture_deck(kind: str, names: list[str], titles: list[str], summaries: list[str], clips: Path, out: Path,
                      trace, settings) -> int:
    """DIR/lecture.html (+ lecture_assets/) or DIR/lecture.pptx from the scenes' cached slides, made in a
    work folder and renamed into place (the folder before the page that points into it). Returns its slide count."""
    import shutil

    from reel.clip import WORK_PREFIX, manim_settings
    from reel.slides import lecture_deck

    heading = [f"\u201c{trace.sentence}\u201d" + (f" \u2192 {trace.output}" if getattr(trace, "output", None) else "")]
    scenes = [{"title": t, "summary": s, "slides": clips / f"{n}.slides"} for n, t, s in zip(names, titles, summaries)]
    work = out / f".lecture{WORK_PREFIX}{os.getpid()}-deck"
    try:
        work.mkdir(exist_ok=True)
        dest, count = lecture_deck(kind, scenes, heading, manim_settings(settings, work / "media", "lecture"), work)
        for name in deck_outputs(kind):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(dest.parent / name, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return count


def run_jobs(jobs: list[Job], workers, start: float, finished: int, n: int, log=print,
             executor: cf.Executor | None = None, *, ship: bool = False, identity: dict | None = None,
             after=None) -> tuple[dict[str, str], dict[str, str]]:
    """Render jobs in parallel: on `executor` if given, else a process pool of `workers`. Returns
    ({label: render key}, {label: error}). Progress: each job as it ends, with the time elapsed and an estimate
    of what remains, and a heartbeat while they run.

    `workers` is how many jobs are handed out at once (a number, or a function asked each time: the workers a
    cluster has now). With `ship`, the executor's workers share no filesystem with this process: each job
    returns its files' bytes and they are written here as they arrive (`reel.clip.place_clip`), with `identity`
    checked on the worker first (`reel.cluster`). `after(job, key)` is called once a job's files are in place."""
    from reel.clip import place_clip

    keys: dict[str, str] = {}
    failures: dict[str, str] = {}
    if not jobs:
        return keys, failures
    own = executor is None
    capacity = workers if callable(workers) else (lambda: workers)
    if own:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that has run PyTorch
        executor = cf.ProcessPoolExecutor(max_workers=min(capacity(), len(jobs)), mp_context=ctx,
                                          initializer=_worker_init)
    futures: dict[cf.Future, Job] = {}
    unseen: set[cf.Future] = set()  # handed out, and their end not yet handled here (done or not)
    queue = list(jobs)
    order = {job.label: i for i, job in enumerate(jobs)}
    began = time.perf_counter()

    def submit() -> None:
        """Hand out jobs only as workers free up, so that what is pending is what is running."""
        room = capacity() - sum(not f.done() for f in unseen)
        while queue and room > 0:
            job = queue.pop(0)
            future = executor.submit(ship_job, job, identity) if ship else executor.submit(render_job, job)
            futures[future] = job
            unseen.add(future)
            room -= 1

    try:
        submit()
        last_beat = time.perf_counter()
        while queue or unseen:  # until every job's end is handled: one may end while another's is
            done, _ = cf.wait(unseen, timeout=5.0, return_when=cf.FIRST_COMPLETED)
            unseen.difference_update(done)
            submit()
            running = [futures[p].label for p in unseen if not p.done()]
            for f in sorted(done, key=lambda f: order[futures[f].label]):
                finished += 1
                job = futures[f]
                try:
                    result = f.result()
                    if ship:
                        place_clip(job.scene, job.settings, Path(job.clips), result)
                except Exception as e:  # a scene that failed: the others go on
                    failures[job.label] = _describe(e)
                    state = "FAILED"
                else:
                    keys[job.label] = result["key"]
                    state = "cached" if result["skipped"] else f"rendered in {result['seconds']:.0f} s"
                elapsed = time.perf_counter() - start
                ended = len(keys) + len(failures)
                left = (time.perf_counter() - began) / ended * (len(jobs) - ended)
                log(f"[scene {finished} of {n}] {job.label} {state}; elapsed {clock(elapsed)}"
                    f"{f'; about {clock(left)} left' if ended < len(jobs) else ''}"
                    f"{'; running: ' + ', '.join(running) if running else ''}")
                if after is not None and job.label in keys:
                    after(job, keys[job.label])
            if not done and time.perf_counter() - last_beat >= HEARTBEAT:
                last_beat = time.perf_counter()
                log(f"[{finished} of {n} done] elapsed {clock(time.perf_counter() - start)}; "
                    f"running: {', '.join(running) or '-'}")
    except KeyboardInterrupt:
        if own:
            _interrupt(executor, futures)
        else:
            for f in futures:
                f.cancel()
        # kept: what was written here, and (from a local pool) what a worker wrote before it was noticed
        kept = [job.label for f, job in futures.items() if job.label in keys or (
            not ship and f.done() and not f.cancelled() and f.exception() is None)]
        raise Interrupted(kept, n) from None
    if own:
        executor.shutdown(wait=True)
    return keys, failures


def _interrupt(pool: cf.ProcessPoolExecutor, futures: dict) -> None:
    """Stop: queued scenes are cancelled, running ones interrupted (they clean up their work folders).

    Ctrl-C at a terminal reaches the workers too; a worker still busy two seconds later (the
    parent alone was signalled) is sent SIGINT. One that does not stop is terminated: the work
    folder it leaves is removed by the next run.
    """
    for f in futures:
        f.cancel()
    running = [f for f in futures if not f.done()]
    cf.wait(running, timeout=2.0)
    procs = list(getattr(pool, "_processes", {}).values())  # the executor's workers (CPython keeps them here)
    if any(not f.done() for f in running):
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGINT)  # an idle worker ignores it
        cf.wait(running, timeout=20.0)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.join(5.0)
        if p.is_alive():
            p.terminate()


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _describe(e: BaseException) -> str:
    if isinstance(e, cf.process.BrokenProcessPool):
        return "its worker process died (out of memory?)"
    if type(e).__name__ == "KilledWorker":  # Dask's: every worker that took it died (allowed-failures)
        return "every worker that took it died (out of memory?)"
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}".rstrip(": ")


# ----------------------------------------------------------------------------- joining
def join(names: list[str], titles: list[str], clips: Path, out: Path, sentence: str, audio: bool) -> dict:
    """Join the clips; chapters and subtitles from their real lengths; all four files by rename, together."""
    from model.files import atomic_path
    from reel import subtitles

    durations, cues = [], []
    offset = 0.0
    for name in names:
        info = probe(clips / f"{name}.mp4")
        if audio and "audio" not in info["streams"]:
            raise RuntimeError(f"{name}.mp4 has no sound: render it again with --force")
        beats = json.loads((clips / f"{name}.beats.json").read_text(encoding="utf-8"))
        cues += subtitles.scene_cues(beats, offset)
        durations.append(info["duration"])
        offset += info["duration"]
    cues = subtitles.tidy(cues)
    chapters = chapters_for(titles, durations)

    work = out / f".lecture.render-{os.getpid()}-join"
    work.mkdir(exist_ok=True)
    try:
        listing = work / "clips.txt"
        listing.write_text("".join(f"file '{(clips / f'{n}.mp4').resolve().as_posix()}'\n" for n in names))
        meta = work / "chapters.txt"
        meta.write_text(ffmetadata(chapters, f"Transformer, step by step: {sentence}"), encoding="utf-8")
        srt_file = work / "lecture.srt"
        srt_file.write_text(subtitles.srt_text(cues), encoding="utf-8")
        with atomic_path(out / "lecture.mp4") as tmp_mp4:
            cmd = ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                   "-f", "ffmetadata", "-i", str(meta), "-i", str(srt_file),
                   "-map", "0:v", "-c:v", "copy"]
            if audio:  # one continuous AAC track: each clip's sound already lasts as long as its picture
                cmd += ["-map", "0:a", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"]
            cmd += ["-map", "2:s", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
                    "-map_metadata", "1", "-map_chapters", "1", "-movflags", "+faststart", "-f", "mp4", str(tmp_mp4)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"ffmpeg could not join the clips: {r.stderr.strip().splitlines()[-1:]}")
            total = probe(tmp_mp4)["duration"]
            staged = {}
            for fname, text in (("lecture.chapters.txt", chapters_txt(chapters)),
                                ("lecture.srt", subtitles.srt_text(cues)), ("lecture.vtt", subtitles.vtt_text(cues))):
                staged[fname] = work / fname
                staged[fname].write_text(text, encoding="utf-8")
        # lecture.mp4 is in place; its three companions follow at once
        for fname, path in staged.items():
            os.replace(path, out / fname)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return {"duration": total, "chapters": chapters, "cues": len(cues), "durations": durations}

