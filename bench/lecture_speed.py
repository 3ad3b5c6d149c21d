#!/usr/bin/env python3
"""How fast does `render.py --lecture` make a lecture? Prints a table; never fails on a missed target.

    python bench/lecture_speed.py                 # 480p15, 1080p30, then an unchanged 480p15 re-run
    python bench/lecture_speed.py --only low      # just the quick part
    python bench/lecture_speed.py --scenes a,b    # a subset of the scenes (default: every one written)
    python bench/lecture_speed.py --wer           # also the narration's word error rate (PocketSphinx)

Each lecture runs render.py as a user would (a fresh process, a temporary --out folder,
`--force` so no earlier render is reused; the speech cache stays warm, as it would be
for a teacher re-rendering). Figures: wall-clock time, the lecture's length (ffprobe)
and their ratio, against the targets below, and the unchanged re-run against the first.
The CPU time the run used (its processes and theirs, ÷ the lecture's length) is printed
beside it: on a machine shared with other work the wall time says more about the others,
and CPU time ÷ cores is what the wall time would be with the machine to itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchlib import ROOT, cpu_note, failed, load, media_seconds, print_table, qualities, run_render, verdict

sys.path.insert(0, str(ROOT))

TARGET_LOW = 0.3  # render seconds per second of lecture at 480p15
TARGET_HIGH = 0.7  # … at 1080p30 on 2 cores
TARGET_RERUN = 0.1  # an unchanged re-run, as a fraction of the first run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=["low"], help="run only the 480p15 lecture and its re-run")
    p.add_argument("--scenes", help="only these scenes (default: every scene written)")
    p.add_argument("--jobs", type=int, help="scenes at once (default: the cores)")
    p.add_argument("--wer", action="store_true", help="also recognise the 480p15 narration and print its WER")
    args = p.parse_args(argv)
    extra = (["--scenes", args.scenes] if args.scenes else []) + (["--jobs", str(args.jobs)] if args.jobs else [])

    rows: list[tuple[str, ...]] = []  # what, wall, video, ratio, target, verdict, cpu
    print(f"{load()} at the start")
    with tempfile.TemporaryDirectory(prefix="lecture-speed-") as tmp:
        for label, opts, target, out in qualities(Path(tmp), TARGET_LOW, TARGET_HIGH, args.only):
            print(f"rendering the lecture at {label} …", file=sys.stderr, flush=True)
            wall, cpu, r = run_render("--lecture", "--out", str(out), *opts, *extra, "--force")
            if r.returncode != 0:
                rows.append((f"lecture {label}", f"{wall:.1f} s", "-", "-", f"≤ {target:.1f}", failed(r), "-"))
                continue
            video = media_seconds(out / "lecture.mp4")
            if not video:
                rows.append((f"lecture {label}", f"{wall:.1f} s", "?", "?", f"≤ {target:.1f}", "no duration found", "-"))
                continue
            ratio = wall / video
            rows.append((f"lecture {label}", f"{wall:.1f} s", f"{video:.1f} s", f"{ratio:.2f}", f"≤ {target:.1f}",
                         verdict(ratio, target), cpu_note(cpu, video)))
            if label == "480p15":
                print("re-running it with nothing changed …", file=sys.stderr, flush=True)
                wall2, cpu2, r2 = run_render("--lecture", "--out", str(out), *opts, *extra)
                if r2.returncode != 0:
                    note = failed(r2)
                elif "lecture: nothing changed" not in r2.stdout:
                    note = "RENDERED AGAIN (not skipped)"
                else:
                    note = verdict(wall2 / wall, TARGET_RERUN)
                rows.append(("re-run 480p15, unchanged", f"{wall2:.1f} s", "-", f"{wall2 / wall:.2f} of the first",
                             f"≤ {TARGET_RERUN:.1f}", note, f"{cpu2:.0f} s; {cpu2 / cpu:.2f} of the first"))
                if args.wer:
                    from reel.listen import cue_wer
                    from reel.narration import default_voice
                    from tests.intelligibility import WER_BAR

                    voice = default_voice(lambda _: None)  # the voice the lecture spoke with
                    report = cue_wer(out / "lecture.mp4", out / "lecture.srt")
                    bar = WER_BAR[voice]
                    rows.append((f"narration WER ({voice}, PocketSphinx)", "-", f"{report['words']} words",
                                 f"{report['wer']:.2f}", f"≤ {bar}", verdict(report["wer"], bar), "-"))

    print_table(("", "wall time", "video", "ratio", "target", "verdict", "CPU time"), rows, left=(0, 5, 6))
    print(f"{load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
