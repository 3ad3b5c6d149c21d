"""`render.py --lecture`: every scene in teaching order, narrated, in one video with chapters and subtitles.

    python render.py --lecture --sentence "the black cat eats the fish" --out DIR
    python render.py --lecture --quality low --scenes cross_attention --jobs 2 --out DIR

writes

- DIR/lecture.mp4 — video, narration (AAC), the subtitles as a text track, one chapter per scene;
- DIR/lecture.chapters.txt — the chapters as video sites read them (`0:00 Title`);
- DIR/lecture.srt, DIR/lecture.vtt — the captions, timed from the joined clips' real lengths;
- DIR/scenes/ — each scene's clip, trace, values and beats (render.py's files, and its cache);
- with --slides html|pptx, also DIR/lecture.html (+ DIR/lecture_assets/) or DIR/lecture.pptx: one
  deck for the whole lecture, a title slide, then each scene's section slide and its slides (its
  beats), speaker notes the narration, each clip with its piece of the sound (reel/slides.py).
  Each scene then also keeps its slides, DIR/scenes/NAME.slides/, in its cache.

Scenes render in parallel as jobs handed to a `concurrent.futures` executor (a process
pool here; an executor of Dask's or Ray's takes the same jobs). Each scene is cached by
render.py's render key, the joined lecture by the keys of its scenes: a second run with
nothing changed only checks keys. An interrupted run (Ctrl-C) or a failing scene keeps
every finished scene. The lecture's files are written only when every scene rendered, each
to a temporary name and renamed into place (lecture.mp4 first, the key that marks the
set complete last), so there is never a half-written lecture.mp4.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
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
def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # idle workers ignore Ctrl-C; a job listens while it runs


def render_job(name: str, traces: dict, given: dict, settings, out: str) -> dict:
    """One scene, in a worker process: render.py's render_scene (cached), with its own log lines."""
    import render

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = render.render_scene(name, traces, given, settings, Path(out), log=lambda m: print(m, flush=True))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return {"skipped": result["skipped"], "key": result["key"], "seconds": result.get("seconds", 0.0),
            "synthesised": result.get("synthesised", 0)}


