#!/usr/bin/env python3
"""Render transformer-reel scenes on your sentence.

    python render.py --scene cross_attention
    python render.py --scene cross_attention --sentence "the small dog sees a red apple" --quality low
    python render.py --list

For each scene NAME it writes DIR/NAME.mp4, DIR/NAME.trace.npz (the forward pass it
shows) and DIR/NAME.values.json (every number on screen), as ../shared/CONTRACT.md
fixes. A scene whose inputs did not change since the last render is not rendered again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from model.errors import ArgumentParser, InputError, run_reporting_errors

ROOT = Path(__file__).resolve().parent
QUALITIES = {  # our name → (Manim's preset, what it means)
    "low": ("low_quality", "480p15"),
    "medium": ("medium_quality", "720p30"),
    "high": ("high_quality", "1080p60"),
    "production": ("production_quality", "1440p60"),
    "4k": ("fourk_quality", "2160p60"),
}


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="render.py", description="Render Transformer explainer scenes in which every number is real.")
    p.add_argument("--scene", action="append", metavar="NAME", help="scene to render (repeatable; 'all' for every scene)")
    p.add_argument("--list", action="store_true", help="list the scenes, one line each, and exit")
    p.add_argument("--sentence", help="English sentence (default: one that shows adjective reordering)")
    p.add_argument("--target", help="French the decoder reads (default: the model's own translation)")
    p.add_argument("--quality", choices=QUALITIES, default="high",
                   help="low 480p15, medium 720p30, high 1080p60 (default), production 1440p60, 4k 2160p60")
    p.add_argument("--fps", type=int, help="frames per second (default: the quality's)")
    p.add_argument("--out", default="media", metavar="DIR", help="output folder (default: media/)")
    p.add_argument("--layer", type=int, help="decoder layer, counted from 0 (default: the last)")
    p.add_argument("--head", type=int, help="attention head, counted from 0 (default: the sharpest)")
    p.add_argument("--still", action="store_true",
                   help="write only the last frame, DIR/NAME.png, instead of the video (fast; for previews and slides)")
    p.add_argument("--force", action="store_true", help="render even if nothing changed")
    return p


def list_scenes() -> str:
    from scenes import SCENES

    width = max(map(len, SCENES))
    return "\n".join(f"{name:<{width}}  {summary}" for name, (_, _, summary) in SCENES.items())


def chosen_scenes(names: list[str]) -> list[str]:
    from scenes import SCENES

    if "all" in names:
        return list(SCENES)
    unknown = [n for n in names if n not in SCENES]
    if unknown:
        raise InputError(f"unknown scene {unknown[0]!r}; the scenes are: {', '.join(SCENES)}")
    return list(dict.fromkeys(names))


def check_options(trace, args) -> dict:
    cfg = trace.config
    n_layers, n_heads = cfg["n_layers"]["decoder"], cfg["n_heads"]
    if args.layer is not None and not 0 <= args.layer < n_layers:
        raise InputError(f"--layer must be between 0 and {n_layers - 1}")
    if args.head is not None and not 0 <= args.head < n_heads:
        raise InputError(f"--head must be between 0 and {n_heads - 1}")
    return {"layer": args.layer, "head": args.head}


def render_key(cls, traces: dict, options: dict, quality: str, fps: int | None, still: bool) -> str:
    """Everything a rendered clip depends on: the code that draws it, the numbers, the settings."""
    import manim
    import numpy as np

    h = hashlib.sha256()
    for path in sorted((ROOT / "scenes").glob("*.py")):
        h.update(path.read_bytes())
    h.update(json.dumps([manim.__version__, quality, fps, still, options, cls.__name__], sort_keys=True).encode())
    for name in sorted(traces):
        t = traces[name]
        h.update(json.dumps(t.meta, sort_keys=True).encode())
        for k in sorted(t.arrays):
            h.update(k.encode())
            h.update(np.ascontiguousarray(t.arrays[k]).tobytes())
    return h.hexdigest()


def render_scene(name: str, traces: dict, options: dict, args, out: Path) -> None:
    from manim import tempconfig

    from scenes import scene_class
    from scenes.glyphs import CACHE

    cls = scene_class(name)
    opts = {k: v for k, v in options.items() if k in cls.defaults}
    key = render_key(cls, traces, opts, args.quality, args.fps, args.still)
    movie = out / f"{name}.png" if args.still else out / f"{name}.mp4"
    values, key_file = out / f"{name}.values.json", out / f".{name}.render-key"
    trace_files = {m: out / cls.trace_file(m) for m in cls.needs}
    done = [movie, values, *trace_files.values()]
    if not args.force and all(p.exists() for p in done) and key_file.exists() and key_file.read_text() == key:
        print(f"{name}: nothing changed since the last render; kept {movie}")
        return

    preset, label = QUALITIES[args.quality]
    fps = f"@{args.fps}fps" if args.fps else ""
    print(f"{name}: rendering at {label}{fps} …", flush=True)
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(dir=out, prefix=f".{name}.render-"))
    try:
        settings = {
            "quality": preset,
            "media_dir": str(work),
            "tex_dir": str(CACHE / "tex"),
            "text_dir": str(CACHE / "texts"),
            "output_file": name,
            "disable_caching": True,
            "verbosity": "WARNING",
            "progress_bar": "display" if sys.stderr.isatty() else "none",
            "write_to_movie": not args.still,
            "save_last_frame": args.still,
            "max_inflight_encoders": 2,  # encode one animation while the next is drawn: two cores, both busy
        }
        if args.fps:
            settings["frame_rate"] = args.fps
        with tempconfig(settings):
            scene = cls(traces={m: traces[m] for m in cls.needs}, options=opts)
            scene.render()
            writer = scene.renderer.file_writer
            produced = Path(writer.image_file_path if args.still else writer.movie_file_path)
            duration = scene.renderer.time
        for model, path in trace_files.items():
            traces[model].save(path)
        scene.manifest.save(values)
        os.replace(produced, movie)
        key_file.write_text(key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    secs = time.perf_counter() - start
    print(f"{name}: wrote {movie} ({duration:.1f} s of video), {values.name} ({len(scene.manifest)} values), "
          f"{', '.join(p.name for p in trace_files.values())} in {secs:.1f} s")


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(list_scenes())
        return 0
    if not args.scene:
        raise InputError("name a scene with --scene NAME (or --list to see them)")
    if args.fps is not None and not 1 <= args.fps <= 120:
        raise InputError("--fps must be between 1 and 120")
    names = chosen_scenes(args.scene)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")

    from model.trace import record
    from scenes import scene_class

    needed = list(dict.fromkeys(m for n in names for m in scene_class(n).needs))
    traces = {m: record(m, args.sentence, args.target) for m in needed}
    first = traces[needed[0]]
    options = check_options(first, args)
    out.mkdir(parents=True, exist_ok=True)  # only once the input is known to be good
    if not os.access(out, os.W_OK):
        raise InputError(f"cannot write to {out}")
    print(f"sentence: {first.sentence}\ntranslation: {first.output}")
    for i, name in enumerate(names, 1):
        if len(names) > 1:
            print(f"[{i}/{len(names)}] ", end="")
        render_scene(name, traces, options, args, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
