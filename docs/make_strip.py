#!/usr/bin/env python3
"""The picture at the top of the README: one frame of every beat of a scene, at rest.

    python docs/make_strip.py --scene cross_attention --out docs/cross_attention.png

Renders the scene once (720p30, or whatever --quality says), reads NAME.beats.json and takes
each beat's frame at rest (`rest`: the start of its longest pause, the frame a viewer would
pause on) from the clip, then tiles them, in order, into one small PNG (a palette of 128 colours: flat dark
backgrounds and text compress well that way).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def frames_at(movie: Path, times: list[float]):
    import av

    wanted = sorted(times)
    found = {}
    with av.open(str(movie)) as c:
        stream = c.streams.video[0]
        for frame in c.decode(stream):
            t = float(frame.pts * stream.time_base)
            for w in wanted:
                if w not in found and t >= w:
                    found[w] = frame.to_image()
            if len(found) == len(wanted):
                break
    return [found[t] for t in times]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scene", default="cross_attention")
    p.add_argument("--quality", default="low", help="of the render the frames come from (default: low, 480p)")
    p.add_argument("--columns", type=int, default=3)
    p.add_argument("--width", type=int, default=400, help="width of one frame in the strip, in pixels")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "cross_attention.png")
    args = p.parse_args(argv)

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "render.py"), "--scene", args.scene, "--quality", args.quality,
                        "--out", tmp], check=True, cwd=ROOT)
        beats = json.loads((Path(tmp) / f"{args.scene}.beats.json").read_text(encoding="utf-8"))["beats"]
        times = [b["rest"] + 0.05 if b.get("rest") is not None else (b["start"] + b["end"]) / 2 for b in beats]
        images = frames_at(Path(tmp) / f"{args.scene}.mp4", times)
    w = args.width
    h = round(images[0].height * w / images[0].width)
    rows = -(-len(images) // args.columns)
    gap = 4
    sheet = Image.new("RGB", (args.columns * w + (args.columns - 1) * gap, rows * h + (rows - 1) * gap), "#000000")
    for i, im in enumerate(images):
        r, c = divmod(i, args.columns)
        sheet.paste(im.convert("RGB").resize((w, h), Image.LANCZOS), (c * (w + gap), r * (h + gap)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".png":
        sheet.quantize(128, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    else:
        sheet.save(args.out, quality=85, optimize=True)
    print(f"{args.out}: {len(images)} beats, {sheet.width}×{sheet.height}, {args.out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
