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
    python render.py --course FILE --out DIR                  # a lecture per sentence of FILE, and DIR/index.html
    python render.py --course FILE --cluster tcp://HOST:8786  # … its scenes rendered on a Dask cluster

For each scene NAME it writes DIR/NAME.mp4 (or .webm, .gif, .mov, .png, or the deck: NAME.html
with NAME_assets/, NAME.pptx), DIR/NAME.trace.npz (the forward
pass it shows), DIR/NAME.values.json (every number on screen) and DIR/NAME.beats.json
(its beats and captions), as ../shared/CONTRACT.md fixes. A scene whose inputs did not
change since the last render is not rendered again. `--lecture` (reel/lectures.py) joins
every scene into one narrated video with chapters and subtitles; `--course FILE` (reel/courses.py)
makes one lecture per sentence of FILE, all their scenes rendered as one batch, locally or on a
Dask cluster (`--cluster`, reel/cluster.py).

This file only reads the command line: the work is the library's (`reel.render_scenes`,
`reel.check_scenes`, `reel.lecture`, `reel.course`; reel/api.py), which a Python program or a notebook
calls the same way. Options such as --layer and --head are declared by the scenes
(scenes/kit/options.py): this file has no per-scene code.
"""

from __future__ import annotations

import argparse
import sys

from model.errors import ArgumentParser, InputError, run_reporting_errors
from reel.clip import QUALITIES, list_scenes, scene_options
from reel.formats import FORMATS
from reel.narration import VOICES


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="render.py", description="Render Transformer explainer scenes in which every number is real.")
    p.add_argument("--scene", action="append", metavar="NAME", help="scene to render (repeatable; 'all' for every scene)")
    p.add_argument("--list", action="store_true", help="list the scenes in teaching order, one line each, and exit")
    p.add_argument("--sentence", help="English sentence (default: the model's default sentence)")
    p.add_argument("--target", help="French the decoder reads (default: the model's own translation)")
    p.add_argument("--allow-unknown", action="store_true",
                   help="read words the model does not know as <unk> (default: stop and name them; "
                        "`python -m model vocab` lists the words it knows)")
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
    p.add_argument("--course", metavar="FILE",
                   help="a lecture per sentence of FILE (one a line; # comments; a tab then its --target) into "
                        "DIR/NN-slug/, and DIR/index.html listing them")
    p.add_argument("--scenes", metavar="A,B",
                   help="with --lecture or --course: only these scenes (still in teaching order)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="with --lecture or --course: scenes rendered at once (default: the cores)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="with --lecture or --course: render the scenes on a Dask cluster, its scheduler at ADDRESS "
                        "(tcp://HOST:8786); needs pip install '.[cluster]'")
    p.add_argument("--keep-going", action="store_true",
                   help="with --course: skip the sentences that cannot be rendered (default: stop, naming them)")
    return p


def _options(args: argparse.Namespace) -> dict:
    """The scene options the user gave (--layer, --head, …)."""
    return {name: getattr(args, name) for name in scene_options() if getattr(args, name, None) is not None}


def run(args: argparse.Namespace) -> int:
    import reel

    if args.list:
        print(list_scenes())
        return 0
    if args.lecture and args.course:
        raise InputError("--lecture makes one lecture, --course one per sentence: give one of them")
    if args.lecture or args.course:
        return run_lecture(args)
    for flag in ("scenes", "jobs", "cluster"):
        if getattr(args, flag) is not None:
            raise InputError(f"--{flag} goes with --lecture or --course")
    if args.keep_going:
        raise InputError("--keep-going goes with --course")
    if not args.scene:
        raise InputError("name a scene with --scene NAME (or --list to see them)")
    common = dict(target=args.target, quality=args.quality, fps=args.fps, allow_unknown=args.allow_unknown,
                  log=lambda m: print(m, flush=True), **_options(args))
    if args.beats or args.check:
        failed = 0
        for c in reel.check_scenes(args.scene, args.sentence, voice=args.voice, check=args.check, **common):
            if args.beats:
                print(f"{c.scene}: {c.duration:.1f} s")
                for b in c.beats:
                    print(f"  {b.name:<20} {b.start:6.1f} \u2013 {b.end:6.1f} s{'   poster' if b.poster else ''}")
            if args.check:
                for p in c.problems:
                    print(f"{c.scene}: {p}")
                print(f"{c.scene}: frame check {'passed' if not c.problems else f'found {len(c.problems)} problems'}")
                failed += bool(c.problems)
        return 1 if failed else 0
    reel.render_scenes(args.scene, args.sentence, out=args.out, still=args.still, format=args.format,
                       transparent=args.transparent, slides=args.slides, voice=args.voice,
                       captions=args.captions != "off", force=args.force, **common)
    return 0


def run_lecture(args: argparse.Namespace) -> int:
    """--lecture, or --course: one lecture per sentence of a file."""
    from pathlib import Path

    from reel.courses import CourseIncomplete, course, read_course
    from reel.lectures import Interrupted, RenderFailed, lecture

    kind = "--course" if args.course else "--lecture"
    if args.scene or args.still is not None or args.beats or args.check:
        raise InputError(f"{kind} renders every scene as a video: leave out --scene, --still, --beats and --check")
    if args.format or args.transparent:
        raise InputError(f"{kind} writes lecture.mp4 (and a deck with --slides): it takes no --format or --transparent")
    common = dict(out=args.out, scenes=args.scenes, quality=args.quality, fps=args.fps, voice=args.voice,
                  captions=args.captions == "on", slides=args.slides, jobs=args.jobs, force=args.force,
                  allow_unknown=args.allow_unknown, cluster=args.cluster, log=lambda m: print(m, flush=True),
                  **_options(args))
    try:
        if args.course:
            if args.sentence is not None or args.target is not None:
                raise InputError("--course reads its sentences (and targets) from FILE: leave out --sentence and --target")
            course(read_course(Path(args.course)), keep_going=args.keep_going, **common)
        else:
            if args.keep_going:
                raise InputError("--keep-going goes with --course")
            lecture(args.sentence, target=args.target, **common)
    except RenderFailed as e:
        for name, error in e.failures.items():
            print(f"error: {name} failed: {error}", file=sys.stderr, flush=True)
        if isinstance(e, CourseIncomplete):
            print(f"course incomplete: {len(e.missing)} of {len(e.missing) + len(e.course.entries)} lectures not "
                  f"written ({', '.join(e.missing)}); the {e.done} scenes that rendered are kept in {e.kept_in}, "
                  f"index.html lists the lectures written, and the next run resumes", file=sys.stderr, flush=True)
        else:
            print(f"lecture not written: {len(e.failures)} of {e.total} scenes failed; the {e.done} that rendered "
                  f"are kept in {e.kept_in} and the next run resumes from them", file=sys.stderr, flush=True)
        return 1
    except Interrupted as e:
        print(f"interrupted: {len(e.finished)} of {e.total} scenes finished and are kept"
              f"{' (' + ', '.join(e.finished) + ')' if e.finished else ''}; run the same command to resume",
              file=sys.stderr, flush=True)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