def lecture_key(scene_keys: list[tuple[str, str]], titles: list[str], settings) -> str:
    """The joined lecture depends on its scenes' keys, their order and titles, and the code that joins them."""
    from render import code_digest

    h = hashlib.sha256(code_digest().encode())
    h.update(Path(__file__).read_bytes())
    h.update(json.dumps([scene_keys, titles, settings.voice, settings.captions, settings.quality, settings.fps]).encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- the command
def choose(args) -> tuple[list[str], list[str]]:
    """(scenes to render in teaching order, catalogue names not written yet)."""
    from scenes import TEACHING_ORDER, available

    have = available()
    if args.scenes:
        wanted = [n.strip() for n in args.scenes.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in TEACHING_ORDER]
        if unknown or not wanted:
            raise InputError(f"unknown scene {unknown[0] if unknown else args.scenes!r}; "
                             f"the scenes are: {', '.join(TEACHING_ORDER)}")
        order = [n for n in TEACHING_ORDER if n in wanted]
    else:
        order = list(TEACHING_ORDER)
    return [n for n in order if n in have], [n for n in order if n not in have]


def run_lecture(args) -> int:
    import render
    from reel.narration import default_voice, narrator_for
    from scenes import scene_class
    from scenes.kit.options import resolve_options
    from scenes.kit.tools import require

    start = time.perf_counter()
    if args.scene or args.still is not None or args.beats or args.check:
        raise InputError("--lecture renders every scene as a video: leave out --scene, --still, --beats and --check")
    if args.format or args.transparent:
        raise InputError("--lecture writes lecture.mp4 (and a deck with --slides): it takes no --format or --transparent")
    if args.fps is not None and not 1 <= args.fps <= 120:
        raise InputError("--fps must be between 1 and 120")
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise InputError("--jobs must be at least 1")
    names, missing = choose(args)
    if not names:
        raise InputError("none of the chosen scenes is written yet")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    voice = args.voice or default_voice()  # piper, else flite with a notice on stderr
    require("latex", "dvisvgm", "ffmpeg", "ffprobe")
    narrator_for(voice)  # the voice's program is there, before any work
    if args.slides:
        from reel.slides import check_ready

        check_ready(args.slides)

    classes = {n: scene_class(n) for n in names}
    given = {name: getattr(args, name) for name in render.scene_options() if getattr(args, name, None) is not None}
    needed = list(dict.fromkeys(m for cls in classes.values() for m in cls.needs))
    traces = render.record_traces(needed, args.sentence, args.target, list(classes.values()))
    per_scene = {}
    for name, cls in classes.items():  # options apply to the scenes that declare them; all checked first
        per_scene[name] = {k: v for k, v in given.items() if any(o.name == k for o in cls.options)}
        resolve_options(cls, per_scene[name], traces)
    first = traces[needed[0]]
    print(f"sentence: {first.sentence}", flush=True)
    if missing:
        print(f"not written yet, skipped: {', '.join(missing)}", flush=True)

    settings = render.Settings(args.quality, args.fps, None, args.force, voice, args.captions == "on",
                               progress=False, slides="parts" if args.slides else None)
    clips = out / "scenes"
    clips.mkdir(parents=True, exist_ok=True)
    if not os.access(clips, os.W_OK):
        raise InputError(f"cannot write to {out}")
    render.clean_stale_work(clips)
    render.clean_stale_work(out)

    keys: dict[str, str] = {}
    # a scene rendered for a deck (its clip and its slides) serves a lecture without one as well
    usable = [settings] if settings.slides else [settings, dataclasses.replace(settings, slides="parts")]
    for name, cls in classes.items():  # what has not changed is not even handed to a worker
        for s in usable:
            key = render.render_key(cls, {m: traces[m] for m in cls.needs},
                                    resolve_options(cls, per_scene[name], traces), s)
            if not settings.force and render.up_to_date(render.outputs(cls, clips, s),
                                                         clips / f".{name}.render-key", key):
                keys[name] = key
                break
    for i, name in enumerate(keys, 1):
        print(f"[scene {i} of {len(names)}] {name} cached (nothing changed)", flush=True)
    todo = [n for n in names if n not in keys]
    rendered, failures = _render_all(todo, traces, per_scene, settings, clips, jobs, start, len(keys), len(names))
    keys.update(rendered)
    if failures:
        for name, error in failures.items():
            print(f"error: {name} failed: {error}", file=sys.stderr, flush=True)
        done = len(names) - len(failures)
        print(f"lecture not written: {len(failures)} of {len(names)} scenes failed; the {done} that rendered are "
              f"kept in {clips} and the next run resumes from them", file=sys.stderr, flush=True)
        return 1

    titles = [title_of(classes[n]) for n in names]
    key = lecture_key([(n, keys[n]) for n in names], titles, settings)
    # the video and the deck are made from the same scenes, each kept while its key holds
    parts = [(".lecture-key", OUTPUTS)]
    if args.slides:
        parts.append((f".lecture-{args.slides}-key", deck_outputs(args.slides)))
    stale = [(key_file, files) for key_file, files in parts
             if args.force or not _current(out, key_file, files, key)]
    if not stale:
        kept = [str(out / f) for _, files in parts for f in files if "." in f]
        print(f"lecture: nothing changed; kept {', '.join(kept)} ({time.perf_counter() - start:.1f} s)")
        return 0
    wrote = []
    for key_file, files in stale:
        (out / key_file).unlink(missing_ok=True)  # the old key first: a set half-made never looks finished
        if files == OUTPUTS:
            summary = join(names, titles, clips, out, first.sentence, voice != "none")
            wrote.append(f"{out / 'lecture.mp4'} ({clock(summary['duration'])}, "
                         f"{_n(len(summary['chapters']), 'chapter')}, {summary['cues']} subtitles), "
                         f"lecture.chapters.txt, lecture.srt, lecture.vtt")
        else:
            slides = make_lecture_deck(args.slides, names, titles, [classes[n].summary for n in names], clips, out,
                                       first, settings)
            wrote.append(f"{out / f'lecture.{args.slides}'} ({_n(slides, 'slide')})")
        (out / key_file).write_text(key)
    print(f"lecture: wrote {'; '.join(wrote)} in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


def _current(out: Path, key_file: str, files, key: str) -> bool:
    """These files are all there and were made from exactly these scenes."""
    path = out / key_file
    return all((out / f).exists() for f in files) and path.exists() and path.read_text() == key


def make_lecture_deck(kind: str, names: list[str], titles: list[str], summaries: list[str], clips: Path, out: Path,
                      trace, settings) -> int:
    """DIR/lecture.html (+ lecture_assets/) or DIR/lecture.pptx from the scenes' cached slides, made in a
    work folder and renamed into place (the folder before the page that points into it). Returns its slide count."""
    import shutil

    import render
    from reel.slides import lecture_deck

    heading = [f"\u201c{trace.sentence}\u201d" + (f" \u2192 {trace.output}" if getattr(trace, "output", None) else "")]
    scenes = [{"title": t, "summary": s, "slides": clips / f"{n}.slides"} for n, t, s in zip(names, titles, summaries)]
    work = out / f".lecture{render.WORK_PREFIX}{os.getpid()}-deck"
    try:
        work.mkdir(exist_ok=True)
        dest, count = lecture_deck(kind, scenes, heading, render.manim_settings(settings, work / "media", "lecture"), work)
        for name in deck_outputs(kind):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(dest.parent / name, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return count


def _render_all(names, traces, per_scene, settings, clips: Path, jobs: int, start: float, finished: int, n: int):
    """Render scenes as jobs of a process pool; returns ({name: render key}, {name: error})."""
    keys: dict[str, str] = {}
    failures: dict[str, str] = {}
    if not names:
        return keys, failures
    ctx = multiprocessing.get_context("spawn")  # never fork a process that has run PyTorch
    workers = min(jobs, len(names))
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    futures: dict[cf.Future, str] = {}
    queue = list(names)

    def submit() -> None:
        """Hand out jobs only as workers free up, so that what is pending is what is running."""
        while queue and sum(not f.done() for f in futures) < workers:
            name = queue.pop(0)
            needs = render_needs(name)
            futures[pool.submit(render_job, name, {m: traces[m] for m in needs}, per_scene[name], settings,
                                str(clips))] = name

    try:
        submit()
        last_beat = time.perf_counter()
        while queue or any(not f.done() for f in futures):
            pending = {f for f in futures if not f.done()}
            done, pending = cf.wait(pending, timeout=5.0, return_when=cf.FIRST_COMPLETED)
            submit()
            running = [futures[p] for p in futures if not p.done()]
            for f in sorted(done, key=lambda f: names.index(futures[f])):
                finished += 1
                name = futures[f]
                try:
                    result = f.result()
                except Exception as e:  # a scene that failed: the others go on
                    failures[name] = _describe(e)
                    state = "FAILED"
                else:
                    keys[name] = result["key"]
                    state = "cached" if result["skipped"] else f"rendered in {result['seconds']:.0f} s"
                print(f"[scene {finished} of {n}] {name} {state}; elapsed {clock(time.perf_counter() - start)}"
                      f"{'; running: ' + ', '.join(running) if running else ''}", flush=True)
            if not done and time.perf_counter() - last_beat >= HEARTBEAT:
                last_beat = time.perf_counter()
                print(f"[{finished} of {n} done] elapsed {clock(time.perf_counter() - start)}; "
                      f"running: {', '.join(running) or '-'}", flush=True)
    except KeyboardInterrupt:
        _interrupt(pool, futures)
        finished_names = [futures[f] for f in futures if f.done() and not f.cancelled() and f.exception() is None]
        print(f"interrupted: {len(finished_names)} of {n} scenes finished and are kept"
              f"{' (' + ', '.join(finished_names) + ')' if finished_names else ''}; run the same command to resume",
              file=sys.stderr, flush=True)
        raise SystemExit(130)
    pool.shutdown(wait=True)
    return keys, failures


def render_needs(name: str) -> tuple[str, ...]:
    from scenes import scene_class

    return scene_class(name).needs


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

