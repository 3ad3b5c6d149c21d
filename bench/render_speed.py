#!/usr/bin/env python3
"""How fast does `render.py` render cross_attention? Prints a table; never fails on a missed target.

    python bench/render_speed.py             # 480p15, 1080p30, then an unchanged 480p15 re-run
    python bench/render_speed.py --only low  # just the quick part

Each render runs render.py as a user would (a fresh process, a temporary --out folder,
`--force` so an earlier render cannot be reused). Figures: wall-clock time, the clip's
length (from render.py's "(NN.N s of video)" line, else read from the file with PyAV)
and their ratio, against the targets below.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import cpu_note, failed, load, media_seconds, print_table, qualities, run_render, verdict

SCENE = "cross_attention"
VIDEO_LINE = re.compile(r"\((\d+(?:\.\d+)?) s of video\)")

TARGET_LOW = 0.3  # render seconds per second of video at 480p15
TARGET_HIGH = 1.0  # … at 1080p30
TARGET_RERUN = 5.0  # seconds for a re-run with nothing changed


def clip_seconds(r: subprocess.CompletedProcess, movie: Path) -> float | None:
    m = VIDEO_LINE.search(r.stdout)
    return float(m.group(1)) if m else media_seconds(movie)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=["low"], help="run only the 480p15 render and its re-run")
    args = p.parse_args(argv)

    rows: list[tuple[str, ...]] = []  # what, wall, video, ratio, target, verdict, cpu
    print(f"{load()} at the start")

    with tempfile.TemporaryDirectory(prefix="render-speed-") as tmp:
        for label, opts, target, out in qualities(Path(tmp), TARGET_LOW, TARGET_HIGH, args.only):
            print(f"rendering {SCENE} at {label} …", file=sys.stderr, flush=True)
            wall, cpu, r = run_render("--scene", SCENE, "--out", str(out), *opts, "--force")
            if r.returncode != 0:
                rows.append((f"render {label}", f"{wall:.1f} s", "-", "-", f"≤ {target:.1f}", failed(r), "-"))
                continue
            video = clip_seconds(r, out / f"{SCENE}.mp4")
            if video:
                ratio = wall / video
                rows.append((f"render {label}", f"{wall:.1f} s", f"{video:.1f} s", f"{ratio:.2f}", f"≤ {target:.1f}",
                             verdict(ratio, target), cpu_note(cpu, video)))
            else:
                rows.append((f"render {label}", f"{wall:.1f} s", "?", "?", f"≤ {target:.1f}", "no duration found", "-"))

            if label == "480p15":
                print(f"re-running {SCENE} at {label} with nothing changed …", file=sys.stderr, flush=True)
                wall2, cpu2, r2 = run_render("--scene", SCENE, "--out", str(out), *opts)
                if r2.returncode != 0:
                    note = failed(r2)
                elif "nothing changed" not in r2.stdout:
                    note = "RENDERED AGAIN (not skipped)"
                else:
                    note = verdict(wall2, TARGET_RERUN)
                rows.append((f"re-run {label}, unchanged", f"{wall2:.1f} s", "-", "-", f"≤ {TARGET_RERUN:.0f} s", note,
                             f"{cpu2:.0f} s"))

    print_table(("", "wall time", "video", "time ÷ video", "target", "verdict", "CPU time"), rows, left=(0, 5, 6))
    print(f"{load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
